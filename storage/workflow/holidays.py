"""The holiday table: the State Council's yearly notice, consulted before `chinese-calendar`.

Each autumn the State Council (国务院办公厅) publishes next year's holidays (休) and
make-up working days (班). `ivr holidays import FILE` loads one year's notice from a
small TOML file (`parse_notice` says the format; `docs/holidays-2027.toml` is an
example), replacing what was imported for that year before.

`storage.workflow.deadlines.is_working_day` asks `current().lookup(day)` first: a day listed in
an imported notice is off (休) or working (班) as listed; any other day of an imported
year is a working day from Monday to Friday; a day of a year not imported is left to
the `chinese-calendar` package. The table is read once and kept for `REFRESH_SECONDS`
in each process (web, worker, cron), so an import reaches every process within that
time without a query per deadline.
"""

from __future__ import annotations

import logging
import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from sqlalchemy import Engine, create_engine, delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from storage.db import database_url, make_engine
from storage.models import Holiday, HolidayYear
from storage.models_review import DAY_OFF, DAY_WORK

log = logging.getLogger(__name__)

MARKS = {"休": DAY_OFF, "班": DAY_WORK}
REFRESH_SECONDS = 30.0
MAX_RANGE_DAYS = 31
MAX_NAME = 50


class NoticeError(ValueError):
    """A notice file that cannot be imported; the message (Chinese) says where and why."""


@dataclass(frozen=True)
class Notice:
    """One year's schedule: `days` maps each listed day to (off or work, holiday name)."""

    year: int
    title: str
    days: dict[date, tuple[str, str]]

    @property
    def days_off(self) -> int:
        return sum(1 for kind, _ in self.days.values() if kind == DAY_OFF)

    @property
    def make_up_days(self) -> int:
        return sum(1 for kind, _ in self.days.values() if kind == DAY_WORK)


@dataclass(frozen=True)
class HolidayCalendar:
    """A snapshot of the imported table."""

    days: dict[date, str] = field(default_factory=dict)
    years: frozenset[int] = frozenset()

    def covers(self, year: int) -> bool:
        """Was the notice of `year` imported?"""
        return year in self.years

    def lookup(self, day: date) -> bool | None:
        """Is `day` a working day by the imported notices? None when they do not say."""
        kind = self.days.get(day)
        if kind is not None:
            return kind == DAY_WORK
        if day.year in self.years:
            return day.weekday() < 5
        return None


def _day(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise NoticeError(f"{where}：日期“{text}”无效，应写作 2027-01-01") from None


def _span(text: str, where: str) -> list[date]:
    """`2027-01-01` or a range `2027-02-05~2027-02-11` (both ends included)."""
    first, _, last = str(text).partition("~")
    start = _day(first, where)
    end = _day(last, where) if last else start
    if end < start or (end - start).days >= MAX_RANGE_DAYS:
        raise NoticeError(f"{where}：日期范围“{text}”无效（结束早于开始，或超过 31 天）")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def parse_notice(text: str) -> Notice:
    """Read a notice file (TOML, UTF-8): `year`, `notice` (its title) and `days`, each
    `{ date = "2027-02-05~2027-02-12", type = "休", name = "春节" }` (one day or a range);
    the whole format is in README ("Holidays"), an example in docs/holidays-2027.toml.

    `type` is 休 (a day off) or 班 (a make-up working day, a Saturday or Sunday).
    Days may fall from December of the year before to January of the year after.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise NoticeError(f"文件不是有效的 TOML：{error}") from None
    year = data.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise NoticeError("缺少年份：请写 year = 2027（2000 至 2100 之间）")
    title = str(data.get("notice") or f"{year}年部分节假日安排").strip()[:200]
    entries = data.get("days")
    if not isinstance(entries, list) or not entries:
        raise NoticeError("缺少日期：请在 days = [ … ] 中列出放假（休）和调休上班（班）的日期")
    earliest, latest = date(year - 1, 12, 1), date(year + 1, 1, 31)
    days: dict[date, tuple[str, str]] = {}
    for number, entry in enumerate(entries, start=1):
        where = f"第 {number} 项"
        if not isinstance(entry, dict) or not {"date", "type"} <= entry.keys():
            raise NoticeError(f"{where}：需要 date 和 type（休 或 班）")
        kind = MARKS.get(str(entry["type"]).strip())
        if kind is None:
            raise NoticeError(f"{where}：type 只能是“休”或“班”，不是“{entry['type']}”")
        name = str(entry.get("name") or "").strip()[:MAX_NAME] or "节假日"
        for day in _span(str(entry["date"]), where):
            if not earliest <= day <= latest:
                raise NoticeError(f"{where}：{day} 不在 {year} 年通知的范围内")
            if kind == DAY_WORK and day.weekday() < 5:
                raise NoticeError(f"{where}：{day} 是工作日，不必列为调休上班（班）")
            if day in days and days[day][0] != kind:
                raise NoticeError(f"{where}：{day} 既列为休又列为班")
            days[day] = (kind, name)
    return Notice(year, title, days)


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    year: int
    days_off: int
    make_up_days: int
    replaced: bool


def import_notice(session: Session, notice: Notice, by: str) -> ImportReport:
    """Store `notice`, replacing an earlier import of its year; refuse clashes with others."""
    clash = session.scalars(
        select(Holiday).where(Holiday.day.in_(notice.days), Holiday.year != notice.year)
    ).first()
    if clash is not None:
        raise NoticeError(f"{clash.day} 已在 {clash.year} 年的通知中列出，请先核对两份文件")
    session.execute(delete(Holiday).where(Holiday.year == notice.year))
    existing = session.scalars(select(HolidayYear).where(HolidayYear.year == notice.year)).first()
    if existing is not None:
        session.delete(existing)
        session.flush()
    session.add(
        HolidayYear(
            year=notice.year,
            notice=notice.title,
            days_off=notice.days_off,
            make_up_days=notice.make_up_days,
            imported_by=by[:64],
        )
    )
    session.add_all(
        Holiday(day=day, kind=kind, name=name, year=notice.year)
        for day, (kind, name) in sorted(notice.days.items())
    )
    session.flush()
    invalidate()
    return ImportReport(notice.year, notice.days_off, notice.make_up_days, existing is not None)


def read_calendar(session: Session) -> HolidayCalendar:
    """The whole table (a few dozen rows a year)."""
    days = {row.day: row.kind for row in session.scalars(select(Holiday))}
    years = frozenset(session.scalars(select(HolidayYear.year)))
    return HolidayCalendar(days, years)


@cache
def _engine(url: str) -> Engine:
    """A reading engine. On SQLite without `make_engine`'s BEGIN IMMEDIATE: a read under
    WAL never waits for a writer (which may be this very request's transaction)."""
    if url.startswith("sqlite"):
        return create_engine(url)
    return make_engine(url)


class _Snapshot:
    """The table as last read by this process, per database, for `REFRESH_SECONDS`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.url: str | None = None
        self.read_at = 0.0
        self.calendar = HolidayCalendar()

    def get(self) -> HolidayCalendar:
        url = database_url()
        with self.lock:
            fresh = time.monotonic() - self.read_at < REFRESH_SECONDS
            if url == self.url and fresh:
                return self.calendar
            try:
                with Session(_engine(url)) as session:
                    self.calendar = read_calendar(session)
            except SQLAlchemyError as error:  # e.g. not migrated yet
                log.warning("holiday table unreadable: %s", error)
                if url != self.url:
                    self.calendar = HolidayCalendar()  # the library alone
            self.url, self.read_at = url, time.monotonic()
            return self.calendar

    def clear(self) -> None:
        with self.lock:
            self.url, self.read_at = None, 0.0


_snapshot = _Snapshot()


_override: ContextVar[HolidayCalendar | None] = ContextVar("holiday_calendar", default=None)


def current() -> HolidayCalendar:
    """The calendar in force: the one given to `using`, else this process's database's
    (`DATABASE_URL`) table, at most `REFRESH_SECONDS` old."""
    return _override.get() or _snapshot.get()


@contextmanager
def using(calendar: HolidayCalendar) -> Iterator[None]:
    """Count deadlines with `calendar` (e.g. read in the transaction that imports it)."""
    token = _override.set(calendar)
    try:
        yield
    finally:
        _override.reset(token)


def invalidate() -> None:
    """Read the table again on next use (after an import in this process)."""
    _snapshot.clear()


WARN_DAYS = 60


@dataclass(frozen=True)
class Coverage:
    """Which days the official schedules cover, without a gap, from the library's first year."""

    first: date
    last: date  # the last covered day (31 December)
    imported: tuple[int, ...]  # the years imported from notices
    days_left: int  # from `today` to `last`

    @property
    def warn(self) -> bool:
        """Within `WARN_DAYS` of the end: next year's notice should be imported."""
        return self.days_left <= WARN_DAYS


def current_coverage(today: date) -> Coverage:
    """`coverage` read through this module's reading engine (never waits for a writer)."""
    with Session(_engine(database_url())) as session:
        return coverage(session, today)


def coverage(session: Session, today: date) -> Coverage:
    """The covered range: the package's years, then imported years that follow on."""
    import chinese_calendar

    library = {day.year for day in chinese_calendar.holidays}
    imported = set(session.scalars(select(HolidayYear.year)))
    known = library | imported
    first = min(known)
    last = first
    while last + 1 in known:
        last += 1
    end = date(last, 12, 31)
    return Coverage(date(first, 1, 1), end, tuple(sorted(imported)), (end - today).days)
