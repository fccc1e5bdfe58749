"""Engines and sessions, with SQLite tuned for concurrent webhooks."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQLITE_BUSY_TIMEOUT_MS = 5000


def instance_dir() -> Path:
    """Folder for local state (SQLite file, development secrets); created on demand."""
    path = Path(os.environ.get("IVR_INSTANCE_DIR", PROJECT_ROOT / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """`DATABASE_URL`, or an SQLite file under `instance/`."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{instance_dir() / 'ivr.sqlite3'}"


def make_engine(url: str) -> Engine:
    """Create an engine; on SQLite: WAL, a busy timeout and write-locking transactions."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_immediate)
    _WRITE_LOCKS[engine] = threading.Lock()
    return engine


# SQLite has one writer at a time, and its busy handler retries after sleeps rather
# than queueing: threads of one process that race for the lock can lose for seconds.
# They take turns on this lock instead, so only processes compete inside SQLite.
_WRITE_LOCKS: dict[Engine, threading.Lock] = {}


def _configure_sqlite(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_immediate(connection) -> None:
    # Take the write lock up front: a deferred transaction that reads and then
    # writes fails at once with SQLITE_BUSY under WAL instead of waiting its turn.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def _turn(factory: sessionmaker[Session]) -> AbstractContextManager:
    lock = _WRITE_LOCKS.get(factory.kw.get("bind"))
    return lock if lock is not None else nullcontext()


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed at the end, or rolled back on error."""
    with _turn(factory), factory() as session, session.begin():
        yield session
