"""The job outbox: jobs recorded in the database with the change that needs them.

A transaction records its jobs here (`add_job`, `add_jobs`); `storage.db.transaction`
is the unit of work that, once it has committed, hands them to the session factory's
sender (the web app's sends them to Redis at once; elsewhere the sweep sends them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.inserts import insert_many_once, insert_once
from storage.models import OutboxJob
from storage.types import utcnow

DEFAULT_QUEUE = "default"
SPEECH_QUEUE = "speech"  # recognition of ratings: a caller is waiting
TRANSCRIBE_QUEUE = "transcribe"  # free-form reasons: slow (about real time)
# A job sent this long ago and still not done is presumed lost (Redis flushed,
# worker killed) and sent again by the sweep. Jobs are idempotent, so a slow
# job sent twice is harmless.
RESEND_AFTER = timedelta(minutes=5)

# The worker jobs, by name: functions of `workers.jobs` (the runner runs nothing else).
PUSH_CALL_UPDATE = "workers.jobs.push_call_update"  # tell the work-order system
PROCESS_RECORDING = "workers.jobs.process_recording"  # fetch, keep, recognise
PUSH_NOTIFICATION = "workers.jobs.push_notification"  # escalations, not-adopted reports
SEND_SMS_REMINDER = "workers.jobs.send_sms_reminder"  # one reminder to rate later
DELIVER_NOTIFICATION = "workers.jobs.deliver_notification"  # one notification, one channel
ANNOUNCE_BAD_RATING = "workers.jobs.announce_bad_rating"  # tell the department of a 差评
SEND_OUTCOME_SMS = "workers.jobs.send_outcome_sms"  # tell the caller what became of it
JOBS = (
    PUSH_CALL_UPDATE,
    PROCESS_RECORDING,
    PUSH_NOTIFICATION,
    SEND_SMS_REMINDER,
    DELIVER_NOTIFICATION,
    ANNOUNCE_BAD_RATING,
    SEND_OUTCOME_SMS,
)

RECORDED = "outbox_jobs"  # `Session.info` key: (id, queue) of the jobs this transaction added
SENDER = "send_jobs"  # `Session.info` key: what sends them once committed (see storage.db)
# `Session.info` key of a factory whose sender sends at once after commit: a callable
# saying whether it will try now (e.g. Redis's breaker is closed). If so, the transaction
# writes its jobs as sent (`WRITTEN_SENT`), which saves a transaction to mark them so
# afterwards; the sender clears the mark of any it then fails to send.
SENDS_AT_ONCE = "sends_at_once"
WRITTEN_SENT = "outbox_written_sent"  # `Session.info` key: this transaction did so
# Called with the committed (id, queue) jobs, and `written_sent=True` when they were
# written as sent (only by a factory with `SENDS_AT_ONCE`).
JobSender = Callable[..., Any]


def job_row(
    func: str, args: dict[str, Any], dedupe_key: str, queue: str = DEFAULT_QUEUE
) -> dict[str, Any]:
    """The outbox row of one job."""
    return {
        "queue": queue,
        "func": func,
        "args": args,
        "dedupe_key": dedupe_key,
        "created_at": utcnow(),
        "attempts": 0,
    }


def _as_recorded(session: Session, row: dict[str, Any]) -> dict[str, Any]:
    """The row as this transaction writes it: marked sent when its sender sends at once."""
    if session.info.get(WRITTEN_SENT):
        return row | {"enqueued_at": row["created_at"], "attempts": row["attempts"] + 1}
    return row


def add_job(
    session: Session, func: str, args: dict[str, Any], dedupe_key: str, queue: str = DEFAULT_QUEUE
) -> int | None:
    """Record a job to run after commit; the same `dedupe_key` is recorded once.

    Returns the new job's id (None if the key was already recorded)."""
    with session.no_autoflush:  # the row stands alone: pending changes flush together later
        row = _as_recorded(session, job_row(func, args, dedupe_key, queue))
        job_id = insert_once(session, OutboxJob, row, "dedupe_key")
    if job_id is not None:
        session.info.setdefault(RECORDED, []).append((job_id, queue))
    return job_id


def add_jobs(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Record many jobs (`job_row`s of one queue) at once; the ids of those not yet recorded."""
    rows = [_as_recorded(session, row) for row in rows]
    ids = insert_many_once(session, OutboxJob, rows, "dedupe_key", OutboxJob.id)
    if ids:
        (queue,) = {row["queue"] for row in rows}
        session.info.setdefault(RECORDED, []).extend((job_id, queue) for job_id in ids)
    return ids


def recorded_jobs(session: Session) -> list[tuple[int, str]]:
    """The jobs this session's transaction added (and forgets them)."""
    return session.info.pop(RECORDED, [])


def jobs_to_send(session: Session, now: datetime, limit: int = 500) -> list[OutboxJob]:
    """Jobs never sent, or sent long enough ago that they must have been lost."""
    statement = (
        select(OutboxJob)
        .where(
            OutboxJob.done_at.is_(None),
            or_(OutboxJob.enqueued_at.is_(None), OutboxJob.enqueued_at < now - RESEND_AFTER),
        )
        .order_by(OutboxJob.id)
        .limit(limit)
    )
    return list(session.scalars(statement))


def jobs_in_flight(session: Session, now: datetime, limit: int = 5000) -> list[OutboxJob]:
    """Jobs sent recently and not done: lost only if Redis no longer holds them."""
    statement = (
        select(OutboxJob)
        .where(OutboxJob.done_at.is_(None), OutboxJob.enqueued_at >= now - RESEND_AFTER)
        .order_by(OutboxJob.id)
        .limit(limit)
    )
    return list(session.scalars(statement))
