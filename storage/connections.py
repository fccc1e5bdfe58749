"""The connection of a session's transaction, asked of the session once.

`Session.connection()` walks the session's transaction machinery on every call (about
a tenth of a millisecond here); the webhooks' plain statements run a dozen per keypad
call while holding SQLite's writer turn (`storage.records.call_rows`).
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.orm import Session

_CACHED = "connection_of"  # `Session.info` key: (transaction, its connection)


def connection_of(session: Session) -> Connection:
    """`session.connection()`, the same one for as long as the session's transaction lasts."""
    cached = session.info.get(_CACHED)
    if cached is not None and cached[0] is session.get_transaction():
        return cached[1]
    connection = session.connection()
    session.info[_CACHED] = (session.get_transaction(), connection)
    return connection
