"""The workbench in a real browser (Playwright driving Debian's Chromium).

Works a callback from open to closed as staff, approves a malicious verdict as a
supervisor, and writes screenshots of the queue and a callback page to tests/output/.
"""

from __future__ import annotations

import pytest

from tests.browser_helpers import (
    close_with_evidence,
    login,
    reach_and_propose,
    screenshot,
    sync_api,
)
from tests.console_helpers import PASSWORD, make_people, new_callback

pytestmark = [pytest.mark.usefixtures("fast_hashing"), pytest.mark.any_database]


def test_staff_works_a_callback_to_closed(browser, live_server, sessions, tmp_path):
    make_people(sessions)
    cb_id = new_callback(sessions, "CA1")
    new_callback(sessions, "CA2")
    page = login(browser, live_server, "zhang")
    screenshot(page, "console-queue")
    page.click(f"text=#{cb_id}")
    screenshot(page, "console-callback-open")
    page.click("text=显示号码")
    sync_api.expect(page.locator(".number")).to_have_text("+8613812345678")
    page.check("input[name=result][value=reached]")
    page.fill("form[action$='/attempt'] textarea[name=note]", "已电话联系来电人")
    page.click("form[action$='/attempt'] button[type=submit]")
    sync_api.expect(page.locator(".flash")).to_contain_text("已回访")
    page.select_option("select[name=resolution]", "rectify_5d")
    page.click("form[action$='/verdict'] button[type=submit]")
    sync_api.expect(page.locator("h2", has_text="整改办结")).to_be_visible()
    close_with_evidence(page, tmp_path, "已修复小区路灯")
    screenshot(page, "console-callback-closed")


def test_supervisor_approves_a_malicious_verdict(browser, live_server, sessions):
    make_people(sessions)
    cb_id = new_callback(sessions, "CA1")
    staff = login(browser, live_server, "zhang")
    staff.goto(f"{live_server}/console/callbacks/{cb_id}")
    reach_and_propose(staff, "malicious", "反复拨打并辱骂话务员")
    sync_api.expect(staff.locator("text=等待另一位主管审批")).to_be_visible()
    supervisor = login(browser, live_server, "li")
    supervisor.goto(f"{live_server}/console/callbacks/{cb_id}")
    supervisor.click("button[value=approve]")
    sync_api.expect(supervisor.locator("h1 .state")).to_have_text("不予采纳")
    screenshot(supervisor, "console-callback-not-adopted")


def test_admin_manages_departments_and_users(browser, live_server, sessions):
    from storage.access.users import create_user
    from storage.db import transaction

    make_people(sessions)
    with transaction(sessions) as session:
        create_user(session, "root", PASSWORD, "admin")
    page = login(browser, live_server, "root", heading="用户管理")
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
    screenshot(page, "console-admin-departments")
    page.click("text=用户管理")
    sync_api.expect(page.locator("table.audit")).to_contain_text("设置部门负责人")
    screenshot(page, "console-admin-users")
