"""Spot checks (抽查, 第十六条): a reproducible random sample of finished callbacks, scored.

The population is every callback finished (closed, or not adopted) on a hotline day of
the period, optionally of one department, ordered by id; the sample is
`random.Random(seed).sample` of it, so the same population and seed give the same
sample: anyone can check that a sample was not hand-picked.
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import (
    CALLBACK_CLOSED,
    CALLBACK_NOT_ADOPTED,
    Callback,
    SpotCheck,
    SpotCheckItem,
    User,
)
from storage.models_supervision import DrawnSample
from storage.reports.figures import Period
from storage.types import utcnow
from storage.workflow.deadlines import end_of_day, start_of_day
from storage.workflow.spotcheck_facts import facts

Sample = TypeVar("Sample", bound=DrawnSample)

CHECKLIST: tuple[tuple[str, str], ...] = (
    ("callback_in_time", "48 小时内回访到来电人"),
    ("verdict_grounded", "核实结论有据、分类正确"),
    ("rectified", "整改落实或解释说明到位"),
    ("evidence", "证明材料齐全、可核验"),
    ("fed_back", "处理结果已反馈来电人"),
)
MAX_SAMPLE = 500
MAX_FINDING = 4000


class SpotCheckError(ValueError):
    """A sample or a score that cannot be made as asked; the message (Chinese) says why."""


@dataclass(frozen=True)
class SampleSize:
    """How big a sample to draw: a `rate` (a share) or a `count`, and the random `seed`
    (a new one unless given, to redraw a sample)."""

    rate: float | None = None
    count: int | None = None
    seed: int | None = None


def population(session: Session, period: Period, dept: str | None = None) -> list[int]:
    """Ids of the callbacks finished on the period's days (of `dept`), in id order."""
    statement = select(Callback.id).where(
        Callback.state.in_((CALLBACK_CLOSED, CALLBACK_NOT_ADOPTED)),
        Callback.closed_at >= start_of_day(period.start),
        Callback.closed_at < end_of_day(period.end),
    )
    if dept:
        statement = statement.where(Callback.dept == dept)
    return list(session.scalars(statement.order_by(Callback.id)))


def sample_size(size: int, rate: float | None, count: int | None) -> int:
    """How many to draw from `size`: a count, or a rate (rounded up, at least one)."""
    if (rate is None) == (count is None):
        raise SpotCheckError("请给出抽查比例或抽查数量（二选一）。")
    if rate is not None:
        if not 0 < rate <= 1:
            raise SpotCheckError("抽查比例应在 0 到 100% 之间。")
        wanted = math.ceil(size * rate)
    else:
        assert count is not None
        if count < 1:
            raise SpotCheckError("抽查数量至少为 1。")
        wanted = count
    return min(wanted, size, MAX_SAMPLE)


def sample_ids(ids: Sequence[int], k: int, seed: int) -> list[int]:
    """The sample of `k` ids drawn with `seed`, in id order (the reproducible part)."""
    return sorted(random.Random(seed).sample(list(ids), k))


def new_sample(
    model: type[Sample], user: User, period: Period, ids: Sequence[int], size: SampleSize
) -> tuple[Sample, list[int]]:
    """A new sample record drawn by `user` from `ids` (its items still to add), and the ids
    chosen as `size` asks."""
    k = sample_size(len(ids), size.rate, size.count)
    seed = secrets.randbelow(2**31) if size.seed is None else size.seed
    check = model(
        created_by_id=user.id,
        created_by_name=user.username,
        period_start=period.start,
        period_end=period.end,
        seed=seed,
        rate=size.rate,
        count=size.count,
        population=len(ids),
    )
    return check, sample_ids(ids, k, seed)


def draw(
    session: Session, user: User, period: Period, size: SampleSize, dept: str | None = None
) -> SpotCheck:
    """Draw and keep a sample of the period's finished callbacks (of `dept`)."""
    ids = population(session, period, dept)
    if not ids:
        raise SpotCheckError("该期间（及部门）没有已办结的回访可供抽查。")
    check, chosen = new_sample(SpotCheck, user, period, ids, size)
    check.dept = dept or None
    check.items = [SpotCheckItem(callback_id=cb, position=n) for n, cb in enumerate(chosen)]
    session.add(check)
    session.flush()
    return check


def score(
    session: Session,
    user: User,
    item: SpotCheckItem,
    answers: Mapping[str, bool | None],
    finding: str,
    reasons: Mapping[str, str] | None = None,
) -> SpotCheckItem:
    """Score one sampled callback: every checklist item answered (none by default); an
    answer other than the record's fact needs a reason (kept in `overrides`)."""
    unknown = set(answers) - {code for code, _ in CHECKLIST}
    if unknown:
        raise SpotCheckError(f"未知的检查项：{', '.join(sorted(unknown))}")
    names = dict(CHECKLIST)
    missing = [names[code] for code, _ in CHECKLIST if answers.get(code) is None]
    if missing:
        raise SpotCheckError(f"请逐项作答：{'、'.join(missing)}")
    record = facts(session.get_one(Callback, item.callback_id))
    overrides = {}
    for code, _ in CHECKLIST:
        fact = record[code].answer
        if fact is not None and answers[code] != fact:
            reason = ((reasons or {}).get(code) or "").strip()[:500]
            if not reason:
                raise SpotCheckError(f"「{names[code]}」与记录不一致，请写明理由。")
            overrides[code] = {"fact": fact, "reason": reason}
    item.scores = {code: bool(answers[code]) for code, _ in CHECKLIST}
    item.overrides = overrides or None
    item.passed = all(item.scores.values())
    item.finding = finding.strip()[:MAX_FINDING] or None
    if not item.passed and not item.finding:
        raise SpotCheckError("有不合格项时，请写明发现的问题。")
    item.scored_by_id, item.scored_by_name, item.scored_at = user.id, user.username, utcnow()
    return item


@dataclass(frozen=True)
class SpotCheckReport:
    """A sample's results: how many scored and passed, and failures per checklist item."""

    sampled: int
    scored: int
    passed: int
    failures: dict[str, int]

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.scored if self.scored else None


def report(check: SpotCheck) -> SpotCheckReport:
    scored = [item for item in check.items if item.scores is not None]
    failures = {code: 0 for code, _ in CHECKLIST}
    for item in scored:
        for code, ok in (item.scores or {}).items():
            failures[code] += not ok
    return SpotCheckReport(
        sampled=len(check.items),
        scored=len(scored),
        passed=sum(1 for item in scored if item.passed),
        failures=failures,
    )
