"""Retention: the sweep deletes old recordings and transcripts, and Twilio's copies
(through the `twilio` library, against a fake Twilio REST server)."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import select

from storage.db import transaction
from storage.models import Recording
from storage.records.files import file_store
from storage.settings import SettingsError, load_settings
from storage.types import utcnow
from tests.console_helpers import login, make_people
from tests.http_fakes import QuietHandler, serve
from tests.supervisor_helpers import spoken_call
from workers.sweep import sweep

SID, TOKEN = "ACretention0001", "retention-token-42"


class FakeTwilio:
    """Answers `DELETE /2010-04-01/Accounts/{sid}/Recordings/{RE}.json` like Twilio."""

    def __init__(self, answers: dict[str, int]) -> None:
        self.answers, self.seen = answers, []
        fake = self

        class Handler(QuietHandler):
            def do_DELETE(self) -> None:
                fake.seen.append((self.path, self.headers.get("Authorization")))
                name = self.path.rsplit("/", 1)[-1].removesuffix(".json")
                status = fake.answers.get(name, 204)
                self.answer(status, b"" if status == 204 else b'{"code": 20404, "message": "nope"}')

        self.server = serve(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def fake_twilio(monkeypatch):
    fake = FakeTwilio({"RECA2": 500, "RECA3": 404})
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("TWILIO_API_URL", fake.url)
    monkeypatch.setenv("RECORDING_RETENTION_DAYS", "30")
    yield fake
    fake.server.shutdown()


def recordings(sessions) -> dict[str, Recording]:
    with sessions() as session:
        return {r.recording_sid: r for r in session.scalars(select(Recording))}


def test_old_recordings_are_purged_here_and_at_twilio(app, sessions, redis_url, fake_twilio):
    for sid in ("CA1", "CA2", "CA3", "CA4"):
        spoken_call(sessions, sid)
    with transaction(sessions) as session:
        for recording in session.scalars(select(Recording)):
            if recording.recording_sid != "RECA4":
                recording.created_at = utcnow() - timedelta(days=31)
    keys = {sid: r.file_key for sid, r in recordings(sessions).items()}
    report = sweep(sessions, Redis.from_url(redis_url), utcnow())
    assert report.recordings_purged == 3 and "recordings purged: 3" in str(report)
    after = recordings(sessions)
    for sid in ("RECA1", "RECA2", "RECA3"):
        assert after[sid].file_key is None and after[sid].transcript is None
        assert not file_store().exists(keys[sid])
        assert after[sid].recognized_level == "dissatisfied"  # the rating's facts stay
    assert file_store().exists(keys["RECA4"]) and after["RECA4"].transcript == "不 满意"
    assert {sid: after[sid].status for sid in after} == {
        "RECA1": "purged",
        "RECA2": "purging",  # Twilio answered 500: asked again by the next sweep
        "RECA3": "purged",  # Twilio no longer had it
        "RECA4": "done",
    }
    basic = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert (f"/2010-04-01/Accounts/{SID}/Recordings/RECA1.json", basic) in fake_twilio.seen
    fake_twilio.answers["RECA2"] = 204
    again = sweep(sessions, Redis.from_url(redis_url), utcnow())
    assert again.recordings_purged == 0
    assert recordings(sessions)["RECA2"].status == "purged"


@pytest.mark.usefixtures("fast_hashing")
def test_a_purged_recording_is_gone_from_the_console(client, app, sessions, fake_twilio):
    make_people(sessions)
    call_id, recording_id = spoken_call(sessions, "CA1")
    with transaction(sessions) as session:
        session.get_one(Recording, recording_id).created_at = utcnow() - timedelta(days=40)
    sweep(sessions, Redis.from_url(app.config["IVR_SETTINGS"].redis_url), utcnow())
    login(client, "li")
    page = client.get(f"/console/calls/{call_id}").get_data(as_text=True)
    assert "录音已按保存期限清理" in page and "不 满意" not in page
    assert client.get(f"/console/recordings/{recording_id}/audio").status_code == 404


def test_a_bad_retention_setting_stops_the_process_at_start(monkeypatch):
    monkeypatch.setenv("RECORDING_RETENTION_DAYS", "thirty")
    with pytest.raises(SettingsError, match="RECORDING_RETENTION_DAYS must be a whole number"):
        load_settings()
