"""Exports a report can be built on: typed cells (Beijing-time dates, percentages as
numbers), Chinese values and names, widths, a frozen header and a filter."""

from __future__ import annotations

import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from storage.models import Call
from storage.seed import DEPARTMENT_NAMES
from tests.console_helpers import login
from tests.console_seed import seed_console

pytestmark = pytest.mark.usefixtures("fast_hashing")
CODE = re.compile(r"^(D\d\d|A\d{4}|[a-z]+_[a-z_]+|dtmf|speech|rated|hung_up|zh-CN)$")


@pytest.fixture
def seeded(app, sessions):
    return seed_console(sessions, calls=300)


def test_calls_xlsx_is_typed_chinese_and_ready_to_filter(client, seeded, sessions):
    login(client, "li")
    response = client.get("/console/export/calls.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data))["来电记录"]
    rows = list(sheet.values)
    assert len(rows) == 1 + 300 + 3  # header, seeded and real calls
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:O{len(rows)}"
    assert sheet.column_dimensions["B"].width >= 20 and sheet.column_dimensions["C"].width >= 16
    first = rows[1]
    assert isinstance(first[0], int) and isinstance(first[2], datetime)
    assert sheet["C2"].number_format == "yyyy-mm-dd hh:mm"
    with sessions() as session:
        call = session.get(Call, first[0])
        beijing = call.created_at.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    assert abs((first[2] - beijing).total_seconds()) < 1  # Beijing time, not UTC
    values = {cell for row in rows[1:] for cell in row if isinstance(cell, str)}
    assert not {v for v in values if CODE.match(v)}, "raw codes in the export"
    assert {"住房保障局", "普通话", "不满意"} <= values
    assert any(v in values for v in ("按键评价", "语音评价"))


def test_report_rates_are_numbers_shown_as_percentages(client, seeded, sessions):
    login(client, "li")
    with sessions() as session:
        days = [c.created_at for c in session.scalars(select(Call))]
    start, end = min(days).date().isoformat(), max(days).date().isoformat()
    response = client.get(
        "/console/export/report.xlsx", query_string={"date_from": start, "date_to": end}
    )
    book = load_workbook(io.BytesIO(response.data))
    by_dept = book["按部门"]
    rows = list(by_dept.values)
    assert rows[0][3] == "主动评价率" and isinstance(rows[1][3], float)
    assert by_dept["D2"].number_format == "0.0%" and by_dept.freeze_panes == "A2"
    assert {row[0] for row in rows[1:]} <= set(DEPARTMENT_NAMES)
    by_day = list(book["按日"].values)
    assert isinstance(by_day[1][0], datetime)  # a date cell, not text
    agents = [row[0] for row in list(book["按话务员"].values)[1:]]
    assert all("（" in a and not re.search(r"A\d{4}", a) for a in agents)
