"""The console inbox: notifications to people about callbacks, and their unread counts.

Each event of a case (a new 差评, an assignment, a step due within 4 hours or overdue,
an escalation, a verdict awaiting approval, a 通报, a 会商 invitation) is a
`Notification` row per person, inserted once (its `dedupe_key`). The same event goes out
on the configured channels (`storage.workflow.deliveries`): SMS to the named person (and the
department head on escalation), and one message to the group robot webhook.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.access.users import supervisors
from storage.models import ROLE_STAFF, Callback, Department, Notification, User
from storage.types import utcnow
from storage.workflow import deliveries
from storage.workflow.notifications import AUDIENCE_USER, KIND_ESCALATION, insert_many_once

KIND_NEW = "new_bad"  # a new 差评 in my department
KIND_ASSIGNED = "assigned"  # a case assigned to me
KIND_DUE_SOON = "due_soon"  # my case's step is due within 4 hours
KIND_OVERDUE = "overdue"  # my case's step is overdue
KIND_APPROVAL = "approval"  # a mistaken/malicious verdict awaits my approval
KIND_BULLETIN = "bulletin"  # 通报: a 差评 not adopted, reported upward
KIND_CONSULT = "consult"  # my department is consulted (会商) on a case

# The inbox's categories, in the order the header shows them.
CATEGORIES = (
    KIND_NEW,
    KIND_ASSIGNED,
    KIND_DUE_SOON,
    KIND_OVERDUE,
    KIND_ESCALATION,
    KIND_APPROVAL,
    KIND_BULLETIN,
    KIND_CONSULT,
)


def department_staff(session: Session, codes: Iterable[str | None]) -> list[User]:
    """The active staff of the departments `codes` (their heads included)."""
    wanted = sorted({code for code in codes if code})
    if not wanted:
        return []
    statement = select(User).where(
        User.dept.in_(wanted), User.role == ROLE_STAFF, User.active.is_(True)
    )
    return list(session.scalars(statement.order_by(User.id)))


def head_of(session: Session, dept: str | None) -> User | None:
    """The department's head, if one is set."""
    if not dept:
        return None
    found = session.scalars(select(Department).where(Department.code == dept)).first()
    return found.head if found and found.head and found.head.active else None


def owners(session: Session, callback: Callback) -> list[User]:
    """Who answers for the case now: its assignee, else its department's staff."""
    if callback.assignee is not None and callback.assignee.active:
        return [callback.assignee]
    return department_staff(session, [callback.dept])


def supervisor_users(session: Session, but: int | None = None) -> list[User]:
    """Every active supervisor, except `but`."""
    return [user for user in supervisors(session) if user.active and user.id != but]


def notify(
    session: Session,
    kind: str,
    key: str,
    users: Sequence[User],
    callback: Callback,
    subject: str,
    *,
    now: datetime | None = None,
    sms_to: Sequence[User] = (),
    payload: dict[str, Any] | None = None,
) -> int:
    """Tell `users` of an event once (`key`), and send it on the configured channels.

    Returns how many notifications were new. `sms_to` are the people who also get an
    SMS (if `NOTIFY_SMS` is on and they have a phone number).
    """
    now = now or utcnow()
    body = {"callback_id": callback.id, "dept": callback.dept} | (payload or {})
    by_user = {user.id: user for user in users}
    rows = [
        {
            "dedupe_key": f"{key}:user:{user_id}",
            "kind": kind,
            "audience": AUDIENCE_USER,
            "user_id": user_id,
            "callback_id": callback.id,
            "subject": subject[:200],
            "payload": body,
            "created_at": now,
        }
        for user_id in sorted(by_user)
    ]
    new = insert_many_once(session, Notification, rows, "dedupe_key", Notification.id)
    if not new:
        return 0
    texting = {user.id for user in sms_to}
    mine = session.execute(
        select(Notification.id, Notification.user_id).where(Notification.id.in_(new))
    ).all()
    sms = [(nid, by_user[uid]) for nid, uid in mine if uid in texting]
    deliveries.queue(session, key, subject, sms, now)
    return len(new)


def counts(session: Session, user: User) -> dict[str, int]:
    """The user's unread notifications by category (every category present)."""
    statement = (
        select(Notification.kind, func.count(Notification.id))
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .group_by(Notification.kind)
    )
    found = dict(session.execute(statement).all())
    return {kind: int(found.get(kind, 0)) for kind in CATEGORIES}


def listing(
    session: Session, user: User, kind: str | None = None, limit: int = 200
) -> list[Notification]:
    """The user's notifications, unread first, newest first."""
    statement = select(Notification).where(Notification.user_id == user.id)
    if kind:
        statement = statement.where(Notification.kind == kind)
    order = (Notification.read_at.is_not(None), Notification.id.desc())
    return list(session.scalars(statement.order_by(*order).limit(limit)))


def mark_read(
    session: Session, user: User, *, callback_id: int | None = None, kind: str | None = None
) -> int:
    """Mark the user's unread notifications read (of one case, or one kind, or all)."""
    statement = update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if callback_id is not None:
        statement = statement.where(Notification.callback_id == callback_id)
    if kind:
        statement = statement.where(Notification.kind == kind)
    return session.execute(statement.values(read_at=utcnow())).rowcount or 0
