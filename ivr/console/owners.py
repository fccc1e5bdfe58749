"""The case's people: assign, take, reopen, and the 会商 notes of consulted departments."""

from __future__ import annotations

from typing import Any

from flask import request

from ivr.console import bp
from ivr.console.actions import _act, _answer, _note
from ivr.console.auth import login_required
from storage.workflow import callback_people as people


@bp.post("/callbacks/<int:callback_id>/assign")
@login_required()
def assign(callback_id: int) -> Any:
    """A supervisor or the department's head names the person who owns the case."""
    assignee = request.form.get("assignee", "")[:64]
    return _answer(callback_id, _act(callback_id, people.assign, assignee, _note()))


@bp.post("/callbacks/<int:callback_id>/take")
@login_required()
def take(callback_id: int) -> Any:
    """A staff member takes an unassigned case."""
    return _answer(callback_id, _act(callback_id, people.take))


@bp.post("/callbacks/<int:callback_id>/reopen")
@login_required()
def reopen(callback_id: int) -> Any:
    """A supervisor reopens an unreachable or closed case, with a reason."""
    return _answer(callback_id, _act(callback_id, people.reopen, _note()))


@bp.post("/callbacks/<int:callback_id>/consult-note")
@login_required()
def consult_note(callback_id: int) -> Any:
    """A consulted department (or the case's own) adds a 会商 note."""
    return _answer(callback_id, _act(callback_id, people.add_consult_note, _note()))
