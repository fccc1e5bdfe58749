"""The webhooks' plain-statement way (storage/records/call_rows.py) stores exactly what
the ORM way stores: the same call, placed both ways, leaves the same rows behind."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from storage.models import Call, CallEvent, OutboxJob
from storage.records import call_rows
from tests.helpers import callbacks_of, stored_call

CALL_COLUMNS = (
    "kind",
    "disposition",
    "caller",
    "caller_tail",
    "called",
    "lang",
    "agent",
    "dept",
    "call_status",
    "dial_call_status",
    "linked_call_id",
    "rates_call_id",
)
CALLBACK_COLUMNS = ("state", "dept", "overdue", "contact_overdue", "rectify_overdue", "round")
CALLBACK_TIMES = ("due_at", "clock_start_at", "contact_due_at", "rectify_due_at")


def _since(moment: datetime | None, origin: datetime) -> object:
    return None if moment is None else moment - origin


def stored_rows(sessions, call_sid: str) -> dict[str, object]:
    """Everything a call left behind, without ids or the moment it happened."""
    call = stored_call(sessions, call_sid)
    with sessions() as session:
        events = session.execute(
            select(CallEvent.kind, CallEvent.detail)
            .join(Call, Call.id == CallEvent.call_id)
            .where(Call.call_sid == call_sid)
            .order_by(CallEvent.id)
        ).all()
        jobs = session.execute(
            select(OutboxJob.func, OutboxJob.queue, OutboxJob.attempts, OutboxJob.dedupe_key)
            .where(OutboxJob.dedupe_key.endswith(f":{call.id}"))
            .order_by(OutboxJob.id)
        ).all()
    rows: dict[str, object] = {name: getattr(call, name) for name in CALL_COLUMNS}
    rows["ended"] = call.ended_at is not None
    rows["tickets"] = [(t.ticket, t.position) for t in call.tickets]
    rows["events"] = [tuple(event) for event in events]
    rows["jobs"] = [(func, queue, tries, key.split(":")[0]) for func, queue, tries, key in jobs]
    rating = call.rating
    rows["rating"] = rating and (rating.level, rating.category, rating.source, rating.recording_id)
    if rating is not None:
        rows["updated_at_is_rated_at"] = call.updated_at == rating.rated_at
    rows["callbacks"] = [
        tuple(getattr(cb, name) for name in CALLBACK_COLUMNS)
        + tuple(_since(getattr(cb, name), rating.rated_at) for name in CALLBACK_TIMES)
        + (cb.created_at == rating.rated_at,)
        for cb in callbacks_of(sessions, call_sid)
    ]
    return rows


@pytest.mark.parametrize(
    "answers", ["4", "5", "1", "3", "9,2", "silence,4", "silence,silence,silence", "*,4"]
)
def test_the_plain_way_stores_what_the_orm_way_stores(place_call, sessions, monkeypatch, answers):
    plain, outcome = place_call(answers, tickets=("T1", "T2"))
    monkeypatch.setattr(call_rows, "insert_call", lambda *args, **kwargs: None)
    monkeypatch.setattr(call_rows, "lock_call", lambda *args, **kwargs: None)
    orm, orm_outcome = place_call(answers, tickets=("T1", "T2"))
    assert outcome.heard == orm_outcome.heard
    assert stored_rows(sessions, plain.call_sid) == stored_rows(sessions, orm.call_sid)
    assert stored_rows(sessions, plain.call_sid)["events"][0] == ("survey_started", None)


def test_a_new_callers_number_keeps_its_last_4_digits_the_plain_way(place_call, sessions):
    script, _ = place_call("2", caller="+8613912345678")
    call = stored_call(sessions, script.call_sid)
    assert (call.caller, call.caller_tail) == ("+8613912345678", "5678")
