"""The console as supervisors and department staff use it all day, in Debian's Chromium
at 1440×900 and on a 390×844 phone: names not codes, errors in place, spot checks from
facts, the staff queue and callback page on a phone. Screenshots go to tests/output/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.console_helpers import PASSWORD
from tests.console_seed import seed_console

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
OUTPUT = Path(__file__).resolve().parent / "output"
SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}

pytestmark = [pytest.mark.usefixtures("fast_hashing"), pytest.mark.any_database]


@pytest.fixture
def browser():
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed: apt-get install chromium fonts-noto-cjk")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def seeded(live_server, sessions):
    return seed_console(sessions, calls=2000)


def open_as(browser, base: str, username: str, size: str):
    page = browser.new_page(locale="zh-CN", viewport=SIZES[size])
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def shot(page, name: str) -> None:
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / f"daily-{name}.png", full_page=True)


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
    page.check("input[name=result][value=reached]")
    page.click("form[action$='/attempt'] button[type=submit] >> nth=0")
    page.select_option("select[name=resolution]", "malicious")
    page.fill("form[action$='/verdict'] textarea[name=note]", " ")
    page.click("form[action$='/verdict'] button[type=submit] >> nth=0")
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
