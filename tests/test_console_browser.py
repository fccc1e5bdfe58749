"""The workbench in a real browser (Playwright driving Debian's Chromium).

Works a callback from open to closed as staff, approves a malicious verdict as a
supervisor, and writes screenshots of the queue and a callback page to tests/output/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.console_helpers import PASSWORD, make_people, new_callback

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
OUTPUT = Path(__file__).resolve().parent / "output"
PDF = b"%PDF-1.4\n% evidence\n"


pytestmark = [pytest.mark.usefixtures("fast_hashing"), pytest.mark.any_database]


@pytest.fixture
def browser():
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed: apt-get install chromium fonts-noto-cjk")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def login(browser, base: str, username: str):
    page = browser.new_page(locale="zh-CN", viewport={"width": 1200, "height": 900})
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    sync_api.expect(page.locator("h1")).to_have_text("回访队列")
    return page


def test_staff_works_a_callback_to_closed(browser, live_server, sessions, tmp_path):
    make_people(sessions)
    cb_id = new_callback(sessions, "CA1")
    new_callback(sessions, "CA2")
    page = login(browser, live_server, "zhang")
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "console-queue.png", full_page=True)
    page.click(f"text=#{cb_id}")
    page.screenshot(path=OUTPUT / "console-callback-open.png", full_page=True)
    page.click("text=显示号码")
    sync_api.expect(page.locator(".number")).to_have_text("+8613812345678")
    page.check("input[name=result][value=reached]")
    page.fill("form[action$='/attempt'] textarea[name=note]", "已电话联系来电人")
    page.click("form[action$='/attempt'] button[type=submit]")
    sync_api.expect(page.locator(".flash")).to_contain_text("已回访")
    page.select_option("select[name=resolution]", "rectify_5d")
    page.click("form[action$='/verdict'] button[type=submit]")
    sync_api.expect(page.locator("h2", has_text="整改办结")).to_be_visible()
    evidence = tmp_path / "整改报告.pdf"
    evidence.write_bytes(PDF)
    page.fill("textarea[name=description]", "已修复小区路灯")
    page.set_input_files("input[name=evidence]", evidence)
    page.select_option("form[action$='/close'] select[name=feedback]", "satisfied")
    page.click("form[action$='/close'] button[type=submit]")
    sync_api.expect(page.locator("h1 .state")).to_have_text("已办结")
    page.screenshot(path=OUTPUT / "console-callback-closed.png", full_page=True)


def test_supervisor_approves_a_malicious_verdict(browser, live_server, sessions):
    make_people(sessions)
    cb_id = new_callback(sessions, "CA1")
    staff = login(browser, live_server, "zhang")
    staff.goto(f"{live_server}/console/callbacks/{cb_id}")
    staff.check("input[name=result][value=reached]")
    staff.click("form[action$='/attempt'] button[type=submit]")
    staff.select_option("select[name=resolution]", "malicious")
    staff.fill("form[action$='/verdict'] textarea[name=note]", "反复拨打并辱骂话务员")
    staff.click("form[action$='/verdict'] button[type=submit]")
    sync_api.expect(staff.locator("text=等待另一位主管审批")).to_be_visible()
    supervisor = login(browser, live_server, "li")
    supervisor.goto(f"{live_server}/console/callbacks/{cb_id}")
    supervisor.click("button[value=approve]")
    sync_api.expect(supervisor.locator("h1 .state")).to_have_text("不予采纳")
    OUTPUT.mkdir(exist_ok=True)
    supervisor.screenshot(path=OUTPUT / "console-callback-not-adopted.png", full_page=True)


def test_admin_manages_departments_and_users(browser, live_server, sessions):
    from storage.access.users import create_user
    from storage.db import transaction

    make_people(sessions)
    with transaction(sessions) as session:
        create_user(session, "root", PASSWORD, "admin")
    page = browser.new_page(locale="zh-CN", viewport={"width": 1200, "height": 900})
    page.goto(f"{live_server}/console/login")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    sync_api.expect(page.locator("h1")).to_have_text("用户管理")
    page.click("text=部门管理")
    page.fill("input[name=code]", "D-traffic")
    page.fill("input[name=name]", "交通运输局")
    page.click("text=创建部门")
    sync_api.expect(page.locator("#dept-D-traffic")).to_contain_text("交通运输局")
    page.click("text=用户管理")
    page.fill("input[name=username]", "sun")
    page.fill("input[name=password]", "a-good-password")
    page.select_option("form.admin-form select[name=dept]", "D-traffic")
    page.click("text=创建用户")
    sync_api.expect(page.locator("#user-sun")).to_contain_text("交通运输局")
    row = page.locator("#user-wang")
    row.locator("input[name=active]").uncheck()
    row.locator("button[type=submit]").click()
    sync_api.expect(page.locator("#user-wang")).to_contain_text("已停用")
    page.click("text=部门管理")
    head = page.locator("#dept-D-traffic")
    head.locator("select[name=head]").select_option("sun")
    head.locator("button[type=submit]").click()
    sync_api.expect(page.locator("#dept-D-traffic td").nth(2)).to_have_text("sun")
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "console-admin-departments.png", full_page=True)
    page.click("text=用户管理")
    sync_api.expect(page.locator("table.audit")).to_contain_text("设置部门负责人")
    page.screenshot(path=OUTPUT / "console-admin-users.png", full_page=True)
