"""The supervisors' console in a real browser (Playwright driving Debian's Chromium).

Logs in as a supervisor, filters calls, plays a recording, checks a month of figures
against counts made independently from the rows, draws and scores a spot check, and
downloads the XLSX export; screenshots of each page go to tests/output/.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from storage.models import AuditEntry
from storage.seed import SeedPlan, seed_calls
from tests.console_helpers import make_people
from tests.figures_check import expected_counts
from tests.supervisor_helpers import keyed_call, spoken_call
from tests.test_console_browser import ARGS, OUTPUT, browser, login, sync_api  # noqa: F401

pytestmark = [pytest.mark.usefixtures("fast_hashing"), pytest.mark.any_database]
OCTOBER = ("2026-10-01", "2026-10-31")


def shot(page, name: str) -> None:
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / f"supervisor-{name}.png", full_page=True)


def listens(sessions) -> int:
    with sessions() as session:
        statement = select(func.count()).where(AuditEntry.action == "listen")
        return session.scalar(statement)


def percent(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f}%" if whole else "—"


def test_supervisor_filters_calls_and_plays_a_recording(browser, live_server, sessions):
    make_people(sessions)
    call_id, _ = spoken_call(sessions, "CA1")
    keyed_call(sessions, "CA2", "very_satisfied")
    page = login(browser, live_server, "li")
    page.click("nav >> text=来电记录")
    sync_api.expect(page.locator("table.calls tbody tr")).to_have_count(2)
    page.select_option("select[name=category]", "bad")
    page.select_option("select[name=has_recording]", "yes")
    page.click("#call-filter button[type=submit]")
    sync_api.expect(page.locator("table.calls tbody tr")).to_have_count(1)
    sync_api.expect(page.locator("table.calls")).to_contain_text("138****5678")
    shot(page, "calls")
    page.click(f"text=#{call_id}")
    sync_api.expect(page.locator("h1")).to_contain_text(f"来电 #{call_id}")
    assert listens(sessions) == 0  # nothing is fetched before the supervisor presses play
    played = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const audio = document.querySelector('audio');
            audio.muted = true;  // headless: no sound device
            audio.addEventListener('playing', () => resolve(audio.duration));
            audio.addEventListener('error', () => reject(audio.error && audio.error.code));
            audio.play().catch(reject);
        })"""
    )
    assert played == pytest.approx(1.5, abs=0.05)
    page.wait_for_function("document.querySelector('audio').currentTime > 0")
    assert listens(sessions) >= 1
    sync_api.expect(page.locator(".recording")).to_contain_text("不 满意")
    shot(page, "call")


def test_supervisor_checks_a_month_of_figures(browser, live_server, sessions):
    make_people(sessions)
    start = datetime(2026, 9, 30, 16, 0, tzinfo=UTC)  # 2026-10-01 in Shanghai
    seed_calls(sessions, SeedPlan(calls=3000, start=start, days=31, seed=11))
    want = expected_counts(sessions, datetime(2026, 10, 1).date(), datetime(2026, 10, 31).date())
    page = login(browser, live_server, "li")
    page.click("nav >> text=统计数据")
    page.fill("input[name=date_from]", OCTOBER[0])
    page.fill("input[name=date_to]", OCTOBER[1])
    page.select_option("select[name=group]", "dept")
    page.click("#figures-filter button[type=submit]")
    total = {name: sum(c[name] for c in want.values()) for name in next(iter(want.values()))}
    tiles = page.locator("#totals")
    sync_api.expect(tiles.locator("[data-figure=calls]")).to_have_text(str(total["calls"]))
    sync_api.expect(tiles.locator("[data-figure=rated]")).to_have_text(str(total["rated"]))
    expected_rates = {
        "active_rate": percent(total["active"], total["served"]),
        "good_rate": percent(total["good"], total["rated"]),
        "bad_rate": percent(total["bad"], total["rated"]),
        "callback_rate": percent(total["cb_in_time"], total["cb_settled"]),
        "rectify_rate": percent(total["rect_on_time"], total["rect_settled"]),
        "followup_rate": percent(total["realname_followed"], total["realname_bad"]),
    }
    for name, text in expected_rates.items():
        sync_api.expect(tiles.locator(f"[data-figure={name}]")).to_have_text(text)
    sync_api.expect(page.locator("#excluded-count")).to_have_text(str(total["excluded"]))
    for dept, counts in want.items():
        row = page.locator(f"#figures-table tr[data-key='{dept}']")
        sync_api.expect(row.locator("[data-figure=rated]")).to_have_text(str(counts["rated"]))
        good = percent(counts["good"], counts["rated"])
        sync_api.expect(row.locator("[data-figure=good_rate]")).to_have_text(good)
    assert page.locator("svg.chart rect.bar").count() == 31
    shot(page, "figures")


def test_supervisor_draws_scores_and_exports(browser, live_server, sessions, tmp_path):
    make_people(sessions)
    start = datetime(2026, 9, 30, 16, 0, tzinfo=UTC)
    seed_calls(sessions, SeedPlan(calls=800, start=start, days=31, seed=5))
    page = login(browser, live_server, "li")
    page.click("nav >> text=抽查")
    page.fill("input[name=date_from]", OCTOBER[0])
    page.fill("input[name=date_to]", OCTOBER[1])
    page.select_option("select[name=mode]", "count")
    page.fill("input[name=count]", "3")
    page.fill("input[name=seed]", "20261128")
    page.click("#draw-form button[type=submit]")
    sync_api.expect(page.locator(".flash")).to_contain_text("已抽取 3 条回访（随机种子 20261128）")
    sync_api.expect(page.locator("section.sample")).to_have_count(3)
    first = page.locator("section.sample").first
    for code in ("callback_in_time", "verdict_grounded", "rectified", "evidence", "fed_back"):
        answer = "no" if code == "evidence" else "yes"
        first.locator(f"input[name={code}][value={answer}]").check()
        first.locator(f"input[name=reason_{code}]").fill("复核录音后判断")
    first.locator("textarea[name=finding]").fill("整改照片缺失")
    first.locator("button[type=submit]").click()
    sync_api.expect(page.locator(".flash")).to_contain_text("评分已保存")
    sync_api.expect(page.locator("#result")).to_contain_text("已评分 1/3，合格 0")
    sync_api.expect(page.locator("section.sample").first.locator(".verdict")).to_have_text("不合格")
    shot(page, "spot-check")
    page.click("nav >> text=来电记录")
    page.fill("input[name=date_from]", OCTOBER[0])
    page.fill("input[name=date_to]", OCTOBER[1])
    page.select_option("select[name=category]", "bad")
    page.click("#call-filter button[type=submit]")
    shot(page, "calls-filtered")
    with page.expect_download() as download:
        page.click("text=导出 XLSX")
    path = tmp_path / "calls.xlsx"
    download.value.save_as(path)
    rows = list(load_workbook(path).active.values)
    assert rows[0][:3] == ("编号", "通话编号", "来电时间")
    counts = expected_counts(sessions, datetime(2026, 10, 1).date(), datetime(2026, 10, 31).date())
    bad = sum(c["bad"] + c["excluded"] for c in counts.values())  # excluded ones are bad too
    assert len(rows) == bad + 1 and all(row[10] == "差评" for row in rows[1:])
    assert all("****" in (row[6] or "****") for row in rows[1:])
    page.click("nav >> text=问题分析")
    sync_api.expect(page.locator("h1")).to_have_text("常见问题分析")
    shot(page, "problems")
    page.goto(f"{live_server}/console/public/summary?date_from={OCTOBER[0]}&date_to={OCTOBER[1]}")
    sync_api.expect(page.locator("table.figures tbody tr")).to_have_count(12)
    shot(page, "public-summary")
