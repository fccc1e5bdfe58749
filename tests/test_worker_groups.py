"""`ivr worker`'s supervisor: a speech worker that dies or hangs is replaced.

The speech queue's worker runs jobs in its own process (no fork per job), so a job
stuck in C or a crash would take the worker with it; these tests check that the
supervising parent starts another and that the next job runs.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, Worker
from rq.job import Job, JobStatus

from workers import worker_groups
from workers.queues import WORKER_GROUPS

JOBS = "tests.worker_jobs"


def _serve(redis_url: str) -> None:
    worker_groups.HANG_GRACE_S = 1
    worker_groups.RESTART_DELAY_S = 0.1
    worker_groups.run_groups(WORKER_GROUPS, lambda: Redis.from_url(redis_url))


@pytest.fixture
def supervisor(redis_url):
    process = multiprocessing.get_context("fork").Process(target=_serve, args=(redis_url,))
    process.start()
    yield process
    if process.is_alive():
        os.kill(process.pid, signal.SIGTERM)  # it stops its workers, then returns
        process.join(15)
    if process.is_alive():
        os.kill(process.pid, signal.SIGKILL)
        process.join(10)


def _wait_for_pid(path: Path, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while not (path.is_file() and path.read_text()):
        assert time.monotonic() < deadline, f"no job wrote {path.name}"
        time.sleep(0.02)
    return int(path.read_text())


def _wait_for_another_speech_worker(queue: Queue, old_pid: int, timeout: float = 20) -> None:
    """Until a speech worker other than `old_pid` listens (a job pushed to Redis while
    the killed one still held its connection would be lost with it, as in production:
    the outbox sweep sends such a job again)."""
    deadline = time.monotonic() + timeout
    while {w.pid for w in Worker.all(queue=queue)} - {old_pid} == set():
        assert time.monotonic() < deadline, "no worker replaced the killed one"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_speech_job_stuck_past_its_timeout_ends_its_worker_and_another_takes_over(
    supervisor, redis_url, tmp_path
):
    speech = Queue("speech", connection=Redis.from_url(redis_url))
    stuck = speech.enqueue(f"{JOBS}.stuck", str(tmp_path / "stuck"), 60, job_timeout=1)
    stuck_pid = _wait_for_pid(tmp_path / "stuck")
    assert stuck_pid != supervisor.pid, "the job runs in a worker child, not the parent"

    speech.enqueue(f"{JOBS}.note_pid", str(tmp_path / "next"))
    started = time.monotonic()
    next_pid = _wait_for_pid(tmp_path / "next")
    assert time.monotonic() - started < 10, "the hung worker was not replaced in time"
    assert next_pid != stuck_pid and not _alive(stuck_pid)
    assert Job.fetch(stuck.id, connection=speech.connection).get_status() != JobStatus.FINISHED
    assert supervisor.is_alive()

    os.kill(supervisor.pid, signal.SIGTERM)
    supervisor.join(15)
    assert supervisor.exitcode == 0 and not _alive(next_pid), "SIGTERM stops every worker"


def test_a_killed_speech_worker_is_replaced_and_runs_the_next_job(supervisor, redis_url, tmp_path):
    speech = Queue("speech", connection=Redis.from_url(redis_url))
    speech.enqueue(f"{JOBS}.note_pid", str(tmp_path / "first"))
    first = _wait_for_pid(tmp_path / "first")
    speech.enqueue(f"{JOBS}.note_pid", str(tmp_path / "second"))
    assert _wait_for_pid(tmp_path / "second") == first, "one process runs job after job"

    os.kill(first, signal.SIGKILL)
    _wait_for_another_speech_worker(speech, first)
    speech.enqueue(f"{JOBS}.note_pid", str(tmp_path / "third"))
    third = _wait_for_pid(tmp_path / "third")
    assert third not in (first, supervisor.pid)
