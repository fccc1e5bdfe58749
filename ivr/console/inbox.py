"""The inbox (待办消息): unread counts in the header, the list, marking read, deliveries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from ivr.console import bp
from ivr.console.auth import current_user, login_required
from ivr.extensions import db_sessions
from storage.db import transaction
from storage.models import ROLE_ADMIN, ROLE_SUPERVISOR, User
from storage.workflow import deliveries, inbox

# The header's categories, in Chinese.
CATEGORY_NAMES = {
    inbox.KIND_NEW: "本部门新差评",
    inbox.KIND_ASSIGNED: "指派给我",
    inbox.KIND_DUE_SOON: "4 小时内到期",
    inbox.KIND_OVERDUE: "已超时",
    "escalation": "超时上报",
    inbox.KIND_APPROVAL: "待我审批",
    inbox.KIND_BULLETIN: "通报",
    inbox.KIND_CONSULT: "会商邀请",
}
DELIVERY_NAMES = {
    "pending": "待发送（失败后重试中）",
    "sent": "已发送",
    "failed": "发送失败（已放弃）",
}
CHANNEL_NAMES = {"sms": "短信", "webhook": "群机器人"}


@bp.before_request
def _load_counts() -> None:
    """Before the page opens its own session (SQLite takes the write lock on begin): count.

    Opening a case first marks the user's notifications about it read.
    """
    if request.method != "GET":
        return
    user = current_user()
    if user is None or user.role == ROLE_ADMIN:
        return
    callback_id = (request.view_args or {}).get("callback_id")
    if request.endpoint == "console.callback" and callback_id is not None:
        with transaction(db_sessions()) as db:
            inbox.mark_read(db, user, callback_id=callback_id)
    with db_sessions()() as db:
        g.inbox_counts = inbox.counts(db, user)


@bp.app_template_global()
def inbox_counts() -> dict[str, int]:
    """The logged-in user's unread notifications by category (empty when not counted)."""
    return g.get("inbox_counts") or {}


@bp.app_template_global()
def inbox_category(kind: str) -> str:
    return CATEGORY_NAMES.get(kind, kind)


def _reader_and_category(values: Mapping[str, str]) -> tuple[User, str | None]:
    """The logged-in user, and the category asked for (`kind`): None for all, also when
    it names no category."""
    user = current_user()
    assert user is not None
    kind = values.get("kind") or None
    return user, kind if kind in CATEGORY_NAMES else None


@bp.get("/inbox")
@login_required()
def inbox_page() -> Any:
    """The user's notifications (one category or all), and deliveries that failed."""
    user, kind = _reader_and_category(request.args)
    with db_sessions()() as db:
        items = inbox.listing(db, user, kind)
        troubled = deliveries.troubled(db) if user.role == ROLE_SUPERVISOR else []
        return render_template(
            "console/inbox.html",
            items=items,
            kind=kind,
            categories=CATEGORY_NAMES,
            troubled=troubled,
            delivery_names=DELIVERY_NAMES,
            channel_names=CHANNEL_NAMES,
        )


@bp.post("/inbox/read")
@login_required()
def inbox_read() -> Any:
    """Mark the user's unread notifications read (one category, or all)."""
    user, kind = _reader_and_category(request.form)
    with transaction(db_sessions()) as db:
        done = inbox.mark_read(db, user, kind=kind)
    flash(f"已将 {done} 条消息标为已读。")
    return redirect(url_for("console.inbox_page", kind=kind) if kind else url_for(".inbox_page"))
