"""A call's history (`call_events`): one row per thing that happened, in order."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from storage.models import Call, CallEvent
from storage.types import utcnow

_INSERT_EVENT = insert(CallEvent.__table__)


def log_event(session: Session, call: Call, kind: str, detail: str | None = None) -> None:
    """Append one entry to the call's history.

    Written at once with a plain INSERT (the call's row exists already): the history
    keeps the order of the calls here, and the session's flush has no object to track.
    """
    log_call_event(session, call.id, kind, detail)


def log_call_event(session: Session, call_id: int, kind: str, detail: str | None = None) -> None:
    """`log_event` by the call's id (the webhooks' plain-statement paths have no object)."""
    values = {"call_id": call_id, "at": utcnow(), "kind": kind, "detail": detail}
    session.connection().execute(_INSERT_EVENT, values)
