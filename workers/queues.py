"""Queues, and sending outbox jobs to them."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.models import OutboxJob
from storage.outbox import (
    DEFAULT_QUEUE,
    SPEECH_QUEUE,
    TRANSCRIBE_QUEUE,
    jobs_in_flight,
    jobs_to_send,
)
from storage.types import utcnow

log = logging.getLogger(__name__)

# Every queue the `worker` process serves, most urgent first: a caller waits for speech.
QUEUES = (SPEECH_QUEUE, DEFAULT_QUEUE, TRANSCRIBE_QUEUE)
# The `worker` process runs one RQ worker per group, so that a long transcription
# never holds up the recognition of a rating a caller is waiting for.
WORKER_GROUPS = ((SPEECH_QUEUE, DEFAULT_QUEUE), (TRANSCRIBE_QUEUE, DEFAULT_QUEUE))
JOB_TIMEOUT_S = 120
RUNNER = "workers.runner.run_outbox_job"
BATCH_SIZE = 500
FAILURE_TTL_S = 7 * 86400


def queue(name: str, redis: Redis) -> Queue:
    """The RQ queue `name`."""
    return Queue(name, connection=redis, default_timeout=JOB_TIMEOUT_S)


def send_after_commit(
    factory: sessionmaker[Session],
    redis: Redis,
    jobs: Sequence[tuple[int, str]],
    written_sent: bool = False,
) -> int:
    """Send just-committed (id, queue) jobs; if Redis fails, the sweep sends them later.

    Jobs `written_sent` (marked sent by their own transaction) that could not be sent
    are marked unsent again; the others are marked sent once sent."""
    sent = _enqueue(redis, jobs)
    if not written_sent:
        return _mark_sent(factory, sent)
    done = set(sent)
    unmark_sent(factory, [job_id for job_id, _ in jobs if job_id not in done])
    return len(sent)


def resend_pending(
    factory: sessionmaker[Session], redis: Redis, now: datetime | None = None
) -> int:
    """Send every job never sent, or sent long enough before `now` to be presumed lost."""
    with transaction(factory) as session:
        jobs = [(job.id, job.queue) for job in jobs_to_send(session, now or utcnow())]
    # Redis is never called inside a transaction: on SQLite that would hold the
    # write lock for as long as a dead Redis takes to time out.
    return _mark_sent(factory, _enqueue(redis, jobs))


def resend_lost(factory: sessionmaker[Session], redis: Redis, now: datetime) -> int:
    """Send again at once the recently sent jobs that Redis no longer holds (flushed,
    or restarted without its data), rather than waiting for `RESEND_AFTER`."""
    with transaction(factory) as session:
        jobs = [(job.id, job.queue) for job in jobs_in_flight(session, now)]
    if not jobs:
        return 0
    try:
        with redis.pipeline(transaction=False) as pipe:
            for job_id, _ in jobs:
                pipe.exists(Job.key_for(f"outbox-{job_id}"))
            held = pipe.execute()
    except RedisError as error:
        log.warning("redis unavailable, cannot check jobs in flight: %s", error)
        return 0
    lost = [job for job, exists in zip(jobs, held, strict=True) if not exists]
    if lost:
        log.warning("%d job(s) sent but no longer in Redis: sending them again", len(lost))
    return _mark_sent(factory, _enqueue(redis, lost))


def _enqueue(redis: Redis, jobs: Sequence[tuple[int, str]]) -> list[int]:
    """Enqueue in batches (one Redis round trip each); return the ids that made it."""
    by_queue: dict[str, list[int]] = defaultdict(list)
    for job_id, queue_name in jobs:
        by_queue[queue_name].append(job_id)
    sent: list[int] = []
    for queue_name, ids in by_queue.items():
        target = queue(queue_name, redis)
        for start in range(0, len(ids), BATCH_SIZE):
            batch = ids[start : start + BATCH_SIZE]
            try:
                target.enqueue_many([_job_data(job_id) for job_id in batch])
            except RedisError as error:
                left = len(jobs) - len(sent)
                log.warning("redis unavailable, %d job(s) left for the sweep: %s", left, error)
                return sent
            sent.extend(batch)
    return sent


def _job_data(outbox_id: int):
    # A deterministic RQ id per outbox row: sending a row again replaces its job.
    return Queue.prepare_data(
        RUNNER, (outbox_id,), job_id=f"outbox-{outbox_id}", failure_ttl=FAILURE_TTL_S
    )


def unmark_sent(factory: sessionmaker[Session], unsent: Sequence[int]) -> None:
    """Jobs written as sent but not sent after all: left for the sweep to send."""
    if unsent:
        with transaction(factory) as session:
            session.execute(
                update(OutboxJob)
                .where(OutboxJob.id.in_(unsent))
                .values(enqueued_at=None, attempts=OutboxJob.attempts - 1)
            )


def _mark_sent(factory: sessionmaker[Session], sent: list[int]) -> int:
    if sent:
        with transaction(factory) as session:
            session.execute(
                update(OutboxJob)
                .where(OutboxJob.id.in_(sent))
                .values(enqueued_at=utcnow(), attempts=OutboxJob.attempts + 1)
            )
    return len(sent)
