"""The outbox, RQ and the sweep, on a real Redis and a real worker."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from redis import Redis
from rq import Queue, Worker
from sqlalchemy import select, update

from ivr import create_app
from ivr.cli import main
from ivr.simulate import CallScript, Simulator
from storage.models import Callback, OutboxJob
from storage.types import utcnow
from tests.conftest import AUTH_TOKEN, BASE_URL, flask_transport
from tests.helpers import stored_call
from tests.http_fakes import post_recorder

SECRET = "shared-webhook-secret"


def _jobs(sessions) -> list[OutboxJob]:
    """The push jobs (a 差评 also queues its announcement to the department)."""
    with sessions() as session:
        pushes = select(OutboxJob).where(OutboxJob.func == "workers.jobs.push_call_update")
        return list(session.scalars(pushes.order_by(OutboxJob.id)))


def _run_worker(redis_url: str) -> None:
    Worker(["default"], connection=Redis.from_url(redis_url)).work(burst=True)


def test_a_rating_sends_one_job_that_a_worker_runs_once(place_call, sessions, redis_url):
    place_call("4")
    [job] = _jobs(sessions)
    assert job.func == "workers.jobs.push_call_update"
    assert job.enqueued_at is not None and job.done_at is None
    queue = Queue("default", connection=Redis.from_url(redis_url))
    assert f"outbox-{job.id}" in queue.job_ids
    _run_worker(redis_url)
    [job] = _jobs(sessions)
    assert job.done_at is not None and job.last_error is None

    from workers.runner import run_outbox_job

    assert run_outbox_job(job.id) == "already done"


@pytest.fixture
def receiver():
    """A local HTTP endpoint standing in for the work-order system."""
    received: list[tuple[dict, bytes]] = []

    server = post_recorder(received)
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_rating_is_pushed_signed_to_the_work_order_system(
    place_call, redis_url, receiver, monkeypatch
):
    url, received = receiver
    monkeypatch.setenv("WORKORDER_WEBHOOK_URL", url)
    monkeypatch.setenv("WORKORDER_WEBHOOK_SECRET", SECRET)
    script, _ = place_call("5", tickets=("T7",), caller="+8613812345678")
    _run_worker(redis_url)
    [(headers, body)] = received
    expected = hmac.new(
        SECRET.encode(), headers["X-IVR-Timestamp"].encode() + b"." + body, hashlib.sha256
    )
    assert headers["X-IVR-Signature"] == "sha256=" + expected.hexdigest()
    call = json.loads(body)["call"]
    assert call["call_sid"] == script.call_sid
    assert call["rating"]["level"] == "very_dissatisfied"
    assert call["tickets"] == ["T7"]
    assert call["caller"] == "138****5678"


def test_with_redis_down_the_rating_is_stored_and_the_sweep_sends_the_job_later(
    env, monkeypatch, sessions, redis_url
):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    dead_redis_app = create_app()
    simulator = Simulator(BASE_URL, AUTH_TOKEN, flask_transport(dead_redis_app.test_client()))
    script = CallScript(answers=["4"])
    outcome = simulator.call(script)
    assert outcome.heard[-1] == "thanks_bad", "the caller noticed nothing"
    assert stored_call(sessions, script.call_sid).rating.level == "dissatisfied"
    [job] = _jobs(sessions)
    assert job.enqueued_at is None

    monkeypatch.setenv("REDIS_URL", redis_url)
    result = CliRunner().invoke(main, ["sweep"])
    assert result.exit_code == 0, result.output
    assert "jobs sent: 2" in result.output  # the push, and the department's announcement
    _run_worker(redis_url)
    assert _jobs(sessions)[0].done_at is not None
    assert "jobs sent: 0" in CliRunner().invoke(main, ["sweep"]).output


def test_a_lost_job_is_sent_again_and_still_runs_once(place_call, sessions, redis_url):
    place_call("1")
    Redis.from_url(redis_url).flushall()  # the queue is lost
    with sessions.begin() as session:
        session.execute(update(OutboxJob).values(enqueued_at=utcnow() - timedelta(minutes=10)))
    assert "jobs sent: 1" in CliRunner().invoke(main, ["sweep"]).output
    _run_worker(redis_url)
    [job] = _jobs(sessions)
    assert job.done_at is not None and job.attempts == 2


def test_a_failing_job_keeps_its_error_and_stays_pending(
    place_call, sessions, redis_url, monkeypatch
):
    monkeypatch.setenv("WORKORDER_WEBHOOK_URL", "http://127.0.0.1:1/hook")
    monkeypatch.setenv("WORKORDER_WEBHOOK_SECRET", SECRET)
    place_call("2")
    _run_worker(redis_url)
    [job] = _jobs(sessions)
    assert job.done_at is None
    assert "Connection" in job.last_error


def test_sweep_marks_callbacks_overdue_as_of_the_given_time(place_call, sessions):
    place_call("4")
    with sessions() as session:
        due_at = session.scalars(select(Callback)).one().due_at
    runner = CliRunner()
    before = (due_at - timedelta(minutes=1)).isoformat()
    assert "callbacks marked overdue: 0" in runner.invoke(main, ["sweep", "--now", before]).output
    after = (due_at + timedelta(minutes=1)).isoformat()
    assert "callbacks marked overdue: 1" in runner.invoke(main, ["sweep", "--now", after]).output
    assert "callbacks marked overdue: 0" in runner.invoke(main, ["sweep", "--now", after]).output
    with sessions() as session:
        assert session.scalars(select(Callback)).one().overdue is True


def test_sweep_reads_a_time_without_offset_in_the_hotline_time_zone(
    place_call, sessions, monkeypatch
):
    monkeypatch.setenv("HOTLINE_TZ", "Asia/Shanghai")
    place_call("5")
    with sessions() as session:
        due_at = session.scalars(select(Callback)).one().due_at
    local = due_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    # One minute after the deadline in Shanghai's wall-clock time, written without an offset.
    naive = (local + timedelta(minutes=1)).replace(tzinfo=None).isoformat()
    assert (
        "callbacks marked overdue: 1" in CliRunner().invoke(main, ["sweep", "--now", naive]).output
    )


def test_sweep_refuses_a_bad_time(env):
    result = CliRunner().invoke(main, ["sweep", "--now", "next tuesday"])
    assert result.exit_code != 0
    assert "ISO 8601" in result.output
