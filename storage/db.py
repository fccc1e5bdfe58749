"""Engines and sessions, with SQLite tuned for concurrent webhooks."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from contextvars import ContextVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from storage.outbox import SENDER, SENDS_AT_ONCE, WRITTEN_SENT, JobSender, recorded_jobs
from storage.settings import PROJECT_ROOT, instance_dir, settings

__all__ = ["PROJECT_ROOT", "database_url", "instance_dir", "make_engine", "transaction"]

SQLITE_BUSY_TIMEOUT_MS = 5000
BUSY_STEP_MS = 100
BUSY_TIMEOUT = "busy_timeout_ms"  # connection info: the busy timeout last set on it
# PostgreSQL: wait at most this long for a lock, or to connect, then fail (the webhook
# plays `system_busy`) rather than leave a caller in dead air past Twilio's 15 s.
POSTGRES_LOCK_TIMEOUT_MS = 5000
POSTGRES_CONNECT_TIMEOUT_S = 3
# The deadline (time.monotonic) of the current `transaction(..., wait_s=...)`: how long
# it may wait for the SQLite writer turn and lock, or a PostgreSQL lock.
_DEADLINE: ContextVar[float | None] = ContextVar("db_deadline", default=None)


def _remaining_ms(default_ms: int) -> int:
    deadline = _DEADLINE.get()
    if deadline is None:
        return default_ms
    return max(1, min(default_ms, int((deadline - time.monotonic()) * 1000)))


def database_url() -> str:
    """`DATABASE_URL`, or an SQLite file under `instance/`."""
    instance_dir()  # the SQLite file's folder exists
    return settings().database_url


def make_engine(url: str) -> Engine:
    """Create an engine; on SQLite: WAL, a busy timeout and write-locking transactions."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgresql"):
        options = f"-c lock_timeout={POSTGRES_LOCK_TIMEOUT_MS}"
        connect_args = {"options": options, "connect_timeout": POSTGRES_CONNECT_TIMEOUT_S}
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        event.listen(engine, "begin", _postgres_deadline)
        return engine
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_immediate)
    database = engine.url.database
    file_lock = None if not database or database == ":memory:" else f"{database}-writer.lock"
    _WRITER_TURNS[engine] = WriterTurn(file_lock)
    return engine


class DatabaseBusy(TimeoutError):
    """The SQLite database stayed locked for longer than the busy timeout."""


# What a busy, locked or unreachable database raises (not a bug in the statements).
DATABASE_UNAVAILABLE = (DatabaseBusy, OperationalError, InterfaceError, PoolTimeout)


class WriterTurn:
    """Makes writers of one SQLite database wait their turn, for a bounded time.

    SQLite has one writer at a time, and its busy handler retries after ever longer
    sleeps instead of queueing, so under load an unlucky request can wait seconds
    while others overtake it. Threads of a process queue on a lock; the thread at the
    head of each process's queue then takes an `flock` of a file beside the database.
    """

    POLL_S = 0.0005

    def __init__(self, lock_path: str | None) -> None:
        self.thread_lock = threading.Lock()
        self.lock_path = lock_path

    @contextmanager
    def __call__(self) -> Iterator[None]:
        wait_s = _remaining_ms(SQLITE_BUSY_TIMEOUT_MS) / 1000
        deadline = time.monotonic() + wait_s
        if not self.thread_lock.acquire(timeout=wait_s):
            raise DatabaseBusy("database busy: no turn to write")
        try:
            if self.lock_path is None:
                yield
                return
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                self._lock_file(fd, deadline)
                yield
            finally:
                os.close(fd)  # releases the flock
        finally:
            self.thread_lock.release()

    def _lock_file(self, fd: int, deadline: float) -> None:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise DatabaseBusy("database busy: another process holds it") from None
                time.sleep(self.POLL_S)


_WRITER_TURNS: dict[Engine, WriterTurn] = {}


def _private_sqlite_files(dbapi_connection) -> None:
    """The database file and its WAL, shared-memory and lock files: owner only (0600)."""
    row = dbapi_connection.execute("PRAGMA database_list").fetchone()
    database = row[2] if row else ""
    if not database:
        return
    for path in (database, f"{database}-wal", f"{database}-shm", f"{database}-writer.lock"):
        with suppress(FileNotFoundError):
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)


def _configure_sqlite(dbapi_connection, record) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    record.info[BUSY_TIMEOUT] = SQLITE_BUSY_TIMEOUT_MS
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    _private_sqlite_files(dbapi_connection)


def _begin_immediate(connection) -> None:
    # Take the write lock up front: a deferred transaction that reads and then
    # writes fails at once with SQLITE_BUSY under WAL instead of waiting its turn.
    # It waits for the lock only as long as the transaction's deadline allows (rounded
    # down to a step, so that the PRAGMA is sent again only when the bound changes).
    wait_ms = _remaining_ms(SQLITE_BUSY_TIMEOUT_MS)
    if wait_ms > BUSY_STEP_MS:
        wait_ms -= wait_ms % BUSY_STEP_MS
    if connection.info.get(BUSY_TIMEOUT) != wait_ms:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={wait_ms}")
        connection.info[BUSY_TIMEOUT] = wait_ms
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _postgres_deadline(connection) -> None:
    # Within a transaction with a deadline, wait for a lock no longer than it allows.
    if _DEADLINE.get() is not None:
        wait_ms = _remaining_ms(POSTGRES_LOCK_TIMEOUT_MS)
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {wait_ms}")
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {wait_ms}")


def make_session_factory(
    engine: Engine,
    send_jobs: JobSender | None = None,
    sends_at_once: Callable[[], bool] | None = None,
) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit.

    With `send_jobs`, every `transaction` of these sessions hands the jobs it recorded
    in the outbox to `send_jobs` once it has committed (the web app sends them to Redis);
    without, they wait for the sweep. With `sends_at_once` too, a transaction for which
    it says yes writes its jobs as sent already, and `send_jobs` gets `written_sent=True`
    (it must clear the mark of the jobs it fails to send)."""
    info: dict[str, object] = {SENDER: send_jobs} if send_jobs else {}
    if send_jobs and sends_at_once:
        info[SENDS_AT_ONCE] = sends_at_once
    return sessionmaker(engine, expire_on_commit=False, info=info)


def _turn(factory: sessionmaker[Session]) -> AbstractContextManager:
    turn = _WRITER_TURNS.get(factory.kw.get("bind"))
    return turn() if turn is not None else nullcontext()


@contextmanager
def transaction(factory: sessionmaker[Session], wait_s: float | None = None) -> Iterator[Session]:
    """A unit of work: a session committed at the end (rolled back on error); then,
    with the write lock released, the jobs it recorded go to the factory's sender.

    With `wait_s`, waiting for the database's locks (SQLite's writer turn and lock,
    PostgreSQL's row and table locks) stops after `wait_s` seconds in all, raising one
    of `DATABASE_UNAVAILABLE`: webhooks use it to answer within their bound.
    """
    token = _DEADLINE.set(time.monotonic() + wait_s if wait_s is not None else None)
    try:
        with _turn(factory), factory() as session, session.begin():
            sends_at_once = session.info.get(SENDS_AT_ONCE)
            written_sent = session.info[WRITTEN_SENT] = bool(sends_at_once and sends_at_once())
            yield session
    finally:
        _DEADLINE.reset(token)
    jobs = recorded_jobs(session)
    send_jobs = session.info.get(SENDER)
    if jobs and send_jobs is not None:
        send_jobs(jobs, written_sent=True) if written_sent else send_jobs(jobs)
