"""SMS reminders to rate later: off by default, at most one per call, sent by the sweep's
outbox job through Twilio Messaging (a fake REST server), opt-out replies respected."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis import Redis
from rq import Worker
from sqlalchemy import select

from storage.models import Call, SmsOptOut, SmsReminder
from storage.types import utcnow
from storage.workflow.deadlines import local_day
from tests.fake_twilio import MESSAGES, fake_twilio  # noqa: F401
from tests.helpers import stored_call
from workers.reminders import send_reminder
from workers.sweep import sweep

CALLER = "+8613811112222"
SURVEY_NUMBER = "+8610012345"


@pytest.fixture
def reminders_on(monkeypatch, fake_twilio):
    monkeypatch.setenv("SMS_REMINDERS", "on")
    monkeypatch.setenv("SURVEY_NUMBER", SURVEY_NUMBER)
    return fake_twilio


def run_sweep_and_worker(sessions, redis_url, now=None):
    report = sweep(sessions, Redis.from_url(redis_url), now or utcnow())
    Worker(["default"], connection=Redis.from_url(redis_url)).work(burst=True)
    return report


def hang_up(place_call, caller=CALLER, **script) -> str:
    call, _ = place_call("hangup", caller=caller, **script)
    return call.call_sid


def reminders(sessions) -> list[SmsReminder]:
    with sessions() as session:
        return list(session.scalars(select(SmsReminder).order_by(SmsReminder.id)))


def test_reminders_are_off_by_default(fake_twilio, place_call, sessions, redis_url):
    hang_up(place_call)
    assert run_sweep_and_worker(sessions, redis_url).sms_reminders == 0
    assert reminders(sessions) == [] and fake_twilio.seen == []


def test_a_caller_who_hung_up_gets_exactly_one_reminder(
    reminders_on, place_call, sessions, redis_url
):
    sid = hang_up(place_call, lang="ko-KR")
    assert run_sweep_and_worker(sessions, redis_url).sms_reminders == 1
    [message] = reminders_on.requests_to(MESSAGES)
    assert message.authorization == reminders_on.basic
    assert (message.field("To"), message.field("From")) == (CALLER, SURVEY_NUMBER)
    day = local_day(stored_call(sessions, sid).created_at)  # the hotline's day
    assert SURVEY_NUMBER in message.field("Body") and "STOP" in message.field("Body")
    assert f"{day.month}월 {day.day}일" in message.field("Body")
    [reminder] = reminders(sessions)
    assert reminder.status == "sent" and reminder.message_sid.startswith("SM")
    # Again: the sweep finds nothing, and the job run twice sends nothing more.
    assert run_sweep_and_worker(sessions, redis_url).sms_reminders == 0
    assert send_reminder(reminder.call_id).startswith("nothing to send")
    assert len(reminders_on.requests_to(MESSAGES)) == 1


def test_an_opt_out_reply_stops_reminders(reminders_on, place_call, sessions, redis_url, post):
    unsigned = post("/sms/inbound", {"From": CALLER, "Body": "退订"}, signed=False)
    assert unsigned.status_code == 403
    answer = post("/sms/inbound", {"From": CALLER, "Body": " 退订 "})
    assert answer.status_code == 200 and "<Message>" in answer.get_data(as_text=True)
    assert "退订" in answer.get_data(as_text=True)
    hang_up(place_call)
    assert run_sweep_and_worker(sessions, redis_url).sms_reminders == 0
    assert reminders_on.requests_to(MESSAGES) == []
    post("/sms/inbound", {"From": CALLER, "Body": "start"})
    with sessions() as session:
        assert session.scalars(select(SmsOptOut)).all() == []
    assert run_sweep_and_worker(sessions, redis_url).sms_reminders == 1


def test_other_replies_change_nothing(reminders_on, post, sessions):
    answer = post("/sms/inbound", {"From": CALLER, "Body": "谢谢"})
    assert answer.status_code == 200 and "<Message>" not in answer.get_data(as_text=True)
    with sessions() as session:
        assert session.scalars(select(SmsOptOut)).all() == []


def test_opting_out_after_the_sweep_still_stops_the_message(
    reminders_on, place_call, sessions, redis_url, post
):
    hang_up(place_call)
    sweep(sessions, Redis.from_url(redis_url), utcnow())  # queued, not yet sent
    post("/sms/inbound", {"From": CALLER, "Body": "STOP"})
    Worker(["default"], connection=Redis.from_url(redis_url)).work(burst=True)
    [reminder] = reminders(sessions)
    assert (reminder.status, reminder.detail) == ("skipped", "the number opted out")
    assert reminders_on.requests_to(MESSAGES) == []


def test_only_unrated_calls_of_the_period_are_reminded_once_a_day_per_number(
    reminders_on, place_call, sessions, redis_url
):
    hang_up(place_call)
    hang_up(place_call)  # the same number again: no second message today
    place_call("2", caller="+8613700000001")  # rated
    place_call("2", caller="+8613700000002", dial_status="no-answer")  # not served
    old = hang_up(place_call, caller="+8613700000003")
    with sessions.begin() as session:
        call = session.scalars(select(Call).where(Call.call_sid == old)).one()
        call.created_at = utcnow() - timedelta(days=9)
    run_sweep_and_worker(sessions, redis_url)
    assert [m.field("To") for m in reminders_on.requests_to(MESSAGES)] == [CALLER]
    assert sorted(r.status for r in reminders(sessions)) == ["sent", "skipped"]


def test_twilio_refusing_the_message_is_recorded_and_not_retried(
    reminders_on, place_call, sessions, redis_url
):
    reminders_on.refuse = (400, 21610, "Attempt to send to unsubscribed recipient")
    hang_up(place_call)
    run_sweep_and_worker(sessions, redis_url)
    [reminder] = reminders(sessions)
    assert reminder.status == "failed" and "21610" in reminder.detail
    reminders_on.refuse = None
    run_sweep_and_worker(sessions, redis_url)
    assert len(reminders_on.requests_to(MESSAGES)) == 1  # the refused one, never again
