"""Errors in place: a refused form comes back with the message beside it and what was
typed (and the files chosen) kept; Chinese error pages; menus only what the role opens."""

from __future__ import annotations

import io
import re

import pytest

from storage.access.users import create_user
from storage.db import transaction
from storage.models import Callback
from tests.console_helpers import PASSWORD, csrf, login, make_people, new_callback, post

pytestmark = pytest.mark.usefixtures("fast_hashing")
PDF = b"%PDF-1.4\n% evidence\n"


@pytest.fixture
def people(app, sessions) -> None:
    make_people(sessions)
    with transaction(sessions) as session:
        create_user(session, "root", PASSWORD, "admin")


def _reached(client, sessions, resolution: str | None = None) -> int:
    cb_id = new_callback(sessions, "CA1")
    login(client, "zhang")
    post(client, f"/console/callbacks/{cb_id}/attempt", {"result": "reached", "note": ""})
    if resolution:
        post(client, f"/console/callbacks/{cb_id}/verdict", {"resolution": resolution})
    return cb_id


def test_a_refused_verdict_comes_back_beside_its_form_with_the_choice_kept(
    client, people, sessions
):
    cb_id = _reached(client, sessions)
    form = {"resolution": "malicious", "note": "  "}
    response = post(client, f"/console/callbacks/{cb_id}/verdict", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="verdict-error"' in page and "误评或恶意差评须说明理由" in page
    assert re.search(r'<option value="malicious" selected>', page)
    assert "请求有误" not in page  # the callback page itself, not an error page


def test_chosen_evidence_is_kept_when_the_description_is_missing(client, people, sessions):
    cb_id = _reached(client, sessions, "rectify_5d")
    form = {
        "description": "",
        "feedback": "satisfied",
        "evidence": [(io.BytesIO(PDF), "整改报告.pdf")],
    }
    response = post(client, f"/console/callbacks/{cb_id}/close", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "请填写整改情况说明" in page
    assert "整改报告.pdf" in page and 'name="kept_evidence"' in page
    kept = re.search(r'name="kept_evidence" value="([^"]+)"', page).group(1)
    key = re.search(r'name="submission_key" value="([^"]+)"', page[page.index("/close") :])
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    again = {
        "csrf_token": token,
        "submission_key": key.group(1),
        "description": "已修复",
        "feedback": "satisfied",
        "kept_evidence": kept,
        "kept_name": "整改报告.pdf",
    }
    done = client.post(f"/console/callbacks/{cb_id}/close", data=again)
    assert done.status_code == 302
    with sessions() as session:
        cb = session.get(Callback, cb_id)
        assert cb.state == "closed" and cb.evidence == [kept]


def test_another_callbacks_evidence_cannot_be_borrowed(client, people, sessions):
    cb_id = _reached(client, sessions, "rectify_5d")
    form = {
        "description": "已修复",
        "feedback": "satisfied",
        "kept_evidence": f"evidence/{cb_id + 1}/{'a' * 32}.pdf",
    }
    response = post(client, f"/console/callbacks/{cb_id}/close", form)
    assert response.status_code == 400 and "请上传 1 至 20 个证明材料文件" in response.get_data(
        as_text=True
    )


def test_admin_form_errors_stay_beside_the_field(client, people):
    login(client, "root")
    token = csrf(client, "/console/admin/users")
    form = {"csrf_token": token, "username": "sun", "password": "a-good-password"}
    response = client.post("/console/admin/users", data=form | {"role": "staff", "dept": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "承办人员必须属于一个部门" in page and 'value="sun"' in page
    assert page.index("承办人员必须属于一个部门") > page.index('name="dept"')


def test_menus_show_only_what_the_role_may_open(client, people):
    login(client, "root")
    page = client.get("/console/admin/users").get_data(as_text=True)
    assert "回访队列" not in page and "来电记录" not in page and "用户管理" in page
    client.post("/console/logout", data={"csrf_token": csrf(client, "/console/admin/users")})
    login(client, "zhang")
    page = client.get("/console/queue").get_data(as_text=True)
    assert "回访队列" in page and "统计数据" not in page and "用户管理" not in page


def test_unknown_pages_are_chinese_in_the_console_layout(client, people):
    login(client, "li")
    response = client.get("/console/calls/999999")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and "未找到" in page and "统计数据" in page
    response = client.get("/nothing/here")
    assert response.status_code == 404 and "返回首页" in response.get_data(as_text=True)
