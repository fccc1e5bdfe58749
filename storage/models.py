"""The records of the service: calls, ratings, callbacks, API tokens and the job outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, Index, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Rating levels in keypad order (domain.md rule 1), each with its category.
LEVEL_CATEGORY = {
    "very_satisfied": "good",
    "satisfied": "good",
    "basically_satisfied": "neutral",
    "dissatisfied": "bad",
    "very_dissatisfied": "bad",
}

# How a call's survey ended (contract: `disposition`).
DISPOSITION_RATED = "rated"  # the caller gave a rating
DISPOSITION_NO_INPUT = "no_input"  # re-asks used up without a valid key
DISPOSITION_HUNG_UP = "hung_up"  # the caller left before rating
DISPOSITION_NOT_SERVED = "not_served"  # no agent was reached: nothing to rate
DISPOSITION_IN_PROGRESS = "in_progress"  # the survey is still running

# Callback states (contract); only `open` is reached in the keypad flow.
CALLBACK_OPEN = "open"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {datetime: UTCDateTime}


class Call(Base):
    """One hotline call that reached (or could have reached) the survey."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    caller: Mapped[str | None] = mapped_column(String(32))
    called: Mapped[str | None] = mapped_column(String(32))
    lang: Mapped[str | None] = mapped_column(String(16))
    agent: Mapped[str | None] = mapped_column(String(64))
    dept: Mapped[str | None] = mapped_column(String(64), index=True)
    disposition: Mapped[str] = mapped_column(String(16), default=DISPOSITION_IN_PROGRESS)
    call_status: Mapped[str | None] = mapped_column(String(16))
    dial_call_status: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)
    ended_at: Mapped[datetime | None]

    tickets: Mapped[list[CallTicket]] = relationship(
        back_populates="call", order_by="CallTicket.position", cascade="all, delete-orphan"
    )
    rating: Mapped[Rating | None] = relationship(back_populates="call")
    callback: Mapped[Callback | None] = relationship(back_populates="call")
    recordings: Mapped[list[Recording]] = relationship(order_by="Recording.id")


class CallTicket(Base):
    """A work order (工单) the call was about; one rating covers them all."""

    __tablename__ = "call_tickets"
    __table_args__ = (UniqueConstraint("call_id", "ticket"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    ticket: Mapped[str] = mapped_column(String(64), index=True)
    position: Mapped[int] = mapped_column(default=0)

    call: Mapped[Call] = relationship(back_populates="tickets")


class Rating(Base):
    """The one rating of a call: the unique `call_id` makes a second one impossible."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    level: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))  # dtmf, speech or default
    rated_at: Mapped[datetime] = mapped_column(default=utcnow)
    recording_id: Mapped[int | None] = mapped_column(
        ForeignKey("recordings.id", ondelete="SET NULL")
    )

    call: Mapped[Call] = relationship(back_populates="rating")


# What a recording of the caller is for.
RECORDING_RATING = "rating"  # the spoken answer to the rating question
RECORDING_REASON = "reason"  # the caller's reason for a bad rating

# Where a recording is in its processing.
RECORDING_PENDING = "pending"  # known, waiting for the worker
RECORDING_DONE = "done"  # fetched and recognised (the outcome says what was heard)
RECORDING_FAILED = "failed"  # could not be fetched or decoded (the outcome says why)


class Recording(Base):
    """A recording of the caller's voice, its transcript and what was recognised in it."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    recording_sid: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    lang: Mapped[str] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=RECORDING_PENDING)
    outcome: Mapped[str | None] = mapped_column(String(32))
    duration_seconds: Mapped[float | None]
    file_key: Mapped[str | None] = mapped_column(String(255))
    transcript: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None]
    recognized_level: Mapped[str | None] = mapped_column(String(32))
    certain: Mapped[bool | None]
    confirmed_level: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Callback(Base):
    """The follow-up (回访核实) that every bad rating opens."""

    __tablename__ = "callbacks"
    __table_args__ = (Index("ix_callbacks_state_due_at", "state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("ratings.id", ondelete="CASCADE"))
    dept: Mapped[str | None] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), default=CALLBACK_OPEN)
    due_at: Mapped[datetime]
    overdue: Mapped[bool] = mapped_column(default=False)
    resolution: Mapped[str | None] = mapped_column(String(16))
    rectify_due_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    call: Mapped[Call] = relationship(back_populates="callback")


class CallEvent(Base):
    """Append-only history of what happened on a call, for review and audit."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)


class ApiToken(Base):
    """A bearer token of the read API; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class OutboxJob(Base):
    """A background job, written in the same transaction as the change that needs it.

    Redis only carries the work: a row without `done_at` is re-sent by the sweep, so a
    job survives Redis being down or flushed. Jobs are idempotent and mark the row done.
    """

    __tablename__ = "outbox_jobs"
    __table_args__ = (Index("ix_outbox_jobs_pending", "done_at", "enqueued_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(32))
    func: Mapped[str] = mapped_column(String(128))
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
