"""API tokens: random secrets shown once, stored only as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ApiToken
from storage.types import utcnow

PREFIX = "ivr_"
# `last_used_at` is refreshed at most this often, to keep reads from writing.
TOUCH_EVERY = timedelta(minutes=5)


def digest(token: str) -> str:
    """The stored form of a token. Tokens are 256-bit random, so a plain hash suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str) -> str:
    """Create a token called `name` and return its secret (not recoverable later)."""
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=digest(token)))
    return token


def check_token(session: Session, token: str) -> ApiToken | None:
    """The live token matching `token`, or None."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    found = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == digest(token), ApiToken.revoked_at.is_(None))
    ).one_or_none()
    if found is not None:
        now = utcnow()
        if found.last_used_at is None or now - found.last_used_at > TOUCH_EVERY:
            found.last_used_at = now
    return found


def revoke_tokens(session: Session, name: str) -> int:
    """Revoke every live token called `name`; how many there were."""
    live = session.scalars(
        select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
    ).all()
    now = utcnow()
    for found in live:
        found.revoked_at = now
    return len(live)
