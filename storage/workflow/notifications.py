"""Notifications: escalations to users, and reports to the management body.

Each notification has a unique `dedupe_key`, inserted with ON CONFLICT DO NOTHING, so a sweep that
runs twice (or two that run at once) never sends the same one twice. A notification for
the management body (误评/恶意差评 not adopted, domain.md rule 7) is also pushed, signed,
to `MANAGEMENT_WEBHOOK_URL` when that is set, by the outbox job
`workers.jobs.push_notification`. Payloads never carry the caller's number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.inserts import insert_many_once, insert_once
from storage.models import Escalation, Notification, User
from storage.outbox import PUSH_NOTIFICATION, add_job
from storage.reports.serialize import iso
from storage.types import utcnow

AUDIENCE_USER = "user"  # shown to one console user
AUDIENCE_MANAGEMENT = "management"  # the management body at the same level (管理机构)

KIND_ESCALATION = "escalation"  # an overdue step, sent to the department head and supervisors
KIND_NOT_ADOPTED = "not_adopted"  # a mistaken/malicious rating approved as not adopted


def notify_management(
    session: Session,
    *,
    kind: str,
    key: str,
    subject: str,
    payload: dict[str, Any],
    callback_id: int | None = None,
    now: datetime | None = None,
) -> int | None:
    """Record a notification for the management body once, and queue its push.

    Returns the new notification's id, or None if `key` was already notified.
    """
    values = {
        "dedupe_key": f"{key}:management",
        "kind": kind,
        "audience": AUDIENCE_MANAGEMENT,
        "callback_id": callback_id,
        "subject": subject[:200],
        "payload": payload,
        "created_at": now or utcnow(),
    }
    notification_id = insert_once(session, Notification, values, "dedupe_key")
    if notification_id is not None:
        add_job(
            session,
            PUSH_NOTIFICATION,
            {"notification_id": notification_id},
            f"notify:{notification_id}",
        )
    return notification_id


@dataclass(frozen=True)
class EscalationRequest:
    """One overdue step of one callback, and who is to hear of it."""

    callback_id: int
    recipients: Sequence[int]
    subject: str
    payload: dict[str, Any]
    round: int = 0  # the case's reopenings: a reopened case is escalated afresh
    sms_to: Sequence[int] = ()  # recipients who also get an SMS (the department head)

    @property
    def key(self) -> str:
        return f"{self.callback_id}:r{self.round}" if self.round else str(self.callback_id)


def escalate(
    session: Session, step: str, requests: Sequence[EscalationRequest], now: datetime
) -> dict[int, int]:
    """Escalate each callback's `step` once, in a few statements for a whole batch.

    Returns {callback id: users notified} for the callbacks escalated now; callbacks
    already escalated for this step are left out.
    """
    rows = [
        {
            "dedupe_key": f"{step}:{r.key}",
            "callback_id": r.callback_id,
            "step": step,
            "at": now,
            "recipients": len(set(r.recipients)),
        }
        for r in requests
    ]
    new = set(insert_many_once(session, Escalation, rows, "dedupe_key", Escalation.callback_id))
    notes = [
        {
            "dedupe_key": f"escalation:{step}:{r.key}:user:{user_id}",
            "kind": KIND_ESCALATION,
            "audience": AUDIENCE_USER,
            "user_id": user_id,
            "callback_id": r.callback_id,
            "subject": r.subject[:200],
            "payload": r.payload,
            "created_at": now,
        }
        for r in requests
        if r.callback_id in new
        for user_id in sorted(set(r.recipients))
    ]
    sent = insert_many_once(session, Notification, notes, "dedupe_key", Notification.callback_id)
    counts = dict.fromkeys(new, 0)
    for callback_id in sent:
        counts[callback_id] += 1
    return counts


def notification_to_dict(notification: Notification) -> dict[str, Any]:
    """A notification as JSON (the body of the management push)."""
    return {
        "id": notification.id,
        "kind": notification.kind,
        "audience": notification.audience,
        "subject": notification.subject,
        "payload": notification.payload,
        "created_at": iso(notification.created_at),
    }


def unread(session: Session, user: User, limit: int = 100) -> list[Notification]:
    """The user's unread notifications, newest first."""
    statement = (
        select(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))


def mark_read(session: Session, user: User, notification_id: int) -> bool:
    """Mark one of the user's notifications read; False if it is not theirs or already read."""
    result = session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.user_id == user.id,
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
    )
    return bool(result.rowcount)
