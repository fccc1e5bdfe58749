"""监督查评 (the 工作方案's verification of raters): is a rating real?

Supervisors draw a seeded random share of *all* rated calls of a period (every
category, 7-day defaults included), call each caller back, and record the outcome:
the caller confirms the rating, denies having rated, or cannot be reached. The
population is every rated service call (hotline or ticket closure) whose hotline day
falls in the period, ordered by call id; the sample is `random.Random(seed).sample` of
it (as for spot checks), so the same period and seed give the same sample.

The share confirmed is confirmed / (confirmed + denied): an unreachable caller says
nothing about the rating and is counted apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from storage.models import SERVICE_KINDS, Call, Rating, User
from storage.models_review import (
    CONFIRMED,
    DENIED,
    OUTCOMES,
    UNREACHABLE,
    VerificationCheck,
    VerificationItem,
)
from storage.reports.figures import Period
from storage.types import utcnow
from storage.workflow.deadlines import end_of_day, start_of_day
from storage.workflow.spotchecks import SampleSize, SpotCheckError, new_sample

MAX_NOTE = 2000


class VerificationError(SpotCheckError):
    """A sample or an outcome that cannot be recorded as asked; the message says why."""


def _in_period(period: Period):
    return (Call.created_at >= start_of_day(period.start), Call.created_at < end_of_day(period.end))


def population(session: Session, period: Period) -> list[int]:
    """Ids of the rated service calls of the period's days, in id order."""
    statement = (
        select(Call.id)
        .join(Rating, Rating.call_id == Call.id)
        .where(*_in_period(period), Call.kind.in_(SERVICE_KINDS))
        .order_by(Call.id)
    )
    return list(session.scalars(statement))


def draw(session: Session, user: User, period: Period, size: SampleSize) -> VerificationCheck:
    """Draw and keep a sample of the period's rated service calls."""
    ids = population(session, period)
    if not ids:
        raise VerificationError("该期间没有已评价的来电可供查评。")
    try:
        check, chosen = new_sample(VerificationCheck, user, period, ids, size)
    except SpotCheckError as error:
        raise VerificationError(str(error)) from None
    ratings = {
        rating.call_id: rating
        for rating in session.scalars(select(Rating).where(Rating.call_id.in_(chosen)))
    }
    check.items = [
        VerificationItem(
            call_id=call_id,
            position=n,
            level=ratings[call_id].level,
            source=ratings[call_id].source,
        )
        for n, call_id in enumerate(chosen)
    ]
    session.add(check)
    session.flush()
    return check


def record_outcome(
    session: Session, user: User, item: VerificationItem, outcome: str, note: str = ""
) -> VerificationItem:
    """Record what the verification call found (it may be corrected later, by anyone)."""
    if outcome not in OUTCOMES:
        raise VerificationError("请选择查评结果：属实、来电人否认评价或联系不上。")
    note = note.strip()[:MAX_NOTE]
    if outcome == DENIED and not note:
        raise VerificationError("来电人否认评价时，请写明核实情况。")
    item.outcome, item.note = outcome, note or None
    item.recorded_by_id, item.recorded_by_name, item.recorded_at = user.id, user.username, utcnow()
    return item


@dataclass(frozen=True)
class VerificationTally:
    """Outcomes recorded for sampled calls: how many confirmed, denied, unreachable."""

    sampled: int = 0
    confirmed: int = 0
    denied: int = 0
    unreachable: int = 0

    @property
    def recorded(self) -> int:
        return self.confirmed + self.denied + self.unreachable

    @property
    def confirmed_share(self) -> float | None:
        """Confirmed among the callers reached (confirmed + denied)."""
        reached = self.confirmed + self.denied
        return self.confirmed / reached if reached else None


def tally_items(items: list[VerificationItem]) -> VerificationTally:
    """The tally of one sample."""
    outcomes = [item.outcome for item in items]
    return VerificationTally(
        len(items), outcomes.count(CONFIRMED), outcomes.count(DENIED), outcomes.count(UNREACHABLE)
    )


def tally(session: Session, period: Period) -> VerificationTally:
    """The tally over every sample, of the rated calls made in `period` (each call once).

    Read from the sampled items (few), each checked against its call's day: not from
    the period's calls (a year holds a million) probed for a sample."""
    sampled_in_period = exists().where(Call.id == VerificationItem.call_id, *_in_period(period))
    latest = (
        select(VerificationItem.call_id, func.max(VerificationItem.recorded_at).label("at"))
        .where(sampled_in_period, VerificationItem.outcome.is_not(None))
        .group_by(VerificationItem.call_id)
        .subquery()
    )
    outcomes = session.scalars(
        select(VerificationItem.outcome).join(
            latest,
            (latest.c.call_id == VerificationItem.call_id)
            & (latest.c.at == VerificationItem.recorded_at),
        )
    ).all()
    sampled = session.scalar(
        select(func.count(func.distinct(VerificationItem.call_id))).where(sampled_in_period)
    )
    return VerificationTally(
        sampled or 0, outcomes.count(CONFIRMED), outcomes.count(DENIED), outcomes.count(UNREACHABLE)
    )
