"""Records of holidays (the State Council's yearly notice), 监督查评 verification samples
and raters found malicious.

Imported at the end of `storage.models`, so these tables share its metadata.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models import Base
from storage.models_supervision import DrawnSample
from storage.types import utcnow

# A day of the holiday table (`Holiday.kind`).
DAY_OFF = "off"  # 休: a public holiday, or a weekday off by 调休
DAY_WORK = "work"  # 班: a make-up working day (usually a weekend)

# The outcome of a 监督查评 verification call (`VerificationItem.outcome`).
CONFIRMED = "confirmed"  # the caller confirms having given this rating
DENIED = "denied"  # the caller denies having rated
UNREACHABLE = "unreachable"  # the caller could not be reached
OUTCOMES = (CONFIRMED, DENIED, UNREACHABLE)


class HolidayYear(Base):
    """A year whose schedule was imported (`ivr holidays import`): its notice is the authority."""

    __tablename__ = "holiday_years"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    notice: Mapped[str] = mapped_column(String(200))
    days_off: Mapped[int] = mapped_column(default=0)
    make_up_days: Mapped[int] = mapped_column(default=0)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(64))


class Holiday(Base):
    """One day of a notice: off (休) or a make-up working day (班)."""

    __tablename__ = "holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(50))
    year: Mapped[int] = mapped_column(index=True)  # the notice's year (a 班 may fall before it)


class VerificationCheck(DrawnSample, Base):
    """A 监督查评 sample: a seeded random share of all rated calls of a period."""

    __tablename__ = "verification_checks"

    items: Mapped[list[VerificationItem]] = relationship(
        order_by="VerificationItem.position", cascade="all, delete-orphan"
    )


class VerificationItem(Base):
    """One sampled rated call and the outcome of its verification call."""

    __tablename__ = "verification_items"
    __table_args__ = (
        UniqueConstraint("check_id", "call_id"),
        Index("ix_verification_items_outcome_at", "outcome", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("verification_checks.id", ondelete="CASCADE"))
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    level: Mapped[str] = mapped_column(String(32))  # the rating as drawn
    source: Mapped[str] = mapped_column(String(16))  # dtmf, speech or default
    outcome: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_by_name: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime | None]


class MaliciousRater(Base):
    """A number whose 差评 was approved as malicious, kept only as a keyed hash."""

    __tablename__ = "malicious_raters"

    id: Mapped[int] = mapped_column(primary_key=True)
    number_hash: Mapped[str] = mapped_column(String(64), index=True)
    callback_id: Mapped[int] = mapped_column(
        ForeignKey("callbacks.id", ondelete="CASCADE"), unique=True
    )
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    dept: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[str] = mapped_column(String(64))
