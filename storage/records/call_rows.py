"""A call's row read and written with plain statements: the survey webhooks' common cases.

Each webhook's transaction holds SQLite's one writer turn (`storage.db.WriterTurn`)
while it runs. Through the ORM session (objects loaded into the identity map, the
unit of work's flush) a keypad webhook spent about 7 ms of CPU per transaction inside
that turn, of which SQLite itself used a fraction (README, "Per-webhook cost"). These
functions do what `storage.records.calls` does for the common cases with compiled Core
statements on the session's connection. Nothing is written before a case is known to
be common; otherwise the caller goes the ORM way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.orm import Session

from storage.access.privacy import phone_tail
from storage.inserts import insert_once_statement
from storage.models import (
    DISPOSITION_RATED,
    LEVEL_CATEGORY,
    Call,
    Callback,
    CallTicket,
    Rating,
)
from storage.outbox import PUSH_CALL_UPDATE, add_job
from storage.records.calls import (
    ANNOUNCE_JOB,
    MAX_TICKETS,
    TOLD,
    CallDetails,
    callback_dept,
    callback_values,
    ending,
    rating_values,
    told_changes,
    told_values,
)
from storage.records.events import log_call_event
from storage.records.media_streams import MediaStream
from storage.types import utcnow

_calls, _ratings = Call.__table__, Rating.__table__
_COLUMNS = ("id", "call_sid", "kind", "disposition", "ended_at", "linked_call_id", *TOLD)
_RATING_ID = select(_ratings.c.id).where(_ratings.c.call_id == _calls.c.id).scalar_subquery()
_LOCK = (
    select(*(_calls.c[name] for name in _COLUMNS), _RATING_ID.label("rating_id"))
    .where(_calls.c.call_sid == bindparam("call_sid"))
    .with_for_update(of=_calls)
)
_UPDATE = update(_calls).where(_calls.c.id == bindparam("call_id"))  # SET: the changes
_CALL_ID = bindparam("call_id")
_PARTNERS = select(exists().where(_calls.c.linked_call_id == _CALL_ID, _calls.c.id != _CALL_ID))
_INSERT_CALLBACK = insert(Callback.__table__)
_INSERT_TICKET = insert(CallTicket.__table__)
_STREAMS = select(exists().where(MediaStream.__table__.c.call_id == _CALL_ID))


@dataclass
class CallRow:
    """The columns of a call the webhooks decide on, and whether it has a rating."""

    id: int
    call_sid: str
    kind: str
    disposition: str
    ended_at: datetime | None
    linked_call_id: int | None
    lang: str | None
    caller: str | None
    called: str | None
    agent: str | None
    dept: str | None
    call_status: str | None
    dial_call_status: str | None
    rating_id: int | None


def lock_call(session: Session, call_sid: str) -> CallRow | None:
    """The call's row, locked until commit like `get_or_create_call`'s; None if unknown."""
    row = session.connection().execute(_LOCK, {"call_sid": call_sid}).first()
    return CallRow(**row._mapping) if row is not None else None


def insert_call(session: Session, call_sid: str, details: CallDetails, **more: str) -> int | None:
    """Insert a new call with what the request tells (and `more` columns) and its
    tickets; its id, or None when the call exists (nothing written)."""
    values = {"call_sid": call_sid, "created_at": utcnow()} | told_values(details) | more
    statement = insert_once_statement(_calls, "call_sid", _dialect(session))
    call_id = session.connection().execute(statement, values).scalar_one_or_none()
    if call_id is not None and details.tickets:
        tickets = enumerate(details.tickets[:MAX_TICKETS])
        rows = [{"call_id": call_id, "ticket": ticket, "position": at} for at, ticket in tickets]
        session.connection().execute(_INSERT_TICKET, rows)
    return call_id


def update_call(session: Session, call: CallRow, changes: dict[str, Any]) -> None:
    """Write `changes` to the call (and to `call`); nothing when there are none.

    As the ORM's flush: `updated_at` is set by the column's own default on update, and
    a new `caller` brings its last 4 digits (`Call._tail`)."""
    if not changes:
        return
    if "caller" in changes:
        changes = changes | {"caller_tail": phone_tail(changes["caller"])}
    for name, value in changes.items():
        if hasattr(call, name):
            setattr(call, name, value)
    session.connection().execute(_UPDATE.values(**changes), {"call_id": call.id})


def told(call: CallRow, details: CallDetails) -> dict[str, Any]:
    """`told_changes` of the row."""
    return told_changes({name: getattr(call, name) for name in TOLD}, details)


def ended(call: CallRow, disposition: str) -> dict[str, Any]:
    """`ending` of the row."""
    return ending(call.disposition, call.ended_at, disposition)


def has_partners(session: Session, call: CallRow) -> bool:
    """Is the call one of a linked pair (either way)? Those are rated the ORM way."""
    if call.linked_call_id is not None:
        return True
    found = session.connection().execute(_PARTNERS, {"call_id": call.id})
    return bool(found.scalar())


def had_stream(session: Session, call: CallRow) -> bool:
    """Did the call have a media stream? (Its status callback may then rate it.)"""
    found = session.connection().execute(_STREAMS, {"call_id": call.id})
    return bool(found.scalar())


def insert_rating(
    session: Session, call: CallRow, level: str, source: str, now: datetime
) -> int | None:
    """Store the rating of a call that is not one of a linked pair; its id, or None
    (nothing written) when the call is rated already. `rated` follows."""
    statement = insert_once_statement(_ratings, "call_id", _dialect(session))
    values = rating_values(call.id, level, source, now)
    call.rating_id = session.connection().execute(statement, values).scalar_one_or_none()
    return call.rating_id


def rated(session: Session, call: CallRow, level: str, source: str, now: datetime) -> None:
    """What `record_rating` does after storing the rating: a bad one opens its callback;
    the call's history and the work-order system are told. The call's own changes are
    `rated_changes`, for `update_call`."""
    if call.rating_id is None:
        raise ValueError("rated() before insert_rating()")
    if LEVEL_CATEGORY[level] == "bad":
        opened = callback_values(call.id, call.caller, callback_dept(call), call.rating_id, now)
        session.connection().execute(_INSERT_CALLBACK, opened)
        add_job(session, ANNOUNCE_JOB, {"call_id": call.id}, f"announce:{call.id}")
    log_call_event(session, call.id, "rated", f"{level} ({source})")
    add_job(session, PUSH_CALL_UPDATE, {"call_sid": call.call_sid}, f"rated:{call.id}")


def rated_changes(now: datetime) -> dict[str, Any]:
    """The call's changes once rated (as `record_rating`)."""
    return {"disposition": DISPOSITION_RATED, "updated_at": now}


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name
