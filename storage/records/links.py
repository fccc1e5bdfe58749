"""Proxy and applicant share one rating (帮办代办, domain.md rule 3).

A call may name the other party's call (`Call.linked_call_id`). Once either call is
rated, the other is closed with the disposition `rated_by_link`: it is never asked
again, gets no reminder and no default rating, and the rating is counted once, on the
call that was rated. Links are one hop: each call names at most one other.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.models import (
    DISPOSITION_RATED,
    DISPOSITION_RATED_BY_LINK,
    Call,
    Rating,
)
from storage.outbox import PUSH_CALL_UPDATE, add_job
from storage.records.events import log_event


def partners(session: Session, call: Call) -> list[Call]:
    """The calls linked to `call`, either way, locked for the rating about to be stored.

    Most calls have none: a plain SELECT of ids (which locks the same rows) asks first,
    and only calls that have partners load them."""
    calls = Call.__table__.c
    conditions = [calls.linked_call_id == call.id]
    if call.linked_call_id is not None:
        conditions.append(calls.id == call.linked_call_id)
    linked = or_(*conditions) & (calls.id != call.id)
    if session.execute(select(calls.id).where(linked).with_for_update()).first() is None:
        return []
    statement = select(Call).where(linked).order_by(Call.id)
    return list(session.scalars(statement.with_for_update()))


def rated_partner(session: Session, call: Call, linked: list[Call] | None = None) -> Call | None:
    """A linked call (of `linked`, default: all) that carries the pair's rating, if any."""
    for other in partners(session, call) if linked is None else linked:
        has_rating = session.scalar(select(Rating.id).where(Rating.call_id == other.id))
        if has_rating is not None:
            return other
    return None


def link_call(session: Session, call: Call, other_sid: str, now: datetime) -> Call | None:
    """Name `other_sid` as the other party of `call`; close `call` if the pair is rated.

    Returns the other call, or None when it is unknown (the link is then not made) or
    when `call` already names another.
    """
    other = session.scalars(select(Call).where(Call.call_sid == other_sid)).one_or_none()
    if other is None or other.id == call.id:
        return None
    if call.linked_call_id not in (None, other.id):
        return None
    call.linked_call_id = other.id
    session.flush()
    rated = rated_partner(session, call)
    if rated is not None and call.rating is None:
        close_by_link(session, call, rated, now)
    return other


def close_by_link(session: Session, call: Call, rated: Call, now: datetime) -> None:
    """Close `call` as rated through its linked call `rated`."""
    call.disposition = DISPOSITION_RATED_BY_LINK
    call.ended_at = call.ended_at or now
    call.updated_at = now
    log_event(session, call, "rated_by_link", rated.call_sid)
    add_job(session, PUSH_CALL_UPDATE, {"call_sid": call.call_sid}, f"rated_by_link:{call.id}")


def close_partners(
    session: Session, call: Call, now: datetime, linked: list[Call] | None = None
) -> int:
    """After `call` was rated: close every linked call not rated yet. Returns how many."""
    closed = 0
    for other in partners(session, call) if linked is None else linked:
        if other.disposition in (DISPOSITION_RATED, DISPOSITION_RATED_BY_LINK):
            continue
        if session.scalar(select(Rating.id).where(Rating.call_id == other.id)) is not None:
            continue
        close_by_link(session, other, call, now)
        closed += 1
    return closed
