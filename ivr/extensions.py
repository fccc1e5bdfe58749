"""The app's shared handles (settings, database sessions, Redis), set up by `create_app`."""

from __future__ import annotations

from flask import Flask, current_app
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

    def send_jobs(jobs) -> None:  # after each commit: the transaction's jobs go to Redis
        send_after_commit(sessions, redis, jobs)

    sessions = make_session_factory(make_engine(settings.database_url), send_jobs)
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
