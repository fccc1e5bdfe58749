"""The clocks and the no-dodging rules, through the real app at their boundary instants.

A 差评 is given through the signed survey webhook, worked through the console's forms
and swept with the real sweep (database and Redis real); the time is moved with
time-machine, so the app's own clock reads the boundary instants.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from redis import Redis
from sqlalchemy import select

from storage.access.users import set_department_head
from storage.db import transaction
from storage.models import Callback, CallbackEvent, Escalation
from tests.console_helpers import login, make_people, post
from workers.sweep import sweep

pytestmark = pytest.mark.usefixtures("fast_hashing")

T0 = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)  # Tuesday 3 November, 10:00 in Shanghai


@pytest.fixture
def people(sessions):
    make_people(sessions)
    with transaction(sessions) as session:
        set_department_head(session, "D-housing", "zhang")


def rate_bad(place_call, at: datetime, caller: str = "+8613811112222") -> str:
    """A caller presses 4 (不满意) at `at`, through the signed webhook."""
    with time_machine.travel(at, tick=False):
        call, _ = place_call("4", caller=caller)
    return call.call_sid


def the_callback(sessions, call_sid: str) -> Callback:
    with sessions() as session:
        found = session.scalars(
            select(Callback).join(Callback.call).where(Callback.call.has(call_sid=call_sid))
        ).one()
        _ = found.call, found.assignee, found.consults
        return found


def api_callback(client, sessions, call_sid: str) -> dict:
    from storage.access.tokens import create_token

    with transaction(sessions) as session:
        token = create_token(session, "test")
    response = client.get(f"/api/v1/calls/{call_sid}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return response.get_json()["callback"]


def sweep_at(sessions, redis_url, at: datetime):
    return sweep(sessions, Redis.from_url(redis_url), at)


def console_post(client, user: str, cb_id: int, action: str, form: dict, at: datetime):
    """`user` submits a callback page's form at `at` (logged in then: sessions expire)."""
    with time_machine.travel(at, tick=False):
        login(client, user)
        return post(client, f"/console/callbacks/{cb_id}/{action}", form)


def console_get(client, user: str, path: str, at: datetime):
    with time_machine.travel(at, tick=False):
        login(client, user)
        return client.get(path)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_a_reached_case_without_verdict_is_overdue_after_the_48_hour_mark(
    client, sessions, redis_url, place_call, people
):
    sid = rate_bad(place_call, T0)
    cb = the_callback(sessions, sid)
    reached = console_post(
        client, "zhang", cb.id, "attempt", {"result": "reached"}, T0 + timedelta(hours=1)
    )
    assert reached.status_code == 302
    shown = api_callback(client, sessions, sid)
    assert (shown["state"], shown["step"]) == ("called_back", "verdict")
    assert shown["step_due_at"] == shown["due_at"] == "2026-11-05T02:00:00Z"
    mark = T0 + timedelta(hours=48)
    assert sweep_at(sessions, redis_url, mark).callbacks_overdue == 0, "in time at the mark"
    assert the_callback(sessions, sid).overdue is False
    report = sweep_at(sessions, redis_url, mark + timedelta(seconds=1))
    assert report.callbacks_overdue == 1
    assert api_callback(client, sessions, sid)["overdue"] is True
    with sessions() as session:
        [escalation] = session.scalars(select(Escalation)).all()
        assert (escalation.step, escalation.callback_id) == ("callback", cb.id)
        kinds = [e.kind for e in session.scalars(select(CallbackEvent).order_by(CallbackEvent.id))]
    assert kinds == ["reached", "callback_overdue"]


def test_the_rectification_clock_starts_at_the_forwarding_not_at_the_verdict(
    client, sessions, place_call, people
):
    sid = rate_bad(place_call, T0)
    cb = the_callback(sessions, sid)
    console_post(client, "zhang", cb.id, "attempt", {"result": "reached"}, T0 + timedelta(hours=40))
    verdict = {"resolution": "rectify_5d"}
    console_post(client, "zhang", cb.id, "verdict", verdict, T0 + timedelta(hours=47))
    shown = api_callback(client, sessions, sid)
    # Forwarded on Tuesday 3 November (Shanghai): due at 24:00 on Sunday the 8th.
    assert shown["rectify_due_at"] == shown["step_due_at"] == "2026-11-08T16:00:00Z"
    assert shown["step"] == "rectify"


def test_attempts_two_hours_apart_over_two_days_before_unreachable(
    client, sessions, place_call, people
):
    sid = rate_bad(place_call, T0)
    cb = the_callback(sessions, sid)
    first = T0 + timedelta(hours=1)
    no_answer = {"result": "no_answer"}
    assert console_post(client, "zhang", cb.id, "attempt", no_answer, first).status_code == 302
    too_soon = console_post(
        client, "zhang", cb.id, "attempt", {"result": "no_answer"}, first + timedelta(seconds=7199)
    )
    assert too_soon.status_code == 400
    assert "不足 2 小时" in text_of(too_soon) and "11月03日 13:00:00 之后" in text_of(too_soon)
    second = first + timedelta(hours=2)
    assert (
        console_post(client, "zhang", cb.id, "attempt", {"result": "no_answer"}, second).status_code
        == 302
    )
    third = second + timedelta(hours=3)  # 16:00 the same day: three attempts, one day
    console_post(client, "zhang", cb.id, "attempt", {"result": "refused"}, third)
    found = the_callback(sessions, sid)
    assert (found.state, found.failed_attempts) == ("open", 3)
    page = console_get(client, "zhang", f"/console/callbacks/{cb.id}", third)
    assert "跨 1 个自然日" in text_of(page) and "跨至少 2 个自然日" in text_of(page)
    console_post(client, "zhang", cb.id, "attempt", {"result": "no_answer"}, T0 + timedelta(days=1))
    assert the_callback(sessions, sid).state == "unreachable"
    with sessions() as session:
        refused = session.scalars(select(CallbackEvent).where(CallbackEvent.kind == "refused"))
        [refusal] = refused.all()
    assert refusal.action == "attempt" and "不足 2 小时" in refusal.note


def test_first_contact_within_one_working_day_where_configured(
    client, sessions, redis_url, place_call, people, monkeypatch
):
    monkeypatch.setenv("CONTACT_WORKING_DAYS", "1")
    sid = rate_bad(place_call, T0)  # Tuesday: the next working day is Wednesday
    shown = api_callback(client, sessions, sid)
    assert shown["contact_due_at"] == shown["step_due_at"] == "2026-11-04T16:00:00Z"
    assert shown["step"] == "contact" and shown["due_at"] == "2026-11-05T02:00:00Z"
    due = datetime(2026, 11, 4, 16, 0, tzinfo=UTC)
    assert sweep_at(sessions, redis_url, due).callbacks_overdue == 0
    assert sweep_at(sessions, redis_url, due + timedelta(seconds=1)).callbacks_overdue == 1
    found = the_callback(sessions, sid)
    assert found.contact_overdue is True and found.overdue is False
    friday = rate_bad(place_call, datetime(2026, 11, 6, 10, 0, tzinfo=UTC), "+8613899990000")
    # Friday 18:00: first contact by Monday's end, but the 48 h end on Sunday 18:00 first.
    assert api_callback(client, sessions, friday)["step_due_at"] == "2026-11-08T10:00:00Z"


def test_an_anonymous_bad_rating_has_its_own_state_and_is_never_escalated(
    client, sessions, redis_url, place_call, people
):
    sid = rate_bad(place_call, T0, caller="anonymous")
    shown = api_callback(client, sessions, sid)
    assert (shown["state"], shown["step"], shown["step_due_at"]) == ("anonymous", None, None)
    report = sweep_at(sessions, redis_url, T0 + timedelta(days=30))
    assert report.callbacks_overdue == 0 and the_callback(sessions, sid).overdue is False
    queue = console_get(client, "zhang", "/console/queue?state=anonymous", T0)
    assert "匿名差评" in text_of(queue) and f"#{the_callback(sessions, sid).id}" in text_of(queue)


def test_a_supervisor_reopens_an_unreachable_case_with_a_fresh_clock(
    client, sessions, redis_url, place_call, people
):
    sid = rate_bad(place_call, T0)
    cb = the_callback(sessions, sid)
    for hours in (1, 4, 25):
        console_post(
            client, "zhang", cb.id, "attempt", {"result": "no_answer"}, T0 + timedelta(hours=hours)
        )
    assert the_callback(sessions, sid).state == "unreachable"
    reopen_at = T0 + timedelta(days=3)
    no_reason = console_post(client, "li", cb.id, "reopen", {"note": " "}, reopen_at)
    assert no_reason.status_code == 400 and "重新打开须说明理由" in text_of(no_reason)
    done = console_post(
        client, "li", cb.id, "reopen", {"note": "号码核实有误，重新回访"}, reopen_at
    )
    assert done.status_code == 302
    found = the_callback(sessions, sid)
    assert (found.state, found.round, found.failed_attempts) == ("open", 1, 0)
    assert found.due_at == reopen_at + timedelta(hours=48)
    shown = api_callback(client, sessions, sid)
    assert shown["step"] == "contact" and shown["step_due_at"] == "2026-11-08T02:00:00Z"
    late = reopen_at + timedelta(hours=48, seconds=1)
    assert sweep_at(sessions, redis_url, late).callbacks_overdue == 1, "escalated afresh"


def test_the_verdict_list_preselects_nothing(client, sessions, place_call, people):
    sid = rate_bad(place_call, T0)
    cb = the_callback(sessions, sid)
    console_post(client, "zhang", cb.id, "attempt", {"result": "reached"}, T0 + timedelta(hours=1))
    at = T0 + timedelta(hours=2)
    page = console_get(client, "zhang", f"/console/callbacks/{cb.id}", at).get_data(as_text=True)
    select_html = page[page.index('name="resolution"') :]
    select_html = select_html[: select_html.index("</select>")]
    options = re.findall(r"<option[^>]*>", select_html)
    assert 'value="" selected disabled' in options[0]
    assert all("selected" not in option for option in options[1:])
    missing = console_post(
        client, "zhang", cb.id, "verdict", {"resolution": ""}, T0 + timedelta(hours=2)
    )
    assert missing.status_code == 400 and the_callback(sessions, sid).resolution is None
