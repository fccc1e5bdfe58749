"""监督查评 and the holiday coverage in a real browser (Playwright driving Debian's Chromium).

A supervisor draws a sample, records a verification call's outcome and sees the share
confirmed on the figures page; an administrator sees the holiday coverage. Screenshots
go to tests/output/ (review-*.png).
"""

from __future__ import annotations

import pytest

from storage.access.users import create_user
from storage.db import transaction
from tests.console_helpers import PASSWORD, make_people
from tests.supervisor_helpers import keyed_call
from tests.test_console_browser import OUTPUT, browser, login, sync_api  # noqa: F401

pytestmark = [pytest.mark.usefixtures("fast_hashing"), pytest.mark.any_database]


def shot(page, name: str) -> None:
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / f"review-{name}.png", full_page=True)


def test_supervisor_draws_and_records_a_verification(browser, live_server, sessions):
    make_people(sessions)
    for n, level in enumerate(["very_satisfied", "basically_satisfied", "dissatisfied"] * 2):
        keyed_call(sessions, f"CA{n:032d}", level, source="default" if n == 1 else "dtmf")
    page = login(browser, live_server, "li")
    page.click("nav >> text=监督查评")
    sync_api.expect(page.locator("h1")).to_have_text("监督查评")
    page.fill("input[name=rate]", "50")
    page.fill("input[name=seed]", "42")
    page.click("#verification-form button[type=submit]")
    sync_api.expect(page.locator("#result")).to_contain_text("已核实 0/3")
    first = page.locator("section.sample").first
    first.locator("input[value=confirmed]").check()
    first.locator("button[type=submit]").click()
    sync_api.expect(page.locator(".flash")).to_contain_text("查评结果已保存")
    second = page.locator("section.sample").nth(1)
    second.locator("input[value=denied]").check()
    second.locator("textarea[name=note]").fill("来电人称未作评价")
    second.locator("button[type=submit]").click()
    sync_api.expect(page.locator("#result")).to_contain_text("属实 1，否认 1")
    shot(page, "verification-check")
    page.click("text=← 监督查评")
    shot(page, "verification-list")
    page.click("nav >> text=统计数据")
    sync_api.expect(page.locator("#verification-share")).to_contain_text("属实率 50.0%")
    shot(page, "figures")


def test_admin_sees_the_holiday_coverage(browser, live_server, sessions):
    with transaction(sessions) as session:
        create_user(session, "root", PASSWORD, "admin")
    page = browser.new_page(locale="zh-CN", viewport={"width": 1200, "height": 900})
    page.goto(f"{live_server}/console/login")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    sync_api.expect(page.locator("#holiday-coverage")).to_contain_text("节假日安排已覆盖")
    shot(page, "admin-holidays")
