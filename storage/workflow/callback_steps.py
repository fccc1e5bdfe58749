"""The machinery of the callback workflow: errors, the audit trail and one guarded step.

`storage.workflow.callbacks` holds the actions themselves; this module holds what they share.
Events are append-only: `append_event` writes each change with its push job, and
`record_refusal` the audit row of a refused action.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callflows.vocabulary import TRIGGERS, is_legal
from storage.models import ROLE_STAFF, ROLE_SUPERVISOR, Call, Callback, CallbackEvent, User
from storage.outbox import PUSH_CALL_UPDATE, add_job
from storage.types import utcnow

MAX_NOTE = 4000
SYSTEM = "system"  # the actor name of the sweep's changes


class WorkflowError(Exception):
    """An action refused; the message says why, the attributes say what was refused."""

    def __init__(
        self, message: str, callback: Callback | None = None, actor: User | None = None
    ) -> None:
        super().__init__(message)
        self.callback_id = callback.id if callback else None
        self.state = callback.state if callback else None
        self.actor_id = actor.id if actor else None
        self.actor_name = actor.username if actor else "unknown"
        self.action: str | None = None


class NotFound(WorkflowError):
    """No such callback."""


class NotAllowed(WorkflowError):
    """This user may not do this to this callback (HTTP 403)."""


class IllegalTransition(WorkflowError):
    """Not possible in the callback's present state (HTTP 409)."""


class InvalidInput(WorkflowError):
    """The data given is incomplete or wrong (HTTP 400)."""


@dataclass(frozen=True)
class Outcome:
    """What an action did (its jobs are sent when its transaction commits)."""

    callback_id: int
    state: str
    event_id: int
    duplicate: bool = False


def may_work(user: User, callback: Callback) -> bool:
    """Supervisors work every callback; staff only their department's; admins none."""
    return why_not(user, callback) is None


def why_not(user: User | None, callback: Callback) -> str | None:
    """Why `user` may not work `callback`, or None when they may."""
    if user is None or not user.active:
        return "unknown or inactive user"
    if user.role == ROLE_SUPERVISOR:
        return None
    if user.role != ROLE_STAFF:
        return f"the {user.role} role does not work callbacks"
    if user.dept is None or callback.dept != user.dept:
        return f"a callback of department {callback.dept}, not of {user.dept}"
    return None


def append_event(
    session: Session,
    callback: Callback,
    kind: str,
    *,
    now: datetime,
    user: User | None = None,
    to_state: str | None = None,
    note: str = "",
    detail: dict[str, Any] | None = None,
    action: str | None = None,
    submission_key: str | None = None,
) -> CallbackEvent:
    """Move `callback` to `to_state` (default: stay), with its event and its push job."""
    from_state, callback.state = callback.state, to_state or callback.state
    callback.updated_at = now
    event = CallbackEvent(
        callback_id=callback.id,
        at=now,
        actor_id=user.id if user else None,
        actor_name=user.username if user else SYSTEM,
        kind=kind,
        action=action,
        from_state=from_state,
        to_state=callback.state,
        note=note.strip()[:MAX_NOTE] or None,
        detail=detail,
        submission_key=submission_key,
    )
    session.add(event)
    session.flush()
    call = session.get_one(Call, callback.call_id)
    call.updated_at = now
    args = {"call_sid": call.call_sid}
    add_job(session, PUSH_CALL_UPDATE, args, f"callback:{callback.id}:{event.id}")
    return event


def record_refusal(session: Session, error: WorkflowError) -> None:
    """Append the audit row of a refused action (nothing for an unknown callback)."""
    if error.callback_id is None:
        return
    session.add(
        CallbackEvent(
            callback_id=error.callback_id,
            actor_id=error.actor_id,
            actor_name=error.actor_name[:64],
            kind="refused",
            action=error.action,
            from_state=error.state,
            to_state=error.state,
            note=str(error)[:MAX_NOTE],
            detail={"error": type(error).__name__},
        )
    )


class Step:
    """One action on one callback: lock, access check, duplicate check, guards, change."""

    def __init__(
        self, session: Session, actor: User, callback_id: int, action: str, key: str | None
    ) -> None:
        self.session, self.action, self.key = session, action, key
        self.actor_name = getattr(actor, "username", None) or "unknown"
        statement = select(Callback).where(Callback.id == callback_id).with_for_update()
        found = session.scalars(statement.execution_options(populate_existing=True)).first()
        user = session.get(User, actor.id) if actor is not None and actor.id else None
        self.user: User = user  # type: ignore[assignment]
        self.callback: Callback = found  # type: ignore[assignment]
        self.duplicate: Outcome | None = None
        if found is None:
            raise self.refuse(NotFound, f"no callback {callback_id}")
        problem = why_not(user, found)
        self.allow(problem is None, problem or "")
        if key:
            earlier = session.scalars(
                select(CallbackEvent).where(CallbackEvent.submission_key == key)
            ).first()
            if earlier is not None:
                same = earlier.callback_id == found.id and earlier.actor_id == user.id
                self.check(same, "this form was submitted for another callback")
                self.duplicate = Outcome(found.id, found.state, earlier.id, duplicate=True)

    def refuse(self, kind: type[WorkflowError], message: str) -> WorkflowError:
        """The error to raise, carrying what its audit row needs."""
        error = kind(message, self.callback, self.user)
        error.action, error.actor_name = self.action, self.actor_name
        return error

    def allow(self, condition: bool, message: str) -> None:
        """Refuse with `NotAllowed` (access) unless `condition`."""
        if not condition:
            raise self.refuse(NotAllowed, message)

    def require(self, condition: bool, message: str) -> None:
        """Refuse with `IllegalTransition` (state) unless `condition`."""
        if not condition:
            raise self.refuse(IllegalTransition, message)

    def check(self, condition: object, message: str) -> None:
        """Refuse with `InvalidInput` (data) unless `condition`."""
        if not condition:
            raise self.refuse(InvalidInput, message)

    def change(self, dest: str, kind: str, note: str, now: datetime, **detail: Any) -> Outcome:
        """Move the callback to `dest`, recording event `kind` with `detail`.

        The move must be one of `TRANSITIONS`: anything else is a programming error."""
        if self.action in TRIGGERS and not is_legal(self.action, self.callback.state, dest):
            raise AssertionError(f"{self.action}: {self.callback.state} -> {dest} is no transition")
        event = append_event(
            self.session,
            self.callback,
            kind,
            now=now,
            user=self.user,
            to_state=dest,
            note=note,
            detail={k: v for k, v in detail.items() if v is not None},
            action=self.action,
            submission_key=self.key,
        )
        return Outcome(self.callback.id, self.callback.state, event.id)


def callback_action(trigger: str | Callable[..., str]) -> Callable[[Callable], Callable]:
    """Make `body(step, now, *data)` the action `(session, actor, callback_id, *data,
    now=None, submission_key=None)`: it opens the `Step` (lock, access; a form sent twice
    answers its first outcome) and runs the body at `now` (default: the present).
    `trigger` names the step, or picks it from the data."""

    def wrap(body: Callable[..., Outcome]) -> Callable[..., Outcome]:
        @functools.wraps(body)
        def run(
            session: Session,
            actor: User,
            callback_id: int,
            *data: Any,
            now: datetime | None = None,
            submission_key: str | None = None,
            **options: Any,
        ) -> Outcome:
            name = trigger(*data, **options) if callable(trigger) else trigger
            step = Step(session, actor, callback_id, name, submission_key)
            if step.duplicate:
                return step.duplicate
            return body(step, now or utcnow(), *data, **options)

        return run

    return wrap
