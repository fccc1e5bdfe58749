"""Records of the supervisors' console: the audit trail, the figures rollup, spot checks.

Imported at the end of `storage.models`, so these tables share its metadata.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models import Base, Call, Callback
from storage.types import utcnow


class DrawnSample:
    """What every drawn sample records (抽查, 监督查评): who drew it when, over which
    period, with which seed, rate or count, and from how many candidates."""

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_name: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[date]
    period_end: Mapped[date]  # inclusive
    seed: Mapped[int] = mapped_column(BigInteger)
    rate: Mapped[float | None]
    count: Mapped[int | None]
    population: Mapped[int] = mapped_column(default=0)


class AuditEntry(Base):
    """Who did (or was refused) what in the console: playbacks, reveals, exports, 403s."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))  # listen, reveal, export, refused, …
    target: Mapped[str] = mapped_column(String(255))  # e.g. recording:12, page:/console/figures
    allowed: Mapped[bool] = mapped_column(default=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class FigureDay(Base):
    """Counts of one hotline day for one department and agent ('' when unknown).

    Kept by `storage.reports.figures.refresh`: a day is recomputed from the calls whenever one
    of its calls changed, so the figures page adds up a few rows per day.
    """

    __tablename__ = "figures_daily"
    __table_args__ = (UniqueConstraint("day", "dept", "agent"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(index=True)
    dept: Mapped[str] = mapped_column(String(64), default="")
    agent: Mapped[str] = mapped_column(String(64), default="")
    calls: Mapped[int] = mapped_column(default=0)
    rated: Mapped[int] = mapped_column(default=0)  # counted ratings (not excluded)
    active: Mapped[int] = mapped_column(default=0)  # of those, given by the caller
    good: Mapped[int] = mapped_column(default=0)
    neutral: Mapped[int] = mapped_column(default=0)
    bad: Mapped[int] = mapped_column(default=0)
    excluded: Mapped[int] = mapped_column(default=0)  # mistaken or malicious: not counted
    not_adopted: Mapped[int] = mapped_column(default=0)
    cb_settled: Mapped[int] = mapped_column(default=0)  # reached, overdue or unreachable
    cb_in_time: Mapped[int] = mapped_column(default=0)  # reached within 48 h
    cb_pending: Mapped[int] = mapped_column(default=0)  # open, not yet due
    rect_settled: Mapped[int] = mapped_column(default=0)  # closed or overdue rectifications
    rect_on_time: Mapped[int] = mapped_column(default=0)
    realname_bad: Mapped[int] = mapped_column(default=0)
    realname_followed: Mapped[int] = mapped_column(default=0)  # closed, caller's feedback heard
    # Closed without the caller's feedback (未能反馈): not counted as followed up.
    realname_unconfirmed: Mapped[int] = mapped_column(default=0, server_default="0")
    anonymous_bad: Mapped[int] = mapped_column(default=0, server_default="0")  # no number
    served: Mapped[int] = mapped_column(default=0)  # calls an agent served (主动评价率's base)
    # The five levels of the counted ratings (the distribution).
    very_satisfied: Mapped[int] = mapped_column(default=0)
    satisfied: Mapped[int] = mapped_column(default=0)
    basically_satisfied: Mapped[int] = mapped_column(default=0)
    dissatisfied: Mapped[int] = mapped_column(default=0)
    very_dissatisfied: Mapped[int] = mapped_column(default=0)


class FigureState(Base):
    """The rollup's watermark: calls changed before `refreshed_until` are counted."""

    __tablename__ = "figures_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    refreshed_until: Mapped[datetime]


class SpotCheck(DrawnSample, Base):
    """A random sample (抽查, 第十六条) of closed callbacks, drawn reproducibly from `seed`."""

    __tablename__ = "spot_checks"

    dept: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)

    items: Mapped[list[SpotCheckItem]] = relationship(
        order_by="SpotCheckItem.position", cascade="all, delete-orphan"
    )


class SpotCheckItem(Base):
    """One sampled callback, and its score against the checklist once checked."""

    __tablename__ = "spot_check_items"
    __table_args__ = (
        UniqueConstraint("spot_check_id", "callback_id"),
        Index("ix_spot_check_items_callback_id", "callback_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_checks.id", ondelete="CASCADE"))
    callback_id: Mapped[int] = mapped_column(ForeignKey("callbacks.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    scores: Mapped[dict[str, bool] | None] = mapped_column(JSON)  # checklist item → passed
    passed: Mapped[bool | None]
    finding: Mapped[str | None] = mapped_column(Text)
    # Answers that differ from the record's fact: checklist item → {"fact", "reason"}.
    overrides: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    scored_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    scored_by_name: Mapped[str | None] = mapped_column(String(64))
    scored_at: Mapped[datetime | None]


class PublicCase(Base):
    """A good or bad case chosen by a supervisor for the public summary (方案 三).

    `summary` is written for publication: no names, numbers or other personal data.
    """

    __tablename__ = "public_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # good or bad
    title: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# The calls list and the figures rollup read calls by day.
Index("ix_calls_created_at", Call.created_at)
# The console's pages at a million calls (migration 0013): one department's calls newest
# first; the wallboard's counts of active callbacks (from the index alone); the bad
# ratings of the last day or of a period (clusters, problems).
Index("ix_calls_dept_created_at", Call.dept, Call.created_at)
Index(
    "ix_callbacks_board",
    *(Callback.state, Callback.dept, Callback.due_at, Callback.rectify_due_at),
    *(Callback.call_id, Callback.rating_id),  # the cases not yet due, joined to their calls
)
Index("ix_callbacks_created_at", Callback.created_at)
# The queue of every state, nearest deadline first (ivr/console/queue.py).
Index("ix_callbacks_deadline", func.coalesce(Callback.rectify_due_at, Callback.due_at), Callback.id)
