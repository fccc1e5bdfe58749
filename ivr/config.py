"""The web app's view of the settings: the one `Settings` object, and its secret key."""

from __future__ import annotations

import secrets

from storage.settings import Settings, instance_dir

__all__ = ["Settings", "secret_key"]


def secret_key(settings: Settings) -> str:
    """`SECRET_KEY`, or a secret generated once and kept under `instance/` (one machine only)."""
    if settings.secret_key:
        return settings.secret_key
    path = instance_dir() / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
