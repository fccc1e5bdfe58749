"""A caller who answered on the stream and hung up before the provider asked our action.

Called by the call's status callback and by the media process when Twilio's `stop`
came before our close: whichever comes second finds the rating stored already.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from callflows import Heard, KeyPressed, Position, flow_for_kind, step
from storage.models import Call, Recording
from storage.records.calls import log_event, record_rating
from storage.records.later import rated_call
from storage.records.media_streams import STREAM_KEY, STREAM_SPOKEN, MediaStream

log = logging.getLogger(__name__)


def rate_from_last_stream(session: Session, call: Call) -> str | None:
    """The caller answered on the stream, then hung up before Twilio asked our action:
    a rating key, or a spoken rating heard for sure, still counts (an unsure one was
    never confirmed: nothing is stored).

    Most calls never had a stream: a plain SELECT asks first (no objects loaded, no
    flush), and only those with one go on."""
    streams = MediaStream.__table__.c
    any_stream = select(streams.id).where(streams.call_id == call.id).limit(1)
    if session.execute(any_stream).first() is None:
        return None
    rated = rated_call(session, call)
    if rated.rating is not None:
        return None
    statement = select(MediaStream).where(MediaStream.call_id == call.id)
    stream = session.scalars(statement.order_by(MediaStream.id.desc()).limit(1)).first()
    if stream is None or stream.outcome not in (STREAM_KEY, STREAM_SPOKEN):
        return None
    recording = session.get(Recording, stream.recording_id) if stream.recording_id else None
    if stream.outcome == STREAM_KEY:
        event = KeyPressed(stream.digits or "")
    elif recording is not None and recording.recognized_level and recording.certain:
        event = Heard(recording.recognized_level, True)
    else:
        return None
    result = step(flow_for_kind(call.kind), Position(stream.node), event, speech=True)
    if result.rate is None:
        return None
    source = result.rate_source or "dtmf"
    speech_recording = recording.id if recording is not None and source == "speech" else None
    if record_rating(session, rated, result.rate, source, recording_id=speech_recording):
        log.info("call %s rated %s on its stream before hanging up", call.call_sid, result.rate)
        log_event(session, call, "rated_before_hang_up", result.rate)
        return result.rate
    return None
