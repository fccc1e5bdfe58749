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
JOBS = (PUSH_CALL_UPDATE, PROCESS_RECORDING, PUSH_NOTIFICATION, SEND_SMS_REMINDER)

RECORDED = "outbox_jobs"  # `Session.info` key: (id, queue) of the jobs this transaction added
SENDER = "send_jobs"  # `Session.info` key: what sends them once committed (see storage.db)
JobSender = Callable[[Sequence[tuple[int, str]]], Any]


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


def add_job(
    session: Session, func: str, args: dict[str, Any], dedupe_key: str, queue: str = DEFAULT_QUEUE
) -> int | None:
    """Record a job to run after commit; the same `dedupe_key` is recorded once.

    Returns the new job's id (None if the key was already recorded)."""
    job_id = insert_once(session, OutboxJob, job_row(func, args, dedupe_key, queue), "dedupe_key")
    if job_id is not None:
        session.info.setdefault(RECORDED, []).append((job_id, queue))
    return job_id


def add_jobs(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Record many jobs (`job_row`s of one queue) at once; the ids of those not yet recorded."""
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
