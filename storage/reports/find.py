"""Finding a call from what a person has at hand: the last 4 digits of the caller's
number, a ticket, a call id (CA…) or a callback / call number (#123).

Staff find only their department's callbacks; supervisors find every call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from storage.models import Call, Callback, CallTicket

PHONE_TAIL = re.compile(r"\d{4}")
NUMBER = re.compile(r"#?(\d{1,12})")
CALL_SID = re.compile(r"CA[0-9A-Za-z]{2,64}")
MAX_QUERY = 64


@dataclass(frozen=True)
class Query:
    """What the search box held, and how it is read."""

    text: str
    kind: str  # phone_tail, call_sid, number, ticket, empty

    @property
    def is_phone_tail(self) -> bool:
        return self.kind == "phone_tail"


def read_query(raw: str) -> Query:
    """How the typed text is read: 4 digits are a number's tail, CA… a call id,
    #123 or digits a callback or call number, anything else a ticket."""
    text = "".join((raw or "").split())[:MAX_QUERY]
    if not text:
        return Query("", "empty")
    if PHONE_TAIL.fullmatch(text):
        return Query(text, "phone_tail")
    if CALL_SID.fullmatch(text):
        return Query(text, "call_sid")
    if NUMBER.fullmatch(text):
        return Query(text.lstrip("#"), "number")
    return Query(text, "ticket")


def matching(query: Query, dept: str | None = None) -> Select:
    """Calls matching `query` (of `dept`'s callbacks only, when given), newest first."""
    statement = select(Call)
    if query.kind == "phone_tail":
        statement = statement.where(Call.caller_tail == query.text)  # indexed
    elif query.kind == "call_sid":
        statement = statement.where(Call.call_sid == query.text)
    elif query.kind == "number":
        number = int(query.text)
        by_callback = select(Callback.call_id).where(Callback.id == number)
        statement = statement.where(or_(Call.id == number, Call.id.in_(by_callback)))
    elif query.kind == "ticket":
        tickets = select(CallTicket.call_id).where(CallTicket.ticket == query.text)
        statement = statement.where(Call.id.in_(tickets))
    else:
        statement = statement.where(Call.id.is_(None))
    if dept is not None:  # checked per call found (by the unique callbacks.call_id)
        theirs = exists().where(Callback.call_id == Call.id, Callback.dept == dept)
        statement = statement.where(theirs)
    return statement


def find(
    session: Session, query: Query, dept: str | None, offset: int, limit: int
) -> tuple[int, list[Call]]:
    """(how many match, one page of them with rating, callback and tickets)."""
    statement = matching(query, dept)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    page = statement.options(
        selectinload(Call.rating), selectinload(Call.callback), selectinload(Call.tickets)
    )
    page = page.order_by(Call.created_at.desc(), Call.id.desc()).offset(offset).limit(limit)
    return total, list(session.scalars(page))
