"""Spoken ratings heard live over a media stream: the real app, the real `ivr media`
process, the real Korean Vosk model, and the simulator speaking Twilio's protocol."""

from __future__ import annotations

import pytest
from media_fixtures import KO, media_env, media_process, spoken  # noqa: F401  (fixtures)
from sqlalchemy import select

from ivr.simulate import CallScript
from storage.models import Recording
from storage.records.files import file_store
from storage.records.media_streams import MediaStream
from tests.helpers import stored_call

pytestmark = [pytest.mark.slow, pytest.mark.any_database]


def _call(twilio, answers: list[str]) -> tuple[CallScript, object]:
    script = CallScript(answers=answers, lang=KO)
    return script, twilio.call(script)


def _streams(sessions, call_sid: str) -> list[MediaStream]:
    with sessions() as session:
        call = stored_call(sessions, call_sid)
        return list(session.scalars(select(MediaStream).where(MediaStream.call_id == call.id)))


def test_a_key_after_the_prompt_rates_over_the_stream(media_process, twilio, sessions):
    script, outcome = _call(twilio, ["2"])
    call = stored_call(sessions, script.call_sid)
    assert call.rating.level == "satisfied" and call.rating.source == "dtmf"
    assert outcome.heard[:2] == ["ask_rating", "speak_after_tone"]  # played over the stream
    assert outcome.heard[-1] == "thanks"  # then TwiML again, after the <Connect action>
    assert [s.outcome for s in _streams(sessions, script.call_sid)] == ["key"]


def test_a_spoken_rating_is_decided_live_and_kept(media_process, twilio, sessions, spoken):
    """Said after the prompt; the recogniser's result is judged as the record-and-poll
    path judges it (this phrase and voice: right, but read back), then confirmed."""
    script, outcome = _call(twilio, [f"say:{spoken('좋아요')}", "confirm:satisfied", "hangup"])
    call = stored_call(sessions, script.call_sid)
    assert call.rating is not None, "\n".join(outcome.transcript)
    assert (call.rating.level, call.rating.source) == ("satisfied", "speech")
    assert outcome.heard[-1] == "thanks"
    with sessions() as session:
        recording = session.scalars(select(Recording)).one()
    assert recording.recognized_level == "satisfied"
    if not recording.certain:  # read back, confirmed by key
        assert "readback" in outcome.heard and recording.confirmed_level == "satisfied"
    assert recording.url is None and file_store().exists(recording.file_key)
    assert call.rating.recording_id == recording.id
    stream = outcome.streams[0]
    assert stream.closed_at - stream.last_voice_at < 2.0  # decided live, no polling


def test_speaking_during_the_prompt_stops_it(media_process, twilio, sessions, spoken):
    script, outcome = _call(twilio, [f"early:say:{spoken('별로 예요')}", "hangup"])
    stream = outcome.streams[0]
    assert stream.cleared  # barge-in: the service sent `clear`
    assert stream.played_seconds < 3.0
    call = stored_call(sessions, script.call_sid)
    heard_level = call.rating.level if call.rating else None
    # Heard for sure: stored; unsure: read back (then the caller hung up): never another level.
    assert heard_level in (None, "dissatisfied")
    assert "readback" in outcome.heard or heard_level == "dissatisfied"


def test_a_key_during_the_prompt_stops_it_and_rates(media_process, twilio, sessions):
    """The key is pressed once a second of the prompt has played (not a second after
    connecting: under load the service may start playing later)."""
    script, outcome = _call(twilio, ["early:4", "hangup"])
    transcript = "\n".join(outcome.transcript)
    assert outcome.streams and outcome.streams[0].cleared, transcript
    call = stored_call(sessions, script.call_sid)
    assert call.rating is not None, transcript
    assert (call.rating.level, call.rating.source) == ("dissatisfied", "dtmf")
    assert call.callback is not None  # a bad rating opens its callback, as with keys


def test_silence_asks_again_then_keys_work(media_process, twilio, sessions):
    script, outcome = _call(twilio, ["silence", "3"])
    assert "no_input" in outcome.heard  # the question asked again, with the no-input prompt
    call = stored_call(sessions, script.call_sid)
    assert call.rating.level == "basically_satisfied"
    assert [s.outcome for s in _streams(sessions, script.call_sid)] == ["silent", "key"]


def test_hanging_up_mid_stream_leaves_the_call_unrated(media_process, twilio, sessions):
    script, outcome = _call(twilio, ["hangup"])
    assert outcome.hung_up_by == "caller"
    call = stored_call(sessions, script.call_sid)
    assert call.rating is None and call.disposition == "hung_up"
    # The media process stored the hang-up itself (Twilio sends no action after it).
    assert [s.outcome for s in _streams(sessions, script.call_sid)] == ["hung_up"]
