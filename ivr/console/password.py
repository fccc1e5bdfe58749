"""Changing one's own password: every session of the user ends (server-side)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from ivr.console import bp
from ivr.console.auth import current_user, end_sessions_of, login_required, start_session
from ivr.extensions import db_sessions
from storage.access.users import check_password_hash, set_password
from storage.db import transaction
from storage.models import ROLES, User

PASSWORD_ERRORS = {
    "the password is empty": "请填写新密码。",
    "the password is too short": "密码至少 10 个字符。",
    "the password is too long": "密码过长。",
    "the password starts or ends": "密码首尾不能有空格。",
}


@bp.route("/password", methods=["GET", "POST"])
@login_required(roles=ROLES)
def change_password() -> Any:
    """Change one's own password; every session of the user ends, this one starts anew."""
    user = current_user()
    assert user is not None
    if request.method == "GET":
        return render_template("console/password.html", error=None)
    old = request.form.get("old_password", "")[:256]
    new = request.form.get("new_password", "")[:256]
    if new != request.form.get("new_password_again", "")[:256]:
        return render_template("console/password.html", error="两次输入的新密码不一致。"), 400
    try:
        with transaction(db_sessions()) as db:
            stored = db.get(User, user.id)
            if stored is None or not check_password_hash(stored.password_hash, old):
                return render_template("console/password.html", error="原密码不正确。"), 400
            set_password(db, stored, new)
            db.flush()
            db.expunge(stored)
    except ValueError as error:
        text = str(error)
        message = next((zh for k, zh in PASSWORD_ERRORS.items() if text.startswith(k)), text)
        return render_template("console/password.html", error=message), 400
    end_sessions_of(user.id)
    start_session(stored)
    flash("密码已修改，其他设备上的登录已退出。")
    return redirect(url_for("console.home"))
