"""The daily figures rollup (`figures_daily`): counts per hotline day, department and agent.

A day's rows are recomputed from its calls (one grouped query over a few thousand
rows) whenever one of its calls changed. Every change the figures depend on (a rating,
a default rating, a callback step, a verdict excluding a rating) bumps the call's
`updated_at`, so `refresh` finds the days to redo with the `calls.updated_at` index,
from a watermark kept in `figures_state`. The watermark trails the clock by `OVERLAP`
so that a transaction committing a little after its timestamp is still seen.
Changes dated in the past (tests, `ivr sweep --now` in the past) are not seen:
`rebuild` recomputes everything (`ivr figures rebuild`).

Days are counted by the call's start, in the hotline's time zone (`HOTLINE_TZ`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, delete, func, insert, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from callflows.vocabulary import LEVELS
from storage.db import transaction
from storage.models import (
    CALLBACK_ANONYMOUS,
    CALLBACK_CLOSED,
    CALLBACK_NOT_ADOPTED,
    CALLBACK_OPEN,
    CALLBACK_UNREACHABLE,
    DISPOSITION_NOT_SERVED,
    KIND_LATER,
    RESOLUTION_RECTIFY_5D,
    RESOLUTION_RECTIFY_15D,
    SERVICE_KINDS,
    Call,
    Callback,
    FigureDay,
    FigureState,
    Rating,
)
from storage.types import utcnow
from storage.workflow.callbacks import FEEDBACK_NOT_REACHED
from storage.workflow.deadlines import end_of_day, hotline_tz, local_day, start_of_day

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=10)
STATE_ID = 1
DAYS_PER_TRANSACTION = 31


def _count(condition) -> object:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _day_statement(day: date, tz: ZoneInfo):
    """One day's counts per department and agent, straight from the calls."""
    counted = and_(Rating.id.is_not(None), Rating.excluded.is_(False))
    bad_counted = and_(counted, Callback.id.is_not(None))
    rectify = Callback.resolution.in_((RESOLUTION_RECTIFY_5D, RESOLUTION_RECTIFY_15D))
    real_name = and_(
        counted,
        Rating.category == "bad",
        func.coalesce(Call.caller, "") != "",
        Callback.state != CALLBACK_ANONYMOUS,
    )
    closed = Callback.state == CALLBACK_CLOSED
    heard = func.coalesce(Callback.feedback, "") != FEEDBACK_NOT_REACHED
    dept = func.coalesce(Call.dept, "")
    agent = func.coalesce(Call.agent, "")
    return (
        select(
            literal(day).label("day"),
            dept.label("dept"),
            agent.label("agent"),
            func.count(Call.id).label("calls"),
            _count(counted).label("rated"),
            _count(and_(counted, Rating.source != "default")).label("active"),
            _count(and_(counted, Rating.category == "good")).label("good"),
            _count(and_(counted, Rating.category == "neutral")).label("neutral"),
            _count(and_(counted, Rating.category == "bad")).label("bad"),
            _count(Rating.excluded.is_(True)).label("excluded"),
            _count(Callback.state == CALLBACK_NOT_ADOPTED).label("not_adopted"),
            _count(
                and_(
                    bad_counted,
                    or_(
                        Callback.reached_at.is_not(None),
                        Callback.overdue.is_(True),
                        Callback.state == CALLBACK_UNREACHABLE,
                    ),
                )
            ).label("cb_settled"),
            _count(and_(bad_counted, Callback.reached_at <= Callback.due_at)).label("cb_in_time"),
            _count(
                and_(
                    bad_counted,
                    Callback.state == CALLBACK_OPEN,
                    Callback.reached_at.is_(None),
                    Callback.overdue.is_(False),
                )
            ).label("cb_pending"),
            _count(
                and_(
                    bad_counted,
                    rectify,
                    or_(Callback.state == CALLBACK_CLOSED, Callback.rectify_overdue.is_(True)),
                )
            ).label("rect_settled"),
            _count(
                and_(
                    bad_counted,
                    rectify,
                    Callback.state == CALLBACK_CLOSED,
                    Callback.closed_at <= Callback.rectify_due_at,
                )
            ).label("rect_on_time"),
            _count(real_name).label("realname_bad"),
            _count(and_(real_name, closed, heard)).label("realname_followed"),
            _count(and_(real_name, closed, ~heard)).label("realname_unconfirmed"),
            _count(and_(counted, Callback.state == CALLBACK_ANONYMOUS)).label("anonymous_bad"),
            _count(and_(Call.disposition != DISPOSITION_NOT_SERVED, Call.kind != KIND_LATER)).label(
                "served"
            ),
            *(_count(and_(counted, Rating.level == level)).label(level) for level in LEVELS),
        )
        .select_from(Call)
        .outerjoin(Rating, Rating.call_id == Call.id)
        .outerjoin(Callback, Callback.call_id == Call.id)
        .where(Call.created_at >= start_of_day(day, tz), Call.created_at < end_of_day(day, tz))
        .where(Call.kind.in_(SERVICE_KINDS))  # calls to the survey line are no service
        .group_by(dept, agent)
    )


COLUMNS = [column.name for column in FigureDay.__table__.columns if column.name != "id"]


def recompute_days(session: Session, days: Iterable[date], tz: ZoneInfo | None = None) -> int:
    """Replace the rollup rows of `days` with fresh counts; return how many days."""
    tz = tz or hotline_tz()
    done = 0
    for day in sorted(set(days)):
        session.execute(delete(FigureDay).where(FigureDay.day == day))
        session.execute(insert(FigureDay).from_select(COLUMNS, _day_statement(day, tz)))
        done += 1
    return done


def _changed_days(session: Session, since: datetime, tz: ZoneInfo) -> set[date]:
    """The hotline days of the calls changed at or after `since`."""
    statement = select(Call.created_at).where(Call.updated_at >= since)
    return {local_day(created, tz) for created in session.scalars(statement)}


def _all_days(session: Session, tz: ZoneInfo) -> list[date]:
    bounds = select(func.min(Call.created_at), func.max(Call.created_at))
    first, last = session.execute(bounds).one()
    if first is None:
        return []
    start, end = local_day(first, tz), local_day(last, tz)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _save_watermark(session: Session, until: datetime) -> None:
    state = session.get(FigureState, STATE_ID)
    if state is None:
        session.add(FigureState(id=STATE_ID, refreshed_until=until))
    else:
        state.refreshed_until = until


def refresh(factory: sessionmaker[Session], tz: ZoneInfo | None = None) -> int:
    """Bring the rollup up to date; return how many days were recomputed.

    Reads only (one indexed query) when nothing changed; the first run builds it all.
    """
    tz = tz or hotline_tz()
    started = utcnow()
    with factory() as session:
        state = session.get(FigureState, STATE_ID)
        if state is None:
            days = _all_days(session, tz)
        else:
            days = sorted(_changed_days(session, state.refreshed_until - OVERLAP, tz))
    if not days and state is not None:
        return 0  # nothing changed: no write at all
    for start in range(0, max(len(days), 1), DAYS_PER_TRANSACTION):
        try:
            with transaction(factory) as session:
                recompute_days(session, days[start : start + DAYS_PER_TRANSACTION], tz)
                if start + DAYS_PER_TRANSACTION >= len(days):
                    _save_watermark(session, started)
        except IntegrityError:  # PostgreSQL: a concurrent refresh wrote these days first
            log.info("figures rollup: days redone by a concurrent refresh")
            return 0
    if days:
        log.info("figures rollup: %d day(s) recomputed", len(days))
    return len(days)


def rebuild(factory: sessionmaker[Session], tz: ZoneInfo | None = None) -> int:
    """Recompute every day from scratch (after changes dated in the past)."""
    with transaction(factory) as session:
        session.execute(delete(FigureState))
        session.execute(delete(FigureDay))
    return refresh(factory, tz)
