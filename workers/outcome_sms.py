"""The outcome SMS: when a case closes, the caller is told how it ended (第十五条 反馈).

Queued by `storage.workflow.callbacks` when a callback closes (`outcome_sms:<id>:<round>`, so once
per closing); sent from `SURVEY_NUMBER` unless the number opted out (the reminders'
`STOP`/`退订` list). Like the reminders it is sent at most once: a failure is recorded
on the call's history, never retried, so that no caller gets two messages.
"""

from __future__ import annotations

import logging

from sqlalchemy import insert

from ivr.telephony import NotConfigured, ProviderRefused, provider
from storage.access.privacy import is_reachable_number, mask_number
from storage.db import transaction
from storage.models import CALLBACK_CLOSED, Callback, CallEvent
from storage.records import sms
from storage.types import utcnow
from storage.workflow import deadlines
from workers.context import session_factory

log = logging.getLogger(__name__)

OUTCOMES = {
    "on_the_spot": "已当场解决",
    "explained": "经核实缺乏法定依据，已向您解释说明",
    "rectify_5d": "承办单位已完成整改",
    "rectify_15d": "承办单位已会同有关部门完成整改",
}
TEXT = (
    "【12345】您{day}对12345热线服务的差评已办结：{outcome}。"
    "如有疑问请拨打12345。感谢您的监督。回复TD退订"
)


def outcome_text(callback: Callback) -> str:
    """The message for a closed case, naming the rating's day and the outcome."""
    tz = deadlines.hotline_tz()
    day = callback.rating.rated_at.astimezone(tz)
    outcome = OUTCOMES.get(callback.resolution or "", "已处理完毕")
    return TEXT.format(day=f"{day.month}月{day.day}日", outcome=outcome)


def send_outcome_sms(callback_id: int, round: int = 0) -> str:
    """Send the outcome of a closed case to its caller, at most once."""
    factory = session_factory()
    with transaction(factory) as session:
        callback = session.get(Callback, callback_id)
        if callback is None:
            return "no callback"
        call = callback.call
        kind = f"outcome_sms:{callback_id}:{round}"
        if any((e.detail or "").startswith(kind) for e in call_events(call)):
            return "already handled"
        problem = _why_not(session, callback)
        if problem:
            _record(session, call.id, "outcome_sms_skipped", kind)
            return f"skipped: {problem}"
        _record(session, call.id, "outcome_sms_sending", kind)
        to, body = call.caller, outcome_text(callback)
    try:
        message_sid = provider().send_sms(to=to, from_=sms.survey_number(), body=body)
    except (NotConfigured, ProviderRefused) as error:
        said = str(error)
        with transaction(factory) as session:
            _record(session, call.id, "outcome_sms_failed", f"{kind} {said}"[:2000])
        log.warning(
            "outcome SMS of callback %s to %s failed: %s", callback_id, mask_number(to), said
        )
        return f"failed: {said}"
    with transaction(factory) as session:
        _record(session, call.id, "outcome_sms_sent", f"{kind} {message_sid}")
    log.info("outcome SMS of callback %s sent to %s", callback_id, mask_number(to))
    return f"sent {message_sid}"


def call_events(call) -> list[CallEvent]:
    from sqlalchemy import select
    from sqlalchemy.orm import object_session

    session = object_session(call)
    statement = select(CallEvent).where(CallEvent.call_id == call.id)
    return [e for e in session.scalars(statement) if e.kind.startswith("outcome_sms")]


def _why_not(session, callback: Callback) -> str | None:
    if callback.state != CALLBACK_CLOSED:
        return f"the case is {callback.state}, not closed"
    if not sms.survey_number():
        return "SURVEY_NUMBER is not set"
    number = callback.call.caller
    if not is_reachable_number(number):
        return "no caller number"
    if sms.opted_out(session, number or ""):
        return "the number opted out"
    return None


def _record(session, call_id: int, kind: str, detail: str) -> None:
    event = {"call_id": call_id, "at": utcnow(), "kind": kind, "detail": detail}
    session.execute(insert(CallEvent.__table__), [event])
