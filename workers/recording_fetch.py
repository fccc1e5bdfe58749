"""Download a call recording: only from allowed hosts, with size and time limits.

Twilio's `RecordingUrl` has no extension; a GET returns WAV (`.wav`/`.mp3` appended would
choose the format). The URL is fetched exactly as given, nothing added; a 404 (recording
not ready yet) is retried. No request goes outside `RECORDING_HOSTS`, redirects included.
Credentials stay on their host:port (http → https upgrade allowed, never downgraded); a
redirect elsewhere (e.g. a pre-signed media URL) goes without them. No env proxies/.netrc.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from storage.settings import HostPort, parse_hosts, settings

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
RETRY_STATUSES = {404, 408, 429}  # and 5xx
MAX_REDIRECTS = 3
CHUNK_BYTES = 64 * 1024

Origin = tuple[str, str, int]  # scheme, host, port


class RecordingError(Exception):
    """The recording could not be downloaded."""


class RecordingRefused(RecordingError):
    """The URL (or a redirect) points outside the allowed hosts: no request was made."""


class RecordingUnavailable(RecordingError):
    """The host did not deliver the recording (missing, error, unreachable)."""


class RecordingTimedOut(RecordingUnavailable):
    """The download did not finish within its time limit."""


class RecordingTooLarge(RecordingError):
    """The recording is larger than allowed."""


class _Retryable(Exception):
    """A failure worth another attempt (404, 5xx, connection trouble)."""


@dataclass(frozen=True)
class FetchResult:
    size: int
    content_type: str | None
    final_url: str
    attempts: int


def allowed_hosts_from_env() -> frozenset[HostPort]:
    """`RECORDING_HOSTS` (comma-separated `host[:port]`), default `api.twilio.com`."""
    return settings().recording_hosts


def credentials_from_env() -> tuple[str, str] | None:
    """(`TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`) when both are set."""
    current = settings()
    sid, token = current.twilio_account_sid, current.twilio_auth_token
    return (sid, token) if sid and token else None


def _origin(url: str) -> Origin:
    """(scheme, host, port) of an absolute http(s) URL; ValueError when it is not one."""
    if any(ord(char) <= 32 or ord(char) >= 127 or char == "\\" for char in url):
        raise ValueError("unexpected characters in URL")
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError("not an absolute http(s) URL")
    if "@" in parts.netloc:
        raise ValueError("credentials in URL")
    host = parts.hostname.rstrip(".")
    if (urllib3.util.parse_url(url).host or "").lower().rstrip(".") != host:
        raise ValueError("ambiguous host")
    return parts.scheme, host, parts.port or DEFAULT_PORTS[parts.scheme]


def check_allowed(url: str, allowed: frozenset[HostPort]) -> Origin:
    """The URL's origin if its host:port is allowed; otherwise `RecordingRefused`."""
    try:
        scheme, host, port = _origin(url)
    except ValueError as error:
        log.warning("recording URL refused: %s", error)
        raise RecordingRefused(f"recording URL refused: {error}") from None
    if (host, port) in allowed or (port == DEFAULT_PORTS[scheme] and (host, None) in allowed):
        return scheme, host, port
    log.warning("recording URL refused: host %s:%s is not in RECORDING_HOSTS", host, port)
    raise RecordingRefused(f"recording host {host}:{port} is not in RECORDING_HOSTS")


def _keeps_credentials(source: Origin, target: Origin) -> bool:
    """Same host and port, or the same host upgraded from http:80 to https:443."""
    if source[1] != target[1] or (source[0], target[0]) == ("https", "http"):
        return False
    return source[2] == target[2] or (*source[::2], *target[::2]) == ("http", 80, "https", 443)


@dataclass
class _Download:
    """One `fetch_recording` call: where to, its limits, and its HTTP session."""

    session: requests.Session
    allowed: frozenset[HostPort]
    dest: Path
    max_bytes: int
    timeout_s: float
    deadline: float
    verify: bool | str

    def remaining(self) -> float:
        """Seconds left before the overall deadline; `RecordingTimedOut` once past it."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise RecordingTimedOut("recording download exceeded its time limit")
        return left

    def get(self, url: str, auth: tuple[str, str] | None) -> requests.Response:
        return self.session.get(
            url,
            auth=auth,
            timeout=min(self.timeout_s, self.remaining()),
            stream=True,
            allow_redirects=False,
            verify=self.verify,
            headers={"Accept-Encoding": "identity"},
        )

    def attempt(self, url: str, auth: tuple[str, str] | None) -> FetchResult:
        """One download, following up to `MAX_REDIRECTS` allowed redirects by hand."""
        origin = check_allowed(url, self.allowed)
        for _ in range(MAX_REDIRECTS + 1):
            with self.get(url, auth) as response:
                location = response.headers.get("Location")
                if response.status_code in REDIRECT_STATUSES and location:
                    target = urljoin(url, location)
                    target_origin = check_allowed(target, self.allowed)
                    if not _keeps_credentials(origin, target_origin):
                        auth = None
                    url, origin = target, target_origin
                    continue
                code = response.status_code
                if code in RETRY_STATUSES or code >= 500:
                    raise _Retryable(f"HTTP {code}")
                if code != 200:
                    raise RecordingUnavailable(f"recording download failed: HTTP {code}")
                size = self.save(response)
                return FetchResult(size, response.headers.get("Content-Type"), url, 0)
        raise RecordingUnavailable(f"more than {MAX_REDIRECTS} redirects")

    def save(self, response: requests.Response) -> int:
        """Stream the body to a temp file beside `dest`, then rename it; returns the size."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise RecordingTooLarge(f"recording is {declared} bytes, limit {self.max_bytes}")
        dest = self.dest
        fd, temp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        try:
            size = 0
            with os.fdopen(fd, "wb") as out:
                # read1: whatever has arrived (one timeout per read), so the deadline holds
                while self.remaining() and (chunk := response.raw.read1(CHUNK_BYTES, True)):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise RecordingTooLarge(f"recording exceeds {self.max_bytes} bytes")
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, dest)
            return size
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temp)
            raise


def fetch_recording(
    url: str,
    dest: Path,
    *,
    allowed_hosts: set[str] | None = None,
    auth: tuple[str, str] | None = None,
    max_bytes: int = 20 * 1024 * 1024,
    timeout_s: float = 10,
    retries_while_missing: int = 4,
    retry_delay_s: float = 1.0,
    total_timeout_s: float = 30,
    verify: bool | str = True,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchResult:
    """Download `url` (as given) into `dest`, atomically; see the module docstring.

    `timeout_s` bounds each connect/read, `total_timeout_s` the whole download, retries
    included. 404, 408, 429, 5xx and connection errors are retried `retries_while_missing`
    times, `retry_delay_s` apart. Raises `RecordingRefused` (nothing requested),
    `RecordingTooLarge` or `RecordingUnavailable` (`RecordingTimedOut`); no partial file.
    """
    allowed = allowed_hosts_from_env() if allowed_hosts is None else parse_hosts(allowed_hosts)
    check_allowed(url, allowed)
    auth = auth if auth is not None else credentials_from_env()
    Path(dest).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    deadline = time.monotonic() + total_timeout_s
    with requests.Session() as session:
        session.trust_env = False
        download = _Download(session, allowed, Path(dest), max_bytes, timeout_s, deadline, verify)
        attempt, problem = 0, "no attempt"
        while True:
            attempt += 1
            try:
                return dataclasses.replace(download.attempt(url, auth), attempts=attempt)
            except (_Retryable, requests.RequestException, urllib3.exceptions.HTTPError) as err:
                # not str(err) of requests' errors: it holds URLs, maybe pre-signed ones
                problem = str(err) if isinstance(err, _Retryable) else type(err).__name__
            if attempt > retries_while_missing or download.remaining() <= retry_delay_s:
                break
            sleep(retry_delay_s)
    log.warning("recording not downloaded after %d attempts: %s", attempt, problem)
    raise RecordingUnavailable(f"recording not downloaded after {attempt} attempts: {problem}")
