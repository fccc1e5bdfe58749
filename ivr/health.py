"""`/healthz`: does every part the service needs answer?"""

from __future__ import annotations

import os
import shutil
import tempfile
import time

from flask import Blueprint, jsonify
from redis.exceptions import RedisError
from rq import Worker
from sqlalchemy import text

from ivr.extensions import db_sessions, redis_client
from storage.records.files import default_root
from storage.settings import settings
from workers.cron import HEARTBEAT_KEY, HEARTBEAT_STALE_S
from workers.media import availability

bp = Blueprint("health", __name__)
DEFAULT_MIN_FREE_MB = 200


def recordings_disk() -> str:
    """ "ok" while the recordings folder's disk has `RECORDINGS_MIN_FREE_MB` free (default
    200) and takes a write; else what is wrong (a full disk loses callers' answers)."""
    root = default_root()
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        free_mb = shutil.disk_usage(root).free // (1024 * 1024)
        minimum = settings().recordings_min_free_mb
        if free_mb < minimum:
            return f"failing: disk nearly full ({free_mb} MB free, {minimum} MB needed)"
        with tempfile.TemporaryFile(dir=root) as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())
    except (OSError, ValueError) as error:
        return f"failing: {type(error).__name__}: {error}"[:200]
    return "ok"


@bp.get("/healthz")
def healthz():
    """200 when database, Redis, a worker and the scheduler answer, recordings can be
    written (and a media process has room, when `MEDIA_STREAM_URL` is set); 503 naming
    what fails."""
    checks: dict[str, str] = {}
    try:
        with db_sessions()() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # any driver error means "down"
        checks["database"] = f"failing: {type(error).__name__}"
    try:
        redis = redis_client()
        redis.ping()
        checks["redis"] = "ok"
        checks["worker"] = "ok" if Worker.count(connection=redis) > 0 else "failing: no worker"
        beat = redis.get(HEARTBEAT_KEY)
        fresh = beat is not None and time.time() - float(beat) < HEARTBEAT_STALE_S
        checks["scheduler"] = "ok" if fresh else "failing: no recent cron heartbeat"
        if availability.stream_url() is not None:  # live speech configured: media too
            checks["media"] = availability.health(redis)
    except RedisError as error:
        checks["redis"] = f"failing: {type(error).__name__}"
    checks["recordings"] = recordings_disk()
    expected = 6 if availability.stream_url() is not None else 5
    healthy = all(value == "ok" for value in checks.values()) and len(checks) == expected
    return jsonify(status="ok" if healthy else "failing", checks=checks), 200 if healthy else 503
