"""Supervisors' console: access control with audit rows, call filters, the call page,
recordings streamed with range requests."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.access.users import create_user
from storage.db import transaction
from storage.models import AuditEntry
from tests.console_helpers import PASSWORD, csrf, login, make_people
from tests.supervisor_helpers import keyed_call, spoken_call, tone_wav

pytestmark = pytest.mark.usefixtures("fast_hashing")

SUPERVISOR_PAGES = (
    "/console/calls",
    "/console/calls/1",
    "/console/figures",
    "/console/spot-checks",
    "/console/export/calls.csv",
    "/console/export/report.xlsx",
)


@pytest.fixture
def people(app, sessions) -> None:
    make_people(sessions)


def audit_rows(sessions, **where) -> list[AuditEntry]:
    with sessions() as session:
        statement = select(AuditEntry).filter_by(**where).order_by(AuditEntry.id)
        return list(session.scalars(statement))


@pytest.mark.parametrize("path", SUPERVISOR_PAGES)
def test_staff_get_403_and_an_audit_row_on_supervisor_pages(client, people, sessions, path):
    spoken_call(sessions, "CA1")
    login(client, "zhang")
    response = client.get(path)
    assert response.status_code == 403
    assert "此页面仅供主管使用（已记录）" in response.get_data(as_text=True)
    (row,) = audit_rows(sessions, action="refused")
    assert (row.username, row.role, row.allowed) == ("zhang", "staff", False)
    assert row.target == f"page:{path}"


def test_admin_is_refused_too_and_anonymous_goes_to_login(client, people, sessions):
    assert client.get("/console/figures").location.endswith("/console/login")
    with transaction(sessions) as session:
        create_user(session, "root", PASSWORD, "admin")
    _, recording_id = spoken_call(sessions, "CA1")
    login(client, "root")
    assert client.get("/console/figures").status_code == 403
    assert client.get(f"/console/recordings/{recording_id}/audio").status_code == 403
    refusals = audit_rows(sessions, action="refused")
    assert [(r.username, r.target) for r in refusals] == [
        ("root", "page:/console/figures"),
        ("root", f"recording:{recording_id}"),
    ]


def test_staff_posts_to_supervisor_pages_are_refused_and_audited(client, people, sessions):
    login(client, "zhang")
    token = csrf(client, "/console/queue")
    form = {"csrf_token": token, "date_from": "2026-11-01", "date_to": "2026-11-30"}
    assert client.post("/console/spot-checks", data=form).status_code == 403
    (row,) = audit_rows(sessions, action="refused")
    assert (row.target, row.detail["method"]) == ("page:/console/spot-checks", "POST")


def test_filters_find_the_right_calls(client, people, sessions):
    spoken = spoken_call(sessions, "CA1", level="dissatisfied")[0]
    good = keyed_call(sessions, "CA2", "very_satisfied")
    neutral = keyed_call(sessions, "CA3", "basically_satisfied", source="default")
    login(client, "li")

    def found(**args) -> set[int]:
        response = client.get("/console/calls", query_string=args)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        return {n for n in (spoken, good, neutral) if f">#{n}<" in page}

    assert found() == {spoken, good, neutral}
    assert found(dept="D-water") == {good, neutral}
    assert found(category="bad") == {spoken}
    assert found(level="very_satisfied") == {good}
    assert found(source="default") == {neutral}
    assert found(has_recording="yes") == {spoken}
    assert found(has_recording="no", agent="B01") == {good, neutral}
    assert found(disposition="rated", lang="zh-CN") == {spoken}
    assert found(date_from="2000-01-01", date_to="2000-01-31") == set()
    page = client.get("/console/calls").get_data(as_text=True)
    assert "138****5678" in page and "13812345678" not in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"date_from": "2026-13-01"}, "开始日期不是有效日期"),
        ({"date_from": "2026-11-02", "date_to": "2026-11-01"}, "结束日期早于开始日期"),
        ({"level": "great"}, "评价等级的取值无效"),
    ],
)
def test_bad_filters_get_a_clear_answer(client, people, args, message):
    login(client, "li")
    response = client.get("/console/calls", query_string=args)
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_call_page_shows_how_the_rating_was_given(client, people, sessions):
    call_id, recording_id = spoken_call(sessions, "CA1")
    login(client, "li")
    page = client.get(f"/console/calls/{call_id}").get_data(as_text=True)
    assert "语音评价" in page and "不满意" in page
    assert "不 满意" in page and "62%" in page and "不确定，已复述确认" in page
    assert f"/console/recordings/{recording_id}/audio" in page
    assert "138****5678" in page and "13812345678" not in page
    token = csrf(client, f"/console/calls/{call_id}")
    revealed = client.post(f"/console/calls/{call_id}/reveal", data={"csrf_token": token})
    assert "+8613812345678" in revealed.get_data(as_text=True)
    (row,) = audit_rows(sessions, action="reveal")
    assert (row.username, row.target) == ("li", f"call:{call_id}")


def test_recordings_stream_with_ranges_and_each_playback_is_audited(client, people, sessions):
    _, recording_id = spoken_call(sessions, "CA1")
    size = len(tone_wav())
    login(client, "li")
    url = f"/console/recordings/{recording_id}/audio"
    first = client.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206 and first.mimetype == "audio/wav"
    assert first.headers["Content-Range"] == f"bytes 0-99/{size}"
    assert first.data[:4] == b"RIFF" and len(first.data) == 100
    rest = client.get(url, headers={"Range": "bytes=100-"})
    assert rest.status_code == 206 and len(rest.data) == size - 100
    assert first.data + rest.data == tone_wav()
    whole = client.get(url)
    assert whole.status_code == 200 and whole.headers["Accept-Ranges"] == "bytes"
    beyond = client.get(url, headers={"Range": f"bytes={size + 10}-"})
    assert beyond.status_code == 416
    listens = audit_rows(sessions, action="listen")
    assert len(listens) == 2  # two playbacks from the start; the later range is the same one
    assert {(r.username, r.target, r.allowed) for r in listens} == {
        ("li", f"recording:{recording_id}", True)
    }


def test_staff_hear_their_departments_callbacks_only(client, people, sessions):
    _, housing = spoken_call(sessions, "CA1", dept="D-housing")
    _, water = spoken_call(sessions, "CA2", dept="D-water")
    _, good = spoken_call(sessions, "CA3", dept="D-housing", level="satisfied")  # no callback
    login(client, "zhang")
    assert client.get(f"/console/recordings/{housing}/audio").status_code == 200
    for refused in (water, good):
        response = client.get(f"/console/recordings/{refused}/audio")
        assert response.status_code == 403
        assert "您无权收听这条录音（已记录）" in response.get_data(as_text=True)
    refusals = audit_rows(sessions, action="refused")
    assert [(r.username, r.target) for r in refusals] == [
        ("zhang", f"recording:{water}"),
        ("zhang", f"recording:{good}"),
    ]
    assert client.get("/console/recordings/9999/audio").status_code == 404
