"""Surveys at ticket closure (办结回访, 一事一评): one rating per ticket.

The API places an outbound call; `claim` decides whether a ticket may be surveyed
now, before Twilio is asked, so two requests for one ticket place one call.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.inserts import insert_once
from storage.models import (
    DISPOSITION_IN_PROGRESS,
    DISPOSITION_NOT_SERVED,
    KIND_CLOSURE,
    Call,
    ClosureSurvey,
)
from storage.records.calls import CallDetails, get_or_create_call, log_event

# A claim whose call was never placed (the process died meanwhile) is given up after this.
STALE_CLAIM = timedelta(minutes=5)


class ClosureRefused(Exception):
    """The ticket cannot be surveyed now; the message says why (HTTP 409)."""


def claim(session: Session, ticket: str, dept: str, now: datetime) -> ClosureSurvey:
    """The ticket's survey row, claimed for a new call; `ClosureRefused` if it may not be.

    A ticket is surveyed again only when its last call was never answered.
    """
    insert_once(
        session,
        ClosureSurvey,
        {"ticket": ticket, "dept": dept, "created_at": now, "updated_at": now},
        "ticket",
    )
    survey = session.scalars(
        select(ClosureSurvey).where(ClosureSurvey.ticket == ticket).with_for_update()
    ).one()
    if survey.call_id is None:
        if survey.attempts and now - survey.updated_at < STALE_CLAIM:
            raise ClosureRefused("a closure survey of this ticket is being placed")
    else:
        call = session.get_one(Call, survey.call_id)
        if call.rating is not None:
            raise ClosureRefused(f"the ticket was rated already (call {call.call_sid})")
        if call.disposition == DISPOSITION_IN_PROGRESS:
            raise ClosureRefused(f"a closure survey is under way (call {call.call_sid})")
        if call.disposition != DISPOSITION_NOT_SERVED:
            raise ClosureRefused(
                f"the ticket was surveyed already, left {call.disposition} (call {call.call_sid})"
            )
    survey.call_id, survey.dept = None, dept
    survey.attempts += 1
    survey.updated_at = now
    return survey


def release(session: Session, ticket: str) -> None:
    """Give a claim back after Twilio refused the call (the ticket may be tried again)."""
    survey = session.scalars(select(ClosureSurvey).where(ClosureSurvey.ticket == ticket)).one()
    survey.attempts = max(0, survey.attempts - 1)
    survey.updated_at = survey.updated_at - STALE_CLAIM  # no longer being placed


def placed(
    session: Session, ticket: str, call_sid: str, details: CallDetails, now: datetime
) -> Call:
    """Record the call Twilio placed for the ticket's survey."""
    call = get_or_create_call(session, call_sid, details)
    call.kind = KIND_CLOSURE
    session.flush()
    survey = session.scalars(select(ClosureSurvey).where(ClosureSurvey.ticket == ticket)).one()
    survey.call_id, survey.updated_at = call.id, now
    log_event(session, call, "closure_survey_placed", ticket)
    return call
