"""A hung Redis never holds a caller (issue 11, item 4).

With Redis frozen (SIGSTOP: connections accepted, nothing answered) a key press once
took 10 s: two long Redis timeouts in a row, with retries. Now a webhook tries Redis at
most once, for at most 200 ms, and not at all while the breaker is open; timings are
counted in memory and written by a thread.
"""

from __future__ import annotations

import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from ivr import create_app, redis_guard, timings
from storage.models import OutboxJob, Rating
from storage.outbox import PUSH_CALL_UPDATE
from tests.conftest import BASE_URL, sign
from tests.fault_services import own_redis  # noqa: F401  (fixture)
from tests.helpers import count

KEY = "/voice/survey/input?lang=zh-CN&node=ask&reasks=0"


@pytest.fixture
def app(env, monkeypatch, own_redis):
    monkeypatch.setenv("REDIS_URL", own_redis.url)
    monkeypatch.setattr(redis_guard, "_BREAKERS", {})
    return create_app()


def _press(base: str, digits: str) -> float:
    form = {"CallSid": "CA" + uuid.uuid4().hex, "Digits": digits, "CallStatus": "in-progress"}
    headers = {"X-Twilio-Signature": sign(BASE_URL + KEY, form)}
    started = time.monotonic()
    response = requests.post(base + KEY, data=form, headers=headers, timeout=30)
    took = time.monotonic() - started
    assert response.status_code == 200 and "thanks" in response.text
    return took


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _burst(base: str, n: int = 60) -> list[float]:
    with ThreadPoolExecutor(5) as pool:
        return list(pool.map(lambda i: _press(base, "45"[i % 2]), range(n)))


def test_key_presses_with_redis_hung_answer_within_a_second(live_server, own_redis, sessions):
    """Bursts of 5 callers at a time, Redis healthy then hung. On main the hung p99 was
    over 10 s (two long timeouts with retries); the bound is 1 s more than the same
    burst with Redis healthy (the machine is shared: its own latency is the baseline)."""
    _press(live_server, "1")  # warm: the first request of a process loads the flows
    healthy = _burst(live_server)
    own_redis.freeze()
    hung = _burst(live_server)
    own_redis.stop()
    print(f"key press p99: Redis healthy {_p99(healthy):.3f} s, hung {_p99(hung):.3f} s")
    assert _p99(hung) < _p99(healthy) + 1.0, f"p99 {_p99(hung):.2f} s"
    assert count(sessions, Rating) == 121, "every rating stored"
    with sessions() as session:
        pushes = session.scalars(
            select(func.count()).where(OutboxJob.func == PUSH_CALL_UPDATE)
        ).one()
    assert pushes == 121, "every rating's job kept in the outbox for the sweep"


def test_after_one_failure_redis_is_not_tried_again_for_a_while(
    live_server, own_redis, monkeypatch
):
    tries = []
    real_send = redis_guard.send_after_commit

    def send(*args):
        tries.append(time.monotonic())
        return real_send(*args)

    monkeypatch.setattr(redis_guard, "send_after_commit", send)
    monkeypatch.setattr(redis_guard, "_BREAKERS", {own_redis.url: redis_guard.Breaker(open_s=60)})
    own_redis.freeze()
    _press(live_server, "4")
    assert not redis_guard._BREAKERS[own_redis.url].allows(), "the breaker opened"
    _press(live_server, "4")
    _press(live_server, "5")
    own_redis.stop()
    assert len(tries) == 1, "Redis tried once, then left alone while the breaker is open"


def test_timings_are_kept_while_redis_is_down_and_written_after(app, own_redis, monkeypatch):
    monkeypatch.setattr(timings, "start_flusher", lambda app: None)  # flushed by hand here
    monkeypatch.setattr(timings, "TALLY", timings.Tally())
    client = app.test_client()
    own_redis.freeze()
    form = {"CallSid": "CA" + uuid.uuid4().hex, "Digits": "1", "CallStatus": "in-progress"}
    started = time.monotonic()
    client.post(KEY, data=form, headers={"X-Twilio-Signature": sign(BASE_URL + KEY, form)})
    assert time.monotonic() - started < 1.0
    assert not timings.flush(app), "not written while Redis is hung"
    own_redis.process.send_signal(signal.SIGCONT)
    redis_guard._BREAKERS[own_redis.url].open_until = 0.0
    assert timings.flush(app)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'ivr_webhook_duration_seconds_count{endpoint="voice.survey_input",status="200"}' in text
