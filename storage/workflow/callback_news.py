"""Who is told what when a callback moves: the workflow's side effects, in one place.

Called inside the action's transaction (`storage.workflow.callbacks` and
`storage.workflow.callback_people`), so the notifications, deliveries and jobs commit
with the change or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Callback, CallbackConsult, User
from storage.outbox import SEND_OUTCOME_SMS, add_job
from storage.workflow import inbox

OUTCOME_SMS_JOB = SEND_OUTCOME_SMS


def _case(callback: Callback) -> str:
    return f"回访 #{callback.id}（{callback.dept or '热线'}）"


def on_closed(session: Session, callback: Callback) -> None:
    """A closed case: the caller gets the outcome by SMS (once per closing)."""
    args = {"callback_id": callback.id, "round": callback.round}
    add_job(session, OUTCOME_SMS_JOB, args, f"outcome_sms:{callback.id}:{callback.round}")


def on_awaiting_approval(session: Session, callback: Callback, author: User, now: datetime):
    """A mistaken/malicious verdict: every other supervisor is asked to approve it."""
    people = inbox.supervisor_users(session, but=author.id)
    subject = f"待审批：{_case(callback)}登记为{_RESOLUTION.get(callback.resolution or '', '')}"
    stamp = callback.verdict_at.timestamp() if callback.verdict_at else 0
    key = f"approval:{callback.id}:{callback.round}:{stamp}"
    inbox.notify(session, inbox.KIND_APPROVAL, key, people, callback, subject, now=now)


def on_not_adopted(session: Session, callback: Callback, now: datetime) -> None:
    """通报: the supervisors hear of a 差评 not adopted (reported upward)."""
    people = inbox.supervisor_users(session)
    subject = (
        f"通报：{_case(callback)}核实为{_RESOLUTION.get(callback.resolution or '', '')}，不予采纳"
    )
    key = f"bulletin:{callback.id}:{callback.round}"
    inbox.notify(session, inbox.KIND_BULLETIN, key, people, callback, subject, now=now)


def on_assigned(session: Session, callback: Callback, assignee: User, now: datetime) -> None:
    """The named person hears of the case (and gets an SMS where configured)."""
    subject = f"指派给您：{_case(callback)}"
    key = f"assigned:{callback.id}:{assignee.id}:{now.timestamp()}"
    inbox.notify(
        session, inbox.KIND_ASSIGNED, key, [assignee], callback, subject, now=now, sms_to=[assignee]
    )


def consult(session: Session, callback: Callback, depts: Sequence[str], now: datetime) -> None:
    """Record the departments consulted (会商) and invite their staff."""
    known = set(
        session.scalars(
            select(CallbackConsult.dept).where(CallbackConsult.callback_id == callback.id)
        )
    )
    for dept in sorted(set(depts) - known):
        session.add(CallbackConsult(callback_id=callback.id, dept=dept, created_at=now))
    people = inbox.department_staff(session, depts)
    subject = f"会商邀请：{_case(callback)}情况较为复杂，请协同整改"
    key = f"consult:{callback.id}:{callback.round}"
    inbox.notify(session, inbox.KIND_CONSULT, key, people, callback, subject, now=now)


_RESOLUTION = {"mistaken": "误评", "malicious": "恶意差评"}
