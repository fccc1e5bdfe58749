"""Who owns a case, and the supervisor's reopening: assign, take, reopen, 会商 notes.

- **assign**: a supervisor, or the head of the case's department, names an active staff
  member of that department (专人); naming someone else later (reassigning) needs a reason.
- **take**: a staff member of the department takes an unassigned case for themselves.
- **reopen**: a supervisor sends an `unreachable` or `closed` case back to the queue with
  a reason; it is `open` again with a fresh clock (every deadline counted from now) and
  its attempts, verdict and feedback cleared (the history keeps them).
- **consult note**: staff of a department consulted (会商) add a note to the case.

Each goes through `storage.workflow.callback_steps.Step` like the other actions (lock, access,
state, input, one event, a push) and is run with `storage.workflow.callbacks.act`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import (
    CALLBACK_CALLED_BACK,
    CALLBACK_CLOSED,
    CALLBACK_OPEN,
    CALLBACK_UNREACHABLE,
    ROLE_STAFF,
    ROLE_SUPERVISOR,
    Callback,
    CallbackConsult,
    Department,
    User,
)
from storage.types import utcnow
from storage.workflow import callback_news as news
from storage.workflow import clocks, inbox
from storage.workflow.callback_steps import (
    MAX_NOTE,
    InvalidInput,
    NotAllowed,
    NotFound,
    Outcome,
    Step,
    WorkflowError,
    append_event,
    callback_action,
    why_not,
)

ACTIVE = (CALLBACK_OPEN, CALLBACK_CALLED_BACK)
REOPENABLE = (CALLBACK_UNREACHABLE, CALLBACK_CLOSED)


def is_head(session: Session, user: User | None, dept: str | None) -> bool:
    """Whether `user` heads department `dept`."""
    if user is None or not dept:
        return False
    found = session.scalars(select(Department).where(Department.code == dept)).first()
    return found is not None and found.head_user_id == user.id


def may_assign(session: Session, user: User | None, callback: Callback) -> bool:
    """Supervisors and the department's head assign cases."""
    if user is None or not user.active:
        return False
    return user.role == ROLE_SUPERVISOR or is_head(session, user, callback.dept)


def consulted_depts(session: Session, callback_id: int) -> list[str]:
    """The departments consulted on a case."""
    statement = select(CallbackConsult.dept).where(CallbackConsult.callback_id == callback_id)
    return list(session.scalars(statement.order_by(CallbackConsult.id)))


def may_view(session: Session, user: User | None, callback: Callback) -> bool:
    """Those who work the case, and the staff of a department consulted on it."""
    if why_not(user, callback) is None:
        return True
    if user is None or not user.active or user.role != ROLE_STAFF or not user.dept:
        return False
    return user.dept in consulted_depts(session, callback.id)


@callback_action("assign")
def assign(step: Step, now: datetime, assignee_name: str, reason: str = "") -> Outcome:
    """Name the person who owns the case (a reason is needed to name another one)."""
    cb, session = step.callback, step.session
    step.allow(may_assign(session, step.user, cb), "only a supervisor or the head assigns")
    step.require(cb.state in ACTIVE, f"the callback is {cb.state}")
    assignee = session.scalars(select(User).where(User.username == assignee_name)).first()
    fits = assignee is not None and assignee.active and assignee.role == ROLE_STAFF
    step.check(fits and assignee.dept == cb.dept, "choose an active staff member of the department")
    step.check(cb.assignee_id != assignee.id, "the case is already assigned to this person")
    step.check(cb.assignee_id is None or reason.strip(), "say why the case is reassigned")
    return _set_assignee(step, assignee, reason, now)


@callback_action("take")
def take(step: Step, now: datetime) -> Outcome:
    """A staff member of the department takes an unassigned case."""
    cb = step.callback
    step.allow(step.user.role == ROLE_STAFF, "only the department's staff take cases")
    step.require(cb.state in ACTIVE, f"the callback is {cb.state}")
    step.require(cb.assignee_id is None, "the case is already assigned")
    return _set_assignee(step, step.user, "", now)


def _set_assignee(step: Step, assignee: User, reason: str, now: datetime) -> Outcome:
    cb = step.callback
    previous = cb.assignee.username if cb.assignee else None
    cb.assignee_id, cb.assignee = assignee.id, assignee
    cb.due_soon_sent = None  # the new owner is told again when a step is due soon
    kind = "reassigned" if previous else "assigned"
    outcome = step.change(
        cb.state, kind, reason, now, assignee=assignee.username, previous=previous
    )
    if assignee.id != step.user.id:
        news.on_assigned(step.session, cb, assignee, now)
    return outcome


@callback_action("reopen")
def reopen(step: Step, now: datetime, reason: str) -> Outcome:
    """A supervisor reopens an unreachable or closed case: back to the queue, fresh clock."""
    cb, session = step.callback, step.session
    step.allow(step.user.role == ROLE_SUPERVISOR, "only a supervisor reopens a case")
    step.require(cb.state in REOPENABLE, f"the callback is {cb.state}")
    step.check(reason.strip(), "say why the case is reopened")
    was = {"was_resolution": cb.resolution, "was_feedback": cb.feedback, "was_state": cb.state}
    cb.round += 1
    cb.failed_attempts, cb.attempt_times, cb.reached_at = 0, None, None
    cb.resolution = cb.verdict_at = cb.verdict_by_id = cb.verdict_note = None
    cb.feedback = cb.closed_at = cb.rectification = None
    clocks.start_clock(cb, now)
    outcome = step.change(CALLBACK_OPEN, "reopened", reason, now, **was)
    subject = f"重新打开：回访 #{cb.id}（{cb.dept or '热线'}），原因：{reason.strip()[:60]}"
    people = inbox.owners(session, cb)
    inbox.notify(
        session, inbox.KIND_NEW, f"reopened:{cb.id}:{cb.round}", people, cb, subject, now=now
    )
    return outcome


def add_consult_note(
    session: Session,
    actor: User,
    callback_id: int,
    note: str,
    *,
    now: datetime | None = None,
    submission_key: str | None = None,
) -> Outcome:
    """Staff of a consulted department (or those working the case) add a 会商 note."""
    now = now or utcnow()
    statement = select(Callback).where(Callback.id == callback_id).with_for_update()
    cb = session.scalars(statement).first()
    user = session.get(User, actor.id) if actor is not None and actor.id else None
    if cb is None:
        raise NotFound(f"no callback {callback_id}")
    if not may_view(session, user, cb):
        error: WorkflowError = NotAllowed("not consulted on this case", cb, user)
        error.action = "consult_note"
        raise error
    text = note.strip()[:MAX_NOTE]
    if not text:
        error = InvalidInput("write the note", cb, user)
        error.action = "consult_note"
        raise error
    event = append_event(
        session, cb, "consult_note", now=now, user=user, note=text,
        detail={"dept": user.dept} if user and user.dept else None,
        action="consult_note", submission_key=submission_key,
    )  # fmt: skip
    return Outcome(cb.id, cb.state, event.id)
