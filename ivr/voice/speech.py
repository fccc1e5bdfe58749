"""Spoken answers: the `<Record>` actions, waiting for the recogniser, recording callbacks.

Recognition runs in a worker, never here. While it runs, the caller hears short
pauses (`<Pause>` then `<Redirect>` back to `wait`); a result that does not come
back in time sends the caller to the keypad.
"""

from __future__ import annotations

import logging

from flask import Response, request

from callflows import (
    RECORDING_RATING,
    RECORDING_REASON,
    Heard,
    NoInput,
    NotUnderstood,
    Recorded,
    SpeechLate,
    step,
)
from callflows.vocabulary import (
    OUTCOME_EMPTY,
    OUTCOME_KEY_PRESSED,
    SILENT_OUTCOMES,
)
from ivr.extensions import db_sessions
from ivr.telephony import REPORT_NEVER
from ivr.telephony.web import call_request, provider, respond, verified
from ivr.voice import bp
from ivr.voice.common import (
    apply_step,
    flow,
    goodbye,
    position,
    survey_lang,
    url_for_step,
)
from storage.db import transaction
from storage.models import (
    DISPOSITION_HUNG_UP,
    RECORDING_DONE,
    RECORDING_PENDING,
    Call,
    Recording,
)
from storage.records.calls import CallDetails, end_survey, get_or_create_call, log_event
from storage.records.later import rated_call
from storage.records.recordings import find_recording, note_recording, provider_outcome, set_aside

log = logging.getLogger(__name__)

# How long the caller may wait for the recogniser: polls of one second each.
MAX_WAIT_POLLS = 8


def _note(call: Call, session, purpose: str, lang: str) -> Recording | None:
    """Note the recording this request reports, if it reports a usable one."""
    report = call_request().recording
    if report is None or report.sid is None or report.url is None:
        return None
    return note_recording(
        session,
        call,
        report.sid,
        purpose=purpose,
        lang=lang,
        url=report.url,
        duration=report.duration_seconds,
    )


def _call(session, lang: str) -> Call | None:
    call_sid = call_request().call_sid
    return (
        None if call_sid is None else get_or_create_call(session, call_sid, CallDetails(lang=lang))
    )


@bp.post("/survey/recorded")
@verified
def recorded() -> Response:
    """The spoken answer to the rating question was recorded (or a key ended it)."""
    lang = survey_lang()
    where = position()
    inbound = call_request()
    digits = inbound.keys
    with transaction(db_sessions()) as session:
        call = _call(session, lang)
        if call is None:
            return goodbye(lang, "goodbye")
        recording = _note(call, session, RECORDING_RATING, lang)
        if inbound.hung_up:
            log_event(session, call, "hung_up_while_speaking")
            end_survey(session, call, DISPOSITION_HUNG_UP)
            response = respond(provider().nothing())
        elif digits or recording is None or recording.duration_seconds == 0:
            if recording is not None:
                set_aside(recording, OUTCOME_KEY_PRESSED if digits else OUTCOME_EMPTY)
            event = inbound.event()
            log_event(
                session,
                call,
                "key" if digits else "no_input",
                repr(digits[:16]) if digits else None,
            )
            response = apply_step(session, call, step(flow(call), where, event, speech=True), lang)
        else:
            log_event(session, call, "spoken_answer", recording.recording_sid)
            wait = url_for_step("wait", lang, where, rec=recording.recording_sid, n=0)
            response = respond(provider().pause_and_poll(wait))
    return response


@bp.post("/survey/silence")
@verified
def silence() -> Response:
    """`<Record>` heard nothing and fell through to our `<Redirect>`."""
    lang = survey_lang()
    with transaction(db_sessions()) as session:
        call = _call(session, lang)
        if call is None:
            return goodbye(lang, "goodbye")
        log_event(session, call, "no_input")
        response = apply_step(
            session, call, step(flow(call), position(), NoInput(), speech=True), lang
        )
    return response


@bp.post("/survey/wait")
@verified
def wait() -> Response:
    """Is the recognition back? If not yet, pause a second and ask again, a few times."""
    lang = survey_lang()
    where = position()
    recording_sid = request.args.get("rec", "")
    polls = request.args.get("n", "0")
    polls = int(polls) if polls.isdigit() and len(polls) < 3 else MAX_WAIT_POLLS
    with transaction(db_sessions()) as session:
        call = _call(session, lang)
        if call is None:
            return goodbye(lang, "goodbye")
        recording = find_recording(session, recording_sid)
        if recording is not None and recording.call_id != call.id:
            recording = None
        if (
            recording is not None
            and recording.status == RECORDING_PENDING
            and polls < MAX_WAIT_POLLS
        ):
            again = url_for_step("wait", lang, where, rec=recording_sid, n=polls + 1)
            return respond(provider().pause_and_poll(again))
        event = _outcome_event(recording)
        log_event(session, call, "speech_result", type(event).__name__)
        result = step(flow(call), where, event, speech=True)
        response = apply_step(session, call, result, lang, recording_sid)
    return response


def _outcome_event(recording: Recording | None):
    """What the recogniser's result means for the flow."""
    if recording is None or recording.status == RECORDING_PENDING:
        return SpeechLate()
    if recording.status == RECORDING_DONE and recording.recognized_level:
        return Heard(recording.recognized_level, bool(recording.certain))
    if recording.outcome in SILENT_OUTCOMES:
        return NoInput()
    return NotUnderstood()


@bp.post("/survey/reason")
@verified
def reason() -> Response:
    """The caller's reason for a bad rating was recorded (or not given): thank and end."""
    lang = survey_lang()
    with transaction(db_sessions()) as session:
        call = _call(session, lang)
        if call is None:
            return goodbye(lang, "goodbye")
        # The reason belongs with the rating: on the earlier call, for a later rating.
        recording = _note(rated_call(session, call), session, RECORDING_REASON, lang)
        log_event(session, call, "reason", recording.recording_sid if recording else None)
        if call_request().hung_up:
            response = respond(provider().nothing())
        else:
            result = step(flow(call), position(), Recorded(), speech=True)
            response = apply_step(session, call, result, lang)
    return response


@bp.post("/survey/recording-status")
@verified
def recording_status() -> Response:
    """Twilio's recording status callback: the audio is ready, or will never be."""
    lang = survey_lang()
    purpose = request.args.get("purpose")
    report = call_request().recording
    status = report.status if report else None
    if purpose not in (RECORDING_RATING, RECORDING_REASON):
        return respond(provider().nothing())
    with transaction(db_sessions()) as session:
        call = _call(session, lang)
        if call is not None and purpose == RECORDING_REASON:
            call = rated_call(session, call)
        recording = _note(call, session, purpose, lang) if call is not None else None
        if recording is None and call is not None and report and report.sid:
            recording = note_recording(
                session,
                call,
                report.sid,
                purpose=purpose,
                lang=lang,
                url=None,
                duration=None,
            )
        if recording is not None and status in REPORT_NEVER:
            set_aside(recording, provider_outcome(status))
        if recording is not None:
            log.info("recording %s of call %s: %s", recording.recording_sid, call.call_sid, status)
    return respond(provider().nothing())
