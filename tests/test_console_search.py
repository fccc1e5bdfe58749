"""Finding anything from the header: a number's last 4 digits (audited), a ticket, a call
id, a callback number; staff only within their department; totals and pages."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from storage.models import AuditEntry, Call
from tests.console_helpers import login, make_people, new_callback
from tests.console_seed import seed_console

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def people(app, sessions):
    make_people(sessions)


def test_phone_tail_finds_calls_and_is_audited(client, people, sessions):
    housing = new_callback(sessions, "CA1", dept="D-housing")
    water = new_callback(sessions, "CA2", dept="D-water")
    login(client, "li")
    page = client.get("/console/search?q=5678").get_data(as_text=True)
    assert "按来电号码后 4 位查找" in page and "共 <strong>2</strong> 条" in page
    assert f"回访 #{housing}" in page and f"回访 #{water}" in page
    assert "13812345678" not in page and "138****5678" in page
    with sessions() as session:
        (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "search_phone"))
        assert (entry.username, entry.target) == ("li", "tail:5678")


def test_staff_find_only_their_departments_callbacks(client, people, sessions):
    mine = new_callback(sessions, "CA1", dept="D-housing")
    new_callback(sessions, "CA2", dept="D-water")
    login(client, "zhang")
    page = client.get("/console/search?q=5678").get_data(as_text=True)
    assert "共 <strong>1</strong> 条" in page and f"回访 #{mine}" in page
    assert client.get("/console/search?q=T-CA2").get_data(as_text=True).count("回访 #") == 0
    response = client.get(f"/console/search?q=%23{mine}")
    assert response.status_code == 302 and response.location.endswith(f"/callbacks/{mine}")


def test_ticket_call_id_and_number_lead_to_the_call(client, people, sessions):
    new_callback(sessions, "CAabc123", dept="D-water")
    with sessions() as session:
        call_id = session.scalar(select(Call.id).where(Call.call_sid == "CAabc123"))
    login(client, "li")
    for query in ("CAabc123", f"#{call_id}"):
        response = client.get("/console/search", query_string={"q": query})
        assert response.status_code == 302 and response.location.endswith(f"/calls/{call_id}")
    page = client.get("/console/search?q=T-CAabc123").get_data(as_text=True)
    assert "按工单号查找" in page and f"#{call_id}" in page
    page = client.get("/console/search?q=nothing-like-this").get_data(as_text=True)
    assert "没有找到" in page


def test_lists_show_totals_and_page_through_everything(client, app, sessions):
    seed_console(sessions, calls=400)
    login(client, "li")
    page = client.get("/console/calls").get_data(as_text=True)
    total = int(re.search(r"共 (\d+) 条", page).group(1))
    assert total == 403 and "第 1 / 9 页" in page
    last = client.get("/console/calls?page=9").get_data(as_text=True)
    assert last.count('<a href="/console/calls/') == 403 - 8 * 50
    queue = client.get("/console/queue?state=all").get_data(as_text=True)
    assert re.search(r"全部部门共 <strong>(\d+)</strong> 条", queue)
    assert "末页" in queue or "第 1 / 1 页" in queue
