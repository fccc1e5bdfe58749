"""Records of the ways back into the survey: SMS reminders and opt-outs, and
ticket-closure surveys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.types import utcnow


class SmsReminder(Base):
    """The one SMS reminder a call may get (补充评价): unique per call, sent at most once."""

    __tablename__ = "sms_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    number: Mapped[str] = mapped_column(String(32), index=True)  # at most one a day each
    status: Mapped[str] = mapped_column(String(16))  # queued, sending, sent, skipped, failed
    message_sid: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class SmsOptOut(Base):
    """A number that replied STOP/退订: it gets no reminders until it replies START."""

    __tablename__ = "sms_opt_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    keyword: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClosureSurvey(Base):
    """The survey of a closed ticket (办结回访, 一事一评): one per ticket."""

    __tablename__ = "closure_surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket: Mapped[str] = mapped_column(String(64), unique=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    dept: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
