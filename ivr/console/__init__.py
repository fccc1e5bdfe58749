"""The workbench (回访工作台): a server-rendered Chinese console for callback queues.

Sessions live in Redis (Flask-Session; the cookie holds only a random id: HttpOnly,
SameSite=Lax, Secure behind https); every POST carries the session's CSRF token
(Flask-WTF, `console_csrf_token()` in templates). See `ivr/web_security.py`.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_wtf.csrf import CSRFError, generate_csrf
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from ivr.console import labels
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
    password,
    queue,
    review,
    spotchecks,
)
