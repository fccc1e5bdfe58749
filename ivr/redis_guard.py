"""Redis on the webhooks' path: a short bound, one try, and a circuit breaker.

A hung Redis (SIGSTOP: connections accepted, nothing answered) once held a key press
for 10 s: redis-py's default client retries, and each try waited out a long socket
timeout, once to send the jobs and once more to write the request's timing. Now:

- the webhooks' Redis client waits at most :data:`REQUEST_TIMEOUT_S` to connect and to
  read, and never retries;
- after any Redis failure, the breaker stays open for :data:`OPEN_S`: no request tries
  Redis until then (the outbox keeps the jobs; the sweep and the after-commit sends
  of later requests deliver them);
- request timings never touch Redis in the request (``ivr.timings``).

So a webhook waits on Redis at most once, for at most 200 ms.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from flask import current_app
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ivr.extensions import db_sessions, settings
from workers.queues import send_after_commit, unmark_sent

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 0.2
OPEN_S = 5.0


class Breaker:
    """Open (skip Redis) for `open_s` seconds after a failure; closed otherwise."""

    def __init__(self, open_s: float = OPEN_S) -> None:
        self.open_s = open_s
        self.open_until = 0.0
        self.lock = threading.Lock()

    def allows(self) -> bool:
        """May Redis be tried now?"""
        return time.monotonic() >= self.open_until

    def failed(self, what: str) -> None:
        """Redis failed: stop trying for a while."""
        with self.lock:
            already_open = not self.allows()
            self.open_until = time.monotonic() + self.open_s
        if not already_open:
            log.warning("redis failed (%s): not tried for %.0f s", what, self.open_s)


_BREAKERS: dict[str, Breaker] = {}
_BREAKERS_LOCK = threading.Lock()


def breaker() -> Breaker:
    """The breaker of the app's Redis (one per Redis URL: another server's failure, such as
    a test's dead address, does not stop this one)."""
    url = settings().redis_url
    with _BREAKERS_LOCK:
        return _BREAKERS.setdefault(url, Breaker())


def request_redis() -> Redis:
    """The app's Redis client for the request path (200 ms bound, no retries)."""
    client = current_app.extensions.get("ivr.redis_request")
    if client is None:
        client = Redis.from_url(
            settings().redis_url,
            socket_connect_timeout=REQUEST_TIMEOUT_S,
            socket_timeout=REQUEST_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
        )
        current_app.extensions["ivr.redis_request"] = client
    return client


def send_jobs_guarded(jobs: Sequence[tuple[int, str]], written_sent: bool = False) -> int:
    """Send just-committed outbox jobs, unless the breaker is open; how many were sent.
    Jobs not sent stay in the outbox for the sweep (and are never lost); those
    `written_sent` by their transaction are marked unsent again."""
    if not jobs:
        return 0
    guard = breaker()
    if not guard.allows():
        log.info("redis breaker open: %d job(s) left for the sweep", len(jobs))
        if written_sent:
            unmark_sent(db_sessions(), [job_id for job_id, _ in jobs])
        return 0
    sent = send_after_commit(db_sessions(), request_redis(), jobs, written_sent)
    if sent < len(jobs):
        guard.failed("sending jobs")
    return sent
