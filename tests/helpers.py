"""Queries the tests use to check what was stored."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Call, Callback, Rating


def stored_call(sessions, call_sid: str) -> Call | None:
    """The call with its rating, callback and tickets loaded, or None."""
    with sessions() as session:
        call = session.scalars(select(Call).where(Call.call_sid == call_sid)).one_or_none()
        if call is not None:
            _ = call.rating, call.callback, list(call.tickets)
        return call


def count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def ratings_of(sessions, call_sid: str) -> list[Rating]:
    with sessions() as session:
        return list(session.scalars(select(Rating).join(Call).where(Call.call_sid == call_sid)))


def callbacks_of(sessions, call_sid: str) -> list[Callback]:
    with sessions() as session:
        return list(session.scalars(select(Callback).join(Call).where(Call.call_sid == call_sid)))
