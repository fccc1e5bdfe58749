"""What the callback page's owner, reopening, 会商 and clock partials need to show."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import (
    CALLBACK_OPEN,
    ROLE_STAFF,
    ROLE_SUPERVISOR,
    Callback,
    Department,
    User,
)
from storage.workflow import attempt_rules, clocks, inbox
from storage.workflow import callback_people as people

STEP_NAMES = {
    clocks.STEP_CONTACT: "联系来电人",
    clocks.STEP_VERDICT: "登记核实结论（48 小时内）",
    clocks.STEP_RECTIFY: "整改并反馈",
    clocks.STEP_APPROVAL: "等待主管审批",
}


def context(db: Session, cb: Callback, user: User, works: bool) -> dict[str, Any]:
    """The data of the page's partials for `user` looking at `cb`."""
    active = cb.state in people.ACTIVE
    departments = list(db.scalars(select(Department).order_by(Department.code)))
    names = {d.code: d.name for d in departments}
    consulted = people.consulted_depts(db, cb.id)
    staff = inbox.department_staff(db, [cb.dept]) if active else []
    step = clocks.current_step(cb)
    rules = attempt_rules.AttemptRules.from_env()
    times = attempt_rules.counted(cb.attempt_times)
    return {
        "assignee": cb.assignee.username if cb.assignee else None,
        "may_assign": works and active and people.may_assign(db, user, cb),
        "staff": [u.username for u in staff],
        "may_take": works
        and active
        and cb.assignee_id is None
        and user.role == ROLE_STAFF
        and user.dept == cb.dept,
        "may_reopen": user.role == ROLE_SUPERVISOR and cb.state in people.REOPENABLE,
        "consulted": [(code, names.get(code, code)) for code in consulted],
        "may_note": bool(consulted) and people.may_view(db, user, cb),
        "other_departments": [(d.code, d.name) for d in departments if d.code != cb.dept],
        "step": STEP_NAMES.get(step.step or ""),
        "step_due_at": step.due_at,
        "contact_due_at": cb.contact_due_at,
        "attempts_note": rules.explain(times) if cb.state == CALLBACK_OPEN else None,
        "dept_name": names.get(cb.dept or "", cb.dept),
        "dept_names": names,
    }
