"""The workbench (回访工作台): a server-rendered Chinese console for callback queues.

Sessions live in Redis (Flask-Session; the cookie holds only a random id: HttpOnly,
SameSite=Lax, Secure behind https); every POST carries the session's CSRF token
(Flask-WTF, `console_csrf_token()` in templates). See `ivr/web_security.py`.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request
from flask_wtf.csrf import CSRFError, generate_csrf
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from ivr.console import labels, messages
from ivr.web_security import csrf

log = logging.getLogger(__name__)

bp = Blueprint("console", __name__, url_prefix="/console")

CSRF_EXPIRED = "页面已过期，请刷新页面后重新提交。"


def new_submission_key() -> str:
    """A random key for one rendered form, so that a double submit is harmless."""
    return secrets.token_urlsafe(24)


@bp.app_template_global()
def console_csrf_token() -> str:
    """This session's CSRF token (Flask-WTF), for the forms' hidden `csrf_token` field."""
    return generate_csrf()


@bp.before_request
def _check_csrf() -> None:
    """Every POST must carry the session's CSRF token (checked before anything else)."""
    if request.method != "POST":
        return
    from ivr.console.evidence import widen_upload_limit

    widen_upload_limit()
    try:
        csrf.protect()
    except CSRFError as error:
        log.warning("console %s refused: %s", request.path, error.description)
        abort(400, description=CSRF_EXPIRED)


@bp.before_request
def _load_names() -> None:
    """Read department and agent names before any page opens its own session (SQLite
    takes its write lock when a session begins: a second one inside would wait)."""
    labels.names()


def error_page(status: int, title: str, message: str) -> tuple[str, int]:
    """A Chinese error page."""
    return render_template("console/error.html", status=status, title=title, message=message), (
        status
    )


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Any:
    """The console's HTTP errors (400, 403, 404, 413, 429 …) as Chinese pages."""
    status = error.code or 500
    if isinstance(getattr(error, "original_exception", None), RedisError):
        log.error("console %s: Redis (sessions) unavailable", request.path)
        return error_page(503, "服务暂不可用", "登录服务暂不可用，请稍后再试。")
    if status == 413:
        _audit_oversized_upload()
    title = labels.HTTP_TITLES.get(status, "出错了")
    default = labels.HTTP_MESSAGES.get(status, "")
    own = error.description if error.description and not _is_default(error) else default
    return error_page(status, title, own or default)


def _audit_oversized_upload() -> None:
    """An evidence upload over the request limit leaves a `refused` event on its callback."""
    from ivr.console.auth import current_user
    from ivr.console.evidence import CLOSE_ENDPOINT, MAX_REQUEST_BYTES
    from ivr.console.queue import audit_refusal

    user = current_user()
    callback_id = (request.view_args or {}).get("callback_id")
    if request.endpoint == CLOSE_ENDPOINT and user is not None and callback_id is not None:
        limit = MAX_REQUEST_BYTES // (1024 * 1024)
        message = f"evidence refused: the upload is over {limit} MB ({request.content_length} B)"
        audit_refusal(callback_id, user, "upload", message)


def _is_default(error: HTTPException) -> bool:
    return error.description == type(error).description


MACHINE_PATHS = ("/api/", "/voice/", "/sms/", "/prompts/", "/metrics", "/healthz")


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
@bp.app_errorhandler(500)
def _app_error(error: Exception) -> Any:
    """Unknown pages (and crashes) outside the console's routes, in the console's layout;
    the machine interfaces (API, webhooks, metrics) keep their own answers."""
    status = error.code if isinstance(error, HTTPException) and error.code else 500
    if request.path.startswith("/api/"):
        # the API answers every error in JSON, even one raised before its blueprint's
        description = error.description if isinstance(error, HTTPException) else None
        return jsonify(error=description or "internal error"), status
    if request.path.startswith(MACHINE_PATHS):
        return error if isinstance(error, HTTPException) else ("", 500)
    if isinstance(getattr(error, "original_exception", None), RedisError):
        log.error("%s: Redis (sessions) unavailable", request.path)
        return error_page(503, "服务暂不可用", "登录服务暂不可用，请稍后再试。")
    title = labels.HTTP_TITLES.get(status, "出错了")
    return error_page(status, title, labels.HTTP_MESSAGES[status])


@bp.app_template_global()
def may_open(endpoint: str) -> bool:
    """Whether the signed-in user's role may open a page (menus show only those)."""
    from ivr.console.auth import current_user

    user = current_user()
    return user is not None and user.role in PAGE_ROLES.get(endpoint, ())


PAGE_ROLES = {
    "console.queue": ("staff", "supervisor"),
    "console.search": ("staff", "supervisor"),
    "console.wallboard": ("staff", "supervisor"),
    "console.calls": ("supervisor",),
    "console.figures": ("supervisor",),
    "console.problems": ("supervisor",),
    "console.spot_checks": ("supervisor",),
    "console.verification": ("supervisor",),
    "console.public_summary": ("supervisor", "admin"),
    "console.admin_users": ("admin",),
    "console.admin_departments": ("admin",),
}

bp.add_app_template_filter(labels.local_time, "local_time")
bp.add_app_template_filter(labels.label, "label")
bp.add_app_template_filter(labels.dept_name, "dept_name")
bp.add_app_template_filter(labels.agent_name, "agent_name")
bp.add_app_template_filter(labels.figure_key, "figure_key")
bp.add_app_template_filter(labels.recording_state, "recording_state")
bp.add_app_template_filter(messages.actor, "actor")
bp.add_app_template_filter(messages.translate, "workflow_text")
bp.add_app_template_filter(messages.call_event_text, "call_event")
bp.add_app_template_global(labels.names, "console_names")


@bp.app_template_global()
def audit_text(entry: Any) -> dict[str, str]:
    """An audit entry's action, target and detail as Chinese text."""
    names = labels.names()
    return {
        "action": messages.AUDIT_ACTIONS.get(entry.action, labels.label(entry.action)),
        "target": messages.audit_target(entry.target, names),
        "detail": messages.audit_line(entry.action, entry.detail, names),
        "who": messages.actor(entry.username),
    }


# Routes: the workbench, administration, then the supervisors' pages.
from ivr.console import (  # noqa: E402, F401
    actions,
    admin,
    auth,
    calls,
    exports,
    figures,
    files,
    inbox,
    owners,
    password,
    queue,
    review,
    scorecard,
    search,
    spotchecks,
    wallboard,
)
