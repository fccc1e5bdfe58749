"""Whole-call recordings the hotline makes: noted from Twilio's signed callback, fetched
and kept by the worker (from a fake Twilio media host), played in the console."""

from __future__ import annotations

import pytest
from fake_media_hosts import SID, TOKEN, WAV, host, wav  # noqa: F401  (fixtures)
from sqlalchemy import select

from storage.models import Call, OutboxJob, Recording
from tests.conftest import twiml_verbs
from tests.console_helpers import login, make_people
from workers.recordings import process_recording

pytestmark = pytest.mark.usefixtures("fast_hashing")


def form(url: str, status: str = "completed") -> dict[str, str]:
    return {
        "AccountSid": SID,
        "CallSid": "CAwhole1",
        "RecordingSid": "REwhole1",
        "RecordingUrl": url,
        "RecordingStatus": status,
        "RecordingDuration": "3",
    }


def recordings(sessions) -> list[Recording]:
    with sessions() as session:
        return list(session.scalars(select(Recording)))


def test_a_whole_call_recording_is_kept_and_played(post, client, sessions, host, monkeypatch):
    twilio = host(wav)
    monkeypatch.setenv("RECORDING_HOSTS", f"http://{twilio.netloc}")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    for _ in range(2):  # Twilio delivers at least once
        assert twiml_verbs(post("/voice/recording", form(twilio.url("/RE1")))) == []
    (recording,) = recordings(sessions)
    assert (recording.purpose, recording.status, recording.duration_seconds) == (
        "call",
        "pending",
        3.0,
    )
    with sessions() as session:
        jobs = session.scalars(select(OutboxJob).where(OutboxJob.func.contains("recording")))
        assert len(list(jobs)) == 1
        call = session.scalars(select(Call)).one()
    assert process_recording("REwhole1") == "done: kept"
    (recording,) = recordings(sessions)
    assert (recording.status, recording.outcome, recording.transcript) == ("done", "kept", None)
    make_people(sessions)
    login(client, "li")
    page = client.get(f"/console/calls/{call.id}").get_data(as_text=True)
    assert "热线通话全程录音" in page
    audio = client.get(f"/console/recordings/{recording.id}/audio", headers={"Range": "bytes=0-"})
    assert audio.status_code == 206 and audio.data == WAV


def test_an_absent_recording_is_set_aside_and_unsigned_posts_refused(post, sessions):
    assert post("/voice/recording", form("", status="absent")).status_code == 200
    (recording,) = recordings(sessions)
    assert (recording.status, recording.outcome) == ("failed", "absent")
    assert post("/voice/recording", form("http://x/y"), signed=False).status_code == 403
