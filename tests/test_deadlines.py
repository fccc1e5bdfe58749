"""Deadlines in natural and working days, across a real holiday and an unknown year."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest

from storage.workflow import deadlines


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time, as the UTC datetime the database stores."""
    return datetime(year, month, day, hour, minute, tzinfo=deadlines.hotline_tz()).astimezone(UTC)


@pytest.fixture(autouse=True)
def hotline_zone(monkeypatch):
    monkeypatch.setenv("HOTLINE_TZ", "Asia/Shanghai")
    monkeypatch.delenv("DEADLINE_DAYS", raising=False)


def test_natural_days_end_at_midnight_of_the_last_day_in_the_hotline_zone():
    verdict = shanghai(2026, 9, 28, 10)  # Monday
    due = deadlines.rectify_due(verdict, 5)
    assert due.at == shanghai(2026, 10, 4) == datetime(2026, 10, 3, 16, tzinfo=UTC)
    assert due.fallback is False
    assert deadlines.rectify_due(verdict, 15).at == shanghai(2026, 10, 14)


def test_the_day_is_the_hotline_day_not_the_utc_day():
    verdict = datetime(2026, 9, 28, 17, 30, tzinfo=UTC)  # already Tuesday 01:30 in Shanghai
    assert deadlines.rectify_due(verdict, 5, deadlines.NATURAL).at == shanghai(2026, 10, 5)
    late_evening = shanghai(2026, 9, 28, 23, 59)
    assert deadlines.rectify_due(late_evening, 5, deadlines.NATURAL).at == shanghai(2026, 10, 4)


def test_working_days_skip_national_day_and_count_the_make_up_saturday(monkeypatch):
    monkeypatch.setenv("DEADLINE_DAYS", "working")
    verdict = shanghai(2026, 9, 28, 10)  # Monday before National Day (1–7 October)
    due = deadlines.rectify_due(verdict, 5)
    # 29, 30 September; 1–7 October off; 8, 9 October; Saturday 10 October is a make-up
    # working day (调休), so it is the 5th: due at its end.
    assert due.at == shanghai(2026, 10, 11)
    assert due.fallback is False
    # Counting weekends only would have said Monday 5 October, inside the holiday.
    assert deadlines.last_day(date(2026, 9, 28), 5, deadlines.NATURAL)[0] == date(2026, 10, 3)


def test_a_make_up_sunday_counts_and_the_mid_autumn_weekend_does_not(monkeypatch):
    monkeypatch.setenv("DEADLINE_DAYS", "working")
    # Friday 18 September: Saturday 19 is off, Sunday 20 September 2026 is worked (调休).
    assert deadlines.rectify_due(shanghai(2026, 9, 18, 9), 1).at == shanghai(2026, 9, 21)
    # Thursday 24 September: Friday 25 is the Mid-Autumn holiday, next worked day is Monday 28.
    assert deadlines.rectify_due(shanghai(2026, 9, 24, 9), 1).at == shanghai(2026, 9, 29)


def test_fifteen_working_days_across_national_day(monkeypatch):
    monkeypatch.setenv("DEADLINE_DAYS", "working")
    due = deadlines.rectify_due(shanghai(2026, 9, 28, 10), 15)
    # 29, 30 Sep (2); 8, 9, 10 Oct (5); 12–16 (10); 19–23 (15).
    assert due.at == shanghai(2026, 10, 24)


def test_an_unknown_year_falls_back_to_weekends_and_says_so(monkeypatch, caplog):
    monkeypatch.setenv("DEADLINE_DAYS", "working")
    assert deadlines.calendar_knows(2026) and not deadlines.calendar_knows(2099)
    unknown = next(y for y in range(2026, 2100) if not deadlines.calendar_knows(y))
    verdict = shanghai(unknown - 1, 12, 28, 10)
    with caplog.at_level(logging.WARNING, logger="storage.workflow.deadlines"):
        due = deadlines.rectify_due(verdict, 5)
    assert due.fallback is True and due.unknown_years == (unknown,)
    assert f"no data for {unknown}" in caplog.text and "weekends only" in caplog.text
    assert due.at > deadlines.end_of_day(date(unknown - 1, 12, 31))
    # Inside an unknown year: Monday to Friday only, whatever its holidays will be.
    monday = next(date(unknown, 3, d) for d in range(1, 8) if date(unknown, 3, d).weekday() == 0)
    due = deadlines.rectify_due(shanghai(monday.year, monday.month, monday.day, 9), 5)
    next_monday = date.fromordinal(monday.toordinal() + 7)
    assert (due.at, due.fallback) == (deadlines.end_of_day(next_monday), True)


def test_natural_days_never_need_the_calendar(caplog):
    with caplog.at_level(logging.WARNING):
        due = deadlines.rectify_due(shanghai(2099, 12, 30), 5)
    assert (due.at, due.fallback) == (shanghai(2100, 1, 5), False)
    assert caplog.text == ""


def test_a_bad_setting_is_refused(monkeypatch):
    monkeypatch.setenv("DEADLINE_DAYS", "lunar")
    with pytest.raises(ValueError, match="DEADLINE_DAYS"):
        deadlines.rectify_due(shanghai(2026, 9, 28), 5)


def test_the_callback_is_due_48_hours_after_the_rating():
    rated = shanghai(2026, 9, 30, 18)
    assert deadlines.callback_due(rated) == shanghai(2026, 10, 2, 18)


def test_default_rating_is_due_after_the_seventh_day_after_the_call_day():
    for call_at in (shanghai(2026, 11, 1, 0, 0), shanghai(2026, 11, 1, 23, 59)):
        assert deadlines.default_rating_due(call_at) == shanghai(2026, 11, 9)
    # The cutoff agrees: a call of 1 November is due at 00:00 on 9 November, not before.
    call_at = shanghai(2026, 11, 1, 12)
    assert not call_at < deadlines.default_rating_cutoff(shanghai(2026, 11, 8, 23, 59))
    assert call_at < deadlines.default_rating_cutoff(shanghai(2026, 11, 9, 0, 0))


def test_another_hotline_zone(monkeypatch):
    monkeypatch.setenv("HOTLINE_TZ", "Europe/Berlin")
    verdict = datetime(2026, 10, 20, 12, tzinfo=UTC)
    # Berlin leaves summer time on 25 October: the deadline is 24:00 CET, 23:00 UTC.
    assert deadlines.rectify_due(verdict, 5, deadlines.NATURAL).at == datetime(
        2026, 10, 25, 23, tzinfo=UTC
    )
