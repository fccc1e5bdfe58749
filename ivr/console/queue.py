"""The queue and callback pages, and the number reveal (logged)."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from ivr.console import bp, case_people, labels, new_submission_key
from ivr.console.auth import current_user, login_required
from ivr.extensions import db_sessions
from storage.access.privacy import mask_number
from storage.db import transaction
from storage.models import (
    CALLBACK_CALLED_BACK,
    CALLBACK_OPEN,
    CALLBACK_STATES,
    RECORDING_DONE,
    RECORDING_REASON,
    ROLE_ADMIN,
    ROLE_STAFF,
    Call,
    Callback,
    CallbackConsult,
    CallbackEvent,
    Recording,
    User,
)
from storage.types import utcnow
from storage.workflow import callback_people as people
from storage.workflow.callback_steps import InvalidInput, NotAllowed, record_refusal, why_not
from storage.workflow.callbacks import NEEDS_APPROVAL, RECTIFY_DAYS
from storage.workflow.clocks import current_step

ACTIVE = (CALLBACK_OPEN, CALLBACK_CALLED_BACK)
QUEUE_LIMIT = 100  # a page
REVEALED = "number_revealed"


def deadline(cb: Callback) -> Any:
    """The current step's deadline (storage/workflow/clocks.py), else the callback's 48 h."""
    return current_step(cb).due_at or cb.due_at


@bp.get("/")
def home() -> Any:
    """Administrators to their pages, everyone else to the queue."""
    user = current_user()
    if user is not None and user.role == ROLE_ADMIN:
        return redirect(url_for("console.admin_users"))
    return redirect(url_for("console.queue"))


@bp.get("/queue")
@login_required()
def queue() -> Any:
    """The callbacks to work, nearest deadline first; staff see their department's only."""
    user = current_user()
    assert user is not None
    state = request.args.get("state", "active")
    statement = select(Callback).options(
        selectinload(Callback.call).selectinload(Call.tickets),
        selectinload(Callback.rating),
        selectinload(Callback.assignee),
    )
    if user.role == ROLE_STAFF:  # their department's, and those it is consulted on (会商)
        theirs, invited = Callback.dept == user.dept, consulted()
        statement = statement.where(or_(theirs, Callback.id.in_(invited)) if invited else theirs)
    if state in CALLBACK_STATES:
        statement = statement.where(Callback.state == state)
    elif state != "all":
        state = "active"
        statement = statement.where(Callback.state.in_(ACTIVE))
    order = func.coalesce(Callback.rectify_due_at, Callback.due_at)
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 10_000)
    counted = select(func.count()).select_from(statement.subquery())
    statement = statement.order_by(order, Callback.id)
    statement = statement.offset((page - 1) * QUEUE_LIMIT).limit(QUEUE_LIMIT)
    now = utcnow()
    with db_sessions()() as db:
        total = db.scalar(counted) or 0
        rows = []
        for cb in db.scalars(statement):
            left, late = labels.time_left(deadline(cb), now)
            active = cb.state in ACTIVE
            rows.append(
                {
                    "cb": cb,
                    "deadline": deadline(cb),
                    "left": left if active else "—",
                    "overdue": late and active,  # the current step is late
                    "was_late": cb.overdue or cb.rectify_overdue or cb.contact_overdue,
                    "caller": mask_number(cb.call.caller),
                }
            )
        return render_template(
            "console/queue.html",
            rows=rows,
            state=state,
            states=CALLBACK_STATES,
            page=page,
            total=total,
            pages=max(1, -(-total // QUEUE_LIMIT)),
        )


def consulted() -> list[int]:
    """The callbacks the staff member's department is consulted on (会商): few, so listed
    (the queue's query then reads both sides by index, not every active callback)."""
    user = current_user()
    assert user is not None
    wanted = select(CallbackConsult.callback_id).where(CallbackConsult.dept == user.dept)
    with db_sessions()() as db:
        return list(db.scalars(wanted))


def next_case(user: User, after: int) -> int | None:
    """The most urgent other active callback this user may work (for "save and next")."""
    statement = select(Callback.id).where(Callback.state.in_(ACTIVE), Callback.id != after)
    if user.role == ROLE_STAFF:
        statement = statement.where(Callback.dept == user.dept)
    order = func.coalesce(Callback.rectify_due_at, Callback.due_at)
    with db_sessions()() as db:
        return db.scalar(statement.order_by(order, Callback.id).limit(1))


def load(db: Session, callback_id: int) -> Callback:
    """The callback with its call, or 404."""
    statement = (
        select(Callback)
        .where(Callback.id == callback_id)
        .options(selectinload(Callback.call).selectinload(Call.recordings))
    )
    cb = db.scalars(statement).first()
    if cb is None:
        abort(404, description=f"没有编号为 {callback_id} 的回访。")
    return cb


def check_access(callback_id: int, user: User, action: str) -> None:
    """404 if unknown; 403 with an audit row (kind `refused`) unless `user` may work it."""
    with db_sessions()() as db:
        cb = load(db, callback_id)
        problem = why_not(user, cb)
        if problem and action == "view" and people.may_view(db, user, cb):
            problem = None  # a department consulted (会商) sees the case
        error = NotAllowed(problem or "", cb, user)
    if problem is None:
        return
    error.action = action
    with transaction(db_sessions()) as db:  # never nested: SQLite has one writer
        record_refusal(db, error)
    abort(403, description="此回访不属于您的部门，您无权查看或处理（已记录）。")


def audit_refusal(callback_id: int, user: User, action: str, message: str) -> None:
    """Append a `refused` event for bad input (e.g. an evidence upload) to the callback."""
    with db_sessions()() as db:
        cb = db.get(Callback, callback_id)
        if cb is None or why_not(user, cb) is not None:
            return  # unknown or not theirs: check_access audits that
        error = InvalidInput(message, cb, user)
    error.action = action
    with transaction(db_sessions()) as db:
        record_refusal(db, error)


def reason_recording(call: Call) -> Recording | None:
    """The caller's spoken reason for the bad rating, fetched and transcribed, if any."""
    wanted = (r for r in call.recordings if r.purpose == RECORDING_REASON)
    return next((r for r in wanted if r.status == RECORDING_DONE), None)


def render_detail(
    callback_id: int,
    revealed: str | None = None,
    status: int = 200,
    audited: bool = False,
    problem: dict[str, Any] | None = None,
) -> Any:
    """The callback page: call, rating, reason, number (masked), history, actions.

    `problem` is a refused form (`form`, `message`, the `kept` values and files), shown
    in place with what was typed.
    """
    user = current_user()
    assert user is not None
    if not audited:
        check_access(callback_id, user, "view")
    with db_sessions()() as db:
        cb = load(db, callback_id)
        call = cb.call
        reason = reason_recording(call)
        events = db.scalars(
            select(CallbackEvent)
            .where(CallbackEvent.callback_id == cb.id)
            .order_by(CallbackEvent.id)
        ).all()
        left, late = labels.time_left(deadline(cb), utcnow())
        active = cb.state in ACTIVE
        works = why_not(user, cb) is None
        page = render_template(
            "console/callback.html",
            owner=case_people.context(db, cb, user, works),
            cb=cb,
            call=call,
            rating=cb.rating,
            reason=reason,
            events=events,
            masked=mask_number(call.caller),
            revealed=revealed,
            left=left if active else None,
            overdue=late and active,  # the current step is late (past steps: their tags)
            forms=_forms(cb, user) if works else set(),
            key=new_submission_key,
            results=("reached", "no_answer", "refused", "wrong_number"),
            problem=problem or {"form": None, "kept": {}},
        )
    return page, status


def _forms(cb: Callback, user: User) -> set[str]:
    """The actions the page offers in the callback's present state."""
    if cb.state == CALLBACK_OPEN:
        return {"attempt"}
    if cb.state != CALLBACK_CALLED_BACK:
        return set()
    if cb.resolution is None:
        return {"verdict"}
    if cb.resolution in RECTIFY_DAYS:
        return {"close"}
    if cb.resolution in NEEDS_APPROVAL:
        may_review = user.role == "supervisor" and cb.verdict_by_id != user.id
        return {"review"} if may_review else {"awaiting"}
    return set()


@bp.get("/callbacks/<int:callback_id>")
@login_required()
def callback(callback_id: int) -> Any:
    return render_detail(callback_id)


@bp.post("/callbacks/<int:callback_id>/reveal")
@login_required()
def reveal(callback_id: int) -> Any:
    """Show the caller's full number once, and log who saw it."""
    user = current_user()
    assert user is not None
    check_access(callback_id, user, "reveal")
    with transaction(db_sessions()) as db:
        cb = load(db, callback_id)
        number = cb.call.caller
        db.add(
            CallbackEvent(
                callback_id=cb.id,
                actor_id=user.id,
                actor_name=user.username,
                kind=REVEALED,
                action="reveal",
                from_state=cb.state,
                to_state=cb.state,
                detail={"ip": request.remote_addr},
            )
        )
    return render_detail(callback_id, revealed=number or "（无号码）", audited=True)
