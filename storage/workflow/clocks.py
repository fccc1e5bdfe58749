"""The clock of every open callback step (第十五条 as read in README "Following up").

Every deadline counts from `Callback.clock_start_at`: the moment the 差评 was forwarded
(the rating stored), or the moment a supervisor reopened the case. No step moves the
next one back:

- **contact** (首次联系): with `CONTACT_WORKING_DAYS=N` set, the caller must be reached
  by the end of the N-th working day after the forwarding day; unset, no separate clock;
- **callback** (回访核实, `due_at`): the caller reached *and* the verdict recorded within
  48 hours; a reached case with no verdict is overdue at the 48 h mark like an unreached one;
- **rectify** (`rectify_due_at`): 5 or 15 days (`DEADLINE_DAYS`, natural by default)
  counted from the forwarding day, not from the verdict.

A step is overdue once its deadline has passed: at the deadline itself it is still in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.models import (
    CALLBACK_CALLED_BACK,
    CALLBACK_OPEN,
    Callback,
)
from storage.settings import settings
from storage.workflow import deadlines

CALLBACK_WINDOW = timedelta(hours=48)
DUE_SOON = timedelta(hours=4)
RECTIFY_DAYS = {"rectify_5d": 5, "rectify_15d": 15}
NEEDS_APPROVAL = ("mistaken", "malicious")

STEP_CONTACT = "contact"  # reach the caller (1 working day, where configured)
STEP_VERDICT = "verdict"  # reached, the verdict to record (48 h)
STEP_RECTIFY = "rectify"  # rectify and feed back (5/15 days)
STEP_APPROVAL = "approval"  # a mistaken/malicious verdict awaits a supervisor


def contact_working_days() -> int | None:
    """`CONTACT_WORKING_DAYS`: working days to reach the caller, or None (no such clock)."""
    return settings().contact_working_days


def start_clock(callback: Callback, at: datetime) -> None:
    """Set every deadline of `callback` as counted from `at` (forwarding or reopening)."""
    for name, value in clock_values(at).items():
        setattr(callback, name, value)


def clock_values(at: datetime) -> dict[str, object]:
    """A callback's deadline columns with its clock started at `at` (`start_clock`)."""
    days = contact_working_days()
    return {
        "clock_start_at": at,
        "due_at": at + CALLBACK_WINDOW,
        "contact_due_at": (
            deadlines.period_end(at, days, deadlines.WORKING).at if days is not None else None
        ),
        "overdue": False,
        "contact_overdue": False,
        "rectify_overdue": False,
        "rectify_due_at": None,
        "rectify_due_fallback": False,
        "due_soon_sent": None,
    }


def clock_start(callback: Callback) -> datetime:
    """When the callback's clock started (older rows: when the callback was opened)."""
    return callback.clock_start_at or callback.created_at


def rectify_deadline(callback: Callback, resolution: str) -> deadlines.Deadline:
    """The rectification deadline of `resolution`, counted from the forwarding day."""
    return deadlines.rectify_due(clock_start(callback), RECTIFY_DAYS[resolution])


@dataclass(frozen=True)
class CurrentStep:
    """The step a callback waits for and when it is due (None: no deadline)."""

    step: str | None
    due_at: datetime | None


def current_step(callback: Callback) -> CurrentStep:
    """The step `callback` waits for now, with its deadline."""
    if callback.state == CALLBACK_OPEN:
        dues = [d for d in (callback.contact_due_at, callback.due_at) if d is not None]
        return CurrentStep(STEP_CONTACT, min(dues))
    if callback.state != CALLBACK_CALLED_BACK:
        return CurrentStep(None, None)
    if callback.resolution is None:
        return CurrentStep(STEP_VERDICT, callback.due_at)
    if callback.resolution in RECTIFY_DAYS:
        return CurrentStep(STEP_RECTIFY, callback.rectify_due_at)
    if callback.resolution in NEEDS_APPROVAL:
        return CurrentStep(STEP_APPROVAL, None)
    return CurrentStep(None, None)
