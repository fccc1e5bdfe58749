"""The `cron` process: runs the sweep on a schedule and leaves a heartbeat in Redis."""

from __future__ import annotations

import logging
import signal
import threading
import time

from redis.exceptions import RedisError

from storage.types import utcnow
from workers.context import connect_redis, session_factory
from workers.sweep import sweep

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "ivr:cron:heartbeat"
HEARTBEAT_STALE_S = 180
DEFAULT_INTERVAL_S = 60


def run_forever(interval_s: float = DEFAULT_INTERVAL_S) -> None:
    """Sweep every `interval_s` seconds until SIGTERM or SIGINT; failures are logged."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    redis = connect_redis()
    log.info("cron: sweeping every %ss", interval_s)
    while not stop.is_set():
        started = time.monotonic()
        try:
            sweep(session_factory(), redis, utcnow())
        except Exception:
            log.exception("cron: sweep failed; trying again next round")
        try:
            redis.set(HEARTBEAT_KEY, time.time(), ex=HEARTBEAT_STALE_S * 2)
        except RedisError as error:
            log.warning("cron: cannot write heartbeat: %s", error)
        stop.wait(max(0.0, interval_s - (time.monotonic() - started)))
    log.info("cron: stopped")
