"""Out-of-grammar speech on a live stream is never stored unconfirmed (issues 11 and 14).

The stream's recogniser is restricted to the prompt's phrases, so a word that is not
one of them is forced onto the nearest phrase, at times with an n-best as sure as a
clean phrase's: "삼번" (number three, as the keypad prompt numbers the levels) comes
back as 엉망 (非常不满意). A live result is decided as a recording's is: what the
grammar alone would store must also be heard by the free-vocabulary pass, else it is
read back. Through the real app, the real `ivr media` process and the Korean model.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from media_fixtures import KO, media_env, media_process, spoken  # noqa: F401  (fixtures)
from sqlalchemy import select

from ivr.simulate import CallScript
from storage.models import Recording
from tests.helpers import stored_call

pytestmark = [pytest.mark.slow, pytest.mark.any_database]


def _recording(sessions, call_id: int) -> Recording | None:
    with sessions() as session:
        query = select(Recording).where(Recording.call_id == call_id)
        return session.scalars(query).one_or_none()


def test_a_spoken_digit_is_read_back_and_a_phrase_still_rates(
    media_process, twilio, sessions, spoken
):
    """Both callers speak over the prompt (barge-in). The one who said "삼번" meant 3
    (基本满意): whatever the recogniser made of it, it is not stored as heard; read
    back, the caller says no (2) and hangs up: no rating. The one who said "별로 예요"
    is rated 不满意 (stored, or read back and confirmed)."""
    digit = CallScript(
        answers=[f"early:say:{spoken('삼번')}", "confirm:basically_satisfied", "hangup"], lang=KO
    )
    phrase = CallScript(
        answers=[f"early:say:{spoken('별로 예요')}", "confirm:dissatisfied", "hangup"], lang=KO
    )
    with ThreadPoolExecutor(2) as pool:
        digit_outcome, phrase_outcome = pool.map(twilio.call, [digit, phrase])

    call = stored_call(sessions, digit.call_sid)
    transcript = "\n".join(digit_outcome.transcript)
    recording = _recording(sessions, call.id)
    assert recording is not None, transcript  # the answer was heard and kept
    assert not recording.certain, f"stored without read-back: {recording.recognized_level}"
    if recording.recognized_level is not None:  # forced onto a phrase: read back
        assert "readback" in digit_outcome.heard, transcript
    assert call.rating is None, transcript  # the caller said no, then hung up

    call = stored_call(sessions, phrase.call_sid)
    transcript = "\n".join(phrase_outcome.transcript)
    assert call.rating is not None, transcript
    assert (call.rating.level, call.rating.source) == ("dissatisfied", "speech")
