"""A call's history (`call_events`): one row per thing that happened, in order."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.orm import Session

from storage.connections import connection_of
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
    log_call_events(session, call_id, [(kind, detail)])


def log_call_events(
    session: Session, call_id: int, entries: Sequence[tuple[str, str | None]]
) -> None:
    """Append `(kind, detail)` entries to the call's history, in order, in one statement."""
    rows = [{"call_id": call_id, "at": utcnow(), "kind": k, "detail": d} for k, d in entries]
    connection_of(session).execute(_INSERT_EVENT, rows[0] if len(rows) == 1 else rows)
