"""Recurring problems: spoken reasons and verdict notes grouped by theme."""

from __future__ import annotations

import pytest

from storage.db import transaction
from storage.models import Callback, Recording
from storage.reports.themes import themes_of
from tests.console_helpers import login, make_people, new_callback

pytestmark = pytest.mark.usefixtures("fast_hashing")


def test_themes_ignore_spaces_and_fall_back_to_other():
    assert themes_of("路灯 坏 了 一个 月 没人 管") == ["efficiency", "city"]
    assert themes_of("接线员 态度 很差") == ["attitude"]
    assert themes_of("谢谢") == ["other"]


def test_the_page_groups_reasons_and_notes(client, app, sessions):
    make_people(sessions)
    texts = {"CA1": "路灯 坏 了 没人 管", "CA2": "小区 路灯 不亮", "CA3": "工作人员 态度 差"}
    for sid, text in texts.items():
        cb_id = new_callback(sessions, sid, dept="D-water" if sid == "CA3" else "D-housing")
        with transaction(sessions) as session:
            cb = session.get_one(Callback, cb_id)
            session.add(
                Recording(
                    call_id=cb.call_id,
                    recording_sid=f"RE{sid}",
                    purpose="reason",
                    lang="zh-CN",
                    status="done",
                    transcript=text,
                )
            )
            if sid == "CA3":
                cb.verdict_note = "来电人反映的物业维修问题已转物业公司"
    login(client, "li")
    page = client.get("/console/problems").get_data(as_text=True)
    assert "共 4 条" in page
    city = page[page.index('data-theme="city"') :]
    assert '市政与环境 <span class="count">2</span>' in city and "住房保障局 2" in city
    assert "小区 路灯 不亮" in city
    assert 'data-theme="housing"' in page and "核实说明：来电人反映的物业维修问题" in page
    login(client, "zhang")
    assert client.get("/console/problems").status_code == 403
