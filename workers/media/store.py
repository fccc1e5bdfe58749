"""What the media process writes: the claimed stream, the caller's decision, the answer's audio.

Blocking (SQLAlchemy, files): the server calls these from its thread pool. The
answer's audio goes to the recordings store under `{CallSid}/{stream key}`, as a
downloaded recording does, with a `Recording` row (purpose `rating`, status `done`):
the console, its audit and the retention purge treat it as any other recording.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.inserts import insert_once
from storage.models import RECORDING_DONE, RECORDING_RATING, Call, Recording
from storage.records.calls import log_event
from storage.records.files import file_store
from storage.records.media_streams import (
    STREAM_HUNG_UP,
    STREAM_KEY,
    STREAM_SILENT,
    STREAM_SPOKEN,
    MediaStream,
    claim_stream,
    decide,
)
from storage.records.stream_answers import rate_from_last_stream
from workers.media.audio import wav_bytes
from workers.media.listener import Spoken
from workers.media.tokens import StreamTicket

log = logging.getLogger(__name__)


class Refused(Exception):
    """The stream may not go on (unknown call, token used before)."""


def claim(factory: sessionmaker[Session], ticket: StreamTicket, stream_sid: str) -> int:
    """Claim the ticket's stream key; the stream's row id. Raises Refused."""
    with transaction(factory) as session:
        call = _call(session, ticket.call_sid)
        if call is None:
            raise Refused("no such call")
        stream = claim_stream(session, call.id, ticket.stream_key, stream_sid, ticket.node)
        if stream is None:
            raise Refused("token used before (replayed)")
        log_event(session, call, "stream_started", ticket.stream_key)
        return stream.id


def store_key(factory: sessionmaker[Session], stream_id: int, digit: str) -> bool:
    """The caller pressed `digit`."""
    return _decide(factory, stream_id, STREAM_KEY, "key", repr(digit), digits=digit)


def store_silent(factory: sessionmaker[Session], stream_id: int) -> bool:
    """Nothing was said or pressed in time."""
    return _decide(factory, stream_id, STREAM_SILENT, "no_input", None)


def store_hung_up(factory: sessionmaker[Session], stream_id: int) -> bool:
    """The caller left before answering."""
    return _decide(factory, stream_id, STREAM_HUNG_UP, "hung_up_while_speaking", None)


def store_spoken(
    factory: sessionmaker[Session], stream_id: int, ticket: StreamTicket, heard: Spoken, pcm: bytes
) -> bool:
    """The spoken answer: its audio kept, what was heard in a `Recording`, the decision."""
    key = f"{ticket.call_sid}/{ticket.stream_key}"
    file_store().put(key, wav_bytes(pcm))
    with transaction(factory) as session:
        stream = session.get_one(MediaStream, stream_id)
        values = {
            "call_id": stream.call_id,
            "recording_sid": ticket.stream_key,
            "purpose": RECORDING_RATING,
            "lang": ticket.lang,
            "url": None,
            "status": RECORDING_DONE,
            "outcome": heard.reason,
            "duration_seconds": heard.seconds,
            "file_key": key,
            "transcript": heard.text,
            "confidence": heard.confidence,
            "recognized_level": heard.level,
            "certain": heard.certain if heard.level else None,
        }
        recording_id = insert_once(session, Recording, values, "recording_sid")
        if recording_id is None:  # stored before (a retry): its id
            recording_id = session.scalars(
                select(Recording.id).where(Recording.recording_sid == ticket.stream_key)
            ).one()
        if not decide(stream, STREAM_SPOKEN, recording_id=recording_id):
            return False
        call = session.get_one(Call, stream.call_id)
        log_event(session, call, "spoken_answer", ticket.stream_key)
        log.info(
            "stream %s of call %s: heard %r (%s, %s)",
            ticket.stream_key,
            ticket.call_sid,
            heard.text,
            heard.level,
            heard.reason,
        )
        return True


def rate_after_hang_up(factory: sessionmaker[Session], stream_id: int) -> str | None:
    """Twilio's `stop` came before our close: no action will follow, so a key or a
    sure spoken rating is stored here (the status callback does the same; once)."""
    with transaction(factory) as session:
        stream = session.get_one(MediaStream, stream_id)
        return rate_from_last_stream(session, session.get_one(Call, stream.call_id))


def _decide(
    factory: sessionmaker[Session],
    stream_id: int,
    outcome: str,
    event: str,
    detail: str | None,
    digits: str | None = None,
) -> bool:
    with transaction(factory) as session:
        stream = session.get_one(MediaStream, stream_id)
        if not decide(stream, outcome, digits=digits):
            return False
        log_event(session, session.get_one(Call, stream.call_id), event, detail)
        return True


def _call(session: Session, call_sid: str) -> Call | None:
    return session.scalars(select(Call).where(Call.call_sid == call_sid)).one_or_none()
