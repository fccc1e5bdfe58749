"""Recordings of the caller: noted once however often Twilio reports them, then processed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from callflows.vocabulary import (
    OUTCOME_ABSENT,
    OUTCOME_PROVIDER_FAILED,
    RECORDING_FAILED,
    RECORDING_PENDING,
    RECORDING_RATING,
)
from storage.inserts import insert_once
from storage.models import Call, Recording
from storage.outbox import PROCESS_RECORDING, SPEECH_QUEUE, TRANSCRIBE_QUEUE, add_job


def note_recording(
    session: Session,
    call: Call,
    recording_sid: str,
    *,
    purpose: str,
    lang: str,
    url: str | None,
    duration: float | None,
) -> Recording:
    """Record that Twilio has (or will have) this recording, and queue its processing once.

    The `<Record>` action and the recording status callback both report a recording,
    in either order and sometimes twice: the first creates the row, later ones fill in
    what was missing.
    """
    values = {
        "call_id": call.id,
        "recording_sid": recording_sid,
        "purpose": purpose,
        "lang": lang,
        "url": url,
        "duration_seconds": duration,
        "status": RECORDING_PENDING,
    }
    insert_once(session, Recording, values, "recording_sid")
    recording = find_recording(session, recording_sid)
    if url and not recording.url:
        recording.url = url
    if duration is not None and recording.duration_seconds is None:
        recording.duration_seconds = duration
    if recording.url and recording.status == RECORDING_PENDING:
        args = {"recording_sid": recording_sid}
        queue = SPEECH_QUEUE if purpose == RECORDING_RATING else TRANSCRIBE_QUEUE
        add_job(session, PROCESS_RECORDING, args, f"recording:{recording_sid}", queue=queue)
    return recording


def provider_outcome(status: str) -> str:
    """The outcome of a recording the provider reports `absent` (else: it failed)."""
    return OUTCOME_ABSENT if status == "absent" else OUTCOME_PROVIDER_FAILED


def set_aside(recording: Recording, outcome: str) -> None:
    """Nothing to process: Twilio has no audio (e.g. silence), or a key ended the answer."""
    if recording.status == RECORDING_PENDING:
        recording.status = RECORDING_FAILED
        recording.outcome = outcome


def find_recording(session: Session, recording_sid: str) -> Recording | None:
    """The recording with `recording_sid`, or None."""
    statement = select(Recording).where(Recording.recording_sid == recording_sid)
    return session.scalars(statement).one_or_none()
