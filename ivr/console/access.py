"""Who may use the supervisors' pages and hear recordings; every refusal is audited."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, redirect, request, session, url_for

from ivr.console.auth import current_user
from ivr.extensions import db_sessions
from storage.access import audit
from storage.db import transaction
from storage.models import ROLE_STAFF, ROLE_SUPERVISOR, Call, User

_View = TypeVar("_View", bound=Callable[..., Any])


def audit_action(
    user: User | None,
    action: str,
    target: str,
    *,
    allowed: bool = True,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one audit entry in its own short transaction."""
    with transaction(db_sessions()) as db:
        audit.record(
            db, user, action, target, allowed=allowed, ip=request.remote_addr, detail=detail
        )


def refuse(user: User | None, target: str, message: str) -> None:
    """403 with an audit row saying who was refused what."""
    detail = {"method": request.method, "path": request.full_path.rstrip("?")[:200]}
    audit_action(user, "refused", target, allowed=False, detail=detail)
    abort(403, description=message)


def supervisors_only(view: _View) -> _View:
    """Supervisors only: anonymous → login page, anyone else → 403 and an audit row."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            session.pop("user_id", None)
            if request.method == "GET":
                return redirect(url_for("console.login"))
            abort(403, description="请先登录。")
        if user.role != ROLE_SUPERVISOR:
            refuse(user, f"page:{request.path}", "此页面仅供主管使用（已记录）。")
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def may_hear(user: User, call: Call) -> bool:
    """Supervisors hear every recording; staff those of their department's callbacks."""
    if user.role == ROLE_SUPERVISOR:
        return True
    callback = call.callback
    return (
        user.role == ROLE_STAFF
        and user.dept is not None
        and callback is not None
        and callback.dept == user.dept
    )
