"""API actions that reach Twilio: move a live call into the survey, survey a closed ticket.

Twilio is asked outside any database transaction (a slow answer must not hold SQLite's
write lock); what it answered is then recorded. Twilio's refusals become clear answers:
404 for a call it does not know, 409 for a call already over, 502 for anything else.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlencode

from flask import g, jsonify, request

import prompts
from ivr.api import bp, error, token_required
from ivr.extensions import db_sessions, settings
from ivr.telephony import NotConfigured, ProviderRefused, provider
from storage.access.privacy import mask_number
from storage.db import transaction
from storage.models import DISPOSITION_IN_PROGRESS, DISPOSITION_RATED_BY_LINK, KIND_CLOSURE
from storage.records import closures
from storage.records.calls import CallDetails, find_call, get_or_create_call, log_event
from storage.types import utcnow

log = logging.getLogger(__name__)

CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
TICKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
NUMBER = re.compile(r"\+?[0-9]{5,20}")
MAX_TICKETS = 50


def _body() -> dict[str, Any]:
    """The request's JSON object, or its form fields; `ValueError` for a JSON body that
    is not an object (or not JSON at all, or nested too deep to read)."""
    if not request.is_json:
        return request.form.to_dict()
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _text(data: dict[str, Any], name: str, pattern: re.Pattern) -> str | None:
    """An optional field; `ValueError` naming it if present but malformed."""
    value = data.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value.strip()):
        raise ValueError(f"{name} is malformed")
    return value.strip()


def _lang(data: dict[str, Any]) -> str:
    lang = data.get("lang") or "zh-CN"
    if lang not in prompts.available_languages():
        raise ValueError(f"lang must be one of {prompts.available_languages()}")
    return lang


def _tickets(data: dict[str, Any]) -> tuple[str, ...]:
    raw = data.get("tickets") or []
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list) or len(items) > MAX_TICKETS:
        raise ValueError(f"tickets must be a list of at most {MAX_TICKETS} ids")
    tickets = [str(t).strip() for t in items if str(t).strip()]
    if not all(TICKET.fullmatch(t) for t in tickets):
        raise ValueError("tickets are malformed")
    return tuple(dict.fromkeys(tickets))


def _survey_url(query: dict[str, str | None]) -> str:
    given = {key: value for key, value in query.items() if value}
    return f"{settings().public_base_url}/voice/survey?{urlencode(given)}"


def _refused(problem: ProviderRefused, what: str, call_sid: str | None = None):
    """The API's answer to a provider's refusal or failure (logged)."""
    said = str(problem)
    log.warning("%s %s refused: %s", what, call_sid or "", said)
    if call_sid and problem.not_found:
        return error(404, f"Twilio knows no such call. {said}")
    if problem.call_over:
        return error(409, f"the call is over: it cannot be moved into the survey. {said}")
    return error(502, f"{what} failed. {said}")


@bp.post("/calls/<call_sid>/survey")
@token_required
def move_into_survey(call_sid: str):
    """Redirect a live call to the survey (the agent hands the caller over)."""
    if not CALL_SID.fullmatch(call_sid):
        return error(404, "no such call: a CallSid is CA and 32 hex digits")
    try:
        data = _body()
        details = CallDetails(
            lang=_lang(data),
            agent=_text(data, "agent", CODE),
            dept=_text(data, "dept", CODE),
            tickets=_tickets(data),
        )
        linked = _text(data, "linked", CALL_SID)
    except ValueError as problem:
        return error(400, str(problem))
    with transaction(db_sessions()) as session:
        call = find_call(session, call_sid)
        if call is not None and (
            call.rating is not None or call.disposition == DISPOSITION_RATED_BY_LINK
        ):
            return error(409, "the call is rated already: one rating per call")
        if call is not None and provider().call_is_over(call.call_status):
            return error(409, f"the call is over (status {call.call_status})")
    query = {
        "lang": details.lang,
        "agent": details.agent,
        "dept": details.dept,
        "tickets": ",".join(details.tickets),
        "linked": linked,
        "moved": "1",  # the call itself is the service: never taken for the survey line
    }
    url = _survey_url(query)
    try:
        provider().redirect_call(call_sid, url)
    except NotConfigured as problem:
        return error(503, f"the Twilio REST API is not configured: {problem}")
    except ProviderRefused as problem:
        return _refused(problem, "moving the call into the survey", call_sid)
    with transaction(db_sessions()) as session:
        call = get_or_create_call(session, call_sid, details)
        log_event(session, call, "survey_requested", f"by API token {g.api_token_name}")
    log.info("call %s moved into the survey by %s", call_sid, g.api_token_name)
    response = jsonify(call_sid=call_sid, status="redirected", survey_url=url)
    response.status_code = 202
    return response


@bp.post("/tickets/<ticket>/closure-survey")
@token_required
def closure_survey(ticket: str):
    """Call the caller of a closed ticket and run the survey of the department's handling."""
    if not TICKET.fullmatch(ticket):
        return error(400, "the ticket id is malformed")
    try:
        data = _body()
        caller = _text(data, "caller", NUMBER)
        dept = _text(data, "dept", CODE)
        lang = _lang(data)
        agent = _text(data, "agent", CODE)
    except ValueError as problem:
        return error(400, str(problem))
    if not caller or not dept:
        return error(400, "caller (the number to call) and dept are required")
    if not settings().survey_number:
        return error(503, "SURVEY_NUMBER (the survey line's caller id) is not set")
    now = utcnow()
    try:
        with transaction(db_sessions()) as session:
            closures.claim(session, ticket, dept, now)
    except closures.ClosureRefused as refused:
        return error(409, str(refused))
    query = {"kind": KIND_CLOSURE, "lang": lang, "dept": dept, "tickets": ticket}
    base = settings().public_base_url
    try:
        placed_sid = provider().place_call(
            to=caller,
            from_=settings().survey_number,
            url=_survey_url(query),
            status_url=f"{base}/voice/status?kind={KIND_CLOSURE}",
        )
    except (NotConfigured, ProviderRefused) as problem:
        with transaction(db_sessions()) as session:
            closures.release(session, ticket)
        if isinstance(problem, NotConfigured):
            return error(503, f"the Twilio REST API is not configured: {problem}")
        return _refused(problem, "placing the closure survey call")
    details = CallDetails(
        caller=caller,
        called=settings().survey_number,
        lang=lang,
        agent=agent,
        dept=dept,
        tickets=(ticket,),
    )
    with transaction(db_sessions()) as session:
        call = closures.placed(session, ticket, placed_sid, details, now)
        disposition = call.disposition
    log.info("closure survey of %s: calling %s (%s)", ticket, mask_number(caller), placed_sid)
    response = jsonify(
        call_sid=placed_sid,
        ticket=ticket,
        status="calling",
        disposition=disposition or DISPOSITION_IN_PROGRESS,
    )
    response.status_code = 202
    return response
