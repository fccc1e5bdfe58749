"""Operations on calls and their ratings, safe under duplicate and concurrent deliveries.

Every insert that a repeated webhook could repeat goes through `insert_once`: the
database, not the application, decides which of two concurrent deliveries wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from storage.access.privacy import is_reachable_number, phone_tail
from storage.inserts import insert_new
from storage.models import (
    CALLBACK_ANONYMOUS,
    CALLBACK_OPEN,
    DISPOSITION_IN_PROGRESS,
    DISPOSITION_RATED,
    DISPOSITION_RATED_BY_LINK,
    KIND_CLOSURE,
    LEVEL_CATEGORY,
    Call,
    Callback,
    CallTicket,
    Rating,
)
from storage.outbox import ANNOUNCE_BAD_RATING, PUSH_CALL_UPDATE, add_job
from storage.records.events import log_event
from storage.records.links import close_by_link, close_partners, partners, rated_partner
from storage.settings import settings
from storage.text_safety import strip_control
from storage.types import utcnow

CALLBACK_DUE_AFTER = timedelta(hours=48)
MAX_TICKETS = 50
ANNOUNCE_JOB = ANNOUNCE_BAD_RATING


@dataclass(frozen=True)
class CallDetails:
    """What a webhook tells about a call; `None` means "not said in this request"."""

    caller: str | None = None
    called: str | None = None
    lang: str | None = None
    agent: str | None = None
    dept: str | None = None
    tickets: tuple[str, ...] = ()
    call_status: str | None = None
    dial_call_status: str | None = None

    def __post_init__(self) -> None:
        """Whatever the source (webhook, API JSON), no control characters are kept."""
        for name in ("caller", "called", "lang", "agent", "dept"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, strip_control(value) or None)
        tickets = tuple(t for t in (strip_control(t) for t in self.tickets) if t)
        object.__setattr__(self, "tickets", tickets)


def get_or_create_call(
    session: Session, call_sid: str, details: CallDetails, *, likely_new: bool = False
) -> Call:
    """The call with `call_sid`, created on first sight; blanks are filled, nothing overwritten.

    The call's row is locked until commit (PostgreSQL; SQLite has one writer anyway), so
    that two deliveries for one call, e.g. a key press and the status callback, take
    turns: the later one sees what the first wrote instead of overwriting it.
    `likely_new` (the survey's start): try the INSERT first, and SELECT only if the
    call exists, rather than the other way round.
    """
    locked = select(Call).where(Call.call_sid == call_sid).with_for_update()
    call = None if likely_new else session.scalars(locked).one_or_none()
    if call is None:  # inserted with what this request tells: no UPDATE to fill it after
        values = {"call_sid": call_sid, "created_at": utcnow()} | told_values(details)
        call = insert_new(session, Call, values, "call_sid")
        if call is None:  # it exists (seen before, or created meanwhile by another request)
            call = session.scalars(locked).one()
        else:  # a new call has nothing yet: no need to ask the database
            set_committed_value(call, "tickets", [])
            set_committed_value(call, "rating", None)
    current = {name: getattr(call, name) for name in TOLD}
    for name, value in told_changes(current, details).items():
        setattr(call, name, value)
    if details.tickets and not call.tickets:
        call.tickets = [
            CallTicket(ticket=ticket, position=index)
            for index, ticket in enumerate(details.tickets[:MAX_TICKETS])
        ]
    return call


TOLD = ("lang", "caller", "called", "agent", "dept", "call_status", "dial_call_status")
FILLED_BLANKS = ("caller", "called", "agent", "dept", "dial_call_status")


def told_changes(current: Mapping[str, Any], details: CallDetails) -> dict[str, str]:
    """What a request changes on a known call (`current`: its `TOLD` columns): the
    language and the call status as told, the other details only where still blank."""
    changes = {}
    if details.lang and details.lang != current["lang"]:
        changes["lang"] = details.lang  # the survey URL is the authority on the language
    for name in FILLED_BLANKS:
        value = getattr(details, name)
        if value and current[name] in (None, ""):
            changes[name] = value
    if details.call_status and details.call_status != current["call_status"]:
        changes["call_status"] = details.call_status
    return changes


def told_values(details: CallDetails) -> dict[str, str]:
    """The call's columns this request gives a value (as `get_or_create_call` fills them)."""
    told = {name: getattr(details, name) for name in TOLD if getattr(details, name)}
    if details.caller:  # a Core INSERT: the model's `caller` setter does not run
        told["caller_tail"] = phone_tail(details.caller)
    return told


def find_call(session: Session, call_sid: str) -> Call | None:
    """The call with `call_sid`, or None."""
    return session.scalars(select(Call).where(Call.call_sid == call_sid)).one_or_none()


def end_survey(session: Session, call: Call, disposition: str) -> None:
    """Record how the survey ended, unless it already ended another way."""
    for name, value in ending(call.disposition, call.ended_at, disposition).items():
        setattr(call, name, value)


def ending(now_disposition: str, ended_at: datetime | None, disposition: str) -> dict[str, Any]:
    """The call's changes when its survey ends with `disposition` (`end_survey`)."""
    changes: dict[str, Any] = {}
    if now_disposition == DISPOSITION_IN_PROGRESS:
        changes["disposition"] = disposition
    if ended_at is None and disposition != DISPOSITION_IN_PROGRESS:
        changes["ended_at"] = utcnow()
    return changes


class KindAndDept(Protocol):
    """What `callback_dept` reads of a call (a `Call`, or a row of `call_rows`)."""

    kind: str
    dept: str | None


def callback_dept(call: KindAndDept) -> str | None:
    """Who follows up a bad rating (谁办理、谁负责).

    A ticket-closure survey rates the department's handling: its department. A hotline
    call rates the hotline's own service: the hotline centre's department
    (`HOTLINE_DEPT`) when set, else the department the call names.
    """
    if call.kind == KIND_CLOSURE:
        return call.dept
    return settings().hotline_dept or call.dept


def record_rating(
    session: Session,
    call: Call,
    level: str,
    source: str,
    now: datetime | None = None,
    recording_id: int | None = None,
) -> Rating | None:
    """Store the call's rating; return it, or None if the call was already rated.

    A bad rating opens its callback, due 48 hours later, in the same transaction;
    the work-order system is told through the outbox. A call whose linked party
    (proxy or applicant) is rated gets none: it is closed as `rated_by_link`, and
    rating it closes its linked calls the same way.
    """
    now = now or utcnow()
    if call.disposition == DISPOSITION_RATED_BY_LINK:
        return None  # the linked party's rating covers this call
    linked = partners(session, call)
    rated = rated_partner(session, call, linked) if linked else None
    if rated is not None:  # linked after the other party rated
        close_by_link(session, call, rated, now)
        return None
    category = LEVEL_CATEGORY[level]
    values = rating_values(call.id, level, source, now, recording_id)
    rating = insert_new(session, Rating, values, "call_id")
    if rating is None:
        return None
    rating_id = rating.id
    set_committed_value(call, "rating", rating)
    call.disposition = DISPOSITION_RATED
    call.updated_at = now
    if category == "bad":
        open_callback(session, call, rating_id, now)
    log_event(session, call, "rated", f"{level} ({source})")
    if linked:
        close_partners(session, call, now, linked)
    add_job(session, PUSH_CALL_UPDATE, {"call_sid": call.call_sid}, f"rated:{call.id}")
    return rating


def rating_values(
    call_id: int, level: str, source: str, now: datetime, recording_id: int | None = None
) -> dict[str, Any]:
    """The rating row of a call."""
    category = LEVEL_CATEGORY[level]
    return {
        "call_id": call_id,
        "level": level,
        "category": category,
        "source": source,
        "rated_at": now,
        "recording_id": recording_id,
    }


def open_callback(session: Session, call: Call, rating_id: int, now: datetime) -> None:
    """Open the callback of a bad rating, its clock started now (storage/workflow/clocks.py).

    A 差评 without a usable caller number cannot be called back: it is `anonymous`,
    with no deadline, never escalated, counted apart. The department is told through
    the outbox (`workers.jobs.announce_bad_rating`).
    """
    values = callback_values(call.id, call.caller, callback_dept(call), rating_id, now)
    session.add(Callback(**values))
    add_job(session, ANNOUNCE_JOB, {"call_id": call.id}, f"announce:{call.id}")


def callback_values(
    call_id: int, caller: str | None, dept: str | None, rating_id: int, now: datetime
) -> dict[str, Any]:
    """The callback row a bad rating opens (`open_callback`), its clock started `now`."""
    from storage.workflow import clocks  # here: storage.workflow.deadlines imports this module

    anonymous = not is_reachable_number(caller)
    values: dict[str, Any] = {
        "call_id": call_id,
        "rating_id": rating_id,
        "dept": dept,
        "state": CALLBACK_ANONYMOUS if anonymous else CALLBACK_OPEN,
        "due_at": now + CALLBACK_DUE_AFTER,
        "created_at": now,
        "updated_at": now,
    }
    if not anonymous:
        return values | clocks.clock_values(now)
    return values | {"clock_start_at": now}
