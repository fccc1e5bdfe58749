"""Recount the working-day deadlines of open cases after a holiday notice is imported.

A rectification decided before its year's holidays were known was counted on weekends
only (`rectify_due_fallback`), or with whatever the calendar said then. After
`ivr holidays import` every open rectification whose deadline is counted in working
days is counted again with the calendar in force; each change is a `deadline_recomputed`
event (old and new due time) in the callback's history and a push to the work-order
system. Overdue flags already raised stay: their escalation happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import deadlines, holidays
from storage.callback_steps import append_event
from storage.models import (
    CALLBACK_CALLED_BACK,
    RESOLUTION_RECTIFY_5D,
    RESOLUTION_RECTIFY_15D,
    Callback,
)
from storage.serialize import iso

RECTIFY_DAYS = {RESOLUTION_RECTIFY_5D: 5, RESOLUTION_RECTIFY_15D: 15}


@dataclass(frozen=True)
class RecomputeReport:
    """How many open rectifications were looked at, and how many changed."""

    examined: int
    changed: int


def rectify_start(callback: Callback) -> datetime | None:
    """The moment a rectification period is counted from (see `storage.callbacks`)."""
    return callback.verdict_at


def recompute_open_deadlines(session: Session, now: datetime) -> RecomputeReport:
    """Recount open working-day rectification deadlines with the table as it is in `session`."""
    statement = select(Callback).where(
        Callback.state == CALLBACK_CALLED_BACK,
        Callback.resolution.in_(RECTIFY_DAYS),
        Callback.rectify_due_at.is_not(None),
    )
    if deadlines.deadline_mode() == deadlines.NATURAL:
        # Natural days know no holidays; only deadlines once counted in working days
        # on weekends alone (a year then unknown) are recounted, in working days.
        statement = statement.where(Callback.rectify_due_fallback.is_(True))
    examined = changed = 0
    with holidays.using(holidays.read_calendar(session)):
        for callback in session.scalars(statement.order_by(Callback.id).with_for_update()):
            start = rectify_start(callback)
            if start is None:
                continue
            examined += 1
            due = deadlines.rectify_due(start, RECTIFY_DAYS[callback.resolution], deadlines.WORKING)
            if (due.at, due.fallback) == (callback.rectify_due_at, callback.rectify_due_fallback):
                continue
            before = callback.rectify_due_at
            callback.rectify_due_at, callback.rectify_due_fallback = due.at, due.fallback
            append_event(
                session,
                callback,
                "deadline_recomputed",
                now=now,
                note="节假日安排已导入，按工作日重新计算整改期限",
                detail={"before": iso(before), "after": iso(due.at), "provisional": due.fallback},
            )
            changed += 1
    return RecomputeReport(examined, changed)
