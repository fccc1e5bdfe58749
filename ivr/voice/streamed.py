"""The rating question over a bidirectional media stream, and where Twilio comes back after it.

When `MEDIA_STREAM_URL` is set and a media process beat recently with room, a question
that listens for speech is asked as
`<Connect action="…/survey/streamed?…&stream=MS…"><Stream url="wss://…"><Parameter
name="token" …/></Stream></Connect>`: the media process plays the prompts, hears keys
and speech live, stores the decision and closes the stream; Twilio then requests the
action URL and the flow goes on from what was stored. A stream that stored nothing
(media process down, full, refused or killed) asks the same question again the
record-and-poll way: the caller never hears dead air.
"""

from __future__ import annotations

import logging

from flask import Response, request
from redis.exceptions import RedisError

from callflows import RECORDING_RATING, KeyPressed, NoInput, Step, again, step
from ivr.extensions import db_sessions, redis_client, settings
from ivr.telephony import Reply
from ivr.telephony.web import call_request, provider, respond, verified
from ivr.voice import bp
from ivr.voice.common import (
    answer,
    apply_step,
    flow,
    goodbye,
    position,
    survey_lang,
    url_for_step,
)
from ivr.voice.speech import _outcome_event
from storage.db import transaction
from storage.models import DISPOSITION_HUNG_UP, Recording
from storage.records.calls import CallDetails, end_survey, get_or_create_call, log_event
from storage.records.media_streams import (
    STREAM_HUNG_UP,
    STREAM_KEY,
    STREAM_SPOKEN,
    find_stream,
)
from workers.media import availability
from workers.media.tokens import StreamTicket, new_stream_key, sign

log = logging.getLogger(__name__)


def stream_reply(result: Step, lang: str) -> Reply | None:
    """The question on a media stream, if it listens and a media process can take it."""
    url = settings().media_stream_url
    call_sid = call_request().call_sid
    if url is None or call_sid is None or not (result.wait_for_key and result.listen):
        return None
    if result.listen != RECORDING_RATING:
        return None
    try:
        if not availability.has_room(redis_client()):
            log.warning("no media process with room: %s asked the record-and-poll way", call_sid)
            return None
    except RedisError as error:
        log.warning("media availability unknown (%s): record-and-poll", type(error).__name__)
        return None
    key = new_stream_key()
    ticket = StreamTicket(
        call_sid=call_sid,
        stream_key=key,
        lang=lang,
        node=result.position.node,
        prompts=result.prompts,
        no_input_s=result.timeout_seconds,
        listen_s=result.listen_seconds,
    )
    action = url_for_step("streamed", lang, result.position, stream=key)
    return provider().media_stream(url, {"token": sign(ticket)}, action)


@bp.post("/survey/streamed")
@verified
def streamed() -> Response:
    """The provider's request after the stream closed: go on from the stored decision."""
    lang = survey_lang()
    where = position()
    call_sid = call_request().call_sid
    if call_sid is None:
        return goodbye(lang, "goodbye")
    with transaction(db_sessions()) as session:
        call = get_or_create_call(session, call_sid, CallDetails(lang=lang))
        stream = find_stream(session, request.args.get("stream", ""))
        if stream is not None and stream.call_id != call.id:
            stream = None
        outcome = stream.outcome if stream is not None else None
        recording_sid = None
        if outcome is None:
            log.warning("stream of %s decided nothing: asked the record-and-poll way", call_sid)
            log_event(session, call, "stream_failed", request.args.get("stream", "")[:64])
            response = answer(lang, again(flow(call), where, speech=True), live=False)
        elif outcome == STREAM_HUNG_UP:
            end_survey(session, call, DISPOSITION_HUNG_UP)
            response = respond(provider().nothing())
        else:
            if outcome == STREAM_KEY:
                event = KeyPressed(stream.digits or "")
            elif outcome == STREAM_SPOKEN and stream.recording_id is not None:
                recording = session.get(Recording, stream.recording_id)
                recording_sid = recording.recording_sid
                event = _outcome_event(recording)
            else:  # silent (or, never expected, speech without its recording)
                event = NoInput()
            result = step(flow(call), where, event, speech=True)
            response = apply_step(session, call, result, lang, recording_sid)
    return response
