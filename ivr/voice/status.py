"""Call status callbacks: how the call ended."""

from __future__ import annotations

import logging

from flask import Response

from ivr.extensions import db_sessions
from ivr.telephony.web import call_request, provider, respond, verified
from ivr.voice import bp, kept
from ivr.voice.kept import WEBHOOK_DB_WAIT_S
from ivr.voice.survey import parties
from storage.db import DATABASE_UNAVAILABLE, transaction
from storage.models import DISPOSITION_HUNG_UP, DISPOSITION_NOT_SERVED
from storage.records import call_rows
from storage.records.calls import CallDetails, end_survey, get_or_create_call, log_event
from storage.records.events import log_call_event
from storage.records.kept import entry as kept_entry
from storage.records.stream_answers import rate_from_last_stream
from storage.types import utcnow

log = logging.getLogger(__name__)


@bp.post("/status")
@verified
def status() -> Response:
    """Record how the call ended; a survey still running is left unrated (hung up)."""
    inbound = call_request()
    call_sid, call_status = inbound.call_sid, inbound.call_status
    if call_sid is None or call_status is None:
        log.warning("status callback without CallSid/CallStatus ignored")
        return respond(provider().nothing())
    caller, called = parties(inbound)
    details = CallDetails(caller=caller, called=called, call_status=call_status)
    disposition, received = None, utcnow()
    if inbound.caller_gone:
        never = inbound.never_answered
        disposition = DISPOSITION_NOT_SERVED if never else DISPOSITION_HUNG_UP
    streamed = inbound.caller_gone and not inbound.never_answered  # a stream may hold a key
    try:
        with transaction(db_sessions(), WEBHOOK_DB_WAIT_S) as session:
            row = call_rows.lock_call(session, call_sid)
            if row is not None and not (streamed and row.had_stream):
                changes = call_rows.told(row, details)
                if disposition is not None:
                    changes |= call_rows.ended(row, disposition)
                call_rows.update_call(session, row, changes)
                log_call_event(session, row.id, "status", call_status)
                ended_as = row.disposition
            else:  # a call first seen here, or one that had a media stream: the ORM way
                call = get_or_create_call(session, call_sid, details)
                if streamed:
                    rate_from_last_stream(session, call)
                if disposition is not None:
                    end_survey(session, call, disposition)
                log_event(session, call, "status", call_status)
                ended_as = call.disposition
        log.info("call %s status %s: disposition %s", call_sid, call_status, ended_as)
    except DATABASE_UNAVAILABLE:
        try:
            kept.keep(kept_entry("status", call_sid, details, disposition=disposition, at=received))
        except OSError:
            log.exception("status of %s neither stored nor kept: 503 for Twilio", call_sid)
            return Response("status not stored", status=503, mimetype="text/plain")
    return respond(provider().nothing())
