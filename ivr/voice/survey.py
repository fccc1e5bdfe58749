"""The survey's start and its key presses."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Response, request
from sqlalchemy.orm import Session

from callflows import Event, Position, Start, load_flow, step
from ivr.extensions import db_sessions
from ivr.telephony import CallRequest
from ivr.telephony.web import call_request, provider, respond, verified
from ivr.voice import bp, kept
from ivr.voice.common import (
    MAX_FIELD,
    answer,
    apply_step,
    can_speak,
    field,
    flow,
    goodbye,
    position,
    survey_lang,
)
from ivr.voice.kept import WEBHOOK_DB_WAIT_S
from storage.access.privacy import mask_number
from storage.db import DATABASE_UNAVAILABLE, transaction
from storage.models import (
    DISPOSITION_HUNG_UP,
    DISPOSITION_NOT_SERVED,
    DISPOSITION_RATED_BY_LINK,
    KIND_CLOSURE,
    KIND_HOTLINE,
    KIND_SURVEY_LINE,
    Call,
)
from storage.records.calls import CallDetails, end_survey, get_or_create_call, log_event
from storage.records.kept import entry as kept_entry
from storage.records.later import days_ago, offer_later_rating, rated_by_default, rated_call
from storage.records.links import link_call
from storage.types import utcnow

log = logging.getLogger(__name__)

MAX_TICKETS = 50


def _tickets() -> tuple[str, ...]:
    raw = request.args.get("tickets", "")
    tickets = (t.strip()[:MAX_FIELD] for t in raw.split(","))
    return tuple(dict.fromkeys(t for t in tickets if t))[:MAX_TICKETS]


def parties(inbound: CallRequest) -> tuple[str | None, str | None]:
    """(caller, called): swapped on the outbound calls we place (we are the caller there)."""
    if request.args.get("kind") == KIND_CLOSURE:
        return inbound.called, inbound.caller
    return inbound.caller, inbound.called


@bp.post("/survey")
@verified
def survey() -> Response:
    """Start of the survey: Twilio requests it when the agent leg ends (`<Dial action>`),
    when a call to the survey line comes in, or when an outbound closure survey answers.

    Query parameters beyond the contract's: `kind=closure` (a ticket-closure survey the
    service placed) and `linked=<CallSid>` (the other party of a proxy pair).
    """
    lang = survey_lang()
    inbound = call_request()
    call_sid = inbound.call_sid
    if call_sid is None:
        log.warning("survey request without a usable CallSid: answered with goodbye")
        return goodbye(lang, "goodbye")
    caller, called = parties(inbound)
    details = CallDetails(
        caller=caller,
        called=called,
        lang=lang,
        agent=field("agent"),
        dept=field("dept"),
        tickets=_tickets(),
        call_status=inbound.call_status,
        dial_call_status=inbound.dial_status,
    )
    # A call straight to the survey line: nothing names a service, no agent leg ended.
    # (A call the API moved into the survey carries `moved=1`: it is the service itself.)
    survey_line = inbound.dial_status is None and not (
        details.agent
        or details.dept
        or details.tickets
        or field("linked")
        or request.args.get("moved")
    )
    now = utcnow()
    try:
        with transaction(db_sessions(), WEBHOOK_DB_WAIT_S) as session:
            call = get_or_create_call(session, call_sid, details, likely_new=True)
            log.info("survey %s from %s (lang %s)", call_sid, mask_number(call.caller), lang)
            if request.args.get("kind") == KIND_CLOSURE and call.rating is None:
                call.kind = KIND_CLOSURE
            if field("linked"):
                link_call(session, call, field("linked"), now)
            response = _begin(session, call, lang, survey_line, now)
    except DATABASE_UNAVAILABLE:
        return _begin_kept(call_sid, details, lang, survey_line, now)
    return response


def _begin_kept(
    call_sid: str, details: CallDetails, lang: str, survey_line: bool, now: datetime
) -> Response:
    """The survey's start while the database is busy: keep the call, ask the question.

    A call to the survey line (rating an earlier call) needs the database to find that
    call: it is kept as a survey-line call with nothing rated (never given a default
    rating) and told to try again later."""
    disposition, inbound = None, call_request()
    if inbound.agent_missed:
        disposition = DISPOSITION_NOT_SERVED
    elif inbound.caller_gone:
        disposition = DISPOSITION_HUNG_UP
    call_kind = KIND_CLOSURE if request.args.get("kind") == KIND_CLOSURE else None
    if survey_line:
        call_kind, disposition = KIND_SURVEY_LINE, disposition or DISPOSITION_NOT_SERVED
    kept.keep(
        kept_entry(
            "survey", call_sid, details, disposition=disposition, call_kind=call_kind, at=now
        )
    )
    if survey_line:
        return goodbye(lang, "system_busy")
    if disposition == DISPOSITION_NOT_SERVED:
        return respond(provider().hang_up())
    if disposition == DISPOSITION_HUNG_UP:
        return respond(provider().nothing())
    first = step(load_flow(call_kind or "rating"), Position(""), Start(), speech=can_speak(lang))
    return answer(lang, first)


def _begin(session: Session, call: Call, lang: str, survey_line: bool, now: datetime) -> Response:
    """The survey's first answer: none, already rated, or the flow's first question."""
    inbound = call_request()
    if inbound.agent_missed:
        end_survey(session, call, DISPOSITION_NOT_SERVED)
        log_event(session, call, "not_served", f"DialCallStatus={inbound.dial_status}")
        return respond(provider().hang_up())
    if inbound.caller_gone:
        end_survey(session, call, DISPOSITION_HUNG_UP)
        log_event(session, call, "caller_gone", f"CallStatus={inbound.call_status}")
        return respond(provider().nothing())
    if survey_line and call.kind == KIND_HOTLINE and call.rating is None:
        offer_later_rating(session, call, now)
    if call.kind == KIND_SURVEY_LINE:
        return goodbye(lang, "nothing_to_rate")
    rated = rated_call(session, call)
    replaceable = rated is not call and rated_by_default(rated)
    if (rated.rating is not None and not replaceable) or (
        rated.disposition == DISPOSITION_RATED_BY_LINK
    ):
        log_event(session, call, "already_rated")
        return goodbye(lang, "already_rated")
    ago = days_ago(rated, now) if rated is not call else None
    log_event(session, call, "survey_started", rated.call_sid if ago is not None else None)
    start = Position("", ago=ago)
    return answer(lang, step(flow(call), start, Start(), speech=can_speak(lang)))


@bp.post("/survey/input")
@verified
def survey_input() -> Response:
    """The caller's answer to a `<Gather>`: a key, any keys, or nothing."""
    lang = survey_lang()
    inbound = call_request()
    if inbound.call_sid is None:
        log.warning("survey input without a usable CallSid: answered with goodbye")
        return goodbye(lang, "goodbye")
    call_sid, digits, event = inbound.call_sid, inbound.keys, inbound.event()
    received = utcnow()
    try:
        with transaction(db_sessions(), WEBHOOK_DB_WAIT_S) as session:
            call = get_or_create_call(session, call_sid, CallDetails(lang=lang))
            kind, detail = ("key", repr(digits[:16])) if digits else ("no_input", None)
            log_event(session, call, kind, detail)
            result = step(flow(call), position(), event, speech=can_speak(lang))
            response = apply_step(session, call, result, lang, request.args.get("rec"))
    except DATABASE_UNAVAILABLE:
        return _key_kept(call_sid, lang, event, received)
    return response


def _key_kept(call_sid: str, lang: str, event: Event, received: datetime) -> Response:
    """A key while the database is busy: a rating is kept (applied later with its
    time) and thanked for; anything else is answered by the flow alone."""
    result = step(load_flow("rating"), position(), event, speech=can_speak(lang))
    if result.rate is None:
        return answer(lang, result)
    item = kept_entry(
        "key",
        call_sid,
        CallDetails(lang=lang),
        disposition=result.disposition,
        level=result.rate,
        source=result.rate_source or "dtmf",
        at=received,
    )
    kept.keep(item)
    if result.listen:  # the reason is not recorded without the database: thank and end
        return goodbye(lang, "thanks_bad")
    return answer(lang, result)
