"""A named person, the inbox, 会商, feedback that counts, and notifications that go out.

Everything goes through the real app (signed survey webhook, console forms), the outbox
and a real RQ worker on a real Redis; Twilio's REST API and a group robot are fakes on
loopback ports speaking their real protocols.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import select

from storage.access.users import create_department, create_user, set_department_head
from storage.db import transaction
from storage.models import (
    Callback,
    CallEvent,
    NotificationDelivery,
    OutboxJob,
    SmsOptOut,
    User,
)
from storage.reports.figures import Period, figures
from storage.reports.figures_rollup import refresh
from storage.types import utcnow
from tests.console_helpers import PASSWORD, login, make_people, post
from tests.fake_twilio import MESSAGES, fake_twilio  # noqa: F401
from tests.http_fakes import QuietHandler, serve
from workers.queues import resend_pending

pytestmark = pytest.mark.usefixtures("fast_hashing")

CALLER = "+8613811112222"
CHEN_PHONE = "+8613900001111"
SURVEY_NUMBER = "+8610012345"


@pytest.fixture
def people(sessions):
    """zhang heads 住房保障局 with chen beside him; wang is 水务局; li, zhao supervise."""
    make_people(sessions)
    with transaction(sessions) as session:
        create_department(session, "D-traffic", "交通运输局")
        create_user(session, "chen", PASSWORD, "staff", "D-housing").phone = CHEN_PHONE
        create_user(session, "sun", PASSWORD, "staff", "D-traffic")
        set_department_head(session, "D-housing", "zhang")


def work(sessions, redis_url, now=None) -> None:
    """Send what the outbox holds and let a real worker run it, until nothing is left."""
    for _ in range(3):
        resend_pending(sessions, Redis.from_url(redis_url), now)
        SimpleWorker(["default"], connection=Redis.from_url(redis_url)).work(burst=True)


def rate_bad(place_call, sessions, redis_url, caller: str = CALLER) -> int:
    call, _ = place_call("4", caller=caller)
    work(sessions, redis_url)
    with sessions() as session:
        return session.scalars(
            select(Callback.id).where(Callback.call.has(call_sid=call.call_sid))
        ).one()


def counts(app, user: str) -> dict[str, int]:
    """The inbox counts in `user`'s console header."""
    client = app.test_client()
    login(client, user)
    page = client.get("/console/queue").get_data(as_text=True)
    found = re.findall(r'data-kind="(\w+)">[^<]*<b>(\d+)</b>', page)
    return {kind: int(n) for kind, n in found}


def as_user(app, user: str):
    client = app.test_client()
    login(client, user)
    return client


def submit(client, path: str, form: dict):
    """POST a form the page may not offer this user (a fresh submission key)."""
    page = client.get(path.rsplit("/", 1)[0]).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = {"csrf_token": token, "submission_key": secrets.token_urlsafe(24)} | form
    return client.post(path, data=data)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_the_department_hears_of_a_new_bad_rating_and_reading_clears_it(
    app, sessions, redis_url, place_call, people
):
    cb_id = rate_bad(place_call, sessions, redis_url)
    assert counts(app, "zhang") == {"new_bad": 1} and counts(app, "chen") == {"new_bad": 1}
    assert counts(app, "wang") == {}, "another department hears nothing"
    chen = as_user(app, "chen")
    assert "新差评" in text_of(chen.get("/console/inbox?kind=new_bad"))
    chen.get(f"/console/callbacks/{cb_id}")
    assert counts(app, "chen") == {} and counts(app, "zhang") == {"new_bad": 1}


def test_the_head_assigns_with_an_sms_and_reassigning_needs_a_reason(
    app, sessions, redis_url, place_call, people, fake_twilio, monkeypatch
):
    monkeypatch.setenv("NOTIFY_SMS", "on")
    monkeypatch.setenv("SURVEY_NUMBER", SURVEY_NUMBER)
    cb_id = rate_bad(place_call, sessions, redis_url)
    chen = as_user(app, "chen")
    refused = submit(chen, f"/console/callbacks/{cb_id}/assign", {"assignee": "chen"})
    assert refused.status_code == 403 and "只有主管或部门负责人可以指派" in text_of(refused)
    head = as_user(app, "zhang")
    assert post(head, f"/console/callbacks/{cb_id}/assign", {"assignee": "chen"}).status_code == 302
    assert counts(app, "chen") == {"assigned": 1}, "chen opened the case: new_bad read"
    work(sessions, redis_url)
    [sms] = fake_twilio.requests_to(MESSAGES)
    assert (sms.field("To"), sms.field("From")) == (CHEN_PHONE, SURVEY_NUMBER)
    assert f"指派给您：回访 #{cb_id}" in sms.field("Body")
    no_reason = post(head, f"/console/callbacks/{cb_id}/assign", {"assignee": "zhang"})
    assert no_reason.status_code == 400 and "改派须说明理由" in text_of(no_reason)
    form = {"assignee": "zhang", "note": "陈某休假"}
    assert post(head, f"/console/callbacks/{cb_id}/assign", form).status_code == 302
    page = text_of(head.get(f"/console/callbacks/{cb_id}"))
    assert "改派负责人" in page and "陈某休假" in page
    with sessions() as session:
        assert session.get_one(Callback, cb_id).assignee.username == "zhang"


def test_staff_take_an_unassigned_case_once(app, sessions, redis_url, place_call, people):
    cb_id = rate_bad(place_call, sessions, redis_url)
    assert post(as_user(app, "chen"), f"/console/callbacks/{cb_id}/take", {}).status_code == 302
    again = submit(as_user(app, "zhang"), f"/console/callbacks/{cb_id}/take", {})
    assert again.status_code == 409 and "已有负责人" in text_of(again)
    other = submit(as_user(app, "wang"), f"/console/callbacks/{cb_id}/take", {})
    assert other.status_code == 403


def test_the_15_day_route_consults_departments_who_see_the_case_and_add_notes(
    app, sessions, redis_url, place_call, people
):
    cb_id = rate_bad(place_call, sessions, redis_url)
    staff = as_user(app, "chen")
    post(staff, f"/console/callbacks/{cb_id}/attempt", {"result": "reached"})
    alone = post(staff, f"/console/callbacks/{cb_id}/verdict", {"resolution": "rectify_15d"})
    assert alone.status_code == 400 and "须勾选会商部门" in text_of(alone)
    form = {"resolution": "rectify_15d", "consulted": "D-water"}
    assert post(staff, f"/console/callbacks/{cb_id}/verdict", form).status_code == 302
    assert counts(app, "wang") == {"consult": 1} and counts(app, "sun") == {}
    water = as_user(app, "wang")
    assert f"/console/callbacks/{cb_id}" in text_of(water.get("/console/queue"))
    page = text_of(water.get(f"/console/callbacks/{cb_id}"))
    assert "会商部门：水务局" in page and "整改办结" not in page, "sees, does not work it"
    note = {"note": "已安排排水管网检修"}
    assert post(water, f"/console/callbacks/{cb_id}/consult-note", note).status_code == 302
    assert "已安排排水管网检修" in text_of(staff.get(f"/console/callbacks/{cb_id}"))
    assert as_user(app, "sun").get(f"/console/callbacks/{cb_id}").status_code == 403
    api = app.test_client()
    from storage.access.tokens import create_token

    with transaction(sessions) as session:
        token = create_token(session, "t")
    with sessions() as session:
        sid = session.get_one(Callback, cb_id).call.call_sid
    shown = api.get(f"/api/v1/calls/{sid}", headers={"Authorization": f"Bearer {token}"})
    assert shown.get_json()["callback"]["consulted"] == ["D-water"]


def test_not_reached_closes_but_is_not_counted_and_the_caller_gets_the_outcome(
    app, sessions, redis_url, place_call, people, fake_twilio, monkeypatch
):
    monkeypatch.setenv("SURVEY_NUMBER", SURVEY_NUMBER)
    heard = rate_bad(place_call, sessions, redis_url)
    unheard = rate_bad(place_call, sessions, redis_url, caller="+8613822223333")
    opted_out = rate_bad(place_call, sessions, redis_url, caller="+8613833334444")
    with transaction(sessions) as session:
        session.add(SmsOptOut(number="+8613833334444", keyword="TD", created_at=utcnow()))
    staff = as_user(app, "chen")
    for cb_id, feedback in (
        (heard, "satisfied"),
        (unheard, "not_reached"),
        (opted_out, "satisfied"),
    ):
        post(staff, f"/console/callbacks/{cb_id}/attempt", {"result": "reached"})
        no_feedback = post(
            staff, f"/console/callbacks/{cb_id}/verdict", {"resolution": "on_the_spot"}
        )
        assert no_feedback.status_code == 400
        form = {"resolution": "on_the_spot", "feedback": feedback}
        assert post(staff, f"/console/callbacks/{cb_id}/verdict", form).status_code == 302
    work(sessions, redis_url)
    sent = fake_twilio.requests_to(MESSAGES)
    assert sorted(m.field("To") for m in sent) == [CALLER, "+8613822223333"]
    assert all("差评已办结：已当场解决" in m.field("Body") for m in sent)
    with sessions() as session:
        skipped = session.scalars(select(CallEvent.kind).where(CallEvent.kind.like("outcome_sms%")))
        assert sorted(skipped) == ["outcome_sms_sending"] * 2 + ["outcome_sms_sent"] * 2 + [
            "outcome_sms_skipped"
        ]
    refresh(sessions)
    with sessions() as session:
        today = utcnow().date()
        total, _ = figures(
            session, Period(today - timedelta(days=1), today + timedelta(days=1)), "dept"
        )
    assert (total.realname_bad, total.realname_followed, total.realname_unconfirmed) == (3, 2, 1)
    assert total.followup_rate == pytest.approx(2 / 3)


def test_supervisors_are_asked_to_approve_and_hear_the_bulletin(
    app, sessions, redis_url, place_call, people
):
    cb_id = rate_bad(place_call, sessions, redis_url)
    staff = as_user(app, "chen")
    post(staff, f"/console/callbacks/{cb_id}/attempt", {"result": "reached"})
    form = {"resolution": "malicious", "note": "反复骚扰"}
    post(staff, f"/console/callbacks/{cb_id}/verdict", form)
    assert counts(app, "li") == {"approval": 1} and counts(app, "zhao") == {"approval": 1}
    supervisor = as_user(app, "li")
    post(supervisor, f"/console/callbacks/{cb_id}/review", {"decision": "approve"})
    assert counts(app, "li") == {"bulletin": 1}, "opening the case read the approval"
    assert counts(app, "zhao") == {"approval": 1, "bulletin": 1}


class FakeRobot:
    """A group robot (钉钉 or 企业微信) on a loopback port: answers `errcode`s in turn."""

    def __init__(self, answers: list[dict]) -> None:
        self.answers, self.seen = answers, []
        robot = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                robot.seen.append((self.path, dict(self.headers), self.form_body()))
                answer = robot.answers.pop(0) if robot.answers else {"errcode": 0}
                self.answer(200, json.dumps(answer).encode())

        self.server = serve(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/robot/send?access_token=tok"


def test_the_group_robot_gets_a_signed_message_and_failures_are_retried_and_shown(
    app, sessions, redis_url, place_call, people, monkeypatch
):
    robot = FakeRobot([{"errcode": 310000, "errmsg": "sign not match"}])
    secret = "SEC0123456789"
    monkeypatch.setenv("NOTIFY_WEBHOOK_URL", robot.url)
    monkeypatch.setenv("NOTIFY_WEBHOOK_SECRET", secret)
    monkeypatch.setenv("NOTIFY_WEBHOOK_FORMAT", "dingtalk")
    rate_bad(place_call, sessions, redis_url)
    with sessions() as session:
        [delivery] = session.scalars(select(NotificationDelivery)).all()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "310000 sign not match" in delivery.last_error
    page = text_of(as_user(app, "li").get("/console/inbox"))
    assert "通知发送异常" in page and "待发送（失败后重试中）" in page and "sign not match" in page
    work(sessions, redis_url, utcnow() + timedelta(minutes=6))  # the sweep sends it again
    with sessions() as session:
        delivery = session.get_one(NotificationDelivery, delivery.id)
        assert (delivery.status, delivery.attempts) == ("sent", 2)
        assert session.scalars(select(OutboxJob).where(OutboxJob.done_at.is_(None))).all() == []
    path, headers, body = robot.seen[-1]
    message = json.loads(body)
    assert message["msgtype"] == "text" and "新差评" in message["text"]["content"]
    query = parse_qs(urlsplit(path).query)
    expected = hmac.new(secret.encode(), f"{query['timestamp'][0]}\n{secret}".encode(), "sha256")
    assert query["sign"][0] == base64.b64encode(expected.digest()).decode()
    signed = hmac.new(
        secret.encode(), headers["X-IVR-Timestamp"].encode() + b"." + body, hashlib.sha256
    )
    assert headers["X-IVR-Signature"] == "sha256=" + signed.hexdigest()


def test_the_wecom_robot_body_mentions_by_phone():
    from workers.notify import robot_body

    body = robot_body("指派给您", ["+8613900001111"], "wecom")
    assert body == {
        "msgtype": "text",
        "text": {
            "content": "【12345 好差评】指派给您",
            "mentioned_mobile_list": ["+8613900001111"],
        },
    }


def test_a_delivery_is_given_up_after_the_attempts(
    sessions, redis_url, place_call, people, monkeypatch
):
    robot = FakeRobot([{"errcode": 1, "errmsg": "busy"}] * 2)
    monkeypatch.setenv("NOTIFY_WEBHOOK_URL", robot.url)
    monkeypatch.setenv("NOTIFY_WEBHOOK_SECRET", "s")
    monkeypatch.setenv("NOTIFY_MAX_ATTEMPTS", "2")
    rate_bad(place_call, sessions, redis_url)
    work(sessions, redis_url, utcnow() + timedelta(minutes=6))
    with sessions() as session:
        [delivery] = session.scalars(select(NotificationDelivery)).all()
        assert (delivery.status, delivery.attempts) == ("failed", 2)
        users = session.scalars(select(User.username)).all()
    assert len(robot.seen) == 2 and "chen" in users
