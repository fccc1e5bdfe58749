"""Local development settings (`instance/dev.env`), made by `script/server`.

Production sets `TWILIO_AUTH_TOKEN` and `PUBLIC_BASE_URL` itself; this file only
exists so that a fresh checkout can run and be called by `ivr simulate` at once.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from storage.db import instance_dir

SIMULATOR_MEDIA_PORT = 5081


def dev_env_path() -> Path:
    """Where the development settings are kept."""
    return instance_dir() / "dev.env"


def read_dev_env() -> dict[str, str]:
    """The development settings, or {} if `script/server` never made them."""
    path = dev_env_path()
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def ensure_dev_env(port: int) -> dict[str, str]:
    """Make the development token and Redis password once (kept afterwards); the base
    URL follows `port`."""
    values = read_dev_env()
    values.setdefault("TWILIO_AUTH_TOKEN", "dev-" + secrets.token_hex(16))
    values.setdefault("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    values["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    # The local Redis's password (script/local-redis): whoever reaches an open Redis
    # can make the worker run code.
    values.setdefault("REDIS_URL", f"redis://:{secrets.token_hex(24)}@127.0.0.1:6379/0")
    # Where `ivr simulate --say` serves the recordings it "makes".
    values.setdefault("RECORDING_HOSTS", f"api.twilio.com,http://127.0.0.1:{SIMULATOR_MEDIA_PORT}")
    path = dev_env_path()
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    path.chmod(0o600)
    return values
