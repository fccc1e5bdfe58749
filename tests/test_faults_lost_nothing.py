"""The database locked, and the web process killed with kept keys: no rating lost.

Runs on SQLite, and on PostgreSQL under ``python -m tests.postgres_cluster -- pytest``.
Each test reports calls placed, keys pressed, ratings stored, callbacks opened and
ratings lost (``tests/fault_report.py``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import text

from ivr.cli import main
from ivr.simulate import CallScript, Simulator
from ivr.simulate_http import http_transport
from storage.db import make_engine
from tests.conftest import AUTH_TOKEN, BASE_URL, _free_port
from tests.fault_report import count_fault, report_fault
from tests.helpers import sqlite_write_lock, until

LEVEL_BY_KEY = {"1": "very_satisfied", "2": "satisfied", "3": "basically_satisfied"}
LEVEL_BY_KEY |= {"4": "dissatisfied", "5": "very_dissatisfied"}
TWILIO_LIMIT_S = 15
SURVEY_BOUND_S = 5


@contextmanager
def database_locked(url: str) -> Iterator[None]:
    """Someone else's write transaction holds the database (SQLite) or the calls table
    (PostgreSQL: a migration, a stuck report) until the block ends."""
    if url.startswith("sqlite"):
        foreign = sqlite_write_lock(url)
        try:
            yield
        finally:
            foreign.execute("ROLLBACK")
            foreign.close()
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(text("LOCK TABLE calls IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            transaction.rollback()
    engine.dispose()


class TimedTransport:
    def __init__(self, base: str) -> None:
        self.post = http_transport(BASE_URL, connect=base)
        self.latencies: list[tuple[str, float]] = []

    def __call__(self, url, form, headers):
        started = time.monotonic()
        answer = self.post(url, form, headers)
        self.latencies.append((url, time.monotonic() - started))
        return answer


def _scripts(n: int) -> list[CallScript]:
    return [CallScript(answers=[str(i % 5 + 1)]) for i in range(n)]


def _pressed(scripts: list[CallScript]) -> dict[str, str]:
    return {s.call_sid: LEVEL_BY_KEY[s.answers[0]] for s in scripts}


def test_database_locked_for_8_s_during_30_calls(live_server, database_url, sessions):
    transport = TimedTransport(live_server)
    simulator = Simulator(BASE_URL, AUTH_TOKEN, transport)
    before, during, after = _scripts(10), _scripts(10), _scripts(10)
    for script in before:
        simulator.call(script)
    with database_locked(database_url), ThreadPoolExecutor(5) as pool:
        outcomes = list(pool.map(simulator.call, during))
    for script in after:
        simulator.call(script)
    scripts = before + during + after
    for script, outcome in zip(during, outcomes, strict=True):
        assert set(outcome.statuses) == {200}
        key = script.answers[0]
        assert outcome.heard[-1] == ("thanks_bad" if key in "45" else "thanks"), outcome.heard
    starts = [took for url, took in transport.latencies if "/voice/survey?" in url]
    assert max(starts) < SURVEY_BOUND_S, f"survey start took {max(starts):.1f} s"
    assert max(took for _, took in transport.latencies) < TWILIO_LIMIT_S
    sids = [s.call_sid for s in scripts]
    assert until(lambda: count_fault("-", sessions, sids, _pressed(scripts)).ratings_lost == 0)
    result = report_fault("database locked 8 s", sessions, sids, _pressed(scripts))
    assert result.ratings_lost == 0 and result.ratings_stored == 30
    assert result.callbacks_opened == 12


def _start_web(port: int) -> subprocess.Popen:
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    argv = [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "8"]
    process = subprocess.Popen(
        [*argv, "ivr:create_app()"], start_new_session=True, stderr=subprocess.DEVNULL
    )
    for _ in range(600):  # a busy machine takes tens of seconds to import
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            return process
        except requests.RequestException:
            time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError("web did not start")


def _wait_group_gone(group: int, timeout_s: float = 10.0) -> None:
    """Wait until no live process of ``group`` holds its files (a killed worker busy in
    fsync dies a moment after its master); zombies are not waited for."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        alive = [
            pid
            for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
            if _group_of(pid) == group and _state_of(pid) not in ("Z", None)
        ]
        if not alive:
            return
        time.sleep(0.05)


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _state_of(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return None


@pytest.mark.slow
def test_web_killed_after_keeping_keys_the_sweep_stores_them(env, database_url, sessions):
    """Keys kept while the database is locked; the web process is killed (SIGKILL)
    before the database answers; the sweep (or the next web process) applies them."""
    port = _free_port()
    web = _start_web(port)
    simulator = Simulator(BASE_URL, AUTH_TOKEN, TimedTransport(f"http://127.0.0.1:{port}"))
    scripts = _scripts(10)
    try:
        with database_locked(database_url):
            with ThreadPoolExecutor(5) as pool:
                outcomes = list(pool.map(simulator.call, scripts))
            os.killpg(web.pid, signal.SIGKILL)  # master and worker, with their threads
            web.wait(10)
            _wait_group_gone(web.pid)
    finally:
        if web.poll() is None:
            os.killpg(web.pid, signal.SIGKILL)
    assert all(o.heard[-1] in ("thanks", "thanks_bad") for o in outcomes)
    sids = [s.call_sid for s in scripts]
    assert count_fault("-", sessions, sids, {}).ratings_stored == 0, "kept, not yet stored"
    result = CliRunner().invoke(main, ["sweep"])
    assert result.exit_code == 0, result.output
    report = report_fault("web killed (keys kept)", sessions, sids, _pressed(scripts))
    assert report.ratings_lost == 0 and report.ratings_stored == 10
    assert report.callbacks_opened == 4


def test_concurrent_lock_release_applies_once(live_server, database_url, sessions):
    """Two drainers (the web's thread and a sweep) racing: every rating once."""
    simulator = Simulator(BASE_URL, AUTH_TOKEN, TimedTransport(live_server))
    scripts = _scripts(5)
    with database_locked(database_url):
        for script in scripts:
            simulator.call(script)
    sweeper = threading.Thread(target=lambda: CliRunner().invoke(main, ["sweep"]))
    sweeper.start()
    sweeper.join(30)
    sids = [s.call_sid for s in scripts]
    assert until(lambda: count_fault("-", sessions, sids, _pressed(scripts)).ratings_lost == 0)
    assert count_fault("-", sessions, sids, _pressed(scripts)).callbacks_opened == 2
