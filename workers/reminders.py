"""SMS reminders to rate later: the sweep queues them, a job sends each at most once.

The sweep (`queue_reminders`) picks hotline calls whose caller hung up before rating
(`hung_up`: not `no_input`, a caller who heard the question and chose not to answer),
still inside the 7-day period, never reminded, from a number that has not opted out
and was not reminded in the last day; it writes one `SmsReminder` row per call and its
outbox job, in one transaction (set-based, in batches). The job (`send_reminder`) checks
again, marks the row `sending`, asks Twilio, and records what Twilio said: a failure is
recorded, never retried, so that no caller gets two messages.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, insert, select
from sqlalchemy.orm import Session, sessionmaker

import prompts
from ivr.telephony import NotConfigured, ProviderRefused, provider
from storage.access.privacy import mask_number
from storage.db import transaction
from storage.models import (
    DISPOSITION_HUNG_UP,
    KIND_HOTLINE,
    Call,
    CallEvent,
    Rating,
    SmsOptOut,
    SmsReminder,
)
from storage.outbox import SEND_SMS_REMINDER, add_jobs, job_row
from storage.records import sms
from storage.types import utcnow
from storage.workflow import deadlines
from storage.workflow.notifications import insert_many_once
from workers.context import session_factory

log = logging.getLogger(__name__)

BATCH = 500
ONE_PER_NUMBER = timedelta(days=1)


def queue_reminders(factory: sessionmaker[Session], now: datetime, batch: int = BATCH) -> int:
    """Queue the reminder of every call due one (nothing unless reminders are on)."""
    if not sms.reminders_enabled():
        return 0
    queued = last_id = 0
    while True:
        with transaction(factory) as session:
            rows = session.execute(
                select(Call.id, Call.caller)
                .where(
                    Call.disposition == DISPOSITION_HUNG_UP,
                    Call.created_at >= deadlines.default_rating_cutoff(now),
                    Call.kind == KIND_HOTLINE,
                    Call.caller.like("+%"),
                    Call.id > last_id,
                    ~exists().where(Rating.call_id == Call.id),
                    ~exists().where(SmsReminder.call_id == Call.id),
                    ~exists().where(SmsOptOut.number == Call.caller),
                )
                .order_by(Call.id)
                .limit(batch)
            ).all()
            if not rows:
                break
            last_id = rows[-1].id
            queued += _queue(session, rows, now)
    if queued:
        log.info("SMS reminders queued: %d", queued)
    return queued


def _queue(session: Session, rows, now: datetime) -> int:
    """One reminder row per call, with its job; a number reminded today gets none."""
    reminded = set(
        session.scalars(
            select(SmsReminder.number).where(
                SmsReminder.number.in_({row.caller for row in rows}),
                SmsReminder.created_at > now - ONE_PER_NUMBER,
            )
        )
    )
    chosen = set()
    for row in rows:
        if row.caller not in reminded:
            reminded.add(row.caller)
            chosen.add(row.id)
    skipped = "the number gets one reminder a day"
    reminders = [
        {
            "call_id": row.id,
            "number": row.caller,
            "status": sms.QUEUED if row.id in chosen else sms.SKIPPED,
            "detail": None if row.id in chosen else skipped,
            "created_at": now,
        }
        for row in rows
    ]
    inserted = set(
        insert_many_once(session, SmsReminder, reminders, "call_id", SmsReminder.call_id)
    )
    jobs = [
        job_row(SEND_SMS_REMINDER, {"call_id": call_id}, f"sms_reminder:{call_id}")
        for call_id in sorted(inserted & chosen)
    ]
    add_jobs(session, jobs)
    return len(jobs)


def send_reminder(call_id: int) -> str:
    """Send the call's reminder, at most once; returns what happened."""
    factory = session_factory()
    with transaction(factory) as session:
        reminder = session.scalars(
            select(SmsReminder).where(SmsReminder.call_id == call_id).with_for_update()
        ).one_or_none()
        if reminder is None or reminder.status != sms.QUEUED:
            return f"nothing to send ({reminder.status if reminder else 'no reminder'})"
        call = session.get_one(Call, call_id)
        problem = _why_not(session, call)
        if problem:
            reminder.status, reminder.detail = sms.SKIPPED, problem
            return f"skipped: {problem}"
        reminder.status = sms.SENDING
        to, body = call.caller, _text(call)
    try:
        message_sid = provider().send_sms(to=to, from_=sms.survey_number(), body=body)
    except (NotConfigured, ProviderRefused) as error:
        said = str(error)
        _finish(factory, call_id, sms.FAILED, None, said)
        log.warning("SMS reminder of call %s to %s failed: %s", call_id, mask_number(to), said)
        return f"failed: {said}"
    _finish(factory, call_id, sms.SENT, message_sid, None)
    log.info("SMS reminder of call %s sent to %s (%s)", call_id, mask_number(to), message_sid)
    return f"sent {message_sid}"


def _why_not(session: Session, call: Call) -> str | None:
    """Why the reminder must not go out (any more), or None."""
    if not sms.reminders_enabled():
        return "SMS reminders are off"
    if not sms.survey_number():
        return "SURVEY_NUMBER is not set"
    if call.rating is not None or call.disposition != DISPOSITION_HUNG_UP:
        return f"no longer unrated ({call.disposition})"
    if sms.opted_out(session, call.caller or ""):
        return "the number opted out"
    if call.created_at < deadlines.default_rating_cutoff(utcnow()):
        return "the 7-day period is over"
    return None


def _text(call: Call) -> str:
    """The reminder in the call's language, naming the call's day and the survey line."""
    lang = call.lang if call.lang in prompts.available_languages() else "zh-CN"
    texts = prompts.load_sms(lang)
    day = call.created_at.astimezone(deadlines.hotline_tz()).strftime(texts["day_format"])
    return texts["reminder"].format(day=day, number=sms.survey_number())


def _finish(factory, call_id: int, status: str, message_sid: str | None, detail: str | None):
    with transaction(factory) as session:
        reminder = session.scalars(select(SmsReminder).where(SmsReminder.call_id == call_id)).one()
        reminder.status, reminder.message_sid, reminder.detail = status, message_sid, detail
        reminder.sent_at = utcnow() if status == sms.SENT else None
        event = {
            "call_id": call_id,
            "at": utcnow(),
            "kind": f"sms_reminder_{status}",
            "detail": message_sid or detail,
        }
        session.execute(insert(CallEvent.__table__), [event])
