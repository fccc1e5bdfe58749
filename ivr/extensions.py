"""The app's shared handles (settings, database sessions, Redis), set up by `create_app`."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context
from redis import Redis
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_session_factory
from storage.settings import Settings
from workers.context import connect_redis
from workers.queues import send_after_commit


def init_app(app: Flask, settings: Settings) -> None:
    """Attach settings, a session factory and a Redis client to `app`."""
    app.config["IVR_SETTINGS"] = settings
    redis = connect_redis(settings.redis_url)

    def send_jobs(jobs, written_sent: bool = False) -> None:  # after each commit: to Redis
        if has_request_context():  # a webhook or a page: bounded, behind the breaker
            from ivr.redis_guard import send_jobs_guarded

            send_jobs_guarded(jobs, written_sent)
        else:
            send_after_commit(sessions, redis, jobs, written_sent)

    def sends_at_once() -> bool:
        """In a request, with Redis's breaker closed, jobs are written as sent: marking
        them so after the send would cost every rating a second transaction."""
        if not has_request_context():
            return False
        from ivr.redis_guard import breaker

        return breaker().allows()

    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine, send_jobs, sends_at_once)
    app.extensions["ivr.sessions"] = sessions
    app.extensions["ivr.redis"] = redis


def settings() -> Settings:
    """The running app's settings (read when it was built)."""
    return current_app.config["IVR_SETTINGS"]


def db_sessions() -> sessionmaker[Session]:
    """The running app's session factory."""
    return current_app.extensions["ivr.sessions"]


def redis_client() -> Redis:
    """The running app's Redis client (fails fast when Redis is down)."""
    return current_app.extensions["ivr.redis"]
