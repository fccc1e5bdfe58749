"""Agents' names: loaded by `ivr agent create/import` and on the administration page."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

from ivr.cli import main
from storage.access.users import create_department, create_user
from storage.db import transaction
from storage.names import directory
from tests.console_helpers import PASSWORD, csrf, login

pytestmark = pytest.mark.usefixtures("fast_hashing")


def test_the_cli_creates_and_imports_agents(app, sessions, tmp_path):
    with transaction(sessions) as session:
        create_department(session, "D-housing", "住房保障局")
    runner = CliRunner()
    assert (
        runner.invoke(main, ["agent", "create", "A1024", "王芳", "--dept", "D-housing"]).exit_code
        == 0
    )
    table = tmp_path / "agents.csv"
    table.write_text("工号,姓名,部门代码\nA1024,王芳芳,D-housing\nA2011,李强,\n", encoding="utf-8")
    result = runner.invoke(main, ["agent", "import", str(table)])
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("A3000,赵敏,D-nowhere\n", encoding="utf-8")
    refused = runner.invoke(main, ["agent", "import", str(bad)])
    assert refused.exit_code != 0 and "第 1 行：部门不存在" in refused.output
    with sessions() as session:
        names = directory(session)
    assert names.agent("A1024") == "王芳芳" and names.agent("A2011") == "李强"
    assert names.agent("A3000") == "A3000"  # nothing of the refused file was saved


def test_the_admin_page_loads_a_csv(client, app, sessions):
    with transaction(sessions) as session:
        create_department(session, "D-water", "水务局")
        create_user(session, "root", PASSWORD, "admin")
    login(client, "root")
    token = csrf(client, "/console/admin/departments")
    data = {
        "csrf_token": token,
        "agents_csv": (io.BytesIO("B01,孙丽,D-water\n".encode("gbk")), "a.csv"),
    }
    response = client.post(
        "/console/admin/agents/import", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    page = client.get("/console/admin/departments").get_data(as_text=True)
    assert "孙丽" in page and "水务局" in page
    wrong = {"csrf_token": token, "agent_code": "bad code!", "agent_name": "某某", "agent_dept": ""}
    response = client.post("/console/admin/agents", data=wrong)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "话务员工号无效" in page and 'value="某某"' in page
