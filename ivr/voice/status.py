"""Call status callbacks: how the call ended."""

from __future__ import annotations

import logging

from flask import Response
from twilio.twiml.voice_response import VoiceResponse

from ivr.extensions import db_sessions
from ivr.telephony.twilio import twiml
from ivr.twilio_auth import twilio_signed
from ivr.voice import bp
from ivr.voice.common import field, sid
from ivr.voice.streamed import rate_from_last_stream
from ivr.voice.survey import CALLER_GONE_STATUSES, parties
from storage.calls import CallDetails, end_survey, get_or_create_call, log_event
from storage.db import transaction
from storage.models import DISPOSITION_HUNG_UP, DISPOSITION_NOT_SERVED

log = logging.getLogger(__name__)

NEVER_ANSWERED_STATUSES = {"canceled", "busy", "failed", "no-answer"}


@bp.post("/status")
@twilio_signed
def status() -> Response:
    """Record how the call ended; a survey still running is left unrated (hung up)."""
    call_sid = sid("CallSid")
    call_status = field("CallStatus", 16)
    if call_sid is None or call_status is None:
        log.warning("status callback without CallSid/CallStatus ignored")
        return twiml(VoiceResponse())
    caller, called = parties()
    details = CallDetails(caller=caller, called=called, call_status=call_status)
    with transaction(db_sessions()) as session:
        call = get_or_create_call(session, call_sid, details)
        if call_status == "completed":
            rate_from_last_stream(session, call)
        if call_status in CALLER_GONE_STATUSES:
            never_answered = call_status in NEVER_ANSWERED_STATUSES
            disposition = DISPOSITION_NOT_SERVED if never_answered else DISPOSITION_HUNG_UP
            end_survey(session, call, disposition)
        log_event(session, call, "status", call_status)
        log.info("call %s status %s: disposition %s", call_sid, call_status, call.disposition)
    return twiml(VoiceResponse())
