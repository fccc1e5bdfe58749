"""The sweep tells each case's owner: a step due within 4 hours, a step overdue.

The owner is the case's assignee (专人), or, while nobody is named, its department's
staff. Notifications go in bulk (one statement a batch); each is sent once: due-soon is
remembered per step on the callback (`due_soon_sent`), overdue by the notification's
unique key. Where channels are configured (`storage.workflow.deliveries`), the assignee gets an
SMS and the group robot a message, and on escalation the department head an SMS.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Row, Select, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.models import (
    CALLBACK_CALLED_BACK,
    CALLBACK_OPEN,
    ROLE_STAFF,
    Call,
    Callback,
    Notification,
    User,
)
from storage.reports.serialize import iso
from storage.workflow import deliveries, inbox
from storage.workflow.clocks import DUE_SOON
from storage.workflow.notifications import AUDIENCE_USER, insert_many_once

STEP_NAMES = {"contact": "首次联系", "callback": "回访核实", "rectify": "整改反馈"}
RECTIFYING = ("rectify_5d", "rectify_15d")
# Each step: its deadline and the condition of a case waiting for it.
WAITING = {
    "contact": (Callback.contact_due_at, Callback.state == CALLBACK_OPEN),
    "callback": (
        Callback.due_at,
        and_(
            Callback.state.in_((CALLBACK_OPEN, CALLBACK_CALLED_BACK)),
            Callback.resolution.is_(None),
        ),
    ),
    "rectify": (
        Callback.rectify_due_at,
        and_(Callback.state == CALLBACK_CALLED_BACK, Callback.resolution.in_(RECTIFYING)),
    ),
}


def case_rows(due: ColumnElement[datetime]) -> Select:
    """What telling a case's owners needs of each case, `due` being the step's deadline."""
    return select(
        Callback.id,
        Callback.call_id,
        Callback.dept,
        Callback.round,
        Callback.assignee_id,
        due.label("due"),
        Call.call_sid,
    ).join(Call, Call.id == Callback.call_id)


def notify_due_soon(factory: sessionmaker[Session], now: datetime, batch: int = 500) -> int:
    """Tell the owners of every step due within 4 hours (once per step); returns how many."""
    told = 0
    for step, (due, waiting) in WAITING.items():
        last_id = 0
        while True:
            with transaction(factory) as session:
                statement = (
                    case_rows(due)
                    .where(waiting, due > now, due <= now + DUE_SOON, Callback.id > last_id)
                    .where(or_(Callback.due_soon_sent.is_(None), Callback.due_soon_sent != step))
                    .order_by(Callback.id)
                    .limit(batch)
                )
                rows = session.execute(statement).all()
                if not rows:
                    break
                last_id = rows[-1].id
                session.execute(
                    update(Callback.__table__)
                    .where(Callback.id.in_([r.id for r in rows]))
                    .values(due_soon_sent=step)
                )
                told += _tell(session, rows, step, inbox.KIND_DUE_SOON, "即将到期", now)
    return told


def tell_owners(session: Session, rows: Sequence[Row], step: str, now: datetime) -> int:
    """Tell the owners of newly overdue cases (the head and supervisors are escalated to)."""
    return _tell(session, rows, step, inbox.KIND_OVERDUE, "已超时", now)


def _tell(
    session: Session, rows: Sequence[Row], step: str, kind: str, what: str, now: datetime
) -> int:
    staff = _staff_by_dept(session, {row.dept for row in rows if row.assignee_id is None})
    notes, owners = [], {}
    for row in rows:
        people = [row.assignee_id] if row.assignee_id else staff.get(row.dept, [])
        owners[row.id] = people
        subject = (
            f"{STEP_NAMES.get(step, step)}{what}：回访 #{row.id}（{row.dept or '热线'}），"
            f"期限 {_local(row.due)}"
        )
        notes += [
            {
                "dedupe_key": f"{kind}:{step}:{row.id}:r{row.round}:user:{user_id}",
                "kind": kind,
                "audience": AUDIENCE_USER,
                "user_id": user_id,
                "callback_id": row.id,
                "subject": subject[:200],
                "payload": {"callback_id": row.id, "step": step, "due_at": iso(row.due)},
                "created_at": now,
            }
            for user_id in people
        ]
    new = insert_many_once(session, Notification, notes, "dedupe_key", Notification.id)
    if new and (deliveries.sms_enabled() or deliveries.webhook_url()):
        _deliver(session, rows, new, kind, step, now)
    return len(new)


def _deliver(
    session: Session, rows: Sequence[Row], new: list[int], kind: str, step: str, now: datetime
) -> None:
    """Queue the SMS to each assignee and one robot message per case."""
    found = session.execute(select(Notification).where(Notification.id.in_(new))).scalars()
    by_case: dict[int, list[Notification]] = {}
    for note in found:
        by_case.setdefault(note.callback_id or 0, []).append(note)
    for row in rows:
        notes = by_case.get(row.id, [])
        if not notes:
            continue
        texting = [
            (n.id, session.get_one(User, n.user_id)) for n in notes if n.user_id == row.assignee_id
        ]
        key = f"{kind}:{step}:{row.id}:r{row.round}"
        deliveries.queue(session, key, notes[0].subject, texting, now)


def deliver_escalations(
    session: Session, step: str, keys: dict[int, str], heads: dict[int, int], now: datetime
) -> None:
    """SMS to the department head, and one robot message, for each case just escalated."""
    if not (deliveries.sms_enabled() or deliveries.webhook_url()):
        return
    for callback_id, key in keys.items():
        head_id = heads.get(callback_id)
        texting = []
        notes = session.scalars(
            select(Notification).where(Notification.dedupe_key.like(f"escalation:{step}:{key}:%"))
        ).all()
        if not notes:
            continue
        for note in notes:
            if note.user_id == head_id:
                texting.append((note.id, session.get_one(User, head_id)))
        deliveries.queue(session, f"escalation:{step}:{key}", notes[0].subject, texting, now)


def _staff_by_dept(session: Session, depts: set[str | None]) -> dict[str, list[int]]:
    wanted = sorted(d for d in depts if d)
    if not wanted:
        return {}
    statement = select(User.id, User.dept).where(
        User.dept.in_(wanted), User.role == ROLE_STAFF, User.active.is_(True)
    )
    found: dict[str, list[int]] = {}
    for user_id, dept in session.execute(statement.order_by(User.id)):
        found.setdefault(dept, []).append(user_id)
    return found


def _local(when: datetime | None) -> str:
    from storage.workflow.deadlines import hotline_tz

    return when.astimezone(hotline_tz()).strftime("%m月%d日 %H:%M") if when else "—"
