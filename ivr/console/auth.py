"""Login, logout and `login_required`, with a Redis-backed limit on failed logins."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import abort, g, redirect, render_template, request, session, url_for
from redis.exceptions import RedisError

from ivr.console import bp
from ivr.extensions import db_sessions, redis_client
from storage.db import transaction
from storage.models import ROLE_ADMIN, ROLE_STAFF, ROLE_SUPERVISOR, User
from storage.users import authenticate

log = logging.getLogger(__name__)

MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
WORKERS = (ROLE_STAFF, ROLE_SUPERVISOR)  # the roles that work callbacks
_View = TypeVar("_View", bound=Callable[..., Any])


def _failure_key(username: str) -> str:
    return f"console:login-failures:{username.strip().lower()[:64]}:{request.remote_addr}"


def _failures(username: str) -> int:
    raw = redis_client().get(_failure_key(username))
    return int(raw) if raw else 0


def _note_failure(username: str) -> None:
    key = _failure_key(username)
    with redis_client().pipeline() as pipe:
        pipe.incr(key)
        pipe.expire(key, FAILURE_WINDOW_S, nx=True)
        pipe.execute()


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The login form; on success the session holds the user's id."""
    if request.method == "GET":
        return render_template("console/login.html", error=None)
    username = request.form.get("username", "")[:64]
    password = request.form.get("password", "")[:256]
    try:
        if _failures(username) >= MAX_FAILURES:
            log.warning("console login rate-limited for %r from %s", username, request.remote_addr)
            return _login_page("登录失败次数过多，请 15 分钟后再试。", 429)
        with transaction(db_sessions()) as db:
            user = authenticate(db, username, password)
            user_id = user.id if user else None
            is_admin = user is not None and user.role == ROLE_ADMIN
        if user_id is None:
            _note_failure(username)
            return _login_page("用户名或密码错误。", 401)
        redis_client().delete(_failure_key(username))
    except RedisError:
        log.exception("console login: Redis unavailable")
        return _login_page("登录服务暂不可用，请稍后再试。", 503)
    session.clear()  # a fresh session (and CSRF token) on login
    session.permanent = True
    session["user_id"] = user_id
    return redirect(url_for("console.admin_users" if is_admin else "console.queue"))


def _login_page(error: str, status: int) -> tuple[str, int]:
    return render_template("console/login.html", error=error), status


@bp.post("/logout")
def logout() -> Any:
    """End the session."""
    session.clear()
    return redirect(url_for("console.login"))


def current_user() -> User | None:
    """The logged-in, active user (loaded once per request), or None."""
    if "console_user" not in g:
        user_id = session.get("user_id")
        user = None
        if user_id is not None:
            with db_sessions()() as db:
                user = db.get(User, user_id)
                if user is not None:
                    db.expunge(user)
        g.console_user = user if user is not None and user.active else None
    return g.console_user


def login_required(roles: Sequence[str] = WORKERS) -> Callable[[_View], _View]:
    """Only a logged-in user with one of `roles`: anonymous → login page, others → 403."""

    def decorate(view: _View) -> _View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                session.pop("user_id", None)
                if request.method == "GET":
                    return redirect(url_for("console.login"))
                abort(403, description="请先登录。")
            if user.role not in roles:
                abort(403, description="您的角色不能使用此功能。")
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


@bp.app_context_processor
def _user_in_templates() -> dict[str, Any]:
    return {"console_user": current_user if request.path.startswith("/console") else None}
