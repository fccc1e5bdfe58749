"""The sweep's duties over ratings and callbacks, each safe to run twice, late or at once.

- **Default ratings** (domain.md rule 2): a call still unrated at the end of the 7th
  natural day after its call day (`storage.workflow.deadlines.default_rating_due`) gets
  `basically_satisfied` with `source: default`. `rated_at` is that deadline, not the
  sweep's time, so a late sweep gives the same figures; the call's `updated_at` is the
  sweep's time, so the work-order system's `updated_since` feed sees the change. Calls
  whose disposition is `not_served` (no agent reached) are never rated.
- **Overdue first contact** (where `CONTACT_WORKING_DAYS` is set): `open` past
  `contact_due_at` → `contact_overdue`.
- **Overdue callbacks**: `open`, or `called_back` with no verdict, past `due_at` (48 h
  after the forwarding) → `overdue`.
- **Overdue rectifications**: `called_back` past `rectify_due_at` → `rectify_overdue`.
- **Due within 4 hours** (`workers.due_soon`): the case's owner is told once per step.

Each overdue step is escalated once: an `Escalation` row (unique per step and callback),
a notification to the department's head and to every supervisor, one event row and a
push to the work-order system.

Work goes in batches of `BATCH` rows, one short transaction and a handful of set-based
statements each (row-by-row ORM work costs 4-8 ms a row: a backlog of 50,000 would take
minutes), so 100,000 calls never load at once and webhooks wait at most one batch for
SQLite's write lock. A default rating writes exactly what `storage.records.calls.record_rating`
writes for a neutral rating (the rating, the disposition, the `rated` call event, the
push job `rated:<call id>`; tests/test_sweep_duties.py checks they agree), and the one
rating per call holds the same way: the unique `ratings.call_id`, inserted with ON
CONFLICT DO NOTHING. Rows are claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL and
flagged with `UPDATE … RETURNING`; the flags and the unique keys make a second (or a
concurrent) sweep find nothing left to do.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, and_, exists, insert, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from storage.access.users import department_heads, supervisors
from storage.db import transaction
from storage.models import (
    CALLBACK_CALLED_BACK,
    CALLBACK_OPEN,
    DISPOSITION_NOT_SERVED,
    DISPOSITION_RATED,
    DISPOSITION_RATED_BY_LINK,
    LEVEL_CATEGORY,
    SERVICE_KINDS,
    Call,
    Callback,
    CallbackEvent,
    CallEvent,
    Rating,
)
from storage.outbox import PUSH_CALL_UPDATE, add_jobs, job_row
from storage.reports.serialize import iso
from storage.types import utcnow
from storage.workflow import deadlines
from storage.workflow.callback_steps import SYSTEM
from storage.workflow.notifications import EscalationRequest, escalate, insert_many_once
from workers import due_soon

log = logging.getLogger(__name__)

BATCH = 500
DEFAULT_LEVEL = "basically_satisfied"
STEP_CONTACT = "contact"  # first contact (1 working day), where configured
STEP_CALLBACK = "callback"  # the 48 hours: caller reached and verdict recorded
STEP_RECTIFY = "rectify"  # the 5- or 15-day rectification
SUBJECTS = {STEP_CONTACT: "首次联系超时", STEP_CALLBACK: "回访核实超时", STEP_RECTIFY: "整改超时"}
# Each step: its overdue flag, its deadline, and the condition of a case waiting for it.
STEPS = {
    STEP_CONTACT: (
        Callback.contact_overdue,
        Callback.contact_due_at,
        Callback.state == CALLBACK_OPEN,
    ),
    STEP_CALLBACK: (
        Callback.overdue,
        Callback.due_at,
        and_(
            Callback.state.in_((CALLBACK_OPEN, CALLBACK_CALLED_BACK)),
            Callback.resolution.is_(None),
        ),
    ),
    STEP_RECTIFY: (
        Callback.rectify_overdue,
        Callback.rectify_due_at,
        Callback.state == CALLBACK_CALLED_BACK,
    ),
}


@dataclass(frozen=True)
class DutyReport:
    """What the duties did in one sweep."""

    default_ratings: int = 0
    callbacks_overdue: int = 0
    rectifications_overdue: int = 0
    notifications: int = 0


def run_duties(factory: sessionmaker[Session], now: datetime, batch: int = BATCH) -> DutyReport:
    """Run every duty once, as of `now`."""
    ratings = give_default_ratings(factory, now, batch)
    contacts, sent_c = mark_overdue(factory, now, STEP_CONTACT, batch)
    callbacks, sent_a = mark_overdue(factory, now, STEP_CALLBACK, batch)
    rectifications, sent_b = mark_overdue(factory, now, STEP_RECTIFY, batch)
    sent_d = due_soon.notify_due_soon(factory, now, batch)
    notified = sent_a + sent_b + sent_c + sent_d
    return DutyReport(ratings, callbacks + contacts, rectifications, notified)


def give_default_ratings(factory: sessionmaker[Session], now: datetime, batch: int = BATCH) -> int:
    """Rate `basically_satisfied` (source `default`) every call unrated for 7 natural days."""
    cutoff = deadlines.default_rating_cutoff(now)
    given = last_id = 0
    done = (DISPOSITION_RATED, DISPOSITION_NOT_SERVED, DISPOSITION_RATED_BY_LINK)
    # Of a linked pair (proxy and applicant) only the named call gets the default; the
    # call naming it is closed by the link, unless the named one was never served.
    named = aliased(Call)
    defers = exists().where(
        named.id == Call.linked_call_id, named.disposition != DISPOSITION_NOT_SERVED
    )
    while True:
        with transaction(factory) as session:
            statement = (
                select(Call.id, Call.call_sid, Call.created_at)
                .where(
                    Call.disposition.not_in(done),
                    Call.kind.in_(SERVICE_KINDS),
                    Call.created_at < cutoff,
                    Call.id > last_id,
                    ~exists().where(Rating.call_id == Call.id),
                    ~defers,
                )
                .order_by(Call.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
            calls = session.execute(statement).all()
            if not calls:
                break
            given += _rate_by_default(session, calls, now)
            last_id = calls[-1].id
    if given:
        log.info("default ratings given: %d", given)
    return given


def _rate_by_default(session: Session, calls: Sequence[Row], now: datetime) -> int:
    """What `record_rating(call, DEFAULT_LEVEL, "default", now=deadline)` does, for a batch."""
    tz = deadlines.hotline_tz()
    ratings = [
        {
            "call_id": call.id,
            "level": DEFAULT_LEVEL,
            "category": LEVEL_CATEGORY[DEFAULT_LEVEL],
            "source": "default",
            "rated_at": deadlines.default_rating_due(call.created_at, tz),
            "excluded": False,
        }
        for call in calls
    ]
    rated = set(insert_many_once(session, Rating, ratings, "call_id", Rating.call_id))
    if not rated:
        return 0
    session.execute(
        update(Call.__table__)
        .where(Call.id.in_(rated))
        .values(disposition=DISPOSITION_RATED, updated_at=now)
    )
    detail = f"{DEFAULT_LEVEL} (default)"
    events = [{"call_id": i, "at": utcnow(), "kind": "rated", "detail": detail} for i in rated]
    session.execute(insert(CallEvent.__table__), events)
    jobs = [_push_job(call.call_sid, f"rated:{call.id}") for call in calls if call.id in rated]
    add_jobs(session, jobs)
    _close_linked(session, rated, now)
    return len(rated)


def _close_linked(session: Session, rated: set[int], now: datetime) -> None:
    """Close the calls naming a call just rated by default, as `storage.records.links` does."""
    closed = session.execute(
        update(Call.__table__)
        .where(
            Call.linked_call_id.in_(rated),
            Call.disposition.not_in((DISPOSITION_RATED, DISPOSITION_RATED_BY_LINK)),
            ~exists().where(Rating.call_id == Call.id),
        )
        .values(disposition=DISPOSITION_RATED_BY_LINK, updated_at=now)
        .returning(Call.__table__.c.id, Call.__table__.c.call_sid)
    ).all()
    if not closed:
        return
    events = [{"call_id": i, "at": now, "kind": "rated_by_link", "detail": None} for i, _ in closed]
    session.execute(insert(CallEvent.__table__), events)
    jobs = [_push_job(sid, f"rated_by_link:{i}") for i, sid in closed]
    add_jobs(session, jobs)


def mark_overdue(
    factory: sessionmaker[Session], now: datetime, step: str, batch: int = BATCH
) -> tuple[int, int]:
    """Flag the callbacks whose `step` is overdue and escalate each once.

    Returns (callbacks flagged, notifications created).
    """
    flag, due, waiting = STEPS[step]
    marked = notified = last_id = 0
    with transaction(factory) as session:
        supervisor_ids = [user.id for user in supervisors(session)]
    while True:
        with transaction(factory) as session:
            statement = (
                due_soon.case_rows(due)
                .where(waiting, due < now, flag.is_(False), Callback.id > last_id)
                .order_by(Callback.id)
                .limit(batch)
                .with_for_update(skip_locked=True, of=Callback)
            )
            rows = session.execute(statement).all()
            if not rows:
                break
            last_id = rows[-1].id
            flagged = session.execute(
                update(Callback.__table__)
                .where(Callback.id.in_([r.id for r in rows]), waiting)
                .where(flag.is_(False))
                .values({flag.key: True, "updated_at": now})
                .returning(Callback.__table__.c.id)
            )
            mine = set(flagged.scalars())
            rows = [row for row in rows if row.id in mine]
            heads = department_heads(session, sorted({r.dept for r in rows if r.dept}))
            notified += _escalate(session, rows, step, now, heads, supervisor_ids)
            notified += due_soon.tell_owners(session, rows, step, now)
            marked += len(rows)
    if marked:
        log.warning("%s overdue: %d callback(s) escalated", step, marked)
    return marked, notified


def _escalate(
    session: Session,
    rows: Sequence[Row],
    step: str,
    now: datetime,
    heads: dict[str, int],
    supervisor_ids: list[int],
) -> int:
    """Escalate a batch of newly flagged callbacks: notifications, events, pushes."""
    requests = []
    for row in rows:
        payload = {
            "callback_id": row.id,
            "call_sid": row.call_sid,
            "dept": row.dept,
            "step": step,
            "due_at": iso(row.due),
        }
        head = [heads[row.dept]] if row.dept in heads else []
        subject = f"{SUBJECTS[step]}：{row.call_sid}（{row.dept or '热线'}）"
        recipients = [*supervisor_ids, *head]
        requests.append(EscalationRequest(row.id, recipients, subject, payload, row.round, head))
    sent = escalate(session, step, requests, now)
    keys = {r.callback_id: f"{r.key}" for r in requests if r.callback_id in sent}
    heads_sms = {r.callback_id: r.sms_to[0] for r in requests if r.sms_to}
    due_soon.deliver_escalations(session, step, keys, heads_sms, now)
    kind = f"{step}_overdue"
    events = [
        {
            "callback_id": row.id,
            "at": now,
            "actor_name": SYSTEM,
            "kind": kind,
            "detail": {"step": step, "due_at": iso(row.due), "escalated_to": sent.get(row.id, 0)},
        }
        for row in rows
    ]
    if events:
        session.execute(insert(CallbackEvent.__table__), events)
        calls = [row.call_id for row in rows]
        session.execute(update(Call.__table__).where(Call.id.in_(calls)).values(updated_at=now))
        jobs = [_push_job(row.call_sid, f"callback:{row.id}:{kind}") for row in rows]
        add_jobs(session, jobs)
    return sum(sent.values())


def _push_job(call_sid: str, dedupe_key: str) -> dict[str, object]:
    """The outbox row that tells the work-order system about the call."""
    return job_row(PUSH_CALL_UPDATE, {"call_sid": call_sid}, dedupe_key)
