"""Records of the ways back into the survey and of administration: SMS reminders and
opt-outs, ticket-closure surveys, and the administrators' audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
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


class AuditEvent(Base):
    """Append-only record of an administrator's change to users or departments."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))  # user_created, user_changed, refused …
    target: Mapped[str] = mapped_column(String(80))  # user:<name> or dept:<code>
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
