"""The survey's start and its key presses."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Response, request
from sqlalchemy.orm import Session

from callflows import Event, Position, Start, Step, flow_for_kind, load_flow, step
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
from storage.records import call_rows
from storage.records.calls import CallDetails, end_survey, ending, get_or_create_call, log_event
from storage.records.events import log_call_event, log_call_events
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
    kind = KIND_CLOSURE if request.args.get("kind") == KIND_CLOSURE else KIND_HOTLINE
    # Most calls: a new call of an agent's service that asks its question. Anything
    # else (a linked party, the survey line, a call that ended) the ORM way.
    plain = not (field("linked") or survey_line or inbound.agent_missed or inbound.caller_gone)
    try:
        with transaction(db_sessions(), WEBHOOK_DB_WAIT_S) as session:
            call_id = (
                call_rows.insert_call(session, call_sid, details, kind=kind) if plain else None
            )
            response = None  # the first question, rendered once the turn is released
            if call_id is not None:
                log_call_event(session, call_id, "survey_started")
                caller = details.caller
            else:
                call = get_or_create_call(session, call_sid, details, likely_new=not plain)
                caller = call.caller
                if kind == KIND_CLOSURE and call.rating is None:
                    call.kind = KIND_CLOSURE
                if field("linked"):
                    link_call(session, call, field("linked"), now)
                response = _begin(session, call, lang, survey_line, now)
    except DATABASE_UNAVAILABLE:
        return _begin_kept(call_sid, details, lang, survey_line, now)
    log.info("survey %s from %s (lang %s)", call_sid, mask_number(caller), lang)
    return response if response is not None else answer(lang, first_question(kind, lang))


def first_question(kind: str | None, lang: str) -> Step:
    """The first question of a survey of `kind` (the flow's start; the rating flow's
    when `kind` is None)."""
    return step(flow_for_kind(kind), Position(""), Start(), speech=can_speak(lang))


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
    return answer(lang, first_question(call_kind, lang))


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
    kind, detail = ("key", repr(digits[:16])) if digits else ("no_input", None)
    recording_sid = request.args.get("rec")
    try:
        with transaction(db_sessions(), WEBHOOK_DB_WAIT_S) as session:
            row = None if recording_sid else call_rows.lock_call(session, call_sid)
            result = _plain_key(session, row, lang, event, (kind, detail), received)
            if result is None:  # not a common case: the ORM way
                call = get_or_create_call(session, call_sid, CallDetails(lang=lang))
                log_event(session, call, kind, detail)
                result = step(flow(call), position(), event, speech=can_speak(lang))
                return apply_step(session, call, result, lang, recording_sid)
    except DATABASE_UNAVAILABLE:
        return _key_kept(call_sid, lang, event, received)
    if result.rate is not None:
        log.info("call %s rated %s (%s)", call_sid, result.rate, result.rate_source or "dtmf")
    return answer(lang, result)


def _plain_key(
    session: Session,
    call: call_rows.CallRow | None,
    lang: str,
    event: Event,
    history: tuple[str, str | None],
    now: datetime,
) -> Step | None:
    """`apply_step` for the common case, with plain statements: a known hotline or
    closure call, not rated, not of a linked pair, answered without a recording.
    Returns the step taken, or None (nothing written) for any other case."""
    if call is None or call.kind not in (KIND_HOTLINE, KIND_CLOSURE) or call.rating_id:
        return None
    if call.disposition == DISPOSITION_RATED_BY_LINK:
        return None
    result = step(flow_for_kind(call.kind), position(), event, speech=can_speak(lang))
    changes = call_rows.told(call, CallDetails(lang=lang))
    source = result.rate_source or "dtmf"
    entries = [history]
    if result.rate is not None:
        if call_rows.has_partners(call):
            return None
        if call_rows.insert_rating(session, call, result.rate, source, now) is None:
            return None  # rated meanwhile (nothing written): the ORM way says so
        call_rows.rated(session, call, result.rate, source, now)
        entries.append(call_rows.rated_event(result.rate, source))
        changes |= call_rows.rated_changes(now)
    log_call_events(session, call.id, entries)
    if result.disposition is not None:
        disposition = changes.get("disposition", call.disposition)
        changes |= ending(disposition, call.ended_at, result.disposition)
    call_rows.update_call(session, call, changes)
    return result


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
