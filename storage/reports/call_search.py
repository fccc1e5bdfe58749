"""The calls list's filters: parsed from a form, turned into one SQL statement.

Used by the console's list and by its exports, so both show the same calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import aliased, selectinload

import prompts
from callflows.vocabulary import CATEGORIES, DISPOSITIONS, LEVELS, SOURCES
from storage.models import Call, Rating, Recording
from storage.workflow.deadlines import end_of_day, start_of_day

MAX_RANGE_DAYS = 3660


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2199, 12, 31)  # any call's day, with room


class FilterError(ValueError):
    """A filter value that makes no sense; the message (Chinese) says which and why."""


@dataclass(frozen=True)
class CallFilter:
    """What the supervisor asked for; empty fields filter nothing."""

    date_from: date | None = None
    date_to: date | None = None
    dept: str = ""
    agent: str = ""
    level: str = ""
    category: str = ""
    source: str = ""
    disposition: str = ""
    has_recording: str = ""  # "yes", "no" or ""
    lang: str = ""

    def query_args(self) -> dict[str, str]:
        """The filter as query-string arguments (for pagination and export links)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value:
                out[f.name] = value.isoformat() if isinstance(value, date) else value
        return out


def _day(raw: str, name: str) -> date | None:
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise FilterError(f"{name}不是有效日期（格式 2026-11-28）：{raw[:20]}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise FilterError(f"{name}超出范围（{FIRST_DAY.year} 年至 {LAST_DAY.year} 年）：{raw[:20]}")
    return day


def _choice(raw: str, allowed: tuple[str, ...], name: str) -> str:
    if raw and raw not in allowed:
        raise FilterError(f"{name}的取值无效：{raw[:32]}")
    return raw


def parse_filter(args: Mapping[str, str]) -> CallFilter:
    """A `CallFilter` from request arguments; `FilterError` when a value is invalid."""
    get = lambda name: (args.get(name) or "").strip()  # noqa: E731
    date_from, date_to = _day(get("date_from"), "开始日期"), _day(get("date_to"), "结束日期")
    if date_from and date_to:
        if date_to < date_from:
            raise FilterError("结束日期早于开始日期。")
        if (date_to - date_from).days > MAX_RANGE_DAYS:
            raise FilterError("日期范围过大（最多十年）。")
    return CallFilter(
        date_from=date_from,
        date_to=date_to,
        dept=get("dept")[:64],
        agent=get("agent")[:64],
        level=_choice(get("level"), LEVELS, "评价等级"),
        category=_choice(get("category"), CATEGORIES, "评价类别"),
        source=_choice(get("source"), SOURCES, "评价方式"),
        disposition=_choice(get("disposition"), DISPOSITIONS, "结束方式"),
        has_recording=_choice(get("has_recording"), ("yes", "no"), "是否有录音"),
        lang=_choice(get("lang"), tuple(prompts.available_languages()), "语言"),
    )


def search(f: CallFilter) -> Select:
    """Calls matching `f`, newest first, with their rating, callback and tickets loaded."""
    statement = select(Call).options(
        selectinload(Call.rating), selectinload(Call.callback), selectinload(Call.tickets)
    )
    return narrow(statement, f).order_by(Call.created_at.desc(), Call.id.desc())


def count(f: CallFilter) -> Select:
    """How many calls match `f` (for the list's total). `count(*)`, which SQLite answers
    from the smallest index (4× faster than `count(id)` at a million calls)."""
    return narrow(select(func.count()).select_from(Call), f)


def narrow(statement: Select, f: CallFilter) -> Select:
    """`statement` (over calls) restricted to the calls matching `f`."""
    if f.date_from:
        statement = statement.where(Call.created_at >= start_of_day(f.date_from))
    if f.date_to:
        statement = statement.where(Call.created_at < end_of_day(f.date_to))
    for name in ("dept", "agent", "disposition", "lang"):
        if getattr(f, name):
            statement = statement.where(getattr(Call, name) == getattr(f, name))
    if f.level or f.category or f.source:
        rating = aliased(Rating)  # the statement may join ratings itself
        rated = select(rating.call_id).where(rating.call_id == Call.id)
        for name in ("level", "category", "source"):
            if getattr(f, name):
                rated = rated.where(getattr(rating, name) == getattr(f, name))
        statement = statement.where(rated.exists())
    if f.has_recording:
        has = exists().where(Recording.call_id == Call.id, Recording.file_key.is_not(None))
        statement = statement.where(has if f.has_recording == "yes" else ~has)
    return statement
