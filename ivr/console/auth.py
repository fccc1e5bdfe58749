"""Login, logout, password change and `login_required`, on Flask-Login with server-side
sessions (Flask-Session in Redis) and Flask-Limiter's failed-login limits."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import flask_login
from flask import (
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from redis.exceptions import RedisError

from ivr.console import bp
from ivr.console.login_limits import give_back_attempt, take_attempt
from ivr.console.sessions import forget_session, remember_session, revoke_user_sessions
from ivr.extensions import db_sessions, redis_client
from ivr.web_security import login_manager
from storage.access.users import authenticate
from storage.db import transaction
from storage.models import ROLE_ADMIN, ROLE_STAFF, ROLE_SUPERVISOR, User

log = logging.getLogger(__name__)

WORKERS = (ROLE_STAFF, ROLE_SUPERVISOR)  # the roles that work callbacks
_View = TypeVar("_View", bound=Callable[..., Any])


class ConsoleUser(flask_login.UserMixin):
    """A logged-in user for Flask-Login; its id changes with the password, so a session
    made before a password change (anywhere: console or CLI) is no longer accepted."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        return login_id(self.user)


def login_id(user: User) -> str:
    """`<id>:<fingerprint of the password hash>`."""
    fingerprint = hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]
    return f"{user.id}:{fingerprint}"


@login_manager.user_loader
def _load_user(login: str) -> ConsoleUser | None:
    user_id, _, _fingerprint = login.partition(":")
    if not user_id.isdigit():
        return None
    with db_sessions()() as db:
        user = db.get(User, int(user_id))
        if user is None or not user.active or login_id(user) != login:
            return None
        db.expunge(user)
    return ConsoleUser(user)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The login form; on success a new server-side session holds the user."""
    if request.method == "GET":
        return render_template("console/login.html", error=None)
    username = request.form.get("username", "")[:64]
    password = request.form.get("password", "")[:256]
    try:
        if not take_attempt(username):
            log.warning("console login rate-limited for %r from %s", username, request.remote_addr)
            return _login_page("登录失败次数过多，请 15 分钟后再试。", 429)
        with transaction(db_sessions()) as db:
            user = authenticate(db, username, password)
            if user is not None:
                db.flush()
                db.expunge(user)
        if user is None:
            log.info("console login failed for %r from %s", username, request.remote_addr)
            return _login_page("用户名或密码错误。", 401)
        give_back_attempt(username)
        start_session(user)
    except RedisError:
        log.exception("console login: Redis unavailable")
        return _login_page("登录服务暂不可用，请稍后再试。", 503)
    return redirect(url_for("console.admin_users" if user.role == ROLE_ADMIN else "console.queue"))


def start_session(user: User) -> None:
    """A fresh session id (no fixation) and CSRF token, indexed for revocation."""
    session["fresh"] = True  # `regenerate` only renews a session that holds something
    current_app.session_interface.regenerate(session)  # type: ignore[attr-defined]
    session.clear()
    flask_login.login_user(ConsoleUser(user))
    remember_session(redis_client(), user.id, session.sid)  # type: ignore[attr-defined]


def _login_page(error: str, status: int) -> tuple[str, int]:
    return render_template("console/login.html", error=error), status


@bp.post("/logout")
def logout() -> Any:
    """End the session: it is deleted from the store, so a saved cookie no longer works."""
    user = current_user()
    sid = getattr(session, "sid", None)
    flask_login.logout_user()
    session.clear()
    if user is not None and sid:
        try:
            forget_session(redis_client(), user.id, sid)
        except RedisError:
            log.exception("console logout: Redis unavailable")
    return redirect(url_for("console.login"))


def end_sessions_of(user_id: int) -> None:
    """End every session of a user (password changed, account disabled)."""
    try:
        revoke_user_sessions(redis_client(), user_id)
    except RedisError:  # the password fingerprint and `active` still refuse them
        log.exception("could not delete the sessions of user %s: Redis unavailable", user_id)


def current_user() -> User | None:
    """The logged-in, active user (loaded once per request), or None."""
    if "console_user" not in g:
        proxy = flask_login.current_user
        g.console_user = proxy.user if proxy.is_authenticated else None
    return g.console_user


def anonymous_answer() -> Any:
    """What a visitor who is not logged in gets: the login page for a GET, else 403."""
    if request.method == "GET":
        return redirect(url_for("console.login"))
    abort(403, description="请先登录。")


def login_required(roles: Sequence[str] = WORKERS) -> Callable[[_View], _View]:
    """Only a logged-in user with one of `roles`: anonymous → login page, others → 403."""

    def decorate(view: _View) -> _View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return anonymous_answer()
            if user.role not in roles:
                abort(403, description="您的角色不能使用此功能。")
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


@bp.app_context_processor
def _user_in_templates() -> dict[str, Any]:
    return {"console_user": current_user if request.path.startswith("/console") else None}
