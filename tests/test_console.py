"""The workbench: login, queues by department, access control, CSRF and working a callback."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from storage.db import transaction
from storage.models import Callback, CallbackEvent, Recording
from storage.records.files import file_store
from tests.console_helpers import PASSWORD, csrf, form_key, login, make_people, new_callback, post

PDF = b"%PDF-1.4\n% evidence\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def people(app, sessions) -> None:
    make_people(sessions)


def state(sessions, cb_id: int) -> Callback:
    with sessions() as session:
        return session.get_one(Callback, cb_id)


def events(sessions, cb_id: int) -> list[CallbackEvent]:
    with sessions() as session:
        return list(
            session.scalars(select(CallbackEvent).where(CallbackEvent.callback_id == cb_id))
        )


def test_login_ok_sets_a_hardened_cookie(client, people):
    response = login(client, "zhang")
    assert response.status_code == 302 and response.location.endswith("/console/queue")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "回访队列" in client.get("/console/queue").get_data(as_text=True)


def test_wrong_password_then_rate_limited(client, people):
    for _ in range(5):
        response = login(client, "zhang", "wrong-password")
        assert response.status_code == 401
        assert "用户名或密码错误" in response.get_data(as_text=True)
    blocked = login(client, "zhang")  # even the right password now
    assert blocked.status_code == 429
    assert "登录失败次数过多，请 15 分钟后再试" in blocked.get_data(as_text=True)
    assert login(client, "wang").status_code == 302  # another user is not blocked


def test_anonymous_is_sent_to_login(client, people):
    assert client.get("/console/queue").location.endswith("/console/login")


def test_staff_see_only_their_department_supervisors_all(client, app, people, sessions):
    housing = new_callback(sessions, "CA1")
    water = new_callback(sessions, "CA2", dept="D-water")
    login(client, "zhang")
    page = client.get("/console/queue").get_data(as_text=True)
    assert f"#{housing}<" in page and f"#{water}<" not in page
    assert "138****5678" in page and "13812345678" not in page
    assert "剩余 4" in page  # 47 h 59 min left: "剩余 47 小时"
    other = app.test_client()
    login(other, "li")
    page = other.get("/console/queue").get_data(as_text=True)
    assert f"#{housing}<" in page and f"#{water}<" in page


def test_overdue_rows_are_marked(client, people, sessions):
    cb_id = new_callback(sessions, "CA1")
    with transaction(sessions) as session:
        cb = session.get_one(Callback, cb_id)
        cb.due_at = cb.due_at - timedelta(hours=51)
    login(client, "zhang")
    page = client.get("/console/queue").get_data(as_text=True)
    assert 'class="overdue"' in page and "已超时 3 小时" in page


def test_other_department_gets_403_with_an_audit_row(client, people, sessions):
    cb_id = new_callback(sessions, "CA1")
    login(client, "wang")
    page = client.get(f"/console/callbacks/{cb_id}")
    assert page.status_code == 403 and "无权" in page.get_data(as_text=True)
    token = csrf(client, "/console/queue")
    form = {"csrf_token": token, "result": "reached", "submission_key": "k" * 20}
    action = client.post(f"/console/callbacks/{cb_id}/attempt", data=form)
    assert action.status_code == 403
    assert state(sessions, cb_id).state == "open"
    refused = [(e.kind, e.action, e.actor_name) for e in events(sessions, cb_id)]
    assert refused == [("refused", "view", "wang"), ("refused", "attempt", "wang")]


def test_post_without_csrf_token_is_refused(client, people, sessions):
    cb_id = new_callback(sessions, "CA1")
    login(client, "zhang")
    response = client.post(f"/console/callbacks/{cb_id}/attempt", data={"result": "reached"})
    assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
    assert state(sessions, cb_id).state == "open" and events(sessions, cb_id) == []
    no_token = client.post("/console/login", data={"username": "zhang", "password": PASSWORD})
    assert no_token.status_code == 400


def test_work_a_callback_to_closed_with_evidence(client, people, sessions, redis_url):
    cb_id = new_callback(sessions, "CA1")
    login(client, "zhang")
    base = f"/console/callbacks/{cb_id}"
    response = post(client, f"{base}/attempt", {"result": "no_answer", "note": "无人接"})
    assert response.status_code == 302 and state(sessions, cb_id).state == "open"
    post(client, f"{base}/attempt", {"result": "reached", "note": "已联系"})
    assert state(sessions, cb_id).state == "called_back"
    post(client, f"{base}/verdict", {"resolution": "rectify_5d", "note": "需维修"})
    found = state(sessions, cb_id)
    assert found.resolution == "rectify_5d" and found.rectify_due_at is not None
    files = {
        "description": "已维修路灯",
        "feedback": "satisfied",
        "evidence": [(io.BytesIO(PDF), "报告.pdf"), (io.BytesIO(PNG), "photo.png")],
    }
    response = post(client, f"{base}/close", files)
    assert response.status_code == 302, response.get_data(as_text=True)
    found = state(sessions, cb_id)
    assert found.state == "closed" and len(found.evidence) == 2
    assert all(
        re.fullmatch(rf"evidence/{cb_id}/[0-9a-f]{{32}}\.(pdf|png)", k) for k in found.evidence
    )
    assert file_store().open(found.evidence[0]).read() in (PDF, PNG)
    page = client.get(base).get_data(as_text=True)
    assert "已办结" in page and "已维修路灯" in page and "整改办结" in page
    download = client.get(f"{base}/evidence/1")
    assert download.status_code == 200 and download.data == PDF
    assert (
        download.mimetype == "application/pdf"
        and client.get(f"{base}/evidence/3").status_code == 404
    )
    kinds = [e.kind for e in events(sessions, cb_id)]
    assert kinds == ["attempt", "reached", "verdict", "closed"]


def _rectifying(client, sessions) -> int:
    cb_id = new_callback(sessions, "CA1")
    login(client, "zhang")
    post(client, f"/console/callbacks/{cb_id}/attempt", {"result": "reached"})
    post(
        client,
        f"/console/callbacks/{cb_id}/verdict",
        {"resolution": "rectify_15d", "consulted": "D-water"},
    )
    return cb_id


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"MZ\x90\x00 not a pdf", "不是 PDF、JPEG 或 PNG"),
        (b"%PDF-" + b"0" * (10 * 1024 * 1024), "超过 10 MB"),
    ],
)
def test_bad_uploads_are_refused(client, people, sessions, content, message):
    cb_id = _rectifying(client, sessions)
    form = {
        "description": "x",
        "feedback": "satisfied",
        "evidence": [(io.BytesIO(content), "a.pdf")],
    }
    response = post(client, f"/console/callbacks/{cb_id}/close", form)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert state(sessions, cb_id).state == "called_back"
    assert not (file_store().path(f"evidence/{cb_id}")).exists()
    refused = events(sessions, cb_id)[-1]
    assert (refused.kind, refused.action, refused.actor_name) == ("refused", "upload", "zhang")
    assert message in refused.note


def test_a_body_over_the_upload_limit_gets_a_clear_413(client, people, sessions):
    cb_id = _rectifying(client, sessions)
    big = [(io.BytesIO(b"%PDF-" + b"0" * (9 * 1024 * 1024)), f"{n}.pdf") for n in range(3)]
    form = {"description": "x", "feedback": "satisfied", "evidence": big}
    response = post(client, f"/console/callbacks/{cb_id}/close", form)
    assert response.status_code == 413 and "单个文件不超过 10 MB" in response.get_data(as_text=True)
    assert state(sessions, cb_id).state == "called_back"
    refused = events(sessions, cb_id)[-1]
    assert (refused.kind, refused.action, refused.actor_name) == ("refused", "upload", "zhang")
    assert "over 25 MB" in refused.note


def test_a_double_submitted_closing_keeps_one_set_of_files(client, people, sessions):
    cb_id = _rectifying(client, sessions)
    page = client.get(f"/console/callbacks/{cb_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "submission_key": form_key(page, "close")}
    form |= {"description": "已整改", "feedback": "satisfied"}
    for _ in range(2):
        data = form | {"evidence": [(io.BytesIO(PDF), "a.pdf")]}
        response = client.post(f"/console/callbacks/{cb_id}/close", data=data)
        assert response.status_code == 302
    [key] = state(sessions, cb_id).evidence
    assert [p.name for p in file_store().path(f"evidence/{cb_id}").iterdir()] == [
        key.split("/")[-1]
    ]


def test_number_reveal_is_logged(client, app, people, sessions):
    cb_id = new_callback(sessions, "CA1")
    login(client, "zhang")
    page = client.get(f"/console/callbacks/{cb_id}").get_data(as_text=True)
    assert "138****5678" in page and "13812345678" not in page and "显示号码" in page
    response = post(client, f"/console/callbacks/{cb_id}/reveal", {}, f"/console/callbacks/{cb_id}")
    assert response.status_code == 200 and "+8613812345678" in response.get_data(as_text=True)
    [event] = events(sessions, cb_id)
    assert (event.kind, event.actor_name, event.to_state) == ("number_revealed", "zhang", "open")
    assert "13812345678" not in client.get(f"/console/callbacks/{cb_id}").get_data(as_text=True)
    other = app.test_client()
    login(other, "wang")
    token = csrf(other, "/console/queue")
    denied = other.post(f"/console/callbacks/{cb_id}/reveal", data={"csrf_token": token})
    assert denied.status_code == 403 and "13812345678" not in denied.get_data(as_text=True)
    assert [e.kind for e in events(sessions, cb_id)] == ["number_revealed", "refused"]


def test_supervisor_approves_a_malicious_verdict(client, app, people, sessions):
    cb_id = new_callback(sessions, "CA1")
    login(client, "zhang")
    post(client, f"/console/callbacks/{cb_id}/attempt", {"result": "reached"})
    post(client, f"/console/callbacks/{cb_id}/verdict", {"resolution": "malicious", "note": "骚扰"})
    assert "等待另一位主管审批" in client.get(f"/console/callbacks/{cb_id}").get_data(as_text=True)
    sup = app.test_client()
    login(sup, "li")
    response = post(sup, f"/console/callbacks/{cb_id}/review", {"decision": "approve"})
    assert response.status_code == 302
    with sessions() as session:
        cb = session.get_one(Callback, cb_id)
        assert cb.state == "not_adopted" and cb.rating.excluded
    assert "不予采纳" in sup.get(f"/console/callbacks/{cb_id}").get_data(as_text=True)


def test_illegal_transition_is_409_in_chinese(client, people, sessions):
    cb_id = new_callback(sessions, "CA1")
    login(client, "zhang")
    token = csrf(client, f"/console/callbacks/{cb_id}")
    form = {"csrf_token": token, "resolution": "on_the_spot", "feedback": "satisfied"}
    response = client.post(f"/console/callbacks/{cb_id}/verdict", data=form)
    assert response.status_code == 409 and "尚未联系上来电人" in response.get_data(as_text=True)
    assert [e.kind for e in events(sessions, cb_id)] == ["refused"]


def test_a_double_submit_changes_once(client, people, sessions):
    cb_id = new_callback(sessions, "CA1")
    login(client, "zhang")
    page = client.get(f"/console/callbacks/{cb_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "submission_key": form_key(page, "attempt")}
    form |= {"result": "no_answer", "note": "第一次"}
    first = client.post(f"/console/callbacks/{cb_id}/attempt", data=form)
    second = client.post(f"/console/callbacks/{cb_id}/attempt", data=form)
    assert first.status_code == second.status_code == 302
    assert state(sessions, cb_id).failed_attempts == 1
    assert [e.kind for e in events(sessions, cb_id)] == ["attempt"]
    assert "未重复处理" in client.get(f"/console/callbacks/{cb_id}").get_data(as_text=True)


def test_the_spoken_reason_is_shown_and_played(client, app, people, sessions):
    cb_id = new_callback(sessions, "CA1")
    file_store().put("CA1/RE1", b"RIFF....WAVE")
    with transaction(sessions) as session:
        call_id = session.get_one(Callback, cb_id).call_id
        reason = Recording(
            call_id=call_id,
            recording_sid="RE1",
            purpose="reason",
            lang="zh-CN",
            status="done",
            file_key="CA1/RE1",
            transcript="路灯坏了一个月没人修",
        )
        session.add(reason)
        session.flush()
        audio_url = f"/console/recordings/{reason.id}/audio"
    login(client, "zhang")
    assert "路灯坏了一个月没人修" in client.get(f"/console/callbacks/{cb_id}").get_data(
        as_text=True
    )
    page = client.get(f"/console/callbacks/{cb_id}").get_data(as_text=True)
    assert audio_url in page
    audio = client.get(audio_url)
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"
    other = app.test_client()
    login(other, "wang")
    assert other.get(audio_url).status_code == 403
