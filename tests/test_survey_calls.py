"""Whole calls through the webhooks, as Twilio would make them, checked in the database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import BASE_URL, twiml_verbs
from tests.helpers import callbacks_of, stored_call

LEVELS = {
    "1": ("very_satisfied", "good"),
    "2": ("satisfied", "good"),
    "3": ("basically_satisfied", "neutral"),
    "4": ("dissatisfied", "bad"),
    "5": ("very_dissatisfied", "bad"),
}


@pytest.mark.parametrize("key", sorted(LEVELS))
def test_a_key_rates_the_call(place_call, sessions, key):
    script, outcome = place_call(key, agent="A1024", dept="D-housing", tickets=("T1", "T2"))
    call = stored_call(sessions, script.call_sid)
    level, category = LEVELS[key]
    assert (call.rating.level, call.rating.category, call.rating.source) == (
        level,
        category,
        "dtmf",
    )
    assert call.disposition == "rated"
    assert (call.agent, call.dept, call.lang) == ("A1024", "D-housing", "zh-CN")
    assert [t.ticket for t in call.tickets] == ["T1", "T2"]
    assert call.caller == "+8613800000000"
    assert outcome.heard == ["ask_rating", "thanks_bad" if category == "bad" else "thanks"]
    assert outcome.hung_up_by == "service"


@pytest.mark.parametrize("key", ["4", "5"])
def test_a_bad_rating_opens_a_callback_due_in_48_hours(place_call, sessions, key):
    script, _ = place_call(key, dept="D-housing")
    call = stored_call(sessions, script.call_sid)
    [callback] = callbacks_of(sessions, script.call_sid)
    assert callback.state == "open"
    assert callback.dept == "D-housing"
    assert callback.due_at - call.rating.rated_at == timedelta(hours=48)
    assert callback.overdue is False


@pytest.mark.parametrize("key", ["1", "2", "3"])
def test_good_and_neutral_ratings_open_no_callback(place_call, sessions, key):
    script, _ = place_call(key)
    assert callbacks_of(sessions, script.call_sid) == []


def test_invalid_keys_and_silence_are_asked_again(place_call, sessions):
    script, outcome = place_call("9,silence,2")
    assert outcome.heard == [
        "ask_rating",
        "invalid_key",
        "ask_rating",
        "no_input",
        "ask_rating",
        "thanks",
    ]
    assert stored_call(sessions, script.call_sid).rating.level == "satisfied"


def test_after_two_reasks_the_caller_is_thanked_and_the_call_stays_unrated(place_call, sessions):
    script, outcome = place_call("silence,0,#,4")
    assert outcome.heard[-1] == "goodbye"
    assert outcome.pressed == ["0", "#"], "the fourth answer is never asked for"
    call = stored_call(sessions, script.call_sid)
    assert call.rating is None
    assert call.disposition == "no_input"


def test_star_repeats_the_prompt_without_using_a_reask(place_call, sessions):
    script, outcome = place_call("*,*,*,9,9,3")
    assert outcome.heard.count("ask_rating") == 6
    assert stored_call(sessions, script.call_sid).rating.level == "basically_satisfied"


def test_keys_work_during_the_prompt(post):
    """Barge-in: the prompt is inside the one-key <Gather>, whose answer reaches our action."""
    import xml.etree.ElementTree as ET

    response = post(
        "/voice/survey?lang=zh-CN",
        {"CallSid": "CA" + "1" * 32, "CallStatus": "in-progress", "DialCallStatus": "completed"},
    )
    assert twiml_verbs(response) == ["Gather", "Play"]
    gather = ET.fromstring(response.get_data()).find("Gather")
    assert gather.get("numDigits") == "1"
    assert gather.get("input") == "dtmf"
    assert gather.get("actionOnEmptyResult") == "true"
    assert gather.get("action").startswith(BASE_URL + "/voice/survey/input?")
    assert gather.find("Play").text == BASE_URL + "/prompts/zh-CN/ask_rating.wav"


def test_caller_hanging_up_mid_flow_leaves_an_unrated_call(place_call, sessions):
    script, outcome = place_call("9,hangup")
    call = stored_call(sessions, script.call_sid)
    assert outcome.hung_up_by == "caller"
    assert call.rating is None
    assert call.disposition == "hung_up"
    assert call.ended_at is not None


@pytest.mark.parametrize("dial_status", ["no-answer", "busy", "failed"])
def test_no_agent_reached_means_no_survey(place_call, sessions, dial_status):
    script, outcome = place_call("1", dial_status=dial_status)
    assert outcome.heard == []
    assert outcome.pressed == []
    call = stored_call(sessions, script.call_sid)
    assert call.rating is None
    assert call.disposition == "not_served"


def test_caller_already_gone_is_recorded_with_an_empty_response(post, sessions):
    sid = "CA" + "2" * 32
    response = post(
        "/voice/survey?lang=zh-CN&agent=A1&dept=D1",
        {"CallSid": sid, "CallStatus": "completed", "DialCallStatus": "completed"},
    )
    assert twiml_verbs(response) == []
    call = stored_call(sessions, sid)
    assert (call.disposition, call.rating, call.agent) == ("hung_up", None, "A1")


def test_dedicated_survey_number_without_dial_works(place_call, sessions):
    earlier, _ = place_call("hangup", caller="+8613800001111")
    script, outcome = place_call(
        "1,2", caller="+8613800001111", dial_status=None, agent=None, dept=None, tickets=()
    )
    assert outcome.heard[0] == "later_offer"
    assert stored_call(sessions, earlier.call_sid).rating.level == "satisfied"
    assert stored_call(sessions, script.call_sid).rating is None  # it rates the real call


def test_unknown_language_falls_back_to_the_default_pack(place_call, sessions):
    script, outcome = place_call("1", lang="xx-YY")
    assert outcome.heard[0] == "ask_rating"
    assert stored_call(sessions, script.call_sid).lang == "zh-CN"


def test_status_callback_records_how_the_call_ended(place_call, post, sessions):
    script, _ = place_call("silence,silence,silence")
    call = stored_call(sessions, script.call_sid)
    assert call.disposition == "no_input", "the status callback must not overwrite it"
    assert call.call_status == "completed"


def test_status_callback_for_a_never_answered_call(post, sessions):
    sid = "CA" + "3" * 32
    response = post("/voice/status", {"CallSid": sid, "CallStatus": "no-answer"})
    assert twiml_verbs(response) == []
    assert stored_call(sessions, sid).disposition == "not_served"


def test_prompt_audio_is_served_telephone_ready_with_caching(client):
    response = client.get("/prompts/zh-CN/ask_rating.wav")
    assert response.status_code == 200
    assert response.mimetype == "audio/wav"
    assert "max-age=" in response.headers["Cache-Control"]
    assert response.headers.get("ETag")
    body = response.get_data()
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE"
    channels = int.from_bytes(body[22:24], "little")
    rate = int.from_bytes(body[24:28], "little")
    assert (channels, rate) == (1, 8000)
    again = client.get(
        "/prompts/zh-CN/ask_rating.wav", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304


@pytest.mark.parametrize(
    "path",
    [
        "/prompts/zh-CN/nope.wav",
        "/prompts/xx-YY/ask_rating.wav",
        "/prompts/zh-CN/..%2F..%2Fpack.wav",
        "/prompts/..%2F..%2Fetc/passwd.wav",
        "/prompts/zh-CN/ask_rating.txt",
    ],
)
def test_prompt_audio_refuses_unknown_and_traversing_paths(client, path):
    assert client.get(path).status_code == 404


def test_missing_audio_falls_back_to_spoken_text(post, monkeypatch):
    import prompts

    monkeypatch.setattr(prompts, "audio_path", lambda lang, name: None)
    form = {"CallSid": "CA" + "4" * 32, "CallStatus": "in-progress", "DialCallStatus": "completed"}
    response = post("/voice/survey", form)
    assert twiml_verbs(response) == ["Gather", "Say"]
    assert "非常满意请按1" in response.get_data(as_text=True)
