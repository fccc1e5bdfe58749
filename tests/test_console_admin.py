"""Administration pages: users and departments, admins only, CSRF-checked, audited."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from storage.access.users import create_user
from storage.db import transaction
from storage.models import AuditEntry, Department, User
from tests.console_helpers import PASSWORD, login, make_people

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def people(sessions):
    make_people(sessions)
    with transaction(sessions) as session:
        create_user(session, "root", PASSWORD, "admin")


def submit(client, page: str, action: str, form: dict):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token.group(1)} | form)


def audit_rows(sessions) -> list[AuditEntry]:
    with sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def user(sessions, name: str) -> User | None:
    with sessions() as session:
        return session.scalars(select(User).where(User.username == name)).one_or_none()


def test_an_admin_lands_on_the_users_page(client, people):
    response = login(client, "root")
    assert response.headers["Location"].endswith("/console/admin/users")
    assert client.get("/console/").headers["Location"].endswith("/console/admin/users")
    page = client.get("/console/admin/users").get_data(as_text=True)
    assert "用户管理" in page and "zhang" in page and "部门管理" in page


def test_an_admin_creates_a_user_and_the_change_is_audited(client, people, sessions):
    login(client, "root")
    form = {"username": "sun", "password": "a-good-password", "role": "staff", "dept": "D-water"}
    response = submit(client, "/console/admin/users", "/console/admin/users", form)
    assert response.status_code == 302
    created = user(sessions, "sun")
    assert (created.role, created.dept, created.active) == ("staff", "D-water", True)
    [row] = audit_rows(sessions)
    assert (row.username, row.action, row.target) == ("root", "user_created", "user:sun")
    assert row.detail == {"role": "staff", "dept": "D-water"}
    assert "a-good-password" not in str(row.detail)
    client.post("/console/logout", data={"csrf_token": "x"})
    assert login(client, "sun", "a-good-password").status_code == 302


def test_role_department_and_deactivation(client, people, sessions):
    login(client, "root")
    zhang = user(sessions, "zhang")
    form = {"role": "supervisor", "dept": "", "active": "on"}
    submit(client, "/console/admin/users", f"/console/admin/users/{zhang.id}", form)
    assert (user(sessions, "zhang").role, user(sessions, "zhang").dept) == ("supervisor", None)
    submit(
        client,
        "/console/admin/users",
        f"/console/admin/users/{zhang.id}",
        {"role": "supervisor", "dept": ""},
    )
    assert user(sessions, "zhang").active is False
    changes = [r.detail for r in audit_rows(sessions) if r.action == "user_changed"]
    assert changes[0]["from"] == {"role": "staff", "dept": "D-housing", "active": True}
    assert changes[1]["to"] == {"role": "supervisor", "dept": None, "active": False}
    client.post("/console/logout", data={"csrf_token": "x"})
    assert login(client, "zhang").status_code == 401  # deactivated: cannot log in


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"role": "staff", "dept": "", "active": "on"}, "承办人员必须属于一个部门"),
        ({"role": "staff", "dept": "D-nowhere", "active": "on"}, "部门不存在"),
        ({"role": "root", "dept": "", "active": "on"}, "未知角色"),
    ],
)
def test_bad_changes_are_refused_and_audited(client, people, sessions, form, message):
    login(client, "root")
    wang = user(sessions, "wang")
    response = submit(client, "/console/admin/users", f"/console/admin/users/{wang.id}", form)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert user(sessions, "wang").role == "staff" and user(sessions, "wang").dept == "D-water"
    [row] = audit_rows(sessions)
    assert row.action == "refused" and row.detail["action"] == "user_change"


def test_an_admin_cannot_lock_themselves_out(client, people, sessions):
    login(client, "root")
    root = user(sessions, "root")
    response = submit(
        client,
        "/console/admin/users",
        f"/console/admin/users/{root.id}",
        {"role": "admin", "dept": ""},
    )
    assert response.status_code == 400 and "不能撤销自己" in response.get_data(as_text=True)
    assert user(sessions, "root").active is True


def test_departments_and_their_heads(client, people, sessions):
    login(client, "root")
    page = "/console/admin/departments"
    submit(client, page, page, {"code": "D-traffic", "name": "交通运输局"})
    duplicate = submit(client, page, page, {"code": "D-traffic", "name": "重复"})
    assert duplicate.status_code == 400 and "部门代码已存在" in duplicate.get_data(as_text=True)
    submit(client, page, "/console/admin/departments/D-traffic/head", {"head": "wang"})
    with sessions() as session:
        dept = session.scalars(select(Department).where(Department.code == "D-traffic")).one()
        assert dept.name == "交通运输局" and dept.head.username == "wang"
    actions = [(r.action, r.target) for r in audit_rows(sessions)]
    assert actions == [
        ("dept_created", "dept:D-traffic"),
        ("refused", "dept:D-traffic"),
        ("dept_head_set", "dept:D-traffic"),
    ]
    assert "交通运输局" in client.get(page).get_data(as_text=True)


def test_others_get_403_and_their_attempts_are_audited(client, people, sessions):
    login(client, "li")  # a supervisor
    assert client.get("/console/admin/users").status_code == 403
    response = submit(
        client,
        "/console/queue",
        "/console/admin/users",
        {"username": "evil", "password": "x" * 12, "role": "admin"},
    )
    assert response.status_code == 403 and user(sessions, "evil") is None
    [row] = audit_rows(sessions)
    assert (row.username, row.action) == ("li", "refused")
    anonymous = client.application.test_client()
    assert anonymous.get("/console/admin/users").status_code == 302


def test_a_post_without_the_csrf_token_changes_nothing(client, people, sessions):
    login(client, "root")
    form = {"username": "sun", "password": "a-good-password", "role": "supervisor"}
    response = client.post("/console/admin/users", data=form)
    assert response.status_code == 400 and user(sessions, "sun") is None
