"""Users, roles and departments, and `ivr user create` / `ivr dept create`."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ivr.cli import main
from storage.access.users import (
    UserError,
    authenticate,
    create_department,
    create_user,
    department_heads,
    set_department_head,
    supervisors,
)
from storage.db import transaction
from storage.models import Department, User

PASSWORD = "correct horse battery"


def test_a_user_is_stored_with_a_salted_hash_and_authenticates(sessions):
    with transaction(sessions) as session:
        create_department(session, "D-housing", "住房保障局")
        create_user(session, "zhang", PASSWORD, "staff", "D-housing")
        create_user(session, "wang", PASSWORD, "supervisor")
    with transaction(sessions) as session:
        zhang, wang = (
            session.scalars(select(User).where(User.username == n)).one() for n in ("zhang", "wang")
        )
        assert PASSWORD not in zhang.password_hash and zhang.password_hash.startswith("scrypt:")
        assert zhang.password_hash != wang.password_hash, "salted"
        assert authenticate(session, "zhang", PASSWORD).id == zhang.id
        assert zhang.last_login_at is not None
        assert authenticate(session, "zhang", PASSWORD + "x") is None
        assert authenticate(session, "nobody", PASSWORD) is None
        zhang.active = False
        assert authenticate(session, "zhang", PASSWORD) is None
        assert [u.username for u in supervisors(session)] == ["wang"]


BAD_USERS = [
    ("zhang", PASSWORD, "staff", None, "staff belong to a department"),
    ("zhang", PASSWORD, "staff", "D-nowhere", "no department 'D-nowhere'"),
    ("zhang", PASSWORD, "boss", None, "unknown role"),
    ("zhang", "", "admin", None, "the password is empty"),
    ("zhang", "short", "admin", None, "too short: at least 10"),
    ("zhang", " padded-password ", "admin", None, "white space"),
    ("bad name", PASSWORD, "admin", None, "invalid user name"),
    ("taken", PASSWORD, "admin", None, "exists already"),
]


def test_bad_users_are_refused_with_the_reason(sessions):
    with transaction(sessions) as session:
        create_user(session, "taken", PASSWORD, "admin")
    for name, password, role, dept, why in BAD_USERS:
        with transaction(sessions) as session, pytest.raises(UserError, match=why):
            create_user(session, name, password, role, dept)
    with sessions() as session:
        assert session.scalars(select(User.username)).all() == ["taken"]


def test_departments_and_their_heads(sessions):
    with transaction(sessions) as session:
        create_department(session, "D-water", "水务局")
        create_user(session, "chen", PASSWORD, "staff", "D-water")
        set_department_head(session, "D-water", "chen")
        with pytest.raises(UserError, match="exists already"):
            create_department(session, "D-water", "again")
        with pytest.raises(UserError, match="no user"):
            set_department_head(session, "D-water", "nobody")
    with transaction(sessions) as session:
        chen = session.scalars(select(User)).one()
        assert department_heads(session, ["D-water", "D-other"]) == {"D-water": chen.id}


def test_cli_creates_departments_and_users_reading_the_password_from_stdin(env, sessions, caplog):
    runner = CliRunner()
    made = runner.invoke(main, ["dept", "create", "D-housing", "住房保障局"])
    assert made.exit_code == 0, made.output
    with caplog.at_level(logging.DEBUG):
        result = runner.invoke(
            main,
            ["user", "create", "zhang", "--role", "staff", "--dept", "D-housing"],
            input=PASSWORD + "\n",
        )
    assert result.exit_code == 0, result.output
    assert "user zhang created (staff, D-housing)" in result.output
    assert PASSWORD not in result.output and PASSWORD not in caplog.text
    assert runner.invoke(main, ["dept", "set-head", "D-housing", "zhang"]).exit_code == 0
    with transaction(sessions) as session:
        assert authenticate(session, "zhang", PASSWORD) is not None
        assert session.scalars(select(Department)).one().head_user_id is not None


def test_cli_refuses_bad_users_and_says_why(env):
    for args, password, why in [
        (["--role", "admin"], "", "the password is empty"),
        (["--role", "admin"], "abc", "too short"),
        (["--role", "staff"], PASSWORD, "staff belong to a department"),
        (["--role", "owner"], PASSWORD, "Invalid value for '--role'"),
    ]:
        result = CliRunner().invoke(main, ["user", "create", "zhang", *args], input=password + "\n")
        assert result.exit_code != 0
        assert why in result.output
        assert password == "" or password not in result.output
