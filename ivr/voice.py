"""Twilio voice webhooks: the rating survey and call status callbacks.

Every request is signed by Twilio; the caller's place in the flow travels in the
signed action URLs this module writes, and everything else in the database, so any
web process can answer any request.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from urllib.parse import urlencode

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.exceptions import HTTPException

import prompts
from callflows import KeyPressed, NoInput, Position, Start, Step, load_flow, step
from ivr.extensions import db_sessions, redis_client, settings
from ivr.telephony.twilio import play_and_hang_up, render_step, twiml
from ivr.twilio_auth import twilio_signed
from storage.calls import CallDetails, end_survey, get_or_create_call, log_event, record_rating
from storage.db import transaction
from storage.models import (
    DISPOSITION_HUNG_UP,
    DISPOSITION_NOT_SERVED,
    Call,
)
from storage.privacy import mask_number
from workers.queues import send_after_commit

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/voice")

DEFAULT_LANG = "zh-CN"
FLOW = "rating"
SOURCE_KEYPAD = "dtmf"
# DialCallStatus values meaning no agent was reached: there is no service to rate.
NOT_SERVED_DIAL_STATUSES = {"no-answer", "busy", "failed", "canceled"}
# CallStatus values meaning the caller is no longer on the line.
CALLER_GONE_STATUSES = {"completed", "canceled", "busy", "failed", "no-answer"}
NEVER_ANSWERED_STATUSES = {"canceled", "busy", "failed", "no-answer"}
SID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_FIELD = 64
MAX_TICKETS = 50


@lru_cache
def _languages() -> frozenset[str]:
    return frozenset(prompts.available_languages())


def survey_lang(raw: str | None) -> str:
    """The call's language pack: the requested one if it exists, else the default."""
    if raw in _languages():
        return raw
    if raw:
        log.warning("unknown lang %r: using %s", raw[:MAX_FIELD], DEFAULT_LANG)
    return DEFAULT_LANG


def _field(name: str, limit: int = MAX_FIELD) -> str | None:
    value = (request.values.get(name) or "").strip()
    return value[:limit] or None


def _call_sid() -> str | None:
    value = request.form.get("CallSid", "")
    return value if SID_PATTERN.fullmatch(value) else None


def _tickets() -> tuple[str, ...]:
    raw = request.args.get("tickets", "")
    tickets = (t.strip()[:MAX_FIELD] for t in raw.split(","))
    return tuple(dict.fromkeys(t for t in tickets if t))[:MAX_TICKETS]


def _action_url(lang: str, position: Position) -> str:
    query = urlencode({"lang": lang, "node": position.node, "reasks": position.reasks})
    return f"{settings().public_base_url}/voice/survey/input?{query}"


def _answer(lang: str, result: Step) -> Response:
    base_url = settings().public_base_url
    return twiml(render_step(result, base_url, lang, _action_url(lang, result.position)))


def _goodbye(lang: str, *names: str) -> Response:
    return twiml(play_and_hang_up(settings().public_base_url, lang, *names))


def _finish(session: Session) -> None:
    """After commit: hand the jobs the transaction recorded to the queue."""
    jobs = session.info.pop("outbox_jobs", [])
    if jobs:
        send_after_commit(db_sessions(), redis_client(), jobs)


@bp.errorhandler(Exception)
def _fallback(error: Exception):
    """Never leave Twilio with a 5xx: the caller would hear an application error."""
    if isinstance(error, HTTPException):
        return error
    log.exception("webhook %s failed; caller sent to the goodbye prompt", request.path)
    lang = survey_lang(request.args.get("lang"))
    return _goodbye(lang, "system_busy")


@bp.post("/survey")
@twilio_signed
def survey() -> Response:
    """Start of the survey: Twilio requests it when the agent leg ends (`<Dial action>`)."""
    lang = survey_lang(request.args.get("lang"))
    call_sid = _call_sid()
    if call_sid is None:
        log.warning("survey request without a usable CallSid: answered with goodbye")
        return _goodbye(lang, "goodbye")
    dial_status = _field("DialCallStatus", 16)
    call_status = _field("CallStatus", 16)
    details = CallDetails(
        caller=_field("From", 32),
        called=_field("To", 32),
        lang=lang,
        agent=_field("agent"),
        dept=_field("dept"),
        tickets=_tickets(),
        call_status=call_status,
        dial_call_status=dial_status,
    )
    with transaction(db_sessions()) as session:
        call = get_or_create_call(session, call_sid, details)
        log.info("survey %s from %s (lang %s)", call_sid, mask_number(call.caller), lang)
        if dial_status in NOT_SERVED_DIAL_STATUSES:
            end_survey(session, call, DISPOSITION_NOT_SERVED)
            log_event(session, call, "not_served", f"DialCallStatus={dial_status}")
            return twiml(_hang_up())
        if call_status in CALLER_GONE_STATUSES:
            end_survey(session, call, DISPOSITION_HUNG_UP)
            log_event(session, call, "caller_gone", f"CallStatus={call_status}")
            return twiml(VoiceResponse())
        if call.rating is not None:
            log_event(session, call, "already_rated")
            return _goodbye(lang, "already_rated")
        log_event(session, call, "survey_started")
        result = step(load_flow(FLOW), Position(""), Start())
    return _answer(lang, result)


@bp.post("/survey/input")
@twilio_signed
def survey_input() -> Response:
    """The caller's answer to a `<Gather>`: a key, any keys, or nothing."""
    lang = survey_lang(request.args.get("lang"))
    call_sid = _call_sid()
    if call_sid is None:
        log.warning("survey input without a usable CallSid: answered with goodbye")
        return _goodbye(lang, "goodbye")
    digits = request.form.get("Digits", "")
    event = KeyPressed(digits) if digits else NoInput()
    position = Position(request.args.get("node", ""), _reasks())
    with transaction(db_sessions()) as session:
        call = get_or_create_call(session, call_sid, CallDetails(lang=lang))
        log_event(
            session, call, "key" if digits else "no_input", repr(digits[:16]) if digits else None
        )
        result = step(load_flow(FLOW), position, event)
        response = _apply(session, call, result, lang)
    _finish(session)
    return response


def _reasks() -> int:
    raw = request.args.get("reasks", "0")
    return int(raw) if raw.isdigit() and len(raw) < 3 else 0


def _apply(session: Session, call: Call, result: Step, lang: str) -> Response:
    """Store what the step decided and answer; a rated call is never asked again."""
    if result.rate is not None:
        rating = record_rating(session, call, result.rate, SOURCE_KEYPAD)
        if rating is None and call.rating is not None and call.rating.level != result.rate:
            log.info("call %s already rated %s: key ignored", call.call_sid, call.rating.level)
            log_event(session, call, "already_rated", f"ignored {result.rate}")
            return _goodbye(lang, "already_rated")
        if rating is not None:
            log.info("call %s rated %s by key", call.call_sid, result.rate)
    elif call.rating is not None:
        return _goodbye(lang, "already_rated")
    if result.disposition is not None:
        end_survey(session, call, result.disposition)
    return _answer(lang, result)


def _hang_up() -> VoiceResponse:
    response = VoiceResponse()
    response.hangup()
    return response


@bp.post("/status")
@twilio_signed
def status() -> Response:
    """Call status callbacks: record how the call ended."""
    call_sid = _call_sid()
    call_status = _field("CallStatus", 16)
    if call_sid is None or call_status is None:
        log.warning("status callback without CallSid/CallStatus ignored")
        return twiml(VoiceResponse())
    details = CallDetails(
        caller=_field("From", 32), called=_field("To", 32), call_status=call_status
    )
    with transaction(db_sessions()) as session:
        call = get_or_create_call(session, call_sid, details)
        if call_status in CALLER_GONE_STATUSES:
            never_answered = call_status in NEVER_ANSWERED_STATUSES
            end_survey(
                session, call, DISPOSITION_NOT_SERVED if never_answered else DISPOSITION_HUNG_UP
            )
        log_event(session, call, "status", call_status)
        log.info("call %s status %s: disposition %s", call_sid, call_status, call.disposition)
    return twiml(VoiceResponse())
