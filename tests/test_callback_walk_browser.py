"""A 差评 from rating to closure in a real browser, as head, staff and supervisor.

The rating comes through the signed survey webhook; the department head assigns it,
the staff member works it (consulting another department on the 15-day route), the
sweep escalates the 48 hours, a supervisor reopens the closed case and it is closed
again. At each step the header's inbox counts are checked, and screenshots are written
to tests/output/ (walk-*.png).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis import Redis
from rq import SimpleWorker

from storage.access.users import create_user, set_department_head
from storage.db import transaction
from storage.types import utcnow
from tests.browser_helpers import close_with_evidence, login, screenshot, sync_api
from tests.console_helpers import PASSWORD, make_people
from workers.queues import resend_pending
from workers.sweep import sweep

expect = sync_api.expect
WIDE = {"width": 1280, "height": 1000}

pytestmark = [pytest.mark.usefixtures("fast_hashing"), pytest.mark.any_database]


def work(sessions, redis_url) -> None:
    """The outbox sent and a real worker run until nothing is left."""
    for _ in range(2):
        resend_pending(sessions, Redis.from_url(redis_url))
        SimpleWorker(["default"], connection=Redis.from_url(redis_url)).work(burst=True)


def counts(page) -> dict[str, int]:
    """The header's unread counts by category, as the user sees them on the queue page."""
    origin = page.url.split("/console/")[0]
    page.goto(f"{origin}/console/queue")
    found = {}
    for link in page.locator(".inbox-count").all():
        found[link.get_attribute("data-kind")] = int(link.locator("b").inner_text())
    return found


def shot(page, name: str) -> None:
    screenshot(page, f"walk-{name}")


def test_a_bad_rating_walked_to_closure_with_inbox_counts(
    browser, live_server, sessions, redis_url, place_call, tmp_path
):
    make_people(sessions)
    with transaction(sessions) as session:
        create_user(session, "chen", PASSWORD, "staff", "D-housing")
        set_department_head(session, "D-housing", "zhang")
    place_call("4", caller="+8613811112222", tickets=("T-2026-1129",))
    work(sessions, redis_url)

    head = login(browser, live_server, "zhang", WIDE)
    assert counts(head) == {"new_bad": 1}
    shot(head, "1-head-new")
    head.click(".inbox-count[data-kind=new_bad]")
    head.click("table.inbox a")
    cb_url = head.url
    assert counts(head) == {}, "opening the case reads its notification"
    head.goto(cb_url)
    head.select_option("form[action$='/assign'] select[name=assignee]", "chen")
    head.click("form[action$='/assign'] button[type=submit]")
    expect(head.locator("#assignee")).to_have_text("chen")
    shot(head, "2-head-assigned")

    staff = login(browser, live_server, "chen", WIDE)
    assert counts(staff) == {"new_bad": 1, "assigned": 1}
    staff.click(".inbox-count[data-kind=assigned]")
    staff.click("table.inbox a")
    assert counts(staff) == {}
    staff.goto(cb_url)
    staff.check("input[name=result][value=reached]")
    staff.click("form[action$='/attempt'] button[type=submit]")
    expect(staff.locator("#current-step")).to_contain_text("登记核实结论")

    # Reached but no verdict: at the 48-hour mark the sweep escalates it.
    sweep(sessions, Redis.from_url(redis_url), utcnow() + timedelta(hours=48, minutes=1))
    supervisor = login(browser, live_server, "li", WIDE)
    assert counts(supervisor) == {"escalation": 1}
    shot(supervisor, "3-supervisor-escalated")
    assert counts(staff) == {"overdue": 1} and counts(head) == {"escalation": 1}

    staff.goto(cb_url)
    staff.select_option("select[name=resolution]", "rectify_15d")
    staff.check("input[name=consulted][value=D-water]")
    staff.fill("form[action$='/verdict'] textarea[name=note]", "涉及排水管网，会同水务局整改")
    staff.click("form[action$='/verdict'] button[type=submit]")
    expect(staff.locator("h2", has_text="整改办结")).to_be_visible()

    water = login(browser, live_server, "wang", WIDE)
    assert counts(water) == {"consult": 1}
    water.click(".inbox-count[data-kind=consult]")
    water.click("table.inbox a")
    water.fill("form[action$='/consult-note'] textarea[name=note]", "已安排排水管网检修")
    water.click("form[action$='/consult-note'] button[type=submit]")
    expect(water.locator(".consultation")).to_contain_text("已安排排水管网检修")
    assert counts(water) == {}
    water.goto(cb_url)
    shot(water, "4-consulted-note")

    staff.goto(cb_url)
    close_with_evidence(staff, tmp_path, "已疏通小区排水管道")
    shot(staff, "5-staff-closed")

    supervisor.goto(cb_url)
    assert counts(supervisor) == {}
    supervisor.goto(cb_url)
    supervisor.fill("form[action$='/reopen'] textarea[name=note]", "抽查发现来电人反馈存疑")
    supervisor.click("form[action$='/reopen'] button[type=submit]")
    expect(supervisor.locator("h1 .state")).to_have_text("待回访")
    shot(supervisor, "6-supervisor-reopened")

    assert counts(staff) == {"new_bad": 1}, "the reopened case is back in chen's inbox"
    staff.goto(cb_url)
    staff.check("input[name=result][value=reached]")
    staff.click("form[action$='/attempt'] button[type=submit]")
    staff.select_option("select[name=resolution]", "on_the_spot")
    staff.select_option("form[action$='/verdict'] select[name=feedback]", "satisfied")
    staff.click("form[action$='/verdict'] button[type=submit]")
    expect(staff.locator("h1 .state")).to_have_text("已办结")
    assert counts(staff) == {} and counts(head) == {"escalation": 1}
    staff.goto(cb_url)
    shot(staff, "7-closed-again")
