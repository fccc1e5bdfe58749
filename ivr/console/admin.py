"""Administration pages: users (create, role, department, deactivate), departments
(create, head) and agents' names (one, or a CSV). Administrators only; every change
and every refusal is audited; a refused form comes back with the error beside the field."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ivr.console import bp, messages
from ivr.console.auth import anonymous_answer, current_user, end_sessions_of
from ivr.extensions import db_sessions
from storage.access import admin
from storage.db import transaction
from storage.models import ROLE_ADMIN, ROLES, Agent, Department, User

MAX_CSV_BYTES = 1024 * 1024

# Which form field an administration refusal is about (shown beside it).
ERROR_FIELDS = {
    "invalid user name": "username",
    "user ": "username",
    "unknown role": "role",
    "staff belong": "dept",
    "no department": "dept",
    "the password": "password",
    "invalid department code": "code",
    "department ": "code",
    "the department needs": "name",
    "话务员工号": "agent_code",
    "请填写话务员": "agent_name",
    "部门不存在": "agent_dept",
}


@bp.app_template_filter("plain_json")
def plain_json(value: Any) -> str:
    """JSON as people read it (Chinese left as it is)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _chinese(error: Exception) -> str:
    return messages.translate(str(error), messages.ADMIN_MESSAGES)


def _field(error: Exception, default: str) -> str:
    text = str(error)
    return next((f for start, f in ERROR_FIELDS.items() if text.startswith(start)), default)


def admin_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Admins only: anonymous → login; others → 403, audited when they tried a change."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            return anonymous_answer()
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


def _try(action: str, target: str, change: Callable[..., Any], *args: Any) -> Exception | None:
    """Run an admin change in a transaction; a refusal gets its audit row and is returned."""
    user = current_user()
    try:
        with transaction(db_sessions()) as session:
            change(session, user, *args)
    except (admin.UserError, PermissionError) as error:
        admin.record_refused(db_sessions(), user, action, target, str(error))
        return error
    return None


def _users_page(**context: Any) -> Any:
    status = 400 if context.get("errors") or context.get("change_errors") else 200
    with db_sessions()() as session:
        users = session.scalars(select(User).order_by(User.username)).all()
        departments = session.scalars(select(Department).order_by(Department.name)).all()
        html = render_template(
            "console/admin_users.html",
            users=users,
            departments=departments,
            roles=ROLES,
            events=admin.recent_audit(session),
            form=context.get("form", {}),
            errors=context.get("errors"),
            change_errors=context.get("change_errors"),
        )
    return html, status


@bp.get("/admin/users")
@admin_only
def admin_users() -> Any:
    """Users, the create form, and each user's role/department/active form."""
    return _users_page()


@bp.post("/admin/users")
@admin_only
def admin_create_user() -> Any:
    form = request.form
    username = form.get("username", "")[:64]
    args = (username, form.get("password", "")[:256], form.get("role", ""), form.get("dept"))
    error = _try("user_create", f"user:{username}", admin.new_user, *args)
    if error is not None:
        kept = {k: form.get(k, "") for k in ("username", "role", "dept")}
        return _users_page(form=kept, errors={_field(error, "username"): _chinese(error)})
    flash(f"已创建用户 {username}。")
    return redirect(url_for("console.admin_users"))


@bp.post("/admin/users/<int:user_id>")
@admin_only
def admin_change_user(user_id: int) -> Any:
    form = request.form
    active = form.get("active") == "on"
    args = (user_id, form.get("role", ""), form.get("dept"), active)
    error = _try("user_change", f"user:{user_id}", admin.change_user, *args)
    if error is not None:
        return _users_page(change_errors={user_id: _chinese(error)})
    if not active:
        end_sessions_of(user_id)  # a disabled user is logged out everywhere, now
    flash("已保存。")
    return redirect(url_for("console.admin_users"))


def _departments_page(form: Any = None, errors: dict[str, str] | None = None) -> Any:
    with db_sessions()() as session:
        statement = select(Department).options(selectinload(Department.head))
        departments = session.scalars(statement.order_by(Department.name)).all()
        users = session.scalars(select(User).where(User.active).order_by(User.username)).all()
        agents = session.scalars(select(Agent).order_by(Agent.dept, Agent.code)).all()
        html = render_template(
            "console/admin_departments.html",
            departments=departments,
            users=users,
            agents=agents,
            form=form or {},
            errors=errors,
        )
    return html, 400 if errors else 200


@bp.get("/admin/departments")
@admin_only
def admin_departments() -> Any:
    """Departments with their heads, agents with their names, and the forms."""
    return _departments_page()


@bp.post("/admin/departments")
@admin_only
def admin_create_department() -> Any:
    code = request.form.get("code", "")[:64]
    name = request.form.get("name", "")[:200]
    error = _try("dept_create", f"dept:{code}", admin.new_department, code, name)
    if error is not None:
        errors = {_field(error, "code"): _chinese(error)}
        return _departments_page({"code": code, "name": name}, errors)
    flash(f"已创建部门 {name}。")
    return redirect(url_for("console.admin_departments"))


@bp.post("/admin/departments/<code>/head")
@admin_only
def admin_set_head(code: str) -> Any:
    username = request.form.get("head", "")[:64] or None
    error = _try("dept_head", f"dept:{code}", admin.set_head, code, username)
    if error is not None:
        flash(f"未保存：{_chinese(error)}")
    else:
        flash("已保存。")
    return redirect(url_for("console.admin_departments"))


@bp.post("/admin/agents")
@admin_only
def admin_save_agent() -> Any:
    """Create or rename one agent."""
    form = {k: request.form.get(k, "")[:200] for k in ("agent_code", "agent_name", "agent_dept")}
    args = (form["agent_code"], form["agent_name"], form["agent_dept"] or None)
    error = _try("agent_save", f"agent:{form['agent_code']}", admin.save_agent, *args)
    if error is not None:
        return _departments_page(form, {_field(error, "agent_code"): str(error)})
    flash(f"已保存话务员 {form['agent_name']}。")
    return redirect(url_for("console.admin_departments") + "#agents")


@bp.post("/admin/agents/import")
@admin_only
def admin_import_agents() -> Any:
    """Create or update the agents of an uploaded CSV (工号,姓名,部门代码), all or none."""
    upload = request.files.get("agents_csv")
    raw = upload.read(MAX_CSV_BYTES + 1) if upload else b""
    if not raw or len(raw) > MAX_CSV_BYTES:
        message = "请选择 CSV 文件（不超过 1 MB）。" if not raw or upload is None else "文件过大。"
        return _departments_page(None, {"agents_csv": message})
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            return _departments_page(None, {"agents_csv": "无法读取文件：请保存为 UTF-8 CSV。"})
    error = _try("agent_import", "agents", admin.import_agents, text)
    if error is not None:
        return _departments_page(None, {"agents_csv": f"未导入（{upload.filename}）：{error}"})
    flash(f"已导入话务员（{upload.filename}）。")
    return redirect(url_for("console.admin_departments") + "#agents")
