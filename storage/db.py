"""Engines and sessions, with SQLite tuned for concurrent webhooks."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from storage.outbox import SENDER, JobSender, recorded_jobs
from storage.settings import PROJECT_ROOT, instance_dir, settings

__all__ = ["PROJECT_ROOT", "database_url", "instance_dir", "make_engine", "transaction"]

SQLITE_BUSY_TIMEOUT_MS = 5000
# PostgreSQL: wait at most this long for a lock, or to connect, then fail (the webhook
# plays `system_busy`) rather than leave a caller in dead air past Twilio's 15 s.
POSTGRES_LOCK_TIMEOUT_MS = 5000
POSTGRES_CONNECT_TIMEOUT_S = 3


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
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args)
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


class WriterTurn:
    """Makes writers of one SQLite database wait their turn, for a bounded time.

    SQLite has one writer at a time, and its busy handler retries after ever longer
    sleeps instead of queueing, so under load an unlucky request can wait seconds
    while others overtake it. Threads of a process queue on a lock; the thread at the
    head of each process's queue then takes an `flock` of a file beside the database.
    """

    POLL_S = 0.002

    def __init__(self, lock_path: str | None) -> None:
        self.thread_lock = threading.Lock()
        self.lock_path = lock_path

    @contextmanager
    def __call__(self) -> Iterator[None]:
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        if not self.thread_lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
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


def make_session_factory(
    engine: Engine, send_jobs: JobSender | None = None
) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit.

    With `send_jobs`, every `transaction` of these sessions hands the jobs it recorded
    in the outbox to `send_jobs` once it has committed (the web app sends them to Redis);
    without, they wait for the sweep."""
    info = {SENDER: send_jobs} if send_jobs else {}
    return sessionmaker(engine, expire_on_commit=False, info=info)


def _turn(factory: sessionmaker[Session]) -> AbstractContextManager:
    turn = _WRITER_TURNS.get(factory.kw.get("bind"))
    return turn() if turn is not None else nullcontext()


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: a session committed at the end (rolled back on error); then,
    with the write lock released, the jobs it recorded go to the factory's sender."""
    with _turn(factory), factory() as session, session.begin():
        yield session
    jobs = recorded_jobs(session)
    send_jobs = session.info.get(SENDER)
    if jobs and send_jobs is not None:
        send_jobs(jobs)
