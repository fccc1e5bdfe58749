"""The wallboard: per department open / due within 4 h / overdue, the follow-up rate
against 100 % (red/amber/green), cluster alerts, and refreshing without a reload."""

from __future__ import annotations

import shutil

import pytest

from tests.console_helpers import PASSWORD, login, make_people, new_callback

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def people(app, sessions, monkeypatch):
    monkeypatch.setenv("WALLBOARD_CLUSTER_THRESHOLD", "3")
    make_people(sessions)


def test_the_board_counts_each_department_and_raises_a_cluster_alert(client, people, sessions):
    for n in range(3):
        new_callback(sessions, f"CA{n}", dept="D-housing")
    new_callback(sessions, "CAw", dept="D-water")
    login(client, "li")
    page = client.get("/console/wallboard").get_data(as_text=True)
    assert "回访大屏" in page and "住房保障局" in page and "水务局" in page
    assert "差评集中：住房保障局 24 小时内 3 条差评" in page
    state = client.get("/console/wallboard.json").get_json()
    housing = next(d for d in state["departments"] if d["dept"] == "D-housing")
    assert (housing["open"], housing["overdue"], housing["name"]) == (3, 0, "住房保障局")
    assert housing["rag"] == "red" and housing["rate"] == "0.0%"  # none closed yet: below target


def test_staff_see_their_own_department(client, people, sessions):
    new_callback(sessions, "CA1", dept="D-housing")
    new_callback(sessions, "CA2", dept="D-water")
    login(client, "zhang")
    state = client.get("/console/wallboard.json").get_json()
    assert [d["dept"] for d in state["departments"]] == ["D-housing"]


def test_the_board_refreshes_itself(live_server, people, sessions):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("/usr/bin/chromium"):
        pytest.skip("no chromium")
    new_callback(sessions, "CA1", dept="D-housing")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        for size in ({"width": 1440, "height": 900}, {"width": 390, "height": 844}):
            page = browser.new_page(locale="zh-CN", viewport=size)
            page.goto(f"{live_server}/console/login")
            page.fill("input[name=username]", "li")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.goto(f"{live_server}/console/wallboard?refresh=2")
            page.evaluate("window.marker = 'same page'")
            tile = page.locator('.wb-tile[data-dept="D-housing"] [data-field=open]')
            before = int(tile.inner_text())
            new_callback(sessions, f"CAnew{size['width']}", dept="D-housing")
            sync_api.expect(tile).to_have_text(str(before + 1), timeout=15_000)
            assert page.evaluate("window.marker") == "same page"  # no reload
            shot = f"tests/output/daily-wallboard-{size['width']}.png"
            page.screenshot(path=shot, full_page=True)
        browser.close()
