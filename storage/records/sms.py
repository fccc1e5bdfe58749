"""SMS reminders to rate later (补充评价) and the callers' opt-outs (domain.md rules 4, 5).

Reminders are off unless `SMS_REMINDERS=on`. A call whose caller hung up before rating
gets at most one reminder (one `SmsReminder` row per call, sent at most once), a number
at most one a day, and a number that replied an opt-out word none at all.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.inserts import insert_once
from storage.models import SmsOptOut
from storage.settings import settings

# Whole-message keywords, compared without case, spaces or punctuation.
OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "TD", "退订", "取消", "수신거부"}
)
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES", "订阅", "수신동의"})
ON_WORDS = ("on", "true", "1", "yes")

# Reminder states.
QUEUED = "queued"  # written by the sweep, its job in the outbox
SENDING = "sending"  # handed to Twilio (a crash here never sends a second one)
SENT = "sent"
SKIPPED = "skipped"  # rated meanwhile, opted out, reminded today … (detail says)
FAILED = "failed"  # Twilio refused or could not be reached (detail says)


def reminders_enabled() -> bool:
    """`SMS_REMINDERS=on` (off by default)."""
    return settings().sms_reminders


def survey_number() -> str | None:
    """`SURVEY_NUMBER`: the survey line, which sends reminders and takes later ratings."""
    return settings().survey_number


def keyword(body: str) -> str:
    """The reply reduced to a keyword: upper case, without spaces and punctuation."""
    return re.sub(r"[\s\W_]+", "", body or "").upper()[:32]


def opt_out(session: Session, number: str, word: str, now: datetime) -> bool:
    """Stop reminders to `number`; True if it was not opted out before."""
    values = {"number": number, "keyword": word, "created_at": now}
    return insert_once(session, SmsOptOut, values, "number") is not None


def opt_in(session: Session, number: str) -> bool:
    """Allow reminders to `number` again; True if it was opted out."""
    return session.execute(delete(SmsOptOut).where(SmsOptOut.number == number)).rowcount > 0


def opted_out(session: Session, number: str) -> bool:
    """Has `number` opted out?"""
    return session.scalar(select(SmsOptOut.id).where(SmsOptOut.number == number)) is not None
