"""Queries the tests use to check what was stored, and the waits and locks they share."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from redis import Redis
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


def until(
    predicate: Callable[[], object],
    seconds: float = 20.0,
    every: float = 0.2,
    busy: tuple[type[Exception], ...] = (Exception,),
) -> bool:
    """Whether `predicate()` comes true within `seconds`, asked every `every` seconds;
    a `busy` error (e.g. the database still applying a spool) counts as not yet."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except busy:
            pass
        time.sleep(every)
    return False


def sqlite_write_lock(database_url: str) -> sqlite3.Connection:
    """An operator's write transaction holding the SQLite database (ROLLBACK to end it,
    from any thread)."""
    path = database_url.removeprefix("sqlite:///")
    foreign = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    foreign.execute("BEGIN IMMEDIATE")
    return foreign


def redis_answers(url: str, tries: int = 100) -> bool:
    """Whether the Redis at `url` answers a PING within `tries` × 50 ms (it is starting)."""
    client = Redis.from_url(url)
    for _ in range(tries):
        try:
            client.ping()
            return True
        except Exception:
            time.sleep(0.05)
    return False
