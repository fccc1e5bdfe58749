"""Webhook timings, kept off the request path.

`after_request` only adds the time to an in-process tally (no I/O). A thread of each
web process writes the tally to Redis (`workers.metrics_store`) once a second in one
pipeline; when Redis fails, or the breaker (`ivr.redis_guard`) is open, the tally is
kept and written with the next batch, so a dead Redis neither slows a caller nor loses
the counts of a process that lives on.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter

from flask import Flask
from redis.exceptions import RedisError

from ivr import redis_guard
from workers import metrics_store

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 1.0


class Tally:
    """Histogram increments of this process not yet written to Redis."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[tuple[str, str, str]] = Counter()  # (name, labels, part)
        self.sums: Counter[tuple[str, str]] = Counter()

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        """Count one observation (in memory only)."""
        field = metrics_store.labels_field(labels)
        bucket = metrics_store.bucket_of(name, seconds)
        with self.lock:
            self.counts[(name, field, bucket)] += 1
            self.counts[(name, field, "count")] += 1
            self.sums[(name, field)] += seconds

    def take(self) -> tuple[Counter, Counter]:
        with self.lock:
            counts, sums = self.counts, self.sums
            self.counts, self.sums = Counter(), Counter()
        return counts, sums

    def put_back(self, counts: Counter, sums: Counter) -> None:
        with self.lock:
            self.counts.update(counts)
            self.sums.update(sums)


TALLY = Tally()
_flusher = {"pid": None}
_flusher_lock = threading.Lock()


def flush(app: Flask) -> bool:
    """Write the tally to Redis in one pipeline; False (tally kept) if it could not."""
    counts, sums = TALLY.take()
    if not counts:
        return True
    with app.app_context():
        guard = redis_guard.breaker()
        if not guard.allows():
            TALLY.put_back(counts, sums)
            return False
        try:
            metrics_store.add_many(redis_guard.request_redis(), counts, sums)
            return True
        except RedisError as error:
            guard.failed(f"writing timings: {error}")
            TALLY.put_back(counts, sums)
            return False


def start_flusher(app: Flask) -> None:
    """Run this process's timing writer (one per process)."""
    with _flusher_lock:
        _flusher["app"] = app
        if _flusher["pid"] == os.getpid():
            return
        _flusher["pid"] = os.getpid()
    threading.Thread(target=_flush_forever, name="timings", daemon=True).start()


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_EVERY_S)
        try:
            flush(_flusher["app"])
        except Exception:  # the thread must outlive any one failure
            log.exception("timings: writing failed")
