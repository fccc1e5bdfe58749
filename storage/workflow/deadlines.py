"""Deadline arithmetic for callbacks, rectifications and default ratings.

Days are counted in the hotline's time zone (`HOTLINE_TZ`, default Asia/Shanghai);
every time returned is an aware UTC `datetime`, as stored. The definitions follow the
Civil Code's rule for periods counted in days (第二百零一条, 第二百零三条): the day
on which the period starts is not counted, and the period ends at 24:00 of its last day.

- **Callback** (回访核实): due exactly 48 hours after the rating, whatever the setting
  (`storage.records.calls.CALLBACK_DUE_AFTER`).
- **Rectification within N days** (5 or 15): the verdict is given on local day D.
  With natural days (`DEADLINE_DAYS=natural`, the default) the last day is D+N; with
  working days (`DEADLINE_DAYS=working`) it is the N-th working day after D, Chinese
  public holidays and make-up working days (调休) included. Either way the deadline is
  the end of that last day: 00:00 of the next day, local time. Natural days are never
  extended for holidays: the 工作规范 counts them as plain calendar days.
- **Default rating** (7 natural days): a call made on local day D that is still unrated
  at the end of D+7 gets 基本满意; `default_rating_due` is 00:00 local of D+8.

Working days come from the holiday table imported from the State Council's notice
(`ivr holidays import`, `storage.workflow.holidays`), then from the `chinesecalendar` package
(module `chinese_calendar`), which knows each year once the State Council has published
its schedule (each autumn for the next year) and a release has followed. For a year
neither knows, weekends alone are counted as days off; such a deadline is flagged
(`Deadline.fallback`) and a WARNING is logged, so that a page can say the deadline is
provisional.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import chinese_calendar

from storage.records.calls import CALLBACK_DUE_AFTER
from storage.settings import settings
from storage.workflow import holidays

log = logging.getLogger(__name__)

NATURAL = "natural"
WORKING = "working"
DEFAULT_RATING_DAYS = 7


@dataclass(frozen=True)
class Deadline:
    """A deadline in UTC; `fallback` is True when an unknown year was counted on weekends."""

    at: datetime
    fallback: bool = False
    unknown_years: tuple[int, ...] = ()


def hotline_tz() -> ZoneInfo:
    """`HOTLINE_TZ`, or Asia/Shanghai."""
    return settings().hotline_tz


def deadline_mode() -> str:
    """`DEADLINE_DAYS`: `natural` (default) or `working`; anything else is refused."""
    return settings().deadline_days


def local_day(when: datetime, tz: ZoneInfo | None = None) -> date:
    """The calendar day of `when` in the hotline's time zone."""
    return when.astimezone(tz or hotline_tz()).date()


def start_of_day(day: date, tz: ZoneInfo | None = None) -> datetime:
    """00:00 of `day` in the hotline's time zone, in UTC."""
    return datetime.combine(day, time(0), tzinfo=tz or hotline_tz()).astimezone(UTC)


def end_of_day(day: date, tz: ZoneInfo | None = None) -> datetime:
    """24:00 of `day` (00:00 of the next day) in the hotline's time zone, in UTC."""
    return start_of_day(day + timedelta(days=1), tz)


def calendar_knows(year: int) -> bool:
    """Whether the official schedule of `year` is known: imported, or in the package."""
    if holidays.current().covers(year):
        return True
    first, last = _library_years()
    return first <= year <= last


@cache
def _library_years() -> tuple[int, int]:
    """The first and last year the `chinesecalendar` package knows (read once)."""
    known = chinese_calendar.holidays.keys()
    return min(known).year, max(known).year


def is_working_day(day: date) -> bool:
    """A working day in mainland China; for an unknown year, any Monday to Friday.

    The imported holiday table (`storage.workflow.holidays`) is consulted before the package.
    """
    imported = holidays.current().lookup(day)
    if imported is not None:
        return imported
    if calendar_knows(day.year):
        return chinese_calendar.is_workday(day)
    return day.weekday() < 5


def last_day(start: date, days: int, mode: str) -> tuple[date, tuple[int, ...]]:
    """The last day of a period of `days` days counted after `start`, and unknown years."""
    if days < 1:
        raise ValueError("a period has at least one day")
    if mode == NATURAL:
        return start + timedelta(days=days), ()
    day, counted, unknown = start, 0, set()
    while counted < days:
        day += timedelta(days=1)
        if not calendar_knows(day.year):
            unknown.add(day.year)
        if is_working_day(day):
            counted += 1
    return day, tuple(sorted(unknown))


def period_end(
    start_at: datetime, days: int, mode: str | None = None, tz: ZoneInfo | None = None
) -> Deadline:
    """The end of a period of `days` days beginning the day after `start_at` (local)."""
    tz = tz or hotline_tz()
    mode = mode or deadline_mode()
    day, unknown = last_day(local_day(start_at, tz), days, mode)
    if unknown:
        log.warning(
            "holiday calendar has no data for %s: working days counted on weekends only "
            "(import the State Council's notice: ivr holidays import FILE)",
            ", ".join(map(str, unknown)),
        )
    return Deadline(end_of_day(day, tz), fallback=bool(unknown), unknown_years=unknown)


def callback_due(rated_at: datetime) -> datetime:
    """When the callback of a bad rating is due: 48 hours after the rating."""
    return rated_at + CALLBACK_DUE_AFTER


def rectify_due(verdict_at: datetime, days: int, mode: str | None = None) -> Deadline:
    """When a rectification of `days` days (5 or 15) decided at `verdict_at` is due."""
    return period_end(verdict_at, days, mode)


def default_rating_due(call_at: datetime, tz: ZoneInfo | None = None) -> datetime:
    """When an unrated call made at `call_at` gets its default rating (always natural days)."""
    return period_end(call_at, DEFAULT_RATING_DAYS, NATURAL, tz).at


def default_rating_cutoff(now: datetime, tz: ZoneInfo | None = None) -> datetime:
    """Calls made before this time and still unrated are due a default rating at `now`.

    A call made on day D is due at 00:00 of D+8, so at `now` every call made before
    00:00 of (today − 7) is due.
    """
    tz = tz or hotline_tz()
    return start_of_day(local_day(now, tz) - timedelta(days=DEFAULT_RATING_DAYS), tz)
