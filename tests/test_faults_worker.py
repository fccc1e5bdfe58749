"""A worker killed (SIGKILL) in the middle of recognising a spoken rating.

The real `ivr worker` (the Procfile's line, real Vosk Korean model) takes the job of
transcribing a caller's spoken complaint; it is killed, with the process RQ forked for
the job, once the recording is fetched and kept and Vosk is at work. The sweep finds
the job unfinished and sends it again; another worker runs it: one recording file,
one transcript, one rating.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from redis import Redis
from rq import SimpleWorker
from speech_fixtures import ko_model, media, speech_app, speech_caller  # noqa: F401
from sqlalchemy import select

from ivr.cli import main
from ivr.simulate import CallScript
from storage.models import Call, OutboxJob, Rating, Recording
from storage.records.files import default_root
from storage.types import utcnow
from tests.audio_helpers import spoken_wav
from tests.fault_report import report_fault
from tests.helpers import count, stored_call
from workers.queues import QUEUES

pytestmark = pytest.mark.slow


def _start_worker() -> subprocess.Popen:
    """`ivr worker`, in its own process group (it forks a process per job)."""
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("ivr")), "worker"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for_kept_audio(worker: subprocess.Popen, timeout: float = 120) -> None:
    """Until the job has fetched and kept the audio: recognition comes next."""
    root = default_root()
    deadline = time.monotonic() + timeout
    while not any(path.is_file() for path in root.glob("*/*")):
        assert worker.poll() is None, "the worker died by itself"
        assert time.monotonic() < deadline, "the worker never took the job"
        time.sleep(0.005)


def _recordings(sessions) -> list[Recording]:
    with sessions() as session:
        return list(session.scalars(select(Recording)))


def _outbox(sessions) -> list[OutboxJob]:
    with sessions() as session:
        return list(session.scalars(select(OutboxJob)))


@pytest.fixture(scope="module")
def long_reason(tmp_path_factory) -> Path:
    """A 20-second spoken complaint at telephone quality: Vosk needs seconds for it."""
    folder = tmp_path_factory.mktemp("reason")
    return spoken_wav("직원이 너무 불친절했습니다. " * 6, folder / "reason.wav")


def test_a_worker_killed_mid_recognition_the_job_runs_again_and_writes_once(
    speech_app, media, long_reason, sessions, redis_url
):
    simulator = speech_caller(speech_app, media)
    script = CallScript(answers=["4", f"say:{long_reason}"], lang="ko-KR")
    outcome = simulator.call(script)
    assert outcome.heard[-1] == "thanks_bad"

    worker = _start_worker()
    try:
        _wait_for_kept_audio(worker)
        time.sleep(1)  # well inside the recognition of 20 s of speech
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    [recording] = _recordings(sessions)
    assert (recording.status, recording.transcript) == ("pending", None), "killed mid-job"

    assert "jobs sent: 0" in _sweep(), "not presumed lost at once: it might be running"
    later = (utcnow() + timedelta(minutes=6)).isoformat()
    assert "jobs sent: 1" in _sweep("--now", later)
    SimpleWorker(list(QUEUES), connection=Redis.from_url(redis_url)).work(burst=True)

    [recording] = _recordings(sessions)
    assert recording.status == "done" and recording.transcript
    [job] = [j for j in _outbox(sessions) if j.func == "workers.jobs.process_recording"]
    assert job.done_at is not None and job.attempts == 2
    assert count(sessions, Rating) == 1 and count(sessions, Call) == 1
    rating = stored_call(sessions, script.call_sid).rating
    assert (rating.level, rating.source) == ("dissatisfied", "dtmf")
    kept = [path for path in default_root().glob("*/*") if path.is_file()]
    assert [path.relative_to(default_root()).as_posix() for path in kept] == [recording.file_key]
    assert "jobs sent: 0" in _sweep("--now", later), "done: never sent again"
    sid = script.call_sid
    report = report_fault("worker killed", sessions, [sid], {sid: "dissatisfied"})
    assert report.ratings_lost == 0 and report.callbacks_opened == 1


def _sweep(*args: str) -> str:
    result = CliRunner().invoke(main, ["sweep", *args])
    assert result.exit_code == 0, result.output
    return result.output
