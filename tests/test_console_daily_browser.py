"""The console as supervisors and department staff use it all day, in Debian's Chromium
at 1440×900 and on a 390×844 phone: names not codes, errors in place, spot checks from
facts, the staff queue and callback page on a phone. Screenshots go to tests/output/."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.db import transaction
from storage.models import Callback, User
from storage.workflow import callbacks as wf
from storage.workflow.inbox import KIND_DUE_SOON, KIND_NEW, notify
from tests.browser_helpers import OUTPUT, login, reach_and_propose, screenshot, sync_api
from tests.console_seed import seed_console

SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}

pytestmark = [pytest.mark.usefixtures("fast_hashing"), pytest.mark.any_database]


@pytest.fixture
def seeded(live_server, sessions):
    return seed_console(sessions, calls=2000)


def open_as(browser, base: str, username: str, size: str):
    return login(browser, base, username, SIZES[size], heading=None)


def shot(page, name: str) -> None:
    screenshot(page, f"daily-{name}")


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("size", SIZES)
def test_supervisor_finds_calls_by_department_name(browser, live_server, seeded, size):
    page = open_as(browser, live_server, "li", size)
    page.goto(f"{live_server}/console/calls")
    page.select_option("select[name=dept]", label="水务局")
    page.click("#call-filter button[type=submit]")
    cells = page.locator("table.calls tbody tr td:nth-child(3)")
    sync_api.expect(cells.first).to_have_text("水务局")
    assert set(cells.all_inner_texts()) == {"水务局"}
    agents = page.locator("table.calls tbody tr td:nth-child(4)").all_inner_texts()
    assert agents and not any(a.startswith("A0") for a in agents)
    shot(page, f"calls-by-department-{size}")
    if size == "phone":
        assert no_horizontal_scroll(page)


@pytest.mark.parametrize("size", SIZES)
def test_a_refused_verdict_keeps_what_was_typed(browser, live_server, seeded, size):
    page = open_as(browser, live_server, "zhang", size)
    page.goto(f"{live_server}/console/callbacks/{seeded['open_callback']}")
    reach_and_propose(page, "malicious", " ")
    sync_api.expect(page.locator("#verdict-error")).to_have_text("误评或恶意差评须说明理由。")
    assert page.locator("select[name=resolution]").input_value() == "malicious"
    page.locator("#verdict-error").scroll_into_view_if_needed()
    shot(page, f"verdict-error-in-place-{size}")


@pytest.mark.parametrize("size", SIZES)
def test_spot_check_items_show_the_facts_and_start_unanswered(browser, live_server, seeded, size):
    page = open_as(browser, live_server, "li", size)
    page.goto(f"{live_server}/console/spot-checks/{seeded['spot_check']}")
    form = page.locator("form.score").first
    assert form.locator("input[type=radio]:checked").count() == 0
    facts = form.locator(".fact").all_inner_texts()
    assert len(facts) == 5 and all(f.startswith("记录：") for f in facts)
    shot(page, f"spot-check-facts-{size}")


def test_staff_work_the_queue_on_a_phone(browser, live_server, seeded):
    page = open_as(browser, live_server, "zhang", "phone")
    sync_api.expect(page.locator("h1")).to_have_text("回访队列")
    assert no_horizontal_scroll(page)
    left = page.locator("td.left").first
    box = left.bounding_box()
    assert box and box["height"] < 40, "the countdown wraps"
    shot(page, "queue-phone")
    page.goto(f"{live_server}/console/callbacks/{seeded['open_callback']}")
    page.click("text=显示号码")
    tel = page.locator(".number a")
    sync_api.expect(tel).to_have_attribute("href", "tel:+8613812345678")
    assert no_horizontal_scroll(page)
    shot(page, "callback-phone-number")
    page.check("input[name=result][value=no_answer]")
    page.click("text=保存并处理下一条")
    page.wait_for_load_state()
    assert f"/callbacks/{seeded['open_callback']}" not in page.url
    sync_api.expect(page.locator(".flash").first).to_contain_text(
        f"回访 #{seeded['open_callback']} 已保存"
    )
    assert no_horizontal_scroll(page)
    shot(page, "callback-next-phone")


@pytest.mark.parametrize("size", SIZES)
def test_figures_lead_to_the_calls_behind_them(browser, live_server, seeded, size):
    page = open_as(browser, live_server, "li", size)
    page.goto(f"{live_server}/console/figures")
    sync_api.expect(page.locator("#definitions")).to_contain_text("主动评价率")
    shot(page, f"figures-{size}")
    page.goto(f"{live_server}/console/figures?group=agent")
    shot(page, f"figures-agents-{size}")
    page.locator("#figures-table tbody a").first.click()
    sync_api.expect(page.locator("h1")).to_contain_text("话务员评价卡")
    shot(page, f"agent-scorecard-{size}")
    page.goto(f"{live_server}/console/figures")
    page.locator("table.levels a", has_text="非常不满意").click()
    sync_api.expect(page.locator("h1")).to_contain_text("来电记录")
    levels = page.locator("table.calls tbody tr td:nth-child(7)").all_inner_texts()
    assert levels and all(level.startswith("非常不满意") for level in levels)
    if size == "phone":
        assert no_horizontal_scroll(page)


SIDEWAYS = """[...document.querySelectorAll('body *')].filter((e) =>
    e.scrollWidth > e.clientWidth + 1 && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
  ).map((e) => e.tagName + '.' + e.className)"""


def readable_on_a_phone(page) -> None:
    """No horizontal scroll: neither the page nor a table inside it scrolls sideways."""
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page is {width[0]} px wide in a {width[1]} px screen"
    assert page.evaluate(SIDEWAYS) == []


def test_the_callback_page_queue_and_inbox_fit_a_phone(browser, live_server, seeded, sessions):
    """At 390×844 the callback page's history is stacked rows, as are the queue and inbox."""
    with transaction(sessions) as session:
        staff = session.scalars(select(User).where(User.username == "zhang")).one()
        case = session.get_one(Callback, seeded["open_callback"])
        subject = f"回访 #{case.id} 的回访期限将在 4 小时内到期，请尽快联系来电人并登记结果"
        notify(session, KIND_DUE_SOON, f"soon:{case.id}", [staff], case, subject)
        notify(session, KIND_NEW, f"new:{case.id}", [staff], case, f"本部门新差评：回访 #{case.id}")
    note = "来电人表示下午三点以后方便接听，已约定届时再次联系并说明整改安排" * 2
    wf.act(sessions, wf.log_attempt, staff, seeded["open_callback"], "no_answer", note)
    page = open_as(browser, live_server, "zhang", "phone")
    page.goto(f"{live_server}/console/callbacks/{seeded['open_callback']}")
    rows = page.locator("table.history tbody tr")
    assert rows.count() >= 3  # the refusals of the seeding and the attempt above
    sync_api.expect(page.locator("table.history")).to_contain_text("约定届时再次联系")
    readable_on_a_phone(page)
    shot(page, "callback-history-phone")
    page.locator("table.history").screenshot(path=OUTPUT / "daily-callback-history-table-phone.png")
    page.goto(f"{live_server}/console/queue")
    readable_on_a_phone(page)
    page.goto(f"{live_server}/console/inbox")
    sync_api.expect(page.locator("table.inbox tbody tr")).to_have_count(2)
    readable_on_a_phone(page)
    shot(page, "inbox-phone")
