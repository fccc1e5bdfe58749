"""`POST /voice/recording`: recordings of the whole hotline call, when the hotline makes them.

The hotline's own TwiML may record the call (`<Start><Recording>`, or `record` on its
`<Dial>`) with this URL as the recording status callback. The recording is noted on
the call (created if the survey has not seen it yet) and fetched and kept by the
worker like the survey's recordings, without speech recognition: access, playback
audit and retention are the same.
"""

from __future__ import annotations

import logging

from flask import Response

from callflows.vocabulary import RECORDING_CALL
from ivr.extensions import db_sessions
from ivr.telephony import REPORT_COMPLETED, REPORT_NEVER
from ivr.telephony.web import call_request, provider, respond, verified
from ivr.voice import bp
from ivr.voice.common import DEFAULT_LANG
from storage.db import transaction
from storage.records.calls import CallDetails, get_or_create_call
from storage.records.recordings import note_recording, provider_outcome, set_aside

log = logging.getLogger(__name__)


@bp.post("/recording")
@verified
def hotline_recording() -> Response:
    """Note a whole-call recording (completed, absent or failed); always an empty answer."""
    inbound = call_request()
    report = inbound.recording
    call_sid, recording_sid = inbound.call_sid, report.sid if report else None
    if call_sid is None or recording_sid is None:
        log.warning("hotline recording callback without CallSid or RecordingSid: ignored")
        return respond(provider().nothing())
    status = report.status
    url = report.url if status in (None, REPORT_COMPLETED) else None
    with transaction(db_sessions()) as session:
        call = get_or_create_call(session, call_sid, CallDetails())
        session.flush()
        recording = note_recording(
            session,
            call,
            recording_sid,
            purpose=RECORDING_CALL,
            lang=call.lang or DEFAULT_LANG,
            url=url,
            duration=report.duration_seconds,
        )
        if status in REPORT_NEVER:
            set_aside(recording, provider_outcome(status))
        log.info("hotline recording %s of call %s: %s", recording_sid, call_sid, status)
    return respond(provider().nothing())
