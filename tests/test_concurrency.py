"""Duplicate and concurrent deliveries, over real HTTP into a threaded server."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import requests

from ivr.simulate import CallScript, Simulator
from ivr.simulate_http import http_transport
from storage.models import Call, Callback, OutboxJob, Rating
from tests.conftest import AUTH_TOKEN, BASE_URL, sign
from tests.helpers import count, ratings_of

SID = "CA" + "c" * 32
INPUT = "/voice/survey/input?lang=zh-CN&node=ask&reasks=0"


def _deliver_at_once(
    live_server: str, deliveries: list[tuple[str, dict[str, str]]]
) -> list[requests.Response]:
    """Send every delivery from its own thread, released together."""
    barrier = threading.Barrier(len(deliveries))

    def send(delivery):
        path, form = delivery
        barrier.wait()
        headers = {"X-Twilio-Signature": sign(BASE_URL + path, form)}
        return requests.post(live_server + path, data=form, headers=headers, timeout=15)

    with ThreadPoolExecutor(len(deliveries)) as pool:
        return list(pool.map(send, deliveries))


def _assert_valid_twiml(responses):
    for response in responses:
        assert response.status_code == 200, response.text
        assert ET.fromstring(response.content).tag == "Response"


def test_concurrent_duplicate_key_presses_store_one_rating(live_server, sessions):
    bad = [(INPUT, {"CallSid": SID, "Digits": "4", "CallStatus": "in-progress"})] * 16
    good = [(INPUT, {"CallSid": SID, "Digits": "1", "CallStatus": "in-progress"})] * 8
    responses = _deliver_at_once(live_server, bad + good)
    _assert_valid_twiml(responses)
    [rating] = ratings_of(sessions, SID)
    assert count(sessions, Call) == 1
    assert count(sessions, Callback) == (1 if rating.category == "bad" else 0)
    bad = rating.category == "bad"  # a 差评 also announces itself to its department
    assert count(sessions, OutboxJob) == (2 if bad else 1), "one rating's jobs, once"
    winners = [r for r in responses if "already_rated" not in r.text]
    assert winners, "the delivery that won was thanked"
    assert all(("thanks_bad" in r.text) == (rating.level == "dissatisfied") for r in winners)


def test_concurrent_survey_starts_create_one_call(live_server, sessions):
    path = "/voice/survey?lang=zh-CN&agent=A1&dept=D1&tickets=T1,T2"
    form = {"CallSid": SID, "CallStatus": "in-progress", "DialCallStatus": "completed"}
    _assert_valid_twiml(_deliver_at_once(live_server, [(path, form)] * 12))
    assert count(sessions, Call) == 1
    with sessions() as session:
        call = session.query(Call).one()
        assert [t.ticket for t in call.tickets] == ["T1", "T2"]


def test_many_simultaneous_calls_are_all_rated(live_server, sessions):
    simulator = Simulator(BASE_URL, AUTH_TOKEN, http_transport(BASE_URL, connect=live_server))
    scripts = [CallScript(answers=[str(i % 5 + 1)]) for i in range(40)]
    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(simulator.call, scripts))
    assert all(set(o.statuses) == {200} for o in outcomes)
    assert count(sessions, Rating) == 40
    assert count(sessions, Callback) == 16
