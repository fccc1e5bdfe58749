"""Rating later (补充评价, domain.md rule 5): a caller rings the survey line again.

The survey line rates only real service. The caller's number (`From`) finds that
caller's hotline calls still open to a rating: unrated (the caller hung up or gave no
valid key) or rated only by the 7-day default, made within the supplementary window
(`LATER_RATING_DAYS` natural days after the call's day, default 15: the window ends at
24:00 of the call's day + 15, hotline time). The most recent is offered and its rating
is stored on it, not on the call to the survey line (which becomes a `later` call
naming it in `rates_call_id`).

With nothing to offer the survey line says so and hangs up: the call becomes a
`survey_line` call with disposition `not_served`, so it stores no rating, gets no SMS
reminder and no default rating, and is not counted in the figures.

A caller's own later rating replaces a default rating of the same call: the rating row
is updated (one rating per call still holds), the default stays in the call's history
(a `default_replaced` event), and a 差评 opens the call's callback as any 差评 does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from callflows.vocabulary import SOURCE_DEFAULT
from storage.models import (
    DISPOSITION_HUNG_UP,
    DISPOSITION_NO_INPUT,
    DISPOSITION_NOT_SERVED,
    DISPOSITION_RATED,
    KIND_HOTLINE,
    KIND_LATER,
    KIND_SURVEY_LINE,
    LEVEL_CATEGORY,
    Call,
    Rating,
)
from storage.outbox import PUSH_CALL_UPDATE, add_job
from storage.records.calls import log_event, open_callback
from storage.reports.serialize import iso
from storage.settings import LATER_DAYS_MAX, settings
from storage.workflow import deadlines

# Surveys that ended without a rating: the caller may still give one.
UNRATED = (DISPOSITION_HUNG_UP, DISPOSITION_NO_INPUT)
MAX_AGO = LATER_DAYS_MAX  # the longest window


def window_days() -> int:
    """`LATER_RATING_DAYS`: natural days after the call's day a later rating is taken (1-30)."""
    return settings().later_rating_days


def window_end(call_at: datetime) -> datetime:
    """The end of the call's supplementary window: 24:00 of its day + `window_days()`."""
    return deadlines.period_end(call_at, window_days(), deadlines.NATURAL).at


def window_cutoff(now: datetime) -> datetime:
    """Calls made at or after this time are still inside their window at `now`."""
    tz = deadlines.hotline_tz()
    return deadlines.start_of_day(deadlines.local_day(now, tz) - timedelta(window_days()), tz)


def rateable_calls(session: Session, number: str, now: datetime) -> list[Call]:
    """The caller's hotline calls open to a later rating at `now`, most recent first."""
    unrated = and_(Call.disposition.in_(UNRATED), ~exists().where(Rating.call_id == Call.id))
    by_default = and_(
        Call.disposition == DISPOSITION_RATED,
        exists().where(Rating.call_id == Call.id, Rating.source == SOURCE_DEFAULT),
    )
    statement = (
        select(Call)
        .where(
            Call.caller == number,
            Call.kind == KIND_HOTLINE,
            or_(unrated, by_default),
            Call.created_at >= window_cutoff(now),
            Call.created_at <= now,
        )
        .order_by(Call.created_at.desc(), Call.id.desc())
    )
    return list(session.scalars(statement.limit(20)))


def days_ago(call: Call, now: datetime) -> int:
    """Natural days between the call's day and today (hotline time), 0 to `MAX_AGO`."""
    tz = deadlines.hotline_tz()
    days = (deadlines.local_day(now, tz) - deadlines.local_day(call.created_at, tz)).days
    return max(0, min(MAX_AGO, days))


def offer_later_rating(session: Session, call: Call, now: datetime) -> Call | None:
    """Make `call` (to the survey line) rate the caller's most recent rateable call.

    Returns that earlier call; or None when there is none (or no caller id): `call`
    then becomes a `survey_line` call that rates nothing.
    """
    if call.kind != KIND_HOTLINE or call.tickets:
        return None
    found = rateable_calls(session, call.caller, now) if call.caller else []
    found = [other for other in found if other.id != call.id]
    if not found:
        call.kind, call.disposition = KIND_SURVEY_LINE, DISPOSITION_NOT_SERVED
        call.ended_at = call.ended_at or now
        log_event(session, call, "nothing_to_rate", "no rateable call of this number")
        return None
    target = found[0]
    call.kind, call.rates_call_id = KIND_LATER, target.id
    log_event(session, call, "later_offer", target.call_sid)
    log_event(session, target, "later_offer", call.call_sid)
    return target


def rated_call(session: Session, call: Call) -> Call:
    """The call a rating given on `call` belongs to: the earlier one for a `later` call."""
    if call.kind == KIND_LATER and call.rates_call_id is not None:
        return session.get_one(Call, call.rates_call_id)
    return call


def rated_by_default(call: Call) -> bool:
    """Is the call's only rating the 7-day default (which the caller may still replace)?"""
    return call.rating is not None and call.rating.source == SOURCE_DEFAULT


def replace_default_rating(
    session: Session,
    call: Call,
    level: str,
    source: str,
    now: datetime,
    recording_id: int | None = None,
) -> Rating | None:
    """Replace the call's default rating by the caller's own; None if it is not a default.

    The update is conditional on `source = 'default'`, so of two concurrent later
    ratings only one replaces it.
    """
    rating = call.rating
    if rating is None or source == SOURCE_DEFAULT:
        return None
    before = f"{rating.level} (default, {iso(rating.rated_at)})"
    category = LEVEL_CATEGORY[level]
    replaced = session.execute(
        update(Rating)
        .where(Rating.id == rating.id, Rating.source == SOURCE_DEFAULT)
        .values(
            level=level,
            category=category,
            source=source,
            rated_at=now,
            recording_id=recording_id,
        )
        .execution_options(synchronize_session=False)
    )
    if replaced.rowcount != 1:
        return None
    session.refresh(rating)
    call.updated_at = now
    log_event(session, call, "default_replaced", before)
    log_event(session, call, "rated", f"{level} ({source})")
    if category == "bad":
        open_callback(session, call, rating.id, now)
    add_job(
        session,
        PUSH_CALL_UPDATE,
        {"call_sid": call.call_sid},
        f"rerated:{call.id}",
    )
    return rating
