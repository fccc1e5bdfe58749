"""Rating later (补充评价, domain.md rule 5): a caller rings the survey line again.

The caller's number (`From`) finds that caller's unrated hotline calls still inside
the 7-day period; the most recent is offered, and its rating is stored on it, not on
the call to the survey line (which becomes a `later` call naming it in `rates_call_id`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from storage import deadlines
from storage.models import (
    DISPOSITION_HUNG_UP,
    DISPOSITION_NO_INPUT,
    KIND_HOTLINE,
    KIND_LATER,
    Call,
    CallEvent,
    Rating,
)

# Surveys that ended without a rating: the caller may still give one.
UNRATED = (DISPOSITION_HUNG_UP, DISPOSITION_NO_INPUT)
MAX_AGO = deadlines.DEFAULT_RATING_DAYS


def unrated_calls(session: Session, number: str, now: datetime) -> list[Call]:
    """The caller's hotline calls still open to a rating at `now`, most recent first."""
    statement = (
        select(Call)
        .where(
            Call.caller == number,
            Call.kind == KIND_HOTLINE,
            Call.disposition.in_(UNRATED),
            Call.created_at >= deadlines.default_rating_cutoff(now),
            Call.created_at <= now,
            ~exists().where(Rating.call_id == Call.id),
        )
        .order_by(Call.created_at.desc(), Call.id.desc())
    )
    return list(session.scalars(statement.limit(20)))


def days_ago(call: Call, now: datetime) -> int:
    """Natural days between the call's day and today (hotline time), 0 to 7."""
    tz = deadlines.hotline_tz()
    days = (deadlines.local_day(now, tz) - deadlines.local_day(call.created_at, tz)).days
    return max(0, min(MAX_AGO, days))


def offer_later_rating(session: Session, call: Call, now: datetime) -> Call | None:
    """Make `call` (to the survey line) rate the caller's most recent unrated call.

    Returns that earlier call, or None when the caller has none (or no caller id).
    """
    if not call.caller or call.kind != KIND_HOTLINE or call.tickets:
        return None
    found = [other for other in unrated_calls(session, call.caller, now) if other.id != call.id]
    if not found:
        return None
    target = found[0]
    call.kind, call.rates_call_id = KIND_LATER, target.id
    session.add(CallEvent(call_id=call.id, kind="later_offer", detail=target.call_sid))
    session.add(CallEvent(call_id=target.id, kind="later_offer", detail=call.call_sid))
    return target


def rated_call(session: Session, call: Call) -> Call:
    """The call a rating given on `call` belongs to: the earlier one for a `later` call."""
    if call.kind == KIND_LATER and call.rates_call_id is not None:
        return session.get_one(Call, call.rates_call_id)
    return call
