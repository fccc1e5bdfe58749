"""Calls and callbacks as the JSON of the contract's read API (times in UTC)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage.access.privacy import mask_number
from storage.models import RECORDING_DONE, RECORDING_REASON, Call, Callback
from storage.workflow.clocks import current_step

DEFAULT_LANG = "zh-CN"


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, to the second."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def iso_exact(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds, for times kept in JSON and read back."""
    return value.astimezone(UTC).isoformat()


def call_to_dict(call: Call) -> dict[str, Any]:
    """The contract's `<call>` object; the caller's number is masked."""
    rating = call.rating
    return {
        "call_sid": call.call_sid,
        "lang": call.lang or DEFAULT_LANG,
        "agent": call.agent,
        "dept": call.dept,
        "tickets": [t.ticket for t in call.tickets],
        "caller": mask_number(call.caller),
        "disposition": call.disposition,
        "kind": call.kind,
        "linked_call": _linked(call),
        "rates_call": call.rates_call.call_sid if call.rates_call else None,
        "created_at": iso(call.created_at),
        "updated_at": iso(call.updated_at),
        "rating": None
        if rating is None
        else {
            "level": rating.level,
            "category": rating.category,
            "source": rating.source,
            "rated_at": iso(rating.rated_at),
            "excluded": rating.excluded,
        },
        "callback": None if call.callback is None else callback_to_dict(call.callback),
        "reason": _reason(call),
    }


def _linked(call: Call) -> str | None:
    """The other party's call of a proxy pair, whichever of the two named the other."""
    other = call.linked_call or next(iter(call.linked_by), None)
    return other.call_sid if other else None


def _reason(call: Call) -> dict[str, Any] | None:
    """The caller's spoken reason for a bad rating, transcribed, if there is one."""
    for recording in call.recordings:
        if recording.purpose == RECORDING_REASON and recording.status == RECORDING_DONE:
            return {"transcript": recording.transcript, "confidence": recording.confidence}
    return None


def callback_to_dict(callback: Callback) -> dict[str, Any]:
    """The contract's `callback` object.

    `overdue` is true once the sweep found the first contact, the callback (48 h) or the
    rectification (5/15 days) late; it stays true after the late step is done. `step`
    and `step_due_at` are the step the case waits for and its deadline
    (`storage.workflow.clocks.current_step`), counted from the forwarding of the 差评.
    """
    step = current_step(callback)
    return {
        "state": callback.state,
        "due_at": iso(callback.due_at),
        "overdue": bool(callback.overdue or callback.rectify_overdue or callback.contact_overdue),
        "resolution": callback.resolution,
        "rectify_due_at": iso(callback.rectify_due_at),
        "step": step.step,
        "step_due_at": iso(step.due_at),
        "contact_due_at": iso(callback.contact_due_at),
        "assignee": callback.assignee.username if callback.assignee else None,
        "consulted": [consult.dept for consult in callback.consults],
    }
