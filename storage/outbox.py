"""The job outbox: jobs recorded in the database with the change that needs them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.inserts import insert_once
from storage.models import OutboxJob

DEFAULT_QUEUE = "default"
SPEECH_QUEUE = "speech"  # recognition of ratings: a caller is waiting
TRANSCRIBE_QUEUE = "transcribe"  # free-form reasons: slow (about real time)
# A job sent this long ago and still not done is presumed lost (Redis flushed,
# worker killed) and sent again by the sweep. Jobs are idempotent, so a slow
# job sent twice is harmless.
RESEND_AFTER = timedelta(minutes=5)


def add_job(
    session: Session, func: str, args: dict[str, Any], dedupe_key: str, queue: str = DEFAULT_QUEUE
) -> int | None:
    """Record a job to run after commit; the same `dedupe_key` is recorded once.

    Returns the new job's id (None if the key was already recorded) and notes it in
    `session.info["outbox_jobs"]`, for the caller to send once the transaction commits.
    """
    values = {"queue": queue, "func": func, "args": args, "dedupe_key": dedupe_key}
    job_id = insert_once(session, OutboxJob, values, "dedupe_key")
    if job_id is not None:
        session.info.setdefault("outbox_jobs", []).append((job_id, queue))
    return job_id


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
