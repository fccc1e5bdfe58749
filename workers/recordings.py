"""The job that turns a caller's recording into a transcript and, for ratings, a level."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from callflows.vocabulary import (
    OUTCOME_FOREIGN_HOST,
    OUTCOME_KEPT,
    OUTCOME_NO_SPEECH,
    OUTCOME_OK,
    OUTCOME_UNAVAILABLE,
    RECORDING_CALL,
)
from ivr.telephony import provider
from storage.db import transaction
from storage.models import (
    RECORDING_DONE,
    RECORDING_FAILED,
    RECORDING_PENDING,
    RECORDING_RATING,
    Call,
    Recording,
)
from storage.records.files import file_store
from storage.records.recordings import find_recording
from workers import metrics_store
from workers.context import connect_redis, session_factory
from workers.recording_fetch import RecordingError, RecordingRefused

log = logging.getLogger(__name__)


def process_recording(recording_sid: str) -> str:
    """Fetch, keep and recognise one recording; safe to run twice (only pending ones run)."""
    factory = session_factory()
    with transaction(factory) as session:
        recording = find_recording(session, recording_sid)
        if recording is None or recording.status != RECORDING_PENDING or not recording.url:
            return "nothing to do"
        url, lang, purpose = recording.url, recording.lang, recording.purpose
        call_sid = session.get_one(Call, recording.call_id).call_sid
    with tempfile.TemporaryDirectory(prefix="ivr-rec-") as folder:
        audio = Path(folder) / "audio"
        try:
            provider().fetch_recording(url, audio)
        except RecordingError as error:
            refused = isinstance(error, RecordingRefused)
            outcome = OUTCOME_FOREIGN_HOST if refused else OUTCOME_UNAVAILABLE
            log.warning("recording %s not fetched (%s): %s", recording_sid, outcome, error)
            return _finish(
                recording_sid, status=RECORDING_FAILED, outcome=outcome, error=str(error)
            )
        key = f"{call_sid}/{recording_sid}"
        file_store().put_file(key, audio)
        if purpose == RECORDING_CALL:  # the whole call: kept for review, not recognised
            return _finish(recording_sid, status=RECORDING_DONE, file_key=key, outcome=OUTCOME_KEPT)
        started = time.perf_counter()
        fields = _recognise(lang, purpose, audio)
        seconds = time.perf_counter() - started
        metrics_store.observe(
            connect_redis(), "recognition_seconds", seconds, lang=lang, purpose=purpose
        )
    return _finish(recording_sid, status=RECORDING_DONE, file_key=key, **fields)


def _recognise(lang: str, purpose: str, audio: Path) -> dict:
    """What the recogniser found: for a rating, a level (maybe uncertain); else a transcript."""
    from workers.speech import BadAudio, recognize_rating, transcribe

    try:
        if purpose == RECORDING_RATING:
            result = recognize_rating(lang, audio)
            return {
                "transcript": result.text,
                "confidence": result.confidence,
                "recognized_level": result.level,
                "certain": result.certain if result.level else None,
                "outcome": result.reason,
                "duration_seconds": result.audio_seconds,
            }
        transcript = transcribe(lang, audio)
        return {
            "transcript": transcript.text,
            "confidence": transcript.confidence,
            "outcome": OUTCOME_OK if transcript.text else OUTCOME_NO_SPEECH,
            "duration_seconds": transcript.audio_seconds,
        }
    except BadAudio as error:
        log.warning("recording unusable (%s)", error.reason)
        return {"outcome": error.reason, "error": str(error)}


def _finish(recording_sid: str, **fields) -> str:
    with transaction(session_factory()) as session:
        recording: Recording = find_recording(session, recording_sid)
        if recording.status != RECORDING_PENDING:
            return "already processed"
        for name, value in fields.items():
            if value is not None:
                setattr(recording, name, value)
    return f"{fields.get('status')}: {fields.get('outcome')}"
