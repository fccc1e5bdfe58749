"""Per-process database and Redis handles for jobs, the sweep and the web app."""

from __future__ import annotations

import os
from functools import lru_cache

from redis import Redis
from sqlalchemy.orm import Session, sessionmaker

from storage.db import database_url, make_engine, make_session_factory
from storage.settings import settings

# Short timeouts: a dead Redis must not hold a webhook near Twilio's 15 s limit.
REDIS_SOCKET_TIMEOUT_S = 1.0


def redis_url() -> str:
    """`REDIS_URL`, or a local Redis."""
    return settings().redis_url


def connect_redis(url: str | None = None) -> Redis:
    """A Redis client that fails fast when Redis is down."""
    return Redis.from_url(
        url or redis_url(),
        socket_connect_timeout=REDIS_SOCKET_TIMEOUT_S,
        socket_timeout=REDIS_SOCKET_TIMEOUT_S * 5,
    )


@lru_cache
def _session_factory_for(url: str, pid: int) -> sessionmaker[Session]:
    # Keyed by pid: RQ forks a process per job, and a forked child must not
    # reuse its parent's pooled connections.
    return make_session_factory(make_engine(url))


def session_factory() -> sessionmaker[Session]:
    """The session factory of this process, for `DATABASE_URL`."""
    return _session_factory_for(database_url(), os.getpid())
