"""A locked SQLite database: the key is kept and thanked for in bounded time, nothing is
half-written, and the rating is stored once the database answers (issue 11, item 1)."""

from __future__ import annotations

import fcntl
import os
import time

import pytest
from sqlalchemy.exc import OperationalError

import storage.db
from ivr import create_app
from storage.models import Rating
from tests.conftest import BASE_URL, sign, twiml_verbs
from tests.helpers import count, sqlite_write_lock, until

PATH = "/voice/survey/input?lang=zh-CN&node=ask&reasks=0"
FORM = {"CallSid": "CA" + "e" * 32, "Digits": "4", "CallStatus": "in-progress"}
HEADERS = {"X-Twilio-Signature": sign(BASE_URL + PATH, FORM)}


@pytest.fixture
def short_timeout_client(env, monkeypatch, sqlite_only):
    monkeypatch.setattr(storage.db, "SQLITE_BUSY_TIMEOUT_MS", 300)
    return create_app().test_client()


def _timed_post(client):
    started = time.monotonic()
    response = client.post(PATH, data=FORM, headers=HEADERS)
    return response, time.monotonic() - started


def test_another_process_holding_the_writer_turn(short_timeout_client, database_url, sessions):
    lock_path = database_url.removeprefix("sqlite:///") + "-writer.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        response, took = _timed_post(short_timeout_client)
        assert count(sessions, Rating) == 0, "nothing half-written while held"
    finally:
        os.close(fd)
    assert twiml_verbs(response) == ["Play", "Hangup"]
    assert "thanks_bad" in response.get_data(as_text=True), "the key was kept: received"
    assert took < 3
    assert until(lambda: count(sessions, Rating) == 1, 10, 0.1, (OperationalError,)), (
        "stored once released"
    )
    response, _ = _timed_post(short_timeout_client)
    assert "thanks_bad" in response.get_data(as_text=True), "works again once released"
    assert count(sessions, Rating) == 1


def test_a_foreign_connection_locking_the_database(short_timeout_client, database_url, sessions):
    """E.g. an operator's sqlite3 shell in the middle of a write."""
    foreign = sqlite_write_lock(database_url)
    try:
        response, took = _timed_post(short_timeout_client)
    finally:
        foreign.execute("ROLLBACK")
        foreign.close()
    assert "thanks_bad" in response.get_data(as_text=True)
    assert took < 3
    assert until(lambda: count(sessions, Rating) == 1, 10, 0.1, (OperationalError,)), (
        "stored once released"
    )
