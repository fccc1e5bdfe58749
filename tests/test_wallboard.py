"""The wallboard: per department open / due within 4 h / overdue, the follow-up rate
against 100 % (red/amber/green), cluster alerts, and refreshing without a reload."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select

from storage.db import transaction
from storage.models import Callback, User
from storage.types import utcnow
from storage.workflow.callbacks import act, log_attempt, record_verdict
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
    # none closed yet, but none due either: nothing failed the target
    assert (housing["rag"], housing["rate"], housing["pending"]) == ("none", "—", 3)


def _staff(sessions, username: str = "zhang") -> User:
    with sessions() as session:
        return session.scalars(select(User).where(User.username == username)).one()


def _past_its_deadline(sessions, callback_id: int) -> None:
    with transaction(sessions) as session:
        session.get(Callback, callback_id).due_at = utcnow() - timedelta(hours=1)


def _closed_with_feedback(sessions, callback_id: int) -> None:
    staff = _staff(sessions)
    act(sessions, log_attempt, staff, callback_id, "reached")
    verdict = ("on_the_spot", "当场解决")
    act(sessions, record_verdict, staff, callback_id, *verdict, feedback="satisfied")


def test_the_colour_counts_only_cases_due(client, people, sessions):
    """Red/amber/green judge what is due (closed, or past its deadline); a case still
    inside its deadline is shown apart as 未到期 and changes nothing."""
    late, closed, _still_open = (new_callback(sessions, f"CA{n}") for n in range(3))
    login(client, "li")

    def housing() -> tuple:
        state = client.get("/console/wallboard.json").get_json()
        tile = next(d for d in state["departments"] if d["dept"] == "D-housing")
        return tile["rate"], tile["followed"], tile["pending"], tile["rag"]

    _past_its_deadline(sessions, late)
    assert housing() == ("0.0%", "0/1", 2, "red")
    _closed_with_feedback(sessions, closed)
    assert housing() == ("50.0%", "1/2", 1, "red")
    _closed_with_feedback(sessions, late)  # late, but followed up: it counts as done
    assert housing() == ("100.0%", "2/2", 1, "green")  # the third is still open
    page = client.get("/console/wallboard").get_data(as_text=True)
    assert "未到期（不计入）" in page and "尚在期限内、未办结的差评不算未达标" in page


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
