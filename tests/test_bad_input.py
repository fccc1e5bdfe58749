"""Odd but correctly signed requests: always 200 with valid TwiML, and no rating not chosen."""

from __future__ import annotations

import pytest

from storage.models import Call, Rating
from tests.conftest import twiml_verbs
from tests.helpers import count, ratings_of, stored_call

SID = "CA" + "b" * 32
INPUT = "/voice/survey/input?lang=zh-CN&node=ask&reasks=0"

ABSURD_DIGITS = [
    "a",
    "six",
    "0",
    "6",
    "*#",
    "#",
    "11",
    " 1",
    "1 ",
    "１",  # full-width one
    "1" * 5000,
    "<Say>1</Say>",
    "]]><Hangup/>",
    "1'; DROP TABLE ratings; --",
    "\x00",
    "4\n",
]


@pytest.mark.parametrize("digits", ABSURD_DIGITS)
def test_absurd_digits_are_asked_again_and_store_nothing(post, sessions, digits):
    response = post(INPUT, {"CallSid": SID, "Digits": digits, "CallStatus": "in-progress"})
    assert twiml_verbs(response) == ["Gather", "Play", "Play"]
    assert count(sessions, Rating) == 0
    assert stored_call(sessions, SID).disposition == "in_progress"


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"Digits": "1"},
        {"CallSid": "", "Digits": "1"},
        {"CallSid": "x" * 500, "Digits": "1"},
        {"CallSid": "CA<script>", "Digits": "1"},
    ],
)
@pytest.mark.parametrize("path", ["/voice/survey", INPUT, "/voice/status"])
def test_missing_or_broken_fields_get_valid_twiml(post, sessions, form, path):
    response = post(path, form)
    twiml_verbs(response)
    assert count(sessions, Rating) == 0
    assert count(sessions, Call) == 0


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?lang=",
        "?lang=../../etc",
        "?lang=zh-CN&node=",
        "?lang=zh-CN&node=nonsense&reasks=zz",
        "?lang=zh-CN&node=ask&reasks=-1",
        "?lang=zh-CN&node=ask&reasks=99999999999999999999",
        "?node=thanks",
    ],
)
def test_odd_query_strings_still_get_a_question(post, sessions, query):
    response = post("/voice/survey/input" + query, {"CallSid": SID, "Digits": "x"})
    assert twiml_verbs(response)[0] == "Gather"
    assert count(sessions, Rating) == 0


def test_odd_survey_parameters_are_stored_safely(post, sessions):
    query = (
        "?lang=zh-CN&agent="
        + "A" * 500
        + "&dept=%3Cb%3E&tickets=,,T1,,T1,"
        + ",".join(f"T{i}" for i in range(200))
    )
    response = post("/voice/survey" + query, {"CallSid": SID, "CallStatus": "in-progress"})
    assert twiml_verbs(response)[0] == "Gather"
    call = stored_call(sessions, SID)
    assert len(call.agent) == 64
    assert call.dept == "<b>"
    tickets = [t.ticket for t in call.tickets]
    assert tickets[:3] == ["T1", "T0", "T2"]
    assert len(tickets) == len(set(tickets)) == 50


def test_a_second_survey_for_a_rated_call_does_not_ask_again(post, sessions):
    post(INPUT, {"CallSid": SID, "Digits": "2"})
    response = post("/voice/survey?lang=zh-CN", {"CallSid": SID, "CallStatus": "in-progress"})
    assert twiml_verbs(response) == ["Play", "Hangup"]
    assert "already_rated" in response.get_data(as_text=True)


def test_a_rating_is_never_overwritten(post, sessions):
    post(INPUT, {"CallSid": SID, "Digits": "4"})
    response = post(INPUT, {"CallSid": SID, "Digits": "1"})
    assert "already_rated" in response.get_data(as_text=True)
    [rating] = ratings_of(sessions, SID)
    assert rating.level == "dissatisfied"


def test_a_replayed_key_press_gets_the_same_answer_and_one_rating(post, sessions):
    first = post(INPUT, {"CallSid": SID, "Digits": "5"})
    again = post(INPUT, {"CallSid": SID, "Digits": "5"})
    assert first.get_data() == again.get_data()
    assert len(ratings_of(sessions, SID)) == 1


def test_a_database_failure_still_answers_valid_twiml(post, app, sessions, monkeypatch):
    """The caller hears a polite goodbye, not Twilio's application-error message."""
    import ivr.voice.survey

    def broken(*args, **kwargs):
        raise RuntimeError("database is gone")

    monkeypatch.setattr(ivr.voice.survey, "get_or_create_call", broken)
    response = post(INPUT, {"CallSid": SID, "Digits": "1"})
    assert twiml_verbs(response) == ["Play", "Hangup"]
    assert "system_busy" in response.get_data(as_text=True)
