"""The callback workflow (回访核实, domain.md rule 7): attempts, verdicts, approval, closing.

`callflows.vocabulary.TRANSITIONS` lists every legal move, and the state guards ask it
(`may`). Each action takes a session, the acting user and the data, and (its `Step`
opened by `callback_steps.callback_action`): locks the callback row; checks access
(`NotAllowed`), then the state (`IllegalTransition`), then the input (`InvalidInput`),
all before changing anything;
then changes the callback, appends one `CallbackEvent` (who, when, what, from and to
state), bumps the call's `updated_at` and queues `workers.jobs.push_call_update`.

A refused action raises a `WorkflowError`, which rolls its transaction back; `act()` runs
an action in a transaction and then writes the refusal's audit row (kind `refused`) in a
fresh one. A form may pass a `submission_key`: the same key twice returns the first
outcome (`duplicate=True`) and changes nothing; without one, repeating an action that
moved the state is an `IllegalTransition`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callflows.vocabulary import may
from storage.db import transaction
from storage.models import CALLBACK_CALLED_BACK as CALLED_BACK
from storage.models import CALLBACK_CLOSED as CLOSED
from storage.models import CALLBACK_NOT_ADOPTED as NOT_ADOPTED
from storage.models import CALLBACK_OPEN as OPEN
from storage.models import CALLBACK_UNREACHABLE as UNREACHABLE
from storage.models import (
    RESOLUTIONS,
    ROLE_SUPERVISOR,
    Callback,
    CallbackEvent,
    Department,
    User,
)
from storage.records.files import InvalidKey, validate_key
from storage.reports.serialize import iso, iso_exact
from storage.workflow import attempt_rules, clocks
from storage.workflow import callback_news as news
from storage.workflow.callback_steps import (
    MAX_NOTE,
    IllegalTransition,
    InvalidInput,
    NotAllowed,
    NotFound,
    Outcome,
    Step,
    WorkflowError,
    append_event,
    callback_action,
    may_work,
    record_refusal,
)
from storage.workflow.malicious import record_malicious_rater
from storage.workflow.notifications import KIND_NOT_ADOPTED, notify_management

__all__ = [
    "IllegalTransition",
    "InvalidInput",
    "NotAllowed",
    "NotFound",
    "Outcome",
    "WorkflowError",
    "act",
    "append_event",
    "close_rectification",
    "history",
    "log_attempt",
    "may_work",
    "record_refusal",
    "record_verdict",
    "review_verdict",
]

log = logging.getLogger(__name__)

REACHED, NO_ANSWER, REFUSED, WRONG_NUMBER = "reached", "no_answer", "refused", "wrong_number"
ATTEMPT_RESULTS = (REACHED, NO_ANSWER, REFUSED, WRONG_NUMBER)
FEEDBACK_NOT_REACHED = "not_reached"  # closed without the caller's word: not counted as followed
FEEDBACKS = ("satisfied", "not_satisfied", FEEDBACK_NOT_REACHED)  # the caller's word
CLOSING = ("on_the_spot", "explained")  # closed with the verdict, once fed back
RECTIFY_DAYS = {"rectify_5d": 5, "rectify_15d": 15}
NEEDS_APPROVAL = ("mistaken", "malicious")
MAX_EVIDENCE = 20


def act(factory: sessionmaker[Session], action: Callable[..., Outcome], *args, **kwargs) -> Outcome:
    """Run `action(session, *args, **kwargs)` in a transaction; audit a refusal apart."""
    try:
        with transaction(factory) as session:
            outcome = action(session, *args, **kwargs)
    except WorkflowError as error:
        try:
            with transaction(factory) as session:
                record_refusal(session, error)
        except Exception:  # the refusal itself must still reach the caller
            log.exception("could not write the audit row of a refused %s", error.action)
        raise
    return outcome


@callback_action("attempt")
def log_attempt(
    step: Step, now: datetime, result: str, note: str = "", *, attempts_allowed: int | None = None
) -> Outcome:
    """Log one call-back attempt: reached, no_answer, refused or wrong_number.

    A failed attempt counts toward `unreachable` only if it comes at least the minimum
    gap after the last counted one (an earlier one is refused, with the time to retry);
    the callback becomes `unreachable` once the counted attempts reach the number and
    span the calendar days the rules ask for (`storage.workflow.attempt_rules`).
    """
    cb = step.callback
    step.require(may("attempt", cb.state), "attempts are logged only while the callback is open")
    step.check(result in ATTEMPT_RESULTS, f"result must be one of {ATTEMPT_RESULTS}")
    if result == REACHED:
        cb.reached_at = now
        return step.change(CALLED_BACK, "reached", note, now, result=result)
    rules = attempt_rules.AttemptRules.from_env(attempts_allowed)
    times = attempt_rules.counted(cb.attempt_times)
    step.check(rules.soon_enough(times, now) is None, rules.soon_enough(times, now) or "")
    times.append(now)
    cb.attempt_times = [iso_exact(t) for t in times]
    cb.failed_attempts += 1
    if rules.unreachable(times):
        return step.change(UNREACHABLE, "unreachable", note, now, result=result)
    detail = {"attempt": len(times), "days": attempt_rules.days_spanned(times)}
    return step.change(OPEN, "attempt", note, now, result=result, **detail)


@callback_action("verdict")
def record_verdict(
    step: Step,
    now: datetime,
    resolution: str,
    note: str = "",
    *,
    feedback: str | None = None,
    consulted: Sequence[str] = (),
) -> Outcome:
    """Record the verdict once the caller is reached (`feedback` closes on_the_spot/explained).

    The 15-day route (情况较为复杂) names the departments consulted (会商), at least one
    other than the case's own; they are invited to see the case and add notes.
    """
    cb, session = step.callback, step.session
    step.require(cb.state != OPEN, "the caller has not been reached yet")
    step.require(may("verdict", cb.state), f"the callback is {cb.state}")
    step.require(cb.resolution is None, f"a verdict is already recorded: {cb.resolution}")
    step.check(resolution in RESOLUTIONS, f"resolution must be one of {RESOLUTIONS}")
    closing = resolution in CLOSING
    step.check(
        feedback in FEEDBACKS if closing else feedback is None,
        f"feedback {FEEDBACKS} goes with {CLOSING} only, and is required there",
    )
    step.check(resolution not in NEEDS_APPROVAL or note.strip(), "say why it is not genuine")
    others = sorted({d.strip() for d in consulted if d and d.strip()} - {cb.dept or ""})
    if resolution == "rectify_15d":
        step.check(others, "name the departments consulted")
        step.check(known_departments(session, others), "unknown department consulted")
    else:
        step.check(not others, "departments are consulted on the 15-day route only")
    cb.resolution, cb.verdict_at, cb.verdict_by_id = resolution, now, step.user.id
    cb.verdict_note = note.strip()[:MAX_NOTE] or None
    if resolution in RECTIFY_DAYS:
        due = clocks.rectify_deadline(cb, resolution)
        cb.rectify_due_at, cb.rectify_due_fallback = due.at, due.fallback
    if closing:
        cb.feedback, cb.closed_at = feedback, now
    dest = CLOSED if closing else CALLED_BACK
    outcome = step.change(
        dest,
        "verdict",
        note,
        now,
        resolution=resolution,
        feedback=feedback,
        consulted=others or None,
    )
    if closing:
        news.on_closed(session, cb)
    if resolution in NEEDS_APPROVAL:
        news.on_awaiting_approval(session, cb, step.user, now)
    if others:
        news.consult(session, cb, others, now)
    return outcome


def _approve_or_reject(approve: bool, note: str = "") -> str:
    return "approve" if approve else "reject"


@callback_action(_approve_or_reject)
def review_verdict(step: Step, now: datetime, approve: bool, note: str = "") -> Outcome:
    """A supervisor approves (→ not_adopted) or rejects (→ back to called_back) a verdict."""
    cb, user, session = step.callback, step.user, step.session
    step.allow(user.role == ROLE_SUPERVISOR, "only a supervisor reviews verdicts")
    waiting = may(step.action, cb.state) and cb.resolution in NEEDS_APPROVAL
    step.require(waiting, "no mistaken/malicious verdict awaits approval")
    step.allow(cb.verdict_by_id != user.id, "the verdict's author cannot review it")
    resolution = cb.resolution
    if not approve:
        cb.resolution = cb.verdict_at = cb.verdict_by_id = cb.verdict_note = None
        return step.change(CALLED_BACK, "rejected", note, now, resolution=resolution)
    cb.rating.excluded = True
    cb.closed_at = now
    record_malicious_rater(session, cb, user.username, now)  # only for `malicious`
    outcome = step.change(NOT_ADOPTED, "approved", note, now, resolution=resolution)
    news.on_not_adopted(session, cb, now)
    notify_management(
        session,
        kind=KIND_NOT_ADOPTED,
        key=f"not_adopted:{cb.id}",
        subject=f"差评不予采纳（{resolution}）：{cb.call.call_sid}",
        payload=_management_report(session, cb, user, note, now),
        callback_id=cb.id,
        now=now,
    )
    return outcome


@callback_action("close")
def close_rectification(
    step: Step,
    now: datetime,
    description: str,
    evidence: Sequence[str],
    feedback: str,
    note: str = "",
) -> Outcome:
    """Close a rectification with its description, evidence file keys and the feedback."""
    cb, session = step.callback, step.session
    step.require(cb.state != OPEN, "the caller has not been reached: nothing to close yet")
    rectifying = may("close", cb.state) and cb.resolution in RECTIFY_DAYS
    step.require(rectifying, f"no rectification under way (state {cb.state})")
    step.check(bool(description and description.strip()), "describe the rectification")
    step.check(0 < len(evidence) <= MAX_EVIDENCE, f"give 1 to {MAX_EVIDENCE} evidence files")
    try:
        keys = [validate_key(key) for key in evidence]
    except InvalidKey as error:
        raise step.refuse(InvalidInput, str(error)) from None
    step.check(feedback in FEEDBACKS, f"feedback must be one of {FEEDBACKS}")
    cb.rectification, cb.evidence = description.strip()[:MAX_NOTE], keys
    cb.feedback, cb.closed_at = feedback, now
    outcome = step.change(CLOSED, "closed", note, now, feedback=feedback, evidence=keys)
    news.on_closed(session, cb)
    return outcome


def history(session: Session, callback_id: int) -> list[CallbackEvent]:
    """The callback's events, oldest first."""
    statement = select(CallbackEvent).where(CallbackEvent.callback_id == callback_id)
    return list(session.scalars(statement.order_by(CallbackEvent.id)))


def _management_report(
    session: Session, cb: Callback, user: User, note: str, now: datetime
) -> dict[str, Any]:
    """What the management body is told of a rating not adopted (no caller number)."""
    call = cb.call
    author = session.get(User, cb.verdict_by_id) if cb.verdict_by_id else None
    return {
        "call_sid": call.call_sid,
        "dept": cb.dept,
        "agent": call.agent,
        "tickets": [t.ticket for t in call.tickets],
        "level": cb.rating.level,
        "resolution": cb.resolution,
        "reason": cb.verdict_note,
        "verdict_by": author.username if author else None,
        "verdict_at": iso(cb.verdict_at),
        "approved_by": user.username,
        "approval_note": note.strip() or None,
        "approved_at": iso(now),
    }


def known_departments(session: Session, codes: Sequence[str]) -> bool:
    """Whether every code in `codes` is a department."""
    found = session.scalars(select(Department.code).where(Department.code.in_(codes)))
    return set(found) == set(codes)
