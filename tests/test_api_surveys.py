"""Ways into the survey through Twilio's REST API: an agent hands a live call over, and
the service calls back the caller of a closed ticket (办结回访) — against a fake Twilio
REST server that checks the path, the account's Basic auth and the form fields."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from storage.access.tokens import create_token
from storage.db import transaction
from storage.records.calls import CallDetails, get_or_create_call, record_rating
from tests.conftest import BASE_URL
from tests.fake_twilio import ACCOUNT_SID, CALLS, fake_twilio  # noqa: F401
from tests.helpers import callbacks_of, stored_call

LIVE = "CA" + "1" * 32


@pytest.fixture
def token(sessions) -> str:
    with sessions.begin() as session:
        return create_token(session, "agent-desktop")


def api_post(client, path, token, json=None):
    return client.post(path, json=json or {}, headers={"Authorization": f"Bearer {token}"})


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_a_live_call_is_redirected_into_the_survey(fake_twilio, client, token, sessions, post):
    fake_twilio.calls[LIVE] = "in-progress"
    body = {"lang": "ko-KR", "agent": "A1024", "dept": "D-housing", "tickets": ["T1", "T2"]}
    response = api_post(client, f"/api/v1/calls/{LIVE}/survey", token, body)
    assert response.status_code == 202, response.get_json()
    [seen] = fake_twilio.seen
    assert seen.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{LIVE}.json"
    assert seen.authorization == fake_twilio.basic
    assert seen.field("Method") == "POST"
    url = seen.field("Url")
    assert url.startswith(f"{BASE_URL}/voice/survey?")
    assert query_of(url) == {
        "lang": "ko-KR",
        "agent": "A1024",
        "dept": "D-housing",
        "tickets": "T1,T2",
        "moved": "1",
    }
    assert response.get_json()["survey_url"] == url
    # Twilio then requests that URL, and the caller rates as usual.
    path = url.removeprefix(BASE_URL)
    form = {"CallSid": LIVE, "From": "+8613800001111", "CallStatus": "in-progress"}
    assert "Gather" in post(path, form).get_data(as_text=True)
    call = stored_call(sessions, LIVE)
    assert (call.agent, call.dept, [t.ticket for t in call.tickets]) == (
        "A1024",
        "D-housing",
        ["T1", "T2"],
    )


def test_without_a_token_nothing_is_asked_of_twilio(fake_twilio, client):
    response = client.post(f"/api/v1/calls/{LIVE}/survey", json={})
    assert response.status_code == 401
    assert fake_twilio.seen == []


@pytest.mark.parametrize(
    ("twilio_status", "expected", "words"),
    [(None, 404, "no such call"), ("completed", 409, "over")],
)
def test_twilio_refusals_become_clear_answers(
    fake_twilio, client, token, twilio_status, expected, words
):
    if twilio_status:
        fake_twilio.calls[LIVE] = twilio_status
    response = api_post(client, f"/api/v1/calls/{LIVE}/survey", token)
    assert response.status_code == expected
    assert words in response.get_json()["error"]
    assert len(fake_twilio.seen) == 1


def test_twilio_failing_otherwise_is_a_502_saying_what_twilio_said(fake_twilio, client, token):
    fake_twilio.calls[LIVE] = "in-progress"
    fake_twilio.refuse = (429, 20429, "Too Many Requests")
    response = api_post(client, f"/api/v1/calls/{LIVE}/survey", token)
    assert response.status_code == 502
    message = response.get_json()["error"]
    assert "429" in message and "20429" in message and "Too Many Requests" in message


def test_wrong_credentials_are_a_502_and_the_survey_is_not_started(
    fake_twilio, client, token, monkeypatch, sessions
):
    fake_twilio.calls[LIVE] = "in-progress"
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "9" * 32)
    response = api_post(client, f"/api/v1/calls/{LIVE}/survey", token)
    assert response.status_code == 502
    assert "401" in response.get_json()["error"]
    assert stored_call(sessions, LIVE) is None


def test_a_rated_or_ended_call_is_409_without_asking_twilio(fake_twilio, client, token, sessions):
    ended = "CA" + "2" * 32
    with transaction(sessions) as session:
        call = get_or_create_call(session, LIVE, CallDetails(caller="+8613800001111"))
        session.flush()
        record_rating(session, call, "satisfied", "dtmf")
        get_or_create_call(session, ended, CallDetails(call_status="completed"))
    assert api_post(client, f"/api/v1/calls/{LIVE}/survey", token).status_code == 409
    response = api_post(client, f"/api/v1/calls/{ended}/survey", token)
    assert response.status_code == 409 and "over" in response.get_json()["error"]
    assert fake_twilio.seen == []


def test_bad_input_is_400(fake_twilio, client, token):
    for body in ({"lang": "xx-XX"}, {"tickets": ["T 1"]}, {"dept": "<script>"}):
        assert api_post(client, f"/api/v1/calls/{LIVE}/survey", token, body).status_code == 400
    assert api_post(client, "/api/v1/calls/not-a-sid/survey", token).status_code == 404
    assert fake_twilio.seen == []


# Ticket closure: an outbound call, the department's handling rated (一事一评).


@pytest.fixture
def survey_line(monkeypatch):
    monkeypatch.setenv("SURVEY_NUMBER", "+8610012345")


def closure(client, token, ticket="T-77", **body):
    body = {"caller": "+8613900002222", "dept": "D-water", "lang": "zh-CN"} | body
    return api_post(client, f"/api/v1/tickets/{ticket}/closure-survey", token, body)


def answer_closure(post, seen, sid: str, digits: str) -> str:
    """Twilio's requests once the callee of call `sid` answers and presses `digits`."""
    url = seen.field("Url").removeprefix(BASE_URL)
    form = {
        "CallSid": sid,
        "From": "+8610012345",
        "To": "+8613900002222",
        "CallStatus": "in-progress",
        "Direction": "outbound-api",
    }
    first = post(url, form).get_data(as_text=True)
    action = first.split('action="')[1].split('"')[0].replace("&amp;", "&")
    post(action.removeprefix(BASE_URL), form | {"Digits": digits})
    return first


def test_closure_survey_calls_the_caller_and_routes_a_bad_rating_to_the_department(
    survey_line, fake_twilio, client, token, sessions, post, monkeypatch
):
    monkeypatch.setenv("HOTLINE_DEPT", "D-12345")
    response = closure(client, token)
    assert response.status_code == 202, response.get_json()
    [seen] = fake_twilio.requests_to(CALLS)
    assert seen.authorization == fake_twilio.basic
    assert (seen.field("To"), seen.field("From")) == ("+8613900002222", "+8610012345")
    assert query_of(seen.field("Url")) == {
        "kind": "closure",
        "lang": "zh-CN",
        "dept": "D-water",
        "tickets": "T-77",
    }
    assert seen.field("StatusCallback") == f"{BASE_URL}/voice/status?kind=closure"
    sid = response.get_json()["call_sid"]
    assert sid in fake_twilio.calls
    first = answer_closure(post, seen, sid, "5")
    assert "/prompts/zh-CN/ask_closure.wav" in first
    call = stored_call(sessions, sid)
    assert call.kind == "closure" and call.caller == "+8613900002222"
    assert call.rating.level == "very_dissatisfied"
    [callback] = callbacks_of(sessions, sid)
    assert callback.dept == "D-water"  # the department's handling: its own queue


def test_a_bad_rating_of_a_hotline_call_goes_to_the_hotline_centre(
    monkeypatch, place_call, sessions
):
    monkeypatch.setenv("HOTLINE_DEPT", "D-12345")
    script, _ = place_call("4", dept="D-water")
    [callback] = callbacks_of(sessions, script.call_sid)
    assert callback.dept == "D-12345"


def test_one_closure_survey_per_ticket(survey_line, fake_twilio, client, token, post, sessions):
    first = closure(client, token)
    assert first.status_code == 202
    again = closure(client, token)
    assert again.status_code == 409 and "under way" in again.get_json()["error"]
    sid = first.get_json()["call_sid"]
    answer_closure(post, fake_twilio.requests_to(CALLS)[0], sid, "2")
    rated = closure(client, token)
    assert rated.status_code == 409 and "rated already" in rated.get_json()["error"]
    assert len(fake_twilio.requests_to(CALLS)) == 1


def test_an_unanswered_closure_survey_may_be_placed_again(
    survey_line, fake_twilio, client, token, post
):
    sid = closure(client, token).get_json()["call_sid"]
    form = {
        "CallSid": sid,
        "CallStatus": "no-answer",
        "From": "+8610012345",
        "To": "+8613900002222",
    }
    assert post("/voice/status?kind=closure", form).status_code == 200
    assert closure(client, token).status_code == 202
    assert len(fake_twilio.requests_to(CALLS)) == 2


def test_twilio_refusing_the_closure_call_is_502_and_the_ticket_can_be_tried_again(
    survey_line, fake_twilio, client, token
):
    fake_twilio.refuse = (400, 21211, "The 'To' number +8613900002222 is not a valid number.")
    response = closure(client, token)
    assert response.status_code == 502
    assert "21211" in response.get_json()["error"]
    fake_twilio.refuse = None
    assert closure(client, token).status_code == 202


def test_closure_survey_needs_the_survey_line_and_good_input(fake_twilio, client, token):
    assert closure(client, token).status_code == 503
    assert closure(client, token, caller="").status_code == 400
    assert closure(client, token, caller="call me").status_code == 400
    assert closure(client, token, ticket="T 1").status_code in (400, 404)
    assert fake_twilio.seen == []
