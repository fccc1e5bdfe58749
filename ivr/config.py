"""The web app's view of the settings: the one `Settings` object, and its secret key."""

from __future__ import annotations

from storage.settings import Settings, app_secret

__all__ = ["Settings", "secret_key"]


def secret_key(settings: Settings) -> str:
    """`SECRET_KEY`, or a secret generated once and kept under `instance/` (one machine only)."""
    return settings.secret_key or app_secret()
