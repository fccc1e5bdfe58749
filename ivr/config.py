"""Settings read from the environment (see the contract's configuration table)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from storage.db import database_url, instance_dir
from workers.context import redis_url


@dataclass(frozen=True)
class Settings:
    """Everything the web app needs to know about its deployment."""

    database_url: str
    redis_url: str
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    public_base_url: str | None
    hotline_tz: ZoneInfo
    secret_key: str = field(repr=False)
    survey_number: str | None = None  # the survey line: caller id of closure surveys, SMS

    @classmethod
    def from_env(cls) -> Settings:
        """Read the settings from environment variables, with the contract's defaults."""
        base_url = os.environ.get("PUBLIC_BASE_URL", "").strip().rstrip("/") or None
        return cls(
            database_url=database_url(),
            redis_url=redis_url(),
            twilio_account_sid=os.environ.get("TWILIO_ACCOUNT_SID") or None,
            twilio_auth_token=os.environ.get("TWILIO_AUTH_TOKEN") or None,
            public_base_url=base_url,
            hotline_tz=ZoneInfo(os.environ.get("HOTLINE_TZ", "Asia/Shanghai")),
            secret_key=os.environ.get("SECRET_KEY") or _instance_secret_key(),
            survey_number=os.environ.get("SURVEY_NUMBER", "").strip() or None,
        )

    @property
    def webhooks_ready(self) -> bool:
        """Webhooks work only with a token to check signatures and the URL they were signed for."""
        return bool(self.twilio_auth_token and self.public_base_url)


def _instance_secret_key() -> str:
    """A secret generated once and kept under `instance/` (fine for one machine only)."""
    path = instance_dir() / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
