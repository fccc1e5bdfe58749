"""Figures from the daily rollup agree with counts made straight from the rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from storage.db import transaction
from storage.records.calls import CallDetails, get_or_create_call, record_rating
from storage.reports.figures import Period, bucket, figures, ranking
from storage.reports.figures_rollup import rebuild, refresh
from storage.seed import SeedPlan, seed_calls
from tests.figures_check import expected_counts

START = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # 2026-11-01 00:00 in Shanghai
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture
def seeded(sessions):
    seed_calls(sessions, SeedPlan(calls=4000, start=START - timedelta(days=2), days=34, seed=7))
    refresh(sessions)
    return sessions


def test_department_figures_match_the_rows(seeded):
    expected = expected_counts(seeded, NOVEMBER.start, NOVEMBER.end)
    with seeded() as session:
        total, rows = figures(session, NOVEMBER, "dept")
    assert {row.key for row in rows} == set(expected)
    for row in rows:
        want = expected[row.key]
        for name in ("calls", "rated", "active", "good", "neutral", "bad", "excluded"):
            assert getattr(row, name) == want[name], (row.key, name)
        for name in ("not_adopted", "cb_settled", "cb_in_time", "rect_settled", "rect_on_time"):
            assert getattr(row, name) == want[name], (row.key, name)
        assert row.realname_followed == want["realname_followed"]
        assert row.good_rate == pytest.approx(want["good"] / want["rated"])
    assert total.calls == sum(e["calls"] for e in expected.values())
    assert total.excluded > 0 and total.not_adopted == total.excluded  # the page says so
    assert 0 < total.followup_rate < 1 and 0 < total.callback_rate < 1


def test_days_are_hotline_days_and_groups_add_up(seeded):
    with seeded() as session:
        total, days = figures(session, NOVEMBER, "day")
        _, weeks = figures(session, NOVEMBER, "week")
        _, agents = figures(session, NOVEMBER, "agent")
    assert days[0].key == "2026-11-01" and len(days) == 30
    first = expected_counts(seeded, date(2026, 11, 1), date(2026, 11, 1), key=lambda c: "all")
    assert days[0].calls == first["all"]["calls"]
    assert sum(r.calls for r in weeks) == sum(r.calls for r in agents) == total.calls
    assert bucket(date(2026, 11, 30), "week") == "2026-W49"
    best = ranking(agents)
    assert best[0].good_rate >= best[-1].good_rate


def test_a_new_rating_is_counted_on_the_next_refresh(seeded):
    day = date(2026, 11, 28)
    with seeded() as session:
        before, _ = figures(session, Period(day, day), "dept", dept="D-new")
    assert before.calls == 0
    with transaction(seeded) as session:
        details = CallDetails(caller="+8613800003333", dept="D-new", agent="N1")
        call = get_or_create_call(session, "CA-new", details)
        session.flush()
        call.created_at = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
        record_rating(session, call, "very_dissatisfied", "dtmf")
    assert refresh(seeded) >= 1
    with seeded() as session:
        after, rows = figures(session, Period(day, day), "agent", dept="D-new")
    assert (after.calls, after.rated, after.bad, after.cb_pending) == (1, 1, 1, 1)
    assert rows[0].key == "D-new/N1"
    assert refresh(seeded) >= 0  # within the overlap the day may be redone; never lost


def test_rebuild_gives_the_same_figures(seeded):
    with seeded() as session:
        first = figures(session, NOVEMBER, "month")[0].as_dict()
    rebuild(seeded)
    with seeded() as session:
        assert figures(session, NOVEMBER, "month")[0].as_dict() == first


def test_the_rebuild_command(seeded, database_url, monkeypatch):
    from click.testing import CliRunner

    from ivr.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["figures", "rebuild"])
    assert result.exit_code == 0 and "figures rollup rebuilt: 34 days" in result.output
