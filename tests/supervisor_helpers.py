"""Shared by the supervisors' console tests: calls with real WAV recordings."""

from __future__ import annotations

import io
import math
import struct
import wave

from storage.db import transaction
from storage.models import RECORDING_DONE, RECORDING_RATING, Recording
from storage.records.calls import CallDetails, get_or_create_call, record_rating
from storage.records.files import file_store


def tone_wav(seconds: float = 1.5, rate: int = 8000) -> bytes:
    """A real 8 kHz mono WAV: a 440 Hz tone of `seconds`."""
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
        for n in range(int(seconds * rate))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return out.getvalue()


def spoken_call(
    sessions,
    sid: str,
    *,
    dept: str = "D-housing",
    level: str = "dissatisfied",
    agent: str = "A07",
    lang: str = "zh-CN",
    caller: str | None = "+8613812345678",
) -> tuple[int, int]:
    """A call rated by speech, its rating-step recording stored; (call id, recording id)."""
    key = f"recordings/{sid}/RE{sid}.wav"
    file_store().put(key, tone_wav())
    details = CallDetails(caller=caller, agent=agent, dept=dept, lang=lang, tickets=(f"T-{sid}",))
    with transaction(sessions) as session:
        call = get_or_create_call(session, sid, details)
        session.flush()
        recording = Recording(
            call_id=call.id,
            recording_sid=f"RE{sid}",
            purpose=RECORDING_RATING,
            lang=lang,
            status=RECORDING_DONE,
            file_key=key,
            duration_seconds=1.5,
            transcript="不 满意",
            confidence=0.62,
            recognized_level=level,
            certain=False,
            confirmed_level=level,
        )
        session.add(recording)
        session.flush()
        record_rating(session, call, level, "speech", recording_id=recording.id)
        return call.id, recording.id


def keyed_call(sessions, sid: str, level: str, *, dept: str = "D-water", source: str = "dtmf"):
    """A call rated by key (or by default), without recordings; its id."""
    details = CallDetails(caller="+8613900001111", agent="B01", dept=dept, tickets=(f"T-{sid}",))
    with transaction(sessions) as session:
        call = get_or_create_call(session, sid, details)
        session.flush()
        record_rating(session, call, level, source)
        return call.id
