"""The workbench (回访工作台): a server-rendered Chinese console for callback queues.

Sessions are Flask's signed cookie (HttpOnly, SameSite=Lax, Secure behind https); every
POST carries the per-session CSRF token (`csrf_token()` in templates).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, render_template, request, session
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException

from ivr.console import labels

bp = Blueprint("console", __name__, url_prefix="/console")

CSRF_FIELD = "csrf_token"
SESSION_LIFETIME = timedelta(hours=12)


@bp.record_once
def _configure(state: BlueprintSetupState) -> None:
    """Harden the session cookie; Secure when the public URL is https."""
    settings = state.app.config["IVR_SETTINGS"]
    secure = bool(settings.public_base_url and settings.public_base_url.startswith("https://"))
    state.app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )


def csrf_token() -> str:
    """This session's CSRF token, made on first use."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def new_submission_key() -> str:
    """A random key for one rendered form, so that a double submit is harmless."""
    return secrets.token_urlsafe(24)


@bp.app_template_global()
def console_csrf_token() -> str:
    return csrf_token()


@bp.before_request
def _check_csrf() -> None:
    """Every POST must carry the session's CSRF token (checked before anything else)."""
    if request.method != "POST":
        return
    from ivr.console.evidence import widen_upload_limit

    widen_upload_limit()
    expected = session.get(CSRF_FIELD)
    given = request.form.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(str(expected), given):
        abort(400, description="表单已失效或来源不明（CSRF 校验失败），请刷新页面后重试。")


def error_page(status: int, title: str, message: str) -> tuple[str, int]:
    """A Chinese error page."""
    return render_template("console/error.html", status=status, title=title, message=message), (
        status
    )


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Any:
    """The console's HTTP errors (400, 403, 404, 413, 429 …) as Chinese pages."""
    status = error.code or 500
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


bp.add_app_template_filter(labels.local_time, "local_time")
bp.add_app_template_filter(labels.label, "label")

# Routes: the workbench, administration, then the supervisors' pages.
from ivr.console import (  # noqa: E402, F401
    actions,
    admin,
    auth,
    calls,
    exports,
    figures,
    files,
    queue,
    review,
    spotchecks,
)
