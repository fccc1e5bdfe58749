"""Recording downloads against real HTTP(S) servers on loopback: allowed and foreign hosts."""

from __future__ import annotations

import logging
import socket
import stat
import time
from pathlib import Path

import pytest
from fake_media_hosts import (  # noqa: F401  (fixtures)
    BASIC,
    SID,
    TOKEN,
    WAV,
    FakeHost,
    fetch,
    host,
    leftovers,
    redirect_to,
    send,
    sequence,
    tls,
    wav,
)

from workers.recording_fetch import (
    RecordingRefused,
    RecordingTimedOut,
    RecordingTooLarge,
    RecordingUnavailable,
    allowed_hosts_from_env,
    check_allowed,
    fetch_recording,
    parse_hosts,
)

# The fake servers below hold a request for 10 s or more; a fetch that honours its limits
# (at most 1 s here) gives up long before, with room for a busy machine.
GAVE_UP_WELL_BEFORE_THE_SERVER = 5.0


def test_download_with_basic_auth(host, tmp_path):
    twilio = host(wav)
    dest = tmp_path / "recs" / "RE1.wav"
    result = fetch(twilio.url("/Recordings/RE1"), dest, {twilio.netloc})
    assert dest.read_bytes() == WAV
    assert (result.size, result.content_type, result.attempts) == (len(WAV), "audio/x-wav", 1)
    assert result.final_url == twilio.url("/Recordings/RE1")
    assert twilio.seen == [("/Recordings/RE1", BASIC)]  # fetched as given: no extension added
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert leftovers(dest.parent) == ["RE1.wav"]


def test_environment_gives_hosts_and_credentials(host, tmp_path, monkeypatch):
    twilio = host(wav)
    monkeypatch.setenv("RECORDING_HOSTS", f" api.twilio.com , HTTP://{twilio.netloc.upper()} ")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    fetch_recording(twilio.url(), tmp_path / "a.wav", retry_delay_s=0.01)
    assert twilio.seen == [("/rec", BASIC)]
    monkeypatch.setenv("RECORDING_HOSTS", "api.twilio.com")
    with pytest.raises(RecordingRefused):
        fetch_recording(twilio.url(), tmp_path / "b.wav")
    assert len(twilio.seen) == 1


def test_foreign_host_is_refused_without_a_request(host, tmp_path, caplog):
    twilio, foreign = host(wav), host(wav)
    caplog.set_level(logging.WARNING, "workers.recording_fetch")
    with pytest.raises(RecordingRefused, match=foreign.netloc):
        fetch(foreign.url(), tmp_path / "a.wav", {twilio.netloc})
    assert foreign.seen == [] and twilio.seen == []
    assert foreign.netloc in caplog.text and TOKEN not in caplog.text
    assert leftovers(tmp_path) == []


def test_redirect_to_foreign_host_is_refused(host, tmp_path, caplog):
    foreign = host(wav)
    twilio = host(redirect_to(foreign.url("/steal")))
    with pytest.raises(RecordingRefused):
        fetch(twilio.url(), tmp_path / "a.wav", {twilio.netloc})
    assert twilio.seen == [("/rec", BASIC)]
    assert foreign.seen == []
    assert leftovers(tmp_path) == []


def test_redirect_to_allowed_host_is_followed_without_credentials(host, tmp_path):
    media = host(lambda handler: send(handler, 200, WAV, {"Content-Type": "audio/x-wav"}))
    twilio = host(redirect_to(media.url("/signed?X-Sig=abc")))
    result = fetch(twilio.url(), tmp_path / "a.wav", {twilio.netloc, media.netloc})
    assert (tmp_path / "a.wav").read_bytes() == WAV
    assert result.final_url == media.url("/signed?X-Sig=abc")
    assert twilio.seen == [("/rec", BASIC)]
    assert media.seen == [("/signed?X-Sig=abc", None)]  # credentials stay on their host


def test_redirect_on_the_same_host_keeps_credentials(host, tmp_path):
    twilio = host(lambda h: redirect_to("/real.wav")(h) if h.path == "/rec" else wav(h))
    result = fetch(twilio.url(), tmp_path / "a.wav", {twilio.netloc})
    assert twilio.seen == [("/rec", BASIC), ("/real.wav", BASIC)]
    assert result.final_url == twilio.url("/real.wav")


def test_https_to_http_downgrade_drops_credentials(host, tls, tmp_path):
    context, ca_file = tls
    secure = host(wav, tls=context)
    secure.respond = lambda h: redirect_to(secure.url("/plain"))(h) if h.path == "/rec" else wav(h)
    with pytest.raises(RecordingUnavailable, match="401"):
        fetch(secure.url(scheme="https"), tmp_path / "a.wav", {secure.netloc}, verify=ca_file)
    assert secure.seen == [("/rec", BASIC), ("/plain", None)]  # same host:port, but http
    assert leftovers(tmp_path) == []


def test_http_to_https_upgrade_keeps_credentials(host, tls, tmp_path):
    context, ca_file = tls
    secure = host(wav, tls=context)
    secure.respond = lambda h: (
        wav(h) if h.path == "/secure" else redirect_to(secure.url("/secure", "https"))(h)
    )
    fetch(secure.url(), tmp_path / "a.wav", {secure.netloc}, verify=ca_file)
    assert secure.seen == [("/rec", BASIC), ("/secure", BASIC)]
    assert (tmp_path / "a.wav").read_bytes() == WAV


def test_redirect_loop_is_bounded(host, tmp_path):
    looping = host(wav)
    looping.respond = redirect_to(looping.url())
    with pytest.raises(RecordingUnavailable, match="redirects"):
        fetch(looping.url(), tmp_path / "a.wav", {looping.netloc})
    assert len(looping.seen) == 4


def test_missing_twice_then_found(host, tmp_path):
    def not_yet(handler) -> None:
        send(handler, 404, b"not found")

    twilio = host(sequence(not_yet, not_yet, wav))
    pauses: list[float] = []
    result = fetch(twilio.url(), tmp_path / "a.wav", {twilio.netloc}, sleep=pauses.append)
    assert result.attempts == 3 and pauses == [0.01, 0.01]
    assert (tmp_path / "a.wav").read_bytes() == WAV


def test_missing_forever_gives_up(host, tmp_path):
    twilio = host(lambda handler: send(handler, 404, b"not found"))
    with pytest.raises(RecordingUnavailable, match="3 attempts"):
        fetch(twilio.url(), tmp_path / "a.wav", {twilio.netloc}, retries_while_missing=2)
    assert len(twilio.seen) == 3
    assert leftovers(tmp_path) == []


def test_other_client_errors_are_not_retried(host, tmp_path):
    twilio = host(lambda handler: send(handler, 403, b"forbidden"))
    with pytest.raises(RecordingUnavailable, match="403"):
        fetch(twilio.url(), tmp_path / "a.wav", {twilio.netloc})
    assert len(twilio.seen) == 1


def test_server_errors_are_retried(host, tmp_path):
    twilio = host(sequence(lambda handler: send(handler, 503, b"busy"), wav))
    assert fetch(twilio.url(), tmp_path / "a.wav", {twilio.netloc}).attempts == 2


def test_connection_refused_gives_up(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        netloc = f"127.0.0.1:{probe.getsockname()[1]}"
    pauses: list[float] = []
    with pytest.raises(RecordingUnavailable, match="ConnectionError"):
        fetch(f"http://{netloc}/rec", tmp_path / "a.wav", {netloc}, sleep=pauses.append)
    assert len(pauses) == 4


def gives_up_quickly(server, folder: Path, error: type[Exception], **limits: float) -> None:
    """Fetching from `server` raises `error` well before the server would let go, and
    leaves no file behind."""
    started = time.monotonic()
    with pytest.raises(error):
        fetch(server.url(), folder / "a.wav", {server.netloc}, **limits)
    assert time.monotonic() - started < GAVE_UP_WELL_BEFORE_THE_SERVER
    assert leftovers(folder) == []


def test_too_large_by_content_length(host, tmp_path):
    def huge(handler) -> None:  # declares 10 MB, then sends nothing: only the header tells
        send(handler, 200, headers={"Content-Length": "10000000"}, length=False)
        handler.wfile.flush()
        twilio.release.wait(10)

    twilio = host(huge)
    gives_up_quickly(twilio, tmp_path, RecordingTooLarge, max_bytes=9_999_999)


def chunked(handler) -> None:
    send(handler, 200, headers={"Transfer-Encoding": "chunked"}, length=False)
    for _ in range(100):
        handler.wfile.write(b"400\r\n" + b"x" * 1024 + b"\r\n")
    handler.wfile.write(b"0\r\n\r\n")


def test_too_large_while_streaming(host, tmp_path):
    twilio = host(chunked)
    with pytest.raises(RecordingTooLarge):
        fetch(twilio.url(), tmp_path / "a.wav", {twilio.netloc}, max_bytes=50_000)
    assert leftovers(tmp_path) == []
    result = fetch(twilio.url(), tmp_path / "a.wav", {twilio.netloc}, max_bytes=102_400)
    assert result.size == 102_400


def test_stalled_server_times_out(host, tmp_path):
    stalled = host(lambda handler: stalled.release.wait(10))
    gives_up_quickly(stalled, tmp_path, RecordingUnavailable, timeout_s=0.2, total_timeout_s=1)


def test_slow_drip_hits_the_overall_deadline(host, tmp_path):
    def drip(handler) -> None:
        send(handler, 200, headers={"Content-Length": "1000"}, length=False)
        for _ in range(1000):
            handler.wfile.write(b"x")
            handler.wfile.flush()
            if drip_host.release.wait(0.05):
                return

    drip_host = host(drip)
    gives_up_quickly(drip_host, tmp_path, RecordingTimedOut, total_timeout_s=0.5)


def test_truncated_body_leaves_no_file(host, tmp_path):
    def truncated(handler) -> None:
        send(handler, 200, headers={"Content-Length": "1000"}, length=False)
        handler.wfile.write(b"RIFF")
        handler.close_connection = True

    twilio = host(truncated)
    with pytest.raises(RecordingUnavailable):
        fetch(twilio.url(), tmp_path / "a.wav", {twilio.netloc}, retries_while_missing=1)
    assert len(twilio.seen) == 2
    assert leftovers(tmp_path) == []


def test_parse_hosts_spaces_ports_and_case():
    assert parse_hosts(" API.Twilio.com , 127.0.0.1:8080,, media.example.:443 ") == {
        ("api.twilio.com", None),
        ("127.0.0.1", 8080),
        ("media.example", 443),
    }
    for bad in ["a/b", "host:port", "user@host", "host:99999"]:
        with pytest.raises(ValueError):
            parse_hosts(bad)


@pytest.mark.parametrize("value", [None, "", " "])
def test_default_hosts(monkeypatch, tmp_path, value):
    if value is None:
        monkeypatch.delenv("RECORDING_HOSTS", raising=False)
    else:
        monkeypatch.setenv("RECORDING_HOSTS", value)
    assert allowed_hosts_from_env() == {("api.twilio.com", None)}
    with pytest.raises(RecordingRefused):
        fetch_recording("http://127.0.0.1:1/rec", tmp_path / "a.wav")


ALLOWED = parse_hosts("api.twilio.com, http://127.0.0.1:8080")


@pytest.mark.parametrize(
    "url",
    [
        "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        "https://API.TWILIO.COM:443/x",
        "https://api.twilio.com./x",
        "http://127.0.0.1:8080/x",
        "https://127.0.0.1:8080/x",
    ],
)
def test_allowed_urls(url):
    check_allowed(url, ALLOWED)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.twilio.com:8443/x",
        "http://api.twilio.com/x",  # listed without http://: https only
        "http://127.0.0.1/x",
        "https://api.twilio.com.evil.example/x",
        "https://evil.example/api.twilio.com",
        "https://user:pw@api.twilio.com/x",
        "https://api.twilio.com@evil.example/x",
        "https://evil.example\\@api.twilio.com/x",
        "https://api.twilio.com\\@evil.example/x",
        "ftp://api.twilio.com/x",
        "file:///etc/passwd",
        "//api.twilio.com/x",
        "/x",
        "",
        " https://api.twilio.com/x",
        "https://api.twilio.com/x\r\nHost: evil",
    ],
)
def test_refused_urls(url):
    with pytest.raises(RecordingRefused):
        check_allowed(url, ALLOWED)


def test_basic_auth_never_goes_over_http_to_a_host_listed_without_http(host, tmp_path):
    twilio = host(wav)
    with pytest.raises(RecordingRefused, match="https only"):
        fetch_recording(
            twilio.url(), tmp_path / "a.wav", allowed_hosts={twilio.netloc}, auth=(SID, TOKEN)
        )
    assert twilio.seen == []  # no request at all, so no credentials in clear text
    assert parse_hosts("http://media.example:8080") == {
        ("media.example", 8080),
        ("http://media.example", 8080),
    }
