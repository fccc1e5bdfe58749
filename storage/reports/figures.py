"""The figures the policy asks for, for any period and grouping, from the daily rollup.

Definitions (excluded ratings, i.e. mistaken or malicious 误评/恶意差评, count nowhere
except in `excluded` and `not_adopted`):

- rated: counted ratings, the 7-day default (基本满意) included;
- 主动评价率 active rate: ratings given by the caller (key or speech) / served calls
  (calls an agent served: not `not_served`, not a call to the survey line);
- 好评率 / 中评率 / 差评率: good / neutral / bad ratings / rated;
- 48 小时回访率 callback rate: bad ratings whose callback reached the caller within
  48 h / bad ratings whose callback is settled (reached, overdue or unreachable);
  callbacks still open and not yet due are `cb_pending`, in neither;
- 按期整改率 on-time rectification rate: rectifications (5 or 15 days) closed by their
  deadline / rectifications closed or overdue;
- 实名差评回访整改率 real-name follow-up rate: real-name (caller ID known) bad ratings
  whose callback is closed with the caller's feedback / all real-name bad ratings
  (target 100 %); closed with feedback `not_reached` (未能反馈) is `realname_unconfirmed`,
  shown apart and not counted as followed up;
- anonymous 差评 (no caller number, `anonymous` callbacks): `anonymous_bad`, counted apart;
- 不予采纳 not adopted: bad ratings verified as mistaken or malicious.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callflows.vocabulary import LEVELS
from storage.models import FigureDay

GROUPS = ("dept", "agent", "day", "week", "month")
COUNTS = (
    "calls",
    "rated",
    "active",
    "good",
    "neutral",
    "bad",
    "excluded",
    "not_adopted",
    "cb_settled",
    "cb_in_time",
    "cb_pending",
    "rect_settled",
    "rect_on_time",
    "realname_bad",
    "realname_followed",
    "realname_unconfirmed",
    "anonymous_bad",
    "served",
    *LEVELS,  # the distribution of the counted ratings
)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class Rate:
    """A rate of a `FigureRow`: one of its counts over another (None when that is 0)."""

    def __init__(self, part: str, whole: str) -> None:
        self.part, self.whole = part, whole

    def __get__(self, row: object, owner: type | None = None) -> float | None:
        return _rate(getattr(row, self.part), getattr(row, self.whole))


@dataclass
class FigureRow:
    """The counts of one group (or the whole period) and the rates made from them."""

    key: str
    calls: int = 0
    rated: int = 0
    active: int = 0
    good: int = 0
    neutral: int = 0
    bad: int = 0
    excluded: int = 0
    not_adopted: int = 0
    cb_settled: int = 0
    cb_in_time: int = 0
    cb_pending: int = 0
    rect_settled: int = 0
    rect_on_time: int = 0
    realname_bad: int = 0
    realname_followed: int = 0
    realname_unconfirmed: int = 0
    anonymous_bad: int = 0
    served: int = 0
    very_satisfied: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    dissatisfied: int = 0
    very_dissatisfied: int = 0

    def add(self, other: FigureRow) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    active_rate = Rate("active", "served")
    good_rate = Rate("good", "rated")
    neutral_rate = Rate("neutral", "rated")
    bad_rate = Rate("bad", "rated")
    callback_rate = Rate("cb_in_time", "cb_settled")
    rectify_rate = Rate("rect_on_time", "rect_settled")
    followup_rate = Rate("realname_followed", "realname_bad")

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in RATES:
            data[name] = getattr(self, name)
        return data


# The rates, in the order pages and exports show them.
RATES = tuple(name for name, value in vars(FigureRow).items() if isinstance(value, Rate))


@dataclass(frozen=True)
class Period:
    """Hotline days from `start` to `end`, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")


def bucket(day: date, group: str) -> str:
    """The key of `day` in a time grouping: 2026-11-28, 2026-W48 or 2026-11."""
    if group == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if group == "month":
        return f"{day.year}-{day.month:02d}"
    return day.isoformat()


def figures(
    session: Session, period: Period, group: str, dept: str | None = None, agent: str | None = None
) -> tuple[FigureRow, list[FigureRow]]:
    """The period's totals and one row per group (time groups in order, others by key).

    Reads the rollup only; call `storage.reports.figures_rollup.refresh` first for fresh counts.
    """
    if group not in GROUPS:
        raise ValueError(f"unknown grouping {group!r}: one of {', '.join(GROUPS)}")
    if group in ("dept", "agent"):
        keys = [FigureDay.dept] + ([FigureDay.agent] if group == "agent" else [])
    else:
        keys = [FigureDay.day]
    statement = _sums(period, dept, agent, keys).group_by(*keys).order_by(*keys)
    total = FigureRow(key="合计")
    groups: dict[str, FigureRow] = {}
    for row in session.execute(statement):
        values = row._mapping
        if group in ("dept", "agent"):
            key = "/".join(str(values[k.key]) or "—" for k in keys)
        else:
            key = bucket(values["day"], group)
        counts = FigureRow(key=key, **{name: int(values[name] or 0) for name in COUNTS})
        groups.setdefault(key, FigureRow(key=key)).add(counts)
        total.add(counts)
    return total, list(groups.values())


def totals(
    session: Session, period: Period, dept: str | None = None, agent: str | None = None
) -> FigureRow:
    """The period's totals alone, summed by the database (环比 and 同比 need no rows)."""
    values = session.execute(_sums(period, dept, agent)).one()._mapping
    return FigureRow(key="合计", **{name: int(values[name] or 0) for name in COUNTS})


def _sums(period: Period, dept: str | None, agent: str | None, keys: list | None = None):
    """The rollup's counts summed over `period` (per `keys`, when given)."""
    sums = [func.sum(getattr(FigureDay, name)).label(name) for name in COUNTS]
    statement = select(*(keys or ()), *sums).where(
        FigureDay.day >= period.start, FigureDay.day <= period.end
    )
    if dept:
        statement = statement.where(FigureDay.dept == dept)
    if agent:
        statement = statement.where(FigureDay.agent == agent)
    return statement


def buckets(period: Period, group: str) -> list[str]:
    """Every key of a time grouping in the period, in order: days without calls kept."""
    keys: list[str] = []
    day = period.start
    while day <= period.end:
        key = bucket(day, group)
        if not keys or keys[-1] != key:
            keys.append(key)
        day = day.fromordinal(day.toordinal() + 1)
    return keys


def with_empty_buckets(rows: list[FigureRow], period: Period, group: str) -> list[FigureRow]:
    """`rows` of a time grouping with a zero row for every day/week/month without calls."""
    found = {row.key: row for row in rows}
    return [found.get(key) or FigureRow(key=key) for key in buckets(period, group)]


def ranking(rows: list[FigureRow], by: str = "good_rate") -> list[FigureRow]:
    """Rows best first by a rate (rows without the rate last), then by rated count."""
    return sorted(rows, key=lambda r: (getattr(r, by) is None, -(getattr(r, by) or 0), -r.rated))
