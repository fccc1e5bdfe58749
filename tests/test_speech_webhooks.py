"""The webhooks of spoken answers, as Twilio calls them, in any order and more than once.

The recogniser's verdict is written to the database here as the worker would write
it; `test_speech_calls.py` runs the real worker and model end to end.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select, update

from storage.models import OutboxJob, Recording
from tests.conftest import BASE_URL, twiml_verbs
from tests.helpers import count, stored_call

SID = "CA" + "8" * 32
REC = "RE" + "1" * 32
LANG = "ko-KR"
ASK = f"lang={LANG}&node=ask&reasks=0"
RECORDING_URL = f"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{REC}"


def _form(**extra) -> dict[str, str]:
    return {"CallSid": SID, "AccountSid": "AC1", "CallStatus": "in-progress", **extra}


def _recorded(post, **extra):
    form = _form(RecordingSid=REC, RecordingUrl=RECORDING_URL, RecordingDuration="2") | extra
    return post(f"/voice/survey/recorded?{ASK}", form)


def _status(post, status="completed"):
    form = _form(RecordingSid=REC, RecordingUrl=RECORDING_URL, RecordingStatus=status)
    return post(f"/voice/survey/recording-status?lang={LANG}&purpose=rating", form)


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    assert url.startswith(BASE_URL)
    return f"{parts.path}?{parts.query}"


def _redirect(response) -> str:
    return ET.fromstring(response.get_data()).find("Redirect").text


def _recording(sessions) -> Recording:
    with sessions() as session:
        return session.scalars(select(Recording)).one()


def _recognised(sessions, level, certain, status="done", outcome="ok"):
    with sessions.begin() as session:
        session.execute(
            update(Recording).values(
                status=status, recognized_level=level, certain=certain, outcome=outcome
            )
        )


def test_a_spoken_answer_waits_for_the_worker(post, sessions, redis_url):
    response = _recorded(post)
    assert twiml_verbs(response) == ["Pause", "Redirect"]
    wait = _redirect(response)
    assert "/voice/survey/wait?" in wait and f"rec={REC}" in wait
    recording = _recording(sessions)
    assert (recording.status, recording.purpose, recording.lang) == ("pending", "rating", LANG)
    [job] = [j for j in _jobs(sessions) if j.func == "workers.jobs.process_recording"]
    assert job.queue == "speech" and job.enqueued_at is not None
    assert Queue("speech", connection=Redis.from_url(redis_url)).job_ids == [f"outbox-{job.id}"]


def _jobs(sessions):
    with sessions() as session:
        return list(session.scalars(select(OutboxJob)))


@pytest.mark.parametrize("order", ["status first", "action first"])
def test_action_and_status_callback_in_any_order_twice_make_one_recording_one_job(
    post, sessions, order
):
    deliveries = [_status, _recorded] if order == "status first" else [_recorded, _status]
    for deliver in deliveries * 2:
        twiml_verbs(deliver(post))
    assert count(sessions, Recording) == 1
    assert len(_jobs(sessions)) == 1


def test_still_pending_pauses_again_then_sends_the_caller_to_the_keys(post, sessions):
    wait = _redirect(_recorded(post))
    for polls in range(1, 9):
        response = post(_path_of(wait), _form())
        assert twiml_verbs(response) == ["Pause", "Redirect"]
        wait = _redirect(response)
        assert f"n={polls}" in wait
    response = post(_path_of(wait), _form())
    verbs = twiml_verbs(response)
    assert "Record" not in verbs, "keys only after a late result"
    assert "speech_late" in response.get_data(as_text=True)


def test_a_certain_result_is_stored_as_speech_and_linked(post, sessions):
    wait = _redirect(_recorded(post))
    _recognised(sessions, "satisfied", True)
    response = post(_path_of(wait), _form())
    assert twiml_verbs(response) == ["Play", "Hangup"]
    call = stored_call(sessions, SID)
    assert (call.rating.level, call.rating.source) == ("satisfied", "speech")
    assert call.rating.recording_id == _recording(sessions).id
    assert _recording(sessions).confirmed_level is None, "nobody was asked to confirm"


def test_an_uncertain_result_is_read_back_and_confirmed_by_key(post, sessions):
    wait = _redirect(_recorded(post))
    _recognised(sessions, "dissatisfied", False)
    response = post(_path_of(wait), _form())
    body = response.get_data(as_text=True)
    assert "level_dissatisfied" in body and "readback_options" in body
    assert stored_call(sessions, SID).rating is None, "not stored before it is confirmed"
    confirm = ET.fromstring(response.get_data()).find("Gather").get("action")
    query = parse_qs(urlsplit(confirm).query)
    assert query["heard"] == ["dissatisfied"] and query["rec"] == [REC]
    post(_path_of(confirm), _form(Digits="1"))
    call = stored_call(sessions, SID)
    assert (call.rating.level, call.rating.source) == ("dissatisfied", "speech")
    assert _recording(sessions).confirmed_level == "dissatisfied"
    assert call.callback is not None


@pytest.mark.parametrize(
    ("status", "outcome", "expected_prompt"),
    [
        ("done", "unrecognised", "not_understood"),
        ("failed", "foreign_host", "not_understood"),
        ("failed", "unavailable", "not_understood"),
        ("done", "no_speech", "no_input"),
        ("failed", "absent", "no_input"),
    ],
)
def test_nothing_usable_is_asked_again(post, sessions, status, outcome, expected_prompt):
    wait = _redirect(_recorded(post))
    _recognised(sessions, None, None, status=status, outcome=outcome)
    response = post(_path_of(wait), _form())
    assert expected_prompt in response.get_data(as_text=True)
    assert stored_call(sessions, SID).rating is None


def test_silence_after_the_tone_reaches_the_redirect(post, sessions):
    response = post(f"/voice/survey/silence?{ASK}", _form())
    assert "no_input" in response.get_data(as_text=True)
    assert twiml_verbs(response)[:1] == ["Gather"]


def test_twilio_reports_an_absent_recording(post, sessions):
    twiml_verbs(_status(post, status="absent"))
    recording = _recording(sessions)
    assert (recording.status, recording.outcome) == ("failed", "absent")


def test_a_key_that_ends_the_recording_is_the_answer(post, sessions):
    response = _recorded(post, Digits="4")
    assert "reason_ask" in response.get_data(as_text=True), "a bad rating may be explained"
    call = stored_call(sessions, SID)
    assert (call.rating.level, call.rating.source) == ("dissatisfied", "dtmf")
    assert _recording(sessions).status == "failed", "the recording is not recognised"


def test_hanging_up_while_speaking(post, sessions):
    response = _recorded(post, Digits="hangup")
    assert twiml_verbs(response) == []
    call = stored_call(sessions, SID)
    assert (call.rating, call.disposition) == (None, "hung_up")


def test_waiting_on_another_calls_recording_reveals_nothing(post, sessions):
    wait = _redirect(_recorded(post))
    _recognised(sessions, "very_satisfied", True)
    other = "CA" + "9" * 32
    response = post(_path_of(wait), _form(CallSid=other))
    assert "speech_late" in response.get_data(as_text=True)
    assert stored_call(sessions, other).rating is None


@pytest.mark.parametrize(
    "form",
    [
        {"RecordingUrl": "javascript:alert(1)"},
        {"RecordingUrl": "https://api.twilio.com/" + "a" * 5000},
        {"RecordingSid": "RE<script>"},
        {"RecordingSid": "", "RecordingUrl": ""},
        {"RecordingDuration": "-5"},
        {"RecordingDuration": "soon"},
    ],
)
def test_odd_recording_parameters_store_nothing_wrong(post, sessions, form):
    response = _recorded(post, **form)
    twiml_verbs(response)
    assert stored_call(sessions, SID).rating is None


def test_the_reason_for_a_bad_rating_is_noted_and_the_call_ends(post, sessions):
    form = _form(RecordingSid=REC, RecordingUrl=RECORDING_URL, RecordingDuration="9")
    response = post(f"/voice/survey/reason?lang={LANG}&node=reason&reasks=0", form)
    assert twiml_verbs(response) == ["Play", "Hangup"]
    assert "thanks_bad" in response.get_data(as_text=True)
    recording = _recording(sessions)
    assert recording.purpose == "reason"
    assert any(job.func == "workers.jobs.process_recording" for job in _jobs(sessions))


def test_a_recording_on_a_foreign_host_is_never_fetched(post, sessions, env, monkeypatch):
    from workers.recordings import process_recording

    monkeypatch.setenv("RECORDING_HOSTS", "api.twilio.com")
    _recorded(post, RecordingUrl=f"http://127.0.0.1:9/{REC}")
    assert process_recording(REC).startswith("failed")
    recording = _recording(sessions)
    assert (recording.status, recording.outcome) == ("failed", "foreign_host")
    assert process_recording(REC) == "nothing to do", "a second run changes nothing"
