"""Queues, and sending outbox jobs to them."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.models import OutboxJob
from storage.outbox import DEFAULT_QUEUE, SPEECH_QUEUE, TRANSCRIBE_QUEUE, jobs_to_send
from storage.types import utcnow

log = logging.getLogger(__name__)

# Every queue the `worker` process serves, most urgent first: a caller waits for speech.
QUEUES = (SPEECH_QUEUE, DEFAULT_QUEUE, TRANSCRIBE_QUEUE)
# The `worker` process runs one RQ worker per group, so that a long transcription
# never holds up the recognition of a rating a caller is waiting for.
WORKER_GROUPS = ((SPEECH_QUEUE, DEFAULT_QUEUE), (TRANSCRIBE_QUEUE, DEFAULT_QUEUE))
JOB_TIMEOUT_S = 120
RUNNER = "workers.runner.run_outbox_job"


def queue(name: str, redis: Redis) -> Queue:
    """The RQ queue `name`."""
    return Queue(name, connection=redis, default_timeout=JOB_TIMEOUT_S)


def send_after_commit(
    factory: sessionmaker[Session], redis: Redis, jobs: Sequence[tuple[int, str]]
) -> int:
    """Send just-committed (id, queue) jobs; if Redis fails, the sweep sends them later."""
    return _mark_sent(factory, _enqueue(redis, jobs))


def resend_pending(factory: sessionmaker[Session], redis: Redis) -> int:
    """Send every job never sent or presumed lost (the sweep's duty)."""
    with transaction(factory) as session:
        jobs = [(job.id, job.queue) for job in jobs_to_send(session, utcnow())]
    # Redis is never called inside a transaction: on SQLite that would hold the
    # write lock for as long as a dead Redis takes to time out.
    return _mark_sent(factory, _enqueue(redis, jobs))


def _enqueue(redis: Redis, jobs: Sequence[tuple[int, str]]) -> list[int]:
    sent: list[int] = []
    for job_id, queue_name in jobs:
        try:
            queue(queue_name, redis).enqueue(
                RUNNER, job_id, job_id=f"outbox-{job_id}", failure_ttl=7 * 86400
            )
        except RedisError as error:
            left = len(jobs) - len(sent)
            log.warning("redis unavailable, %d job(s) left for the sweep: %s", left, error)
            break
        sent.append(job_id)
    return sent


def _mark_sent(factory: sessionmaker[Session], sent: list[int]) -> int:
    if sent:
        with transaction(factory) as session:
            session.execute(
                update(OutboxJob)
                .where(OutboxJob.id.in_(sent))
                .values(enqueued_at=utcnow(), attempts=OutboxJob.attempts + 1)
            )
    return len(sent)
