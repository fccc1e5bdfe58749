"""Media streams when things go wrong: forged and replayed tokens, the media process
down or killed mid-call, the caller hanging up before our close. Never dead air,
never a wrong rating."""

from __future__ import annotations

import json
import threading
import time
import xml.etree.ElementTree as ET

import pytest
from itsdangerous import TimestampSigner
from media_fixtures import KO, media_env, media_process, spoken  # noqa: F401  (fixtures)
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from ivr.simulate import CallScript
from storage.models import Recording
from storage.records.media_streams import MediaStream
from tests.helpers import count, stored_call
from workers.media import availability
from workers.media.tokens import StreamTicket, new_stream_key
from workers.media.tokens import sign as sign_token

pytestmark = [pytest.mark.slow, pytest.mark.any_database]


def _start(url: str, token: str, call_sid: str) -> tuple[int | None, list[dict]]:
    """Open a stream as Twilio would; (close code, messages received) once it closes."""
    received = []
    with connect(url, open_timeout=5, ping_interval=None) as ws:
        ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        start = {
            "callSid": call_sid,
            "streamSid": "MZ" + "1" * 32,
            "customParameters": {"token": token},
        }
        ws.send(json.dumps({"event": "start", "streamSid": "MZ" + "1" * 32, "start": start}))
        try:
            while True:
                received.append(json.loads(ws.recv(timeout=10)))
                if received[-1].get("event") == "mark" and len(received) > 2:
                    ws.send(
                        json.dumps(
                            {
                                "event": "dtmf",
                                "streamSid": "MZ" + "1" * 32,
                                "dtmf": {"track": "inbound_track", "digit": "1"},
                            }
                        )
                    )
        except ConnectionClosed:
            pass
        return ws.close_code, received


SURVEY = "/voice/survey?lang=ko-KR&agent=A1&dept=D1&tickets=T1"


def _stream_twiml(post, call_sid: str) -> tuple[str, str, str]:
    """Start a Korean survey; the (stream URL, token, action URL) the TwiML names."""
    form = {"CallSid": call_sid, "CallStatus": "in-progress", "DialCallStatus": "completed"}
    response = post(SURVEY, form)
    root = ET.fromstring(response.get_data())
    connect_verb = root.find("Connect")
    stream = connect_verb.find("Stream")
    return stream.get("url"), stream.find("Parameter").get("value"), connect_verb.get("action")


def test_forged_expired_and_foreign_tokens_are_closed(media_process, post, sessions):
    call_sid = "CA" + "a" * 32
    url, token, _ = _stream_twiml(post, call_sid)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert _start(url, forged, call_sid) == (1008, [])  # nothing played, closed
    assert _start(url, token, "CA" + "b" * 32) == (1008, [])  # another call's token
    ticket = StreamTicket(call_sid, new_stream_key(), KO, "ask", ("ask_rating",), 6, 5)
    with pytest.MonkeyPatch.context() as patch:  # a genuine token, signed a minute ago
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 60)
        old = sign_token(ticket)
    assert _start(url, old, call_sid) == (1008, [])
    assert count(sessions, MediaStream) == 0  # none of them was claimed


def test_a_replayed_token_is_closed_and_changes_nothing(media_process, post, sessions):
    call_sid = "CA" + "c" * 32
    url, token, _ = _stream_twiml(post, call_sid)
    code, received = _start(url, token, call_sid)  # Twilio's genuine stream: key 1
    assert code == 1000 and received[0] == {
        "event": "mark",
        "mark": {"name": "ask_rating"},
        "streamSid": "MZ" + "1" * 32,
    }
    assert _start(url, token, call_sid) == (1008, [])  # the same token again
    with sessions() as session:
        [stream] = session.scalars(select(MediaStream)).all()
        assert (stream.outcome, stream.digits) == ("key", "1")


def test_media_process_down_means_record_and_poll(media_process, post, client, redis_url):
    media_process.stop()
    from redis import Redis

    assert availability.health(Redis.from_url(redis_url)).startswith("failing")
    form = {"CallSid": "CA" + "d" * 32, "CallStatus": "in-progress", "DialCallStatus": "completed"}
    response = post(SURVEY, form)
    verbs = [e.tag for e in ET.fromstring(response.get_data()).iter()]
    assert "Connect" not in verbs and "Record" in verbs and "Play" in verbs
    health = client.get("/healthz").get_json()
    assert health["checks"]["media"].startswith("failing")


def test_media_process_killed_mid_call_falls_back_to_keys(media_process, twilio, sessions, spoken):
    script = CallScript(answers=[f"say:{spoken('좋아요')}", "2"], lang=KO)
    threading.Timer(4.0, media_process.kill).start()  # during the prompt
    outcome = twilio.call(script)
    assert outcome.streams[0].closed_by == "service"  # the connection dropped
    # Twilio asked our action; nothing decided: the same question, the classic way.
    assert outcome.heard.count("ask_rating") == 2
    call = stored_call(sessions, script.call_sid)
    assert (call.rating.level, call.rating.source) == ("satisfied", "dtmf")


def test_stop_before_our_close_keeps_what_was_said(media_process, twilio, sessions, spoken):
    """The caller says the rating and hangs up at once: Twilio's `stop` comes before our
    close, and no action follows. What was heard is kept; a sure rating still counts."""
    script = CallScript(answers=[f"then-hangup:early:say:{spoken('최고 예요')}"], lang=KO)
    outcome = twilio.call(script)
    assert outcome.hung_up_by == "caller"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the media process finishes after the stop
        with sessions() as session:
            stream = session.scalars(select(MediaStream)).one()
            if stream.outcome is not None:
                break
        time.sleep(0.2)
    assert stream.outcome == "spoken"
    with sessions() as session:
        recording = session.scalars(select(Recording)).one()
    assert recording.file_key
    call = stored_call(sessions, script.call_sid)
    assert call.disposition in ("hung_up", "rated")
    if call.rating is not None:  # only a sure result, and only the level said
        assert recording.certain and call.rating.level == "very_satisfied"


@pytest.fixture
def streams_on(env, monkeypatch):
    """Live speech configured (before the app is built)."""
    monkeypatch.setenv("MEDIA_STREAM_URL", "ws://127.0.0.1:9/")


def test_a_full_media_process_means_record_and_poll(streams_on, post, redis_url):
    """The web reads the media processes' heartbeats: no room, no stream."""
    from redis import Redis

    redis = Redis.from_url(redis_url)
    form = {"CallStatus": "in-progress", "DialCallStatus": "completed"}

    def verbs(call_sid: str) -> list[str]:
        response = post(SURVEY, form | {"CallSid": call_sid})
        return [e.tag for e in ET.fromstring(response.get_data()).iter()]

    availability.beat(redis, "media-a", 5, 5)  # full
    assert "Connect" not in verbs("CA" + "e" * 32)
    assert "Record" in verbs("CA" + "e" * 32)
    availability.beat(redis, "media-a", 4, 5)  # one place left
    assert "Connect" in verbs("CA" + "f" * 32)
    availability.leave(redis, "media-a")


def test_a_key_then_a_hang_up_still_rates(media_process, twilio, sessions):
    """Key, then `stop` at once: no action follows; the key still rates (once)."""
    script = CallScript(answers=["then-hangup:early:4"], lang=KO)
    outcome = twilio.call(script)
    assert outcome.hung_up_by == "caller"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        call = stored_call(sessions, script.call_sid)
        if call.rating is not None:
            break
        time.sleep(0.2)
    assert (call.rating.level, call.rating.source) == ("dissatisfied", "dtmf")
    assert call.callback is not None  # a bad rating opens its callback
