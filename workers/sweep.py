"""The periodic duties (`ivr sweep`, and the `cron` process on a schedule)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from redis import Redis
from sqlalchemy.orm import Session, sessionmaker

from storage.records import spool
from storage.records.kept import drain_spool
from storage.reports.figures_rollup import refresh as refresh_figures
from workers.due_soon import notify_due_soon
from workers.duties import (
    STEP_CALLBACK,
    STEP_CONTACT,
    STEP_RECTIFY,
    give_default_ratings,
    mark_overdue,
)
from workers.queues import resend_lost, resend_pending
from workers.reminders import queue_reminders
from workers.retention import purge_recordings

log = logging.getLogger(__name__)

# `resend_pending` sends at most SEND_ROUND jobs a round; a sweep that made more (a backlog
# of default ratings) sends rounds until the outbox is drained or SEND_BUDGET_S is spent
# (about 1 ms a job), so that a sweep stays well inside the cron heartbeat's 180 s; the
# next sweep sends the rest.
SEND_ROUND = 500
SEND_BUDGET_S = 60.0


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did."""

    callbacks_overdue: int
    jobs_sent: int
    default_ratings: int = 0
    rectifications_overdue: int = 0
    notifications: int = 0
    sms_reminders: int = 0
    recordings_purged: int = 0

    def __str__(self) -> str:
        return (
            f"default ratings: {self.default_ratings}; "
            f"callbacks marked overdue: {self.callbacks_overdue}; "
            f"rectifications marked overdue: {self.rectifications_overdue}; "
            f"escalation notifications: {self.notifications}; "
            f"SMS reminders queued: {self.sms_reminders}; "
            f"jobs sent: {self.jobs_sent}; "
            f"recordings purged: {self.recordings_purged}"
        )


def sweep(factory: sessionmaker[Session], redis: Redis, now: datetime) -> SweepReport:
    """Run every periodic duty once, as of `now`. Safe to run twice, or late.

    First, what web processes kept while the database was busy is applied; while any
    of it is still kept (another process applying it), no default rating is given:
    a call with a kept key must never get one."""
    drain_spool(factory)
    if spool.pending():
        log.warning("kept entries still being applied: default ratings wait for the next sweep")
        ratings = 0
    else:
        ratings = give_default_ratings(factory, now)
    contact, notified_contact = mark_overdue(factory, now, STEP_CONTACT)
    overdue, notified = mark_overdue(factory, now, STEP_CALLBACK)
    rectify, notified_rectify = mark_overdue(factory, now, STEP_RECTIFY)
    notified += notified_contact + notify_due_soon(factory, now)
    reminders = queue_reminders(factory, now)
    purged = purge_recordings(factory, now)
    refresh_figures(factory)
    sent, deadline = resend_lost(factory, redis, now), time.monotonic() + SEND_BUDGET_S
    while True:
        sent_now = resend_pending(factory, redis, now)
        sent += sent_now
        if sent_now < SEND_ROUND or time.monotonic() > deadline:
            break
    report = SweepReport(
        callbacks_overdue=overdue + contact,
        jobs_sent=sent,
        default_ratings=ratings,
        rectifications_overdue=rectify,
        notifications=notified + notified_rectify,
        sms_reminders=reminders,
        recordings_purged=purged.purged_here,
    )
    log.info("sweep as of %s: %s", now.isoformat(), report)
    return report


def mark_overdue_callbacks(factory: sessionmaker[Session], now: datetime) -> int:
    """Flag open callbacks whose 48-hour deadline has passed, and escalate them."""
    return mark_overdue(factory, now, STEP_CALLBACK)[0]
