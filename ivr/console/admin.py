"""Administration pages: users (create, role, department, deactivate) and departments
(create, head). Administrators only; every change and every refusal is audited."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ivr.console import bp, error_page, labels
from ivr.console.auth import current_user, end_sessions_of
from ivr.extensions import db_sessions
from storage import admin
from storage.db import transaction
from storage.models import ROLE_ADMIN, ROLES, Department, User

MESSAGES = {
    "invalid user name": "用户名只能包含字母、数字和 _ . @ -。",
    "unknown role": "未知角色。",
    "staff belong to a department": "承办人员必须属于一个部门。",
    "no department": "部门不存在，请先创建部门。",
    "the password is empty": "请填写初始密码。",
    "the password is too short": "密码至少 10 个字符。",
    "the password is too long": "密码过长。",
    "the password starts or ends": "密码首尾不能有空格。",
    "user ": "用户名已存在。",
    "administrators cannot demote": "管理员不能撤销自己的管理员角色或停用自己。",
    "invalid department code": "部门代码只能包含字母、数字和 _ . -。",
    "the department needs a name": "请填写部门名称。",
    "department ": "部门代码已存在。",
    "no user": "用户不存在。",
}


@bp.app_template_filter("plain_json")
def plain_json(value: Any) -> str:
    """JSON as people read it (Chinese left as it is)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _chinese(error: Exception) -> str:
    text = str(error)
    return next((zh for start, zh in MESSAGES.items() if text.startswith(start)), text)


def admin_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Admins only: anonymous → login; others → 403, audited when they tried a change."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            if request.method == "GET":
                return redirect(url_for("console.login"))
            abort(403, description="请先登录。")
        if user.role != ROLE_ADMIN:
            if request.method == "POST":
                admin.record_refused(
                    db_sessions(),
                    user,
                    request.endpoint or "",
                    request.path,
                    "not an administrator",
                )
            abort(403, description="只有管理员可以管理用户和部门（已记录）。")
        return view(*args, **kwargs)

    return guarded


def _change(action: str, target: str, change: Callable[..., Any], *args: Any) -> Any:
    """Run an admin change in a transaction; a refusal gets its audit row and a 400 page."""
    user = current_user()
    try:
        with transaction(db_sessions()) as session:
            change(session, user, *args)
    except (admin.UserError, PermissionError) as error:
        admin.record_refused(db_sessions(), user, action, target, str(error))
        return error_page(400, labels.HTTP_TITLES[400], _chinese(error))
    flash("已保存。")
    return None


@bp.get("/admin/users")
@admin_only
def admin_users() -> Any:
    """Users, the create form, and each user's role/department/active form."""
    with db_sessions()() as session:
        users = session.scalars(select(User).order_by(User.username)).all()
        departments = session.scalars(select(Department).order_by(Department.code)).all()
        events = admin.recent_audit(session)
        return render_template(
            "console/admin_users.html",
            users=users,
            departments=departments,
            roles=ROLES,
            events=events,
        )


@bp.post("/admin/users")
@admin_only
def admin_create_user() -> Any:
    form = request.form
    username = form.get("username", "")[:64]
    args = (username, form.get("password", "")[:256], form.get("role", ""), form.get("dept"))
    return _change("user_create", f"user:{username}", admin.new_user, *args) or redirect(
        url_for("console.admin_users")
    )


@bp.post("/admin/users/<int:user_id>")
@admin_only
def admin_change_user(user_id: int) -> Any:
    form = request.form
    active = form.get("active") == "on"
    args = (user_id, form.get("role", ""), form.get("dept"), active)
    refused = _change("user_change", f"user:{user_id}", admin.change_user, *args)
    if refused is None and not active:
        end_sessions_of(user_id)  # a disabled user is logged out everywhere, now
    return refused or redirect(url_for("console.admin_users"))


@bp.get("/admin/departments")
@admin_only
def admin_departments() -> Any:
    """Departments with their heads, the create form and the set-head forms."""
    with db_sessions()() as session:
        statement = select(Department).options(selectinload(Department.head))
        departments = session.scalars(statement.order_by(Department.code)).all()
        users = session.scalars(select(User).where(User.active).order_by(User.username)).all()
        return render_template(
            "console/admin_departments.html", departments=departments, users=users
        )


@bp.post("/admin/departments")
@admin_only
def admin_create_department() -> Any:
    code = request.form.get("code", "")[:64]
    name = request.form.get("name", "")[:200]
    return _change("dept_create", f"dept:{code}", admin.new_department, code, name) or redirect(
        url_for("console.admin_departments")
    )


@bp.post("/admin/departments/<code>/head")
@admin_only
def admin_set_head(code: str) -> Any:
    username = request.form.get("head", "")[:64] or None
    return _change("dept_head", f"dept:{code}", admin.set_head, code, username) or redirect(
        url_for("console.admin_departments")
    )
