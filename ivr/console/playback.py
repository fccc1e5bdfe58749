"""When a recording request starts a playback (and so is audited as `listen`).

A browser asks for a recording in ranges: the first request (any form: none,
`bytes=0-`, `bytes=00-`, `bytes=1-`, `bytes=-500` …) starts a playback; later ranges of
the same recording by the same user within `PLAYBACK_SESSION` continue it. Anything
that is not provably a continuation is audited.
"""

from __future__ import annotations

from datetime import timedelta

from flask import request
from sqlalchemy import select

from ivr.extensions import db_sessions
from storage.models import AuditEntry, User
from storage.types import utcnow

PLAYBACK_SESSION = timedelta(minutes=30)


def _range_start() -> int | None:
    """The first byte asked for; None for no or an unreadable Range header."""
    wanted = request.range
    if wanted is None or wanted.units != "bytes" or not wanted.ranges:
        return None
    return wanted.ranges[0][0]


def starts_playback(user: User, target: str) -> bool:
    """True unless this request asks for a later part of a playback this user started
    (and was audited for) within `PLAYBACK_SESSION`."""
    start = _range_start()
    if start is None or start <= 0:
        return True
    since = utcnow() - PLAYBACK_SESSION
    statement = (
        select(AuditEntry.id)
        .where(
            AuditEntry.user_id == user.id,
            AuditEntry.action == "listen",
            AuditEntry.target == target,
            AuditEntry.allowed.is_(True),
            AuditEntry.at >= since,
        )
        .limit(1)
    )
    with db_sessions()() as db:
        return db.scalar(statement) is None
