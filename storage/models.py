"""The records of the service: calls, ratings, callbacks, API tokens and the job outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, Index, MetaData, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from storage.access.privacy import phone_tail
from storage.types import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The vocabulary is defined once, in `callflows.vocabulary`; re-exported here.
from callflows.vocabulary import (  # noqa: E402, F401
    CALLBACK_ANONYMOUS,
    CALLBACK_CALLED_BACK,
    CALLBACK_CLOSED,
    CALLBACK_NOT_ADOPTED,
    CALLBACK_OPEN,
    CALLBACK_STATES,
    CALLBACK_UNREACHABLE,
    DISPOSITION_HUNG_UP,
    DISPOSITION_IN_PROGRESS,
    DISPOSITION_NO_INPUT,
    DISPOSITION_NOT_SERVED,
    DISPOSITION_RATED,
    DISPOSITION_RATED_BY_LINK,
    KIND_CLOSURE,
    KIND_HOTLINE,
    KIND_LATER,
    KIND_SURVEY_LINE,
    KINDS,
    LEVEL_CATEGORY,
    RECORDING_DONE,
    RECORDING_FAILED,
    RECORDING_PENDING,
    RECORDING_RATING,
    RECORDING_REASON,
    SERVICE_KINDS,
)

# Verdicts once the caller is reached (contract: `resolution`), domain.md rule 7.
RESOLUTION_ON_THE_SPOT = "on_the_spot"  # 当场解决: closed once the feedback is recorded
RESOLUTION_RECTIFY_5D = "rectify_5d"  # 当场难以解决: rectify within 5 days
RESOLUTION_RECTIFY_15D = "rectify_15d"  # 情况较为复杂: rectify within 15 days
RESOLUTION_EXPLAINED = "explained"  # 缺乏法定依据, 做好解释说明
RESOLUTION_MISTAKEN = "mistaken"  # 误评: needs a supervisor's approval
RESOLUTION_MALICIOUS = "malicious"  # 恶意差评: needs a supervisor's approval
RESOLUTIONS = (
    RESOLUTION_ON_THE_SPOT,
    RESOLUTION_RECTIFY_5D,
    RESOLUTION_RECTIFY_15D,
    RESOLUTION_EXPLAINED,
    RESOLUTION_MISTAKEN,
    RESOLUTION_MALICIOUS,
)

# Console roles.
ROLE_ADMIN = "admin"  # manages users and departments
ROLE_SUPERVISOR = "supervisor"  # sees every queue, approves mistaken/malicious verdicts
ROLE_STAFF = "staff"  # works the callback queue of one department
ROLES = (ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_STAFF)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {datetime: UTCDateTime}


class Call(Base):
    """One hotline call that reached (or could have reached) the survey."""

    __tablename__ = "calls"
    # The default-rating sweep looks for unrated calls by age.
    __table_args__ = (
        Index("ix_calls_disposition_created_at", "disposition", "created_at"),
        Index("ix_calls_agent_created_at", "agent", "created_at"),  # an agent's scorecard
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    caller: Mapped[str | None] = mapped_column(String(32))
    caller_tail: Mapped[str | None] = mapped_column(String(4), index=True)  # set by `_tail`
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
    kind: Mapped[str] = mapped_column(
        String(16), default=KIND_HOTLINE, server_default=text("'hotline'")
    )
    # A `later` call rates this earlier call (the rating is stored there).
    rates_call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    # The other party of a proxy (帮办代办) pair: one rating closes both.
    linked_call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), index=True
    )

    tickets: Mapped[list[CallTicket]] = relationship(
        back_populates="call", order_by="CallTicket.position", cascade="all, delete-orphan"
    )
    rating: Mapped[Rating | None] = relationship(back_populates="call")
    callback: Mapped[Callback | None] = relationship(back_populates="call")
    recordings: Mapped[list[Recording]] = relationship(order_by="Recording.id")
    linked_call: Mapped[Call | None] = relationship(
        foreign_keys=[linked_call_id], remote_side=[id], back_populates="linked_by"
    )
    linked_by: Mapped[list[Call]] = relationship(
        foreign_keys=[linked_call_id], back_populates="linked_call", viewonly=True
    )
    rates_call: Mapped[Call | None] = relationship(foreign_keys=[rates_call_id], remote_side=[id])

    @validates("caller")
    def _tail(self, key: str, value: str | None) -> str | None:
        """The caller's last 4 digits are kept beside it (the header search, indexed)."""
        self.caller_tail = phone_tail(value)
        return value


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
    # Not counted in the figures: verified as mistaken or malicious (误评/恶意差评).
    excluded: Mapped[bool] = mapped_column(default=False, server_default=text("false"))

    call: Mapped[Call] = relationship(back_populates="rating")


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
    __table_args__ = (
        Index("ix_callbacks_state_due_at", "state", "due_at"),
        Index("ix_callbacks_state_rectify_due_at", "state", "rectify_due_at"),
    )

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
    # The workflow (storage/workflow/callbacks.py): attempts, verdict, rectification, feedback.
    failed_attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    reached_at: Mapped[datetime | None]
    verdict_at: Mapped[datetime | None]
    verdict_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verdict_note: Mapped[str | None] = mapped_column(Text)
    # Working days counted on weekends only: the holiday calendar did not know a year.
    rectify_due_fallback: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    rectify_overdue: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    rectification: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list[str] | None] = mapped_column(JSON)  # file keys (storage/records/files.py)
    feedback: Mapped[str | None] = mapped_column(String(16))  # the caller's, on the result
    closed_at: Mapped[datetime | None]
    # The clocks (storage/workflow/clocks.py): every deadline counts from `clock_start_at`, the
    # moment the 差评 was forwarded (or the supervisor's reopening); `round` counts reopenings.
    clock_start_at: Mapped[datetime | None]
    contact_due_at: Mapped[datetime | None]  # first contact (1 working day), where configured
    contact_overdue: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    round: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Failed attempts counted toward `unreachable` (spaced, spread over days), as UTC ISO.
    attempt_times: Mapped[list[str] | None] = mapped_column(JSON)
    # The named person (专人) who owns the case.
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # "<step>:<round>" once the assignee was told the step is due within 4 hours.
    due_soon_sent: Mapped[str | None] = mapped_column(String(32))

    call: Mapped[Call] = relationship(back_populates="callback")
    rating: Mapped[Rating] = relationship()
    events: Mapped[list[CallbackEvent]] = relationship(order_by="CallbackEvent.id", viewonly=True)
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    consults: Mapped[list[CallbackConsult]] = relationship(
        order_by="CallbackConsult.id", viewonly=True
    )


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


class User(Base):
    """A console user; only a salted hash of the password is kept (storage/access/users.py)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    dept: Mapped[str | None] = mapped_column(String(64), index=True)  # a Department.code
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    phone: Mapped[str | None] = mapped_column(String(32))  # for SMS notifications


class Department(Base):
    """A responsible unit (承办单位), by the code calls carry in `dept`."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    head_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    head: Mapped[User | None] = relationship()


class Agent(Base):
    """A hotline agent (话务员) by the code calls carry in `agent`, with a name to show."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    dept: Mapped[str | None] = mapped_column(String(64), index=True)  # a Department.code
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CallbackEvent(Base):
    """Append-only history of a callback: every change and every refused attempt."""

    __tablename__ = "callback_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    callback_id: Mapped[int] = mapped_column(
        ForeignKey("callbacks.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(64))  # "system" for the sweep
    kind: Mapped[str] = mapped_column(String(32))  # attempt, verdict, approved, refused, …
    action: Mapped[str | None] = mapped_column(String(32))  # what was asked for
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A form's one-time key: the same submission twice changes nothing the second time.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    @validates("kind", "action", "from_state", "to_state", "note", "detail")
    def _append_only(self, key: str, value: Any) -> Any:
        if self.id is not None:
            raise ValueError("callback events are append-only")
        return value


# Reminders, opt-outs and closure surveys: own module (imported: `Base.metadata` knows it).
# The supervisors' console (audit trail, figures rollup, spot checks), in their own module.
import storage.records.media_streams  # noqa: E402,F401  (its table is registered on Base)
from storage.models_review import (  # noqa: E402, F401
    Holiday,
    HolidayYear,
    MaliciousRater,
    VerificationCheck,
    VerificationItem,
)
from storage.models_supervision import (  # noqa: E402, F401
    AuditEntry,
    FigureDay,
    FigureState,
    PublicCase,
    SpotCheck,
    SpotCheckItem,
)
from storage.models_surveys import (  # noqa: E402, F401
    ClosureSurvey,
    SmsOptOut,
    SmsReminder,
)

# Escalations, notifications, 会商 and notification deliveries, in their own module.
from storage.models_workflow import (  # noqa: E402, F401
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    DELIVERY_SENT,
    CallbackConsult,
    Escalation,
    Notification,
    NotificationDelivery,
)
