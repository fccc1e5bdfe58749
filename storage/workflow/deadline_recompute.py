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
from datetime import date, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from storage.db import transaction
from storage.models import (
    CALLBACK_CALLED_BACK,
    RESOLUTION_RECTIFY_5D,
    RESOLUTION_RECTIFY_15D,
    Call,
    Callback,
    CallbackEvent,
    OutboxJob,
)
from storage.outbox import DEFAULT_QUEUE
from storage.reports.serialize import iso
from storage.workflow import deadlines, holidays
from storage.workflow.callback_steps import PUSH_CALL_UPDATE, SYSTEM
from storage.workflow.notifications import insert_many_once

RECTIFY_DAYS = {RESOLUTION_RECTIFY_5D: 5, RESOLUTION_RECTIFY_15D: 15}
BATCH = 200
NOTE = "节假日安排已导入，按工作日重新计算整改期限"


@dataclass(frozen=True)
class RecomputeReport:
    """How many open rectifications were looked at, and how many changed."""

    examined: int
    changed: int


def rectify_start(callback: Callback) -> datetime | None:
    """The moment a rectification period is counted from (see `storage.workflow.callbacks`)."""
    return callback.verdict_at


def recompute_open_deadlines(
    factory: sessionmaker[Session], now: datetime, batch: int = BATCH
) -> RecomputeReport:
    """Recount open working-day rectification deadlines with the table as committed.

    Works in short transactions of `batch` callbacks (in id order), so that webhooks
    never wait long for SQLite's write lock; safe to run again (an unchanged deadline
    is left alone).
    """
    examined = changed = last_id = 0
    due_by_day: dict[tuple[date, int], deadlines.Deadline] = {}
    while True:
        with transaction(factory) as session:
            statement = select(Callback).where(
                Callback.state == CALLBACK_CALLED_BACK,
                Callback.resolution.in_(RECTIFY_DAYS),
                Callback.rectify_due_at.is_not(None),
                Callback.id > last_id,
            )
            if deadlines.deadline_mode() == deadlines.NATURAL:
                # Natural days know no holidays; only deadlines once counted in working
                # days on weekends alone (a year then unknown) are recounted.
                statement = statement.where(Callback.rectify_due_fallback.is_(True))
            rows = session.scalars(
                statement.order_by(Callback.id)
                .limit(batch)
                .options(selectinload(Callback.call))
                .with_for_update(of=Callback)
            ).all()
            if not rows:
                break
            last_id = rows[-1].id
            changes = []
            with holidays.using(holidays.read_calendar(session)):
                for callback in rows:
                    start = rectify_start(callback)
                    if start is None:
                        continue
                    examined += 1
                    days = RECTIFY_DAYS[callback.resolution]
                    key = (deadlines.local_day(start), days)
                    if key not in due_by_day:  # a deadline depends on the start's day only
                        due_by_day[key] = deadlines.rectify_due(start, days, deadlines.WORKING)
                    due = due_by_day[key]
                    if (due.at, due.fallback) != (
                        callback.rectify_due_at,
                        callback.rectify_due_fallback,
                    ):
                        changes.append((callback, due))
            _store(session, changes, now)
            changed += len(changes)
    return RecomputeReport(examined, changed)


def _store(
    session: Session, changes: list[tuple[Callback, deadlines.Deadline]], now: datetime
) -> None:
    """Store recounted deadlines, each with its event and push job, in a few statements
    (what `storage.workflow.callback_steps.append_event` writes, set-based)."""
    if not changes:
        return
    events, jobs = [], []
    for callback, due in changes:
        before = callback.rectify_due_at
        callback.rectify_due_at, callback.rectify_due_fallback = due.at, due.fallback
        callback.updated_at = now
        detail = {"before": iso(before), "after": iso(due.at), "provisional": due.fallback}
        events.append(
            {
                "callback_id": callback.id,
                "at": now,
                "actor_name": SYSTEM,
                "kind": "deadline_recomputed",
                "from_state": callback.state,
                "to_state": callback.state,
                "note": NOTE,
                "detail": detail,
            }
        )
        jobs.append(
            {
                "queue": DEFAULT_QUEUE,
                "func": PUSH_CALL_UPDATE,
                "args": {"call_sid": callback.call.call_sid},
                "dedupe_key": f"callback:{callback.id}:deadline:{iso(due.at)}",
                "created_at": now,
                "attempts": 0,
            }
        )
    session.flush()
    session.execute(insert(CallbackEvent.__table__), events)
    call_ids = [callback.call_id for callback, _ in changes]
    session.execute(update(Call.__table__).where(Call.id.in_(call_ids)).values(updated_at=now))
    insert_many_once(session, OutboxJob, jobs, "dedupe_key", OutboxJob.id)
