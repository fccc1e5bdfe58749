"""`/healthz`: does every part the service needs answer?"""

from __future__ import annotations

import time

from flask import Blueprint, jsonify
from redis.exceptions import RedisError
from rq import Worker
from sqlalchemy import text

from ivr.extensions import db_sessions, redis_client
from workers.cron import HEARTBEAT_KEY, HEARTBEAT_STALE_S
from workers.media import availability

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when database, Redis, a worker and the scheduler answer (and a media process with
    room, when `MEDIA_STREAM_URL` is set); 503 naming what fails."""
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
    expected = 5 if availability.stream_url() is not None else 4
    healthy = all(value == "ok" for value in checks.values()) and len(checks) == expected
    return jsonify(status="ok" if healthy else "failing", checks=checks), 200 if healthy else 503
