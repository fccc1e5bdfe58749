"""Redis hung, killed, restarted or flushed: callers notice nothing and no job is lost.

Each test runs its own redis-server (AOF, as in production), so that breaking it
leaves the other tests' Redis alone. Jobs push each rating to a local stand-in for
the work-order system, which counts the pushes: each effect must happen exactly once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from click.testing import CliRunner
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import select

from ivr import create_app
from ivr.cli import main
from ivr.simulate import CallScript, Simulator
from ivr.simulate_http import http_transport
from storage.models import Callback, Escalation, Notification, OutboxJob, Rating
from storage.outbox import PUSH_CALL_UPDATE, PUSH_NOTIFICATION
from storage.types import utcnow
from tests.conftest import AUTH_TOKEN, BASE_URL
from tests.fault_report import report_fault
from tests.fault_services import WorkOrderReceiver, own_redis  # noqa: F401  (fixture)
from tests.helpers import count, stored_call
from workers.queues import QUEUES

LEVEL_BY_KEY = {"1": "very_satisfied", "2": "satisfied", "3": "basically_satisfied"}
LEVEL_BY_KEY |= {"4": "dissatisfied", "5": "very_dissatisfied"}
TWILIO_LIMIT_S = 15


@pytest.fixture
def receiver():
    hook = WorkOrderReceiver()
    yield hook
    hook.close()


@pytest.fixture
def app(env, monkeypatch, own_redis, receiver):
    """The app on this test's Redis, pushing every rating to the receiver."""
    monkeypatch.setenv("REDIS_URL", own_redis.url)
    monkeypatch.setenv("WORKORDER_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("WORKORDER_WEBHOOK_SECRET", "work-order-secret")
    monkeypatch.setenv("MANAGEMENT_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("MANAGEMENT_WEBHOOK_SECRET", "management-secret")
    return create_app()


def _sweep(*args: str) -> str:
    result = CliRunner().invoke(main, ["sweep", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _run_workers(redis_url: str) -> None:
    SimpleWorker(list(QUEUES), connection=Redis.from_url(redis_url)).work(burst=True)


def _outbox(sessions) -> list[OutboxJob]:
    with sessions() as session:
        return list(session.scalars(select(OutboxJob)))


class TimedTransport:
    """The HTTP transport, noting how long each webhook took to answer."""

    def __init__(self, live_server: str) -> None:
        self.post = http_transport(BASE_URL, connect=live_server)
        self.latencies: list[float] = []

    def __call__(self, url, form, headers):
        started = time.monotonic()
        answer = self.post(url, form, headers)
        self.latencies.append(time.monotonic() - started)
        return answer


@pytest.mark.slow
def test_redis_hung_then_killed_during_100_calls_loses_nothing(
    live_server, own_redis, receiver, sessions
):
    transport = TimedTransport(live_server)
    simulator = Simulator(BASE_URL, AUTH_TOKEN, transport)
    scripts = [CallScript(answers=[str(n % 5 + 1)]) for n in range(100)]
    done = threading.Semaphore(0)

    def call(script):
        try:
            return simulator.call(script)
        finally:
            done.release()

    def break_redis():
        for _ in range(20):
            done.acquire()
        own_redis.freeze()  # hung: connections accepted, nothing answered
        time.sleep(6)
        own_redis.kill()  # then gone: connections refused
        for _ in range(40):
            done.acquire()
        own_redis.start()  # back, with what it had written to its AOF

    breaker = threading.Thread(target=break_redis)
    breaker.start()
    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(call, scripts))
    breaker.join(60)

    assert all(set(outcome.statuses) == {200} for outcome in outcomes)
    assert max(transport.latencies) < TWILIO_LIMIT_S
    for script, outcome in zip(scripts, outcomes, strict=True):
        key = script.answers[0]
        assert outcome.heard[-1] == ("thanks_bad" if key in "45" else "thanks")
        assert stored_call(sessions, script.call_sid).rating.level == LEVEL_BY_KEY[key]
    assert count(sessions, Rating) == 100 and count(sessions, Callback) == 40
    unsent = [job for job in _outbox(sessions) if job.enqueued_at is None]
    assert unsent, "some ratings were stored while Redis was away"

    assert f"jobs sent: {len(unsent)}" in _sweep()
    _run_workers(own_redis.url)
    assert all(job.done_at is not None for job in _outbox(sessions))
    assert receiver.pushes == {script.call_sid: 1 for script in scripts}

    assert "jobs sent: 0" in _sweep()
    _run_workers(own_redis.url)
    assert receiver.pushes == {script.call_sid: 1 for script in scripts}, "each effect once"
    pressed = {script.call_sid: LEVEL_BY_KEY[script.answers[0]] for script in scripts}
    report = report_fault("redis hung then killed", sessions, list(pressed), pressed)
    assert report.ratings_lost == 0


@pytest.fixture
def supervisors(sessions, fast_hashing):
    """A department with a head, and a supervisor: the people escalations go to."""
    from storage.access.users import create_department, create_user, set_department_head
    from storage.db import transaction

    with transaction(sessions) as session:
        create_department(session, "D-housing", "住房保障局")
        create_user(session, "chen", "password-123", "staff", "D-housing")
        create_user(session, "li", "password-123", "supervisor")
        set_department_head(session, "D-housing", "chen")


def test_flushall_the_sweep_resends_every_pending_job_and_repeats_no_duty(
    client, own_redis, receiver, sessions, supervisors
):
    twilio = Simulator(BASE_URL, AUTH_TOKEN, _client_transport(client))
    rated = [CallScript(answers=[key]) for key in "1245"]
    silent = [CallScript(answers=["silence", "silence", "silence"]) for _ in range(3)]
    for script in rated + silent:
        twilio.call(script)
    # a push per rating, and each 差评's announcement to its department
    assert len(_outbox(sessions)) == 6 and all(job.enqueued_at for job in _outbox(sessions))

    Redis.from_url(own_redis.url).flushall()  # every queued job is gone
    assert "jobs sent: 6" in _sweep(), "sent again at once, not five minutes later"
    _run_workers(own_redis.url)
    assert receiver.pushes == {script.call_sid: 1 for script in rated}

    week_later = (utcnow() + timedelta(days=8)).isoformat()
    first = _sweep("--now", week_later)
    assert "default ratings: 3; callbacks marked overdue: 2;" in first
    # 2 callbacks x (head + supervisor, and the department told its step is overdue)
    assert "escalation notifications: 6" in first
    Redis.from_url(own_redis.url).flushall()
    again = _sweep("--now", week_later)
    assert "default ratings: 0; callbacks marked overdue: 0;" in again
    assert "escalation notifications: 0" in again
    _run_workers(own_redis.url)
    assert count(sessions, Rating) == 7 and count(sessions, Escalation) == 2
    assert count(sessions, Notification) == 8  # the 6 above and 2 announcements of a new 差评
    assert all(job.done_at is not None for job in _outbox(sessions))
    assert receiver.pushes == _expected_pushes(sessions), "one push per job, none twice"
    bad = [script.call_sid for script in rated if script.answers[0] in "45"]
    assert all(receiver.pushes[sid] == 2 for sid in bad), "rated, then overdue"


def _expected_pushes(sessions) -> Counter[str]:
    """One push per push job: a call's update, or a notification."""
    pushes = (PUSH_CALL_UPDATE, PUSH_NOTIFICATION)  # not announcements or SMS deliveries
    jobs = [job for job in _outbox(sessions) if job.func in pushes]
    return Counter(
        job.args.get("call_sid") or f"notification:{job.args['notification_id']}" for job in jobs
    )


def _client_transport(client):
    from tests.conftest import flask_transport

    return flask_transport(client)
