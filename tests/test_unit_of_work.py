"""The unit of work: a transaction sends the jobs it recorded once it has committed;
no handler has to remember to; job names are constants naming real jobs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select

import workers.jobs
from storage.db import make_engine, make_session_factory, transaction
from storage.models import OutboxJob
from storage.outbox import JOBS, PUSH_CALL_UPDATE, add_job
from workers.queues import send_after_commit

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def sending_sessions(database_url, redis_url, sessions):
    """A session factory that sends committed jobs to Redis, as the web app's does."""
    redis = Redis.from_url(redis_url)
    sent: list[list[tuple[int, str]]] = []

    def send(jobs):
        sent.append(list(jobs))
        send_after_commit(factory, redis, jobs)  # itself a transaction on the same factory

    factory = make_session_factory(make_engine(database_url), send)
    return factory, sent


def test_committed_jobs_are_sent_once_the_write_lock_is_free(sending_sessions, redis_url):
    factory, sent = sending_sessions
    with transaction(factory) as session:
        job_id = add_job(session, PUSH_CALL_UPDATE, {"call_sid": "CA1"}, "uow:1")
        assert sent == [], "nothing leaves before the commit"
    assert sent == [[(job_id, "default")]]
    assert Queue("default", connection=Redis.from_url(redis_url)).job_ids == [f"outbox-{job_id}"]
    with factory() as session:
        assert session.get(OutboxJob, job_id).enqueued_at is not None


def test_a_rolled_back_transaction_sends_nothing(sending_sessions, sessions):
    factory, sent = sending_sessions
    with pytest.raises(RuntimeError), transaction(factory) as session:
        add_job(session, PUSH_CALL_UPDATE, {"call_sid": "CA2"}, "uow:2")
        raise RuntimeError("the handler failed")
    assert sent == []
    with sessions() as session:
        assert list(session.scalars(select(OutboxJob))) == []


def test_without_a_sender_jobs_wait_for_the_sweep(sessions, redis_url):
    with transaction(sessions) as session:
        add_job(session, PUSH_CALL_UPDATE, {"call_sid": "CA3"}, "uow:3")
    with sessions() as session:
        (job,) = session.scalars(select(OutboxJob))
        assert job.enqueued_at is None
    assert Queue("default", connection=Redis.from_url(redis_url)).job_ids == []


def test_a_key_pressed_after_silence_sends_its_job(place_call, sessions, redis_url):
    place_call("silence,4", lang="ko-KR")  # the silence after the tone: `/survey/silence`
    with sessions() as session:
        (job,) = session.scalars(select(OutboxJob))
    assert job.func == PUSH_CALL_UPDATE and job.enqueued_at is not None


def test_no_handler_sends_jobs_by_hand():
    hand_sent = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "ivr").rglob("*.py"))
        if path.name != "extensions.py"
        and re.search(r"send_jobs\(|send_after_commit\(|\"outbox_jobs\"", path.read_text())
    ]
    assert hand_sent == []


def test_every_job_name_is_a_job_of_the_workers():
    for name in JOBS:
        module, _, function = name.rpartition(".")
        assert module == "workers.jobs" and callable(getattr(workers.jobs, function))
    code = "\n".join(
        p.read_text() for p in sorted((ROOT / "storage").rglob("*.py")) if p.name != "outbox.py"
    )
    assert re.findall(r"\"workers\.jobs\.\w+\"", code) == [], "named in storage/outbox.py only"
