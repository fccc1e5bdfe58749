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
from storage.connections import connection_of
from storage.inserts import insert_once_statement
from storage.models import (
    DISPOSITION_RATED,
    LEVEL_CATEGORY,
    Call,
    Callback,
    CallTicket,
    Rating,
)
from storage.outbox import PUSH_CALL_UPDATE, add_jobs, job_row
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
from storage.records.media_streams import MediaStream
from storage.types import utcnow

_calls, _ratings = Call.__table__, Rating.__table__
_others, _streams = _calls.alias("others"), MediaStream.__table__
_COLUMNS = ("id", "call_sid", "kind", "disposition", "ended_at", "linked_call_id", *TOLD)
_RATING_ID = select(_ratings.c.id).where(_ratings.c.call_id == _calls.c.id).scalar_subquery()
_LINKED_BY = exists().where(_others.c.linked_call_id == _calls.c.id, _others.c.id != _calls.c.id)
_HAD_STREAM = exists().where(_streams.c.call_id == _calls.c.id)
_LOCK = (
    select(
        *(_calls.c[name] for name in _COLUMNS),
        _RATING_ID.label("rating_id"),
        _LINKED_BY.label("linked_by"),
        _HAD_STREAM.label("had_stream"),
    )
    .where(_calls.c.call_sid == bindparam("call_sid"))
    .with_for_update(of=_calls)
)
# SET: the columns named by the parameters (one compiled form per set of columns).
_UPDATE = update(_calls).where(_calls.c.id == bindparam("call_id"))
_INSERT_CALLBACK = insert(Callback.__table__)
_INSERT_TICKET = insert(CallTicket.__table__)


@dataclass
class CallRow:
    """The columns of a call the webhooks decide on; whether it has a rating, is named
    by another call (a linked pair) and had a media stream."""

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
    linked_by: bool
    had_stream: bool


def lock_call(session: Session, call_sid: str) -> CallRow | None:
    """The call's row, locked until commit like `get_or_create_call`'s; None if unknown."""
    row = connection_of(session).execute(_LOCK, {"call_sid": call_sid}).first()
    return CallRow(**row._mapping) if row is not None else None


def insert_call(session: Session, call_sid: str, details: CallDetails, **more: str) -> int | None:
    """Insert a new call with what the request tells (and `more` columns) and its
    tickets; its id, or None when the call exists (nothing written)."""
    values = {"call_sid": call_sid, "created_at": utcnow()} | told_values(details) | more
    statement = insert_once_statement(_calls, "call_sid", _dialect(session))
    call_id = connection_of(session).execute(statement, values).scalar_one_or_none()
    if call_id is not None and details.tickets:
        tickets = enumerate(details.tickets[:MAX_TICKETS])
        rows = [{"call_id": call_id, "ticket": ticket, "position": at} for at, ticket in tickets]
        connection_of(session).execute(_INSERT_TICKET, rows)
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
    connection_of(session).execute(_UPDATE, changes | {"call_id": call.id})


def told(call: CallRow, details: CallDetails) -> dict[str, Any]:
    """`told_changes` of the row."""
    return told_changes({name: getattr(call, name) for name in TOLD}, details)


def ended(call: CallRow, disposition: str) -> dict[str, Any]:
    """`ending` of the row."""
    return ending(call.disposition, call.ended_at, disposition)


def has_partners(call: CallRow) -> bool:
    """Is the call one of a linked pair (either way)? Those are rated the ORM way."""
    return call.linked_call_id is not None or bool(call.linked_by)


def insert_rating(
    session: Session, call: CallRow, level: str, source: str, now: datetime
) -> int | None:
    """Store the rating of a call that is not one of a linked pair; its id, or None
    (nothing written) when the call is rated already. `rated` follows."""
    statement = insert_once_statement(_ratings, "call_id", _dialect(session))
    values = rating_values(call.id, level, source, now)
    call.rating_id = connection_of(session).execute(statement, values).scalar_one_or_none()
    return call.rating_id


def rated(session: Session, call: CallRow, level: str, source: str, now: datetime) -> None:
    """What `record_rating` does after storing the rating: a bad one opens its callback
    and tells the department, the work-order system is told (the jobs in one statement).
    The call's history (`rated_event`) and own changes (`rated_changes`) are the
    caller's to write."""
    if call.rating_id is None:
        raise ValueError("rated() before insert_rating()")
    jobs = []
    if LEVEL_CATEGORY[level] == "bad":
        opened = callback_values(call.id, call.caller, callback_dept(call), call.rating_id, now)
        connection_of(session).execute(_INSERT_CALLBACK, opened)
        jobs.append(job_row(ANNOUNCE_JOB, {"call_id": call.id}, f"announce:{call.id}"))
    jobs.append(job_row(PUSH_CALL_UPDATE, {"call_sid": call.call_sid}, f"rated:{call.id}"))
    add_jobs(session, jobs)


def rated_event(level: str, source: str) -> tuple[str, str]:
    """The entry of the call's history that says it was rated (as `record_rating`)."""
    return "rated", f"{level} ({source})"


def rated_changes(now: datetime) -> dict[str, Any]:
    """The call's changes once rated (as `record_rating`)."""
    return {"disposition": DISPOSITION_RATED, "updated_at": now}


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name
