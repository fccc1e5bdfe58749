"""The periodic duties (`ivr sweep`, and the `cron` process on a schedule)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from redis import Redis
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.models import CALLBACK_OPEN, Callback
from workers.queues import resend_pending

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did."""

    callbacks_overdue: int
    jobs_sent: int

    def __str__(self) -> str:
        return f"callbacks marked overdue: {self.callbacks_overdue}; jobs sent: {self.jobs_sent}"


def sweep(factory: sessionmaker[Session], redis: Redis, now: datetime) -> SweepReport:
    """Run every periodic duty once, as of `now`. Safe to run twice, or late."""
    overdue = mark_overdue_callbacks(factory, now)
    sent = resend_pending(factory, redis)
    report = SweepReport(callbacks_overdue=overdue, jobs_sent=sent)
    log.info("sweep as of %s: %s", now.isoformat(), report)
    return report


def mark_overdue_callbacks(factory: sessionmaker[Session], now: datetime) -> int:
    """Flag open callbacks whose 48-hour deadline has passed."""
    with transaction(factory) as session:
        result = session.execute(
            update(Callback)
            .where(
                Callback.state == CALLBACK_OPEN, Callback.due_at < now, Callback.overdue.is_(False)
            )
            .values(overdue=True, updated_at=now)
        )
        return result.rowcount or 0
