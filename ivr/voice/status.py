"""Call status callbacks: how the call ended."""

from __future__ import annotations

import logging

from flask import Response
from twilio.twiml.voice_response import VoiceResponse

from ivr.extensions import db_sessions
from ivr.telephony.twilio import twiml
from ivr.twilio_auth import twilio_signed
from ivr.voice import bp, kept
from ivr.voice.common import field, sid
from ivr.voice.kept import WEBHOOK_DB_WAIT_S
from ivr.voice.survey import CALLER_GONE_STATUSES, parties
from storage.calls import CallDetails, end_survey, get_or_create_call, log_event
from storage.db import DATABASE_UNAVAILABLE, transaction
from storage.kept import entry as kept_entry
from storage.models import DISPOSITION_HUNG_UP, DISPOSITION_NOT_SERVED
from storage.types import utcnow

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
    disposition, received = None, utcnow()
    if call_status in CALLER_GONE_STATUSES:
        never_answered = call_status in NEVER_ANSWERED_STATUSES
        disposition = DISPOSITION_NOT_SERVED if never_answered else DISPOSITION_HUNG_UP
    try:
        with transaction(db_sessions(), WEBHOOK_DB_WAIT_S) as session:
            call = get_or_create_call(session, call_sid, details)
            if disposition is not None:
                end_survey(session, call, disposition)
            log_event(session, call, "status", call_status)
            log.info("call %s status %s: disposition %s", call_sid, call_status, call.disposition)
    except DATABASE_UNAVAILABLE:
        try:
            kept.keep(kept_entry("status", call_sid, details, disposition=disposition, at=received))
        except OSError:
            log.exception("status of %s neither stored nor kept: 503 for Twilio", call_sid)
            return Response("status not stored", status=503, mimetype="text/plain")
    return twiml(VoiceResponse())
