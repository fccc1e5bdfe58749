"""Spoken-rating jobs through the real `ivr worker`: throughput, latency, where a job's time goes.

What it measures
    N spoken-rating recordings (a Korean "매우 만족", espeak-ng at telephone quality) are
    noted for N calls exactly as the `<Record>` webhook notes them (a pending recording
    and its outbox job), served by the simulator's fake Twilio media host. The Procfile's
    `ivr worker` is started and has loaded the model; then all N jobs are sent to Redis
    at once and the worker runs them. Printed: jobs/s (N / time from sending to the last
    job done) and per-job latency p50/p95 (outbox row sent -> done, what a caller waits
    when the queue is this long), and from RQ's own job records: queue wait, time inside
    the job and the gap between one job ending and the next starting (dequeuing, and the
    fork of a work-horse for the default RQ worker).

    Then a breakdown of a job's phases: the same job function runs in this process on M
    more recordings, each phase timed (reading the outbox row, the recording's row, the
    HTTP download, keeping the file, decoding the WAV, creating the grammar recogniser,
    decoding, the metric, storing the result, outbox bookkeeping).

Baseline in the same run
    Recognition alone (``recognize_rating`` on the same audio file, in process, model
    loaded): what a job would take with no overhead at all.

Run: ``.venv/bin/python bench/speech_jobs.py [--jobs 150] [--phases 30] [--sqlite]``
(PostgreSQL by default, as in production). Exit status 1 if a job failed or a rating
came out other than "very_satisfied".
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402
from load import ACCOUNT_SID, procfile_process  # noqa: E402
from services import AUTH_TOKEN, redis_server, wait_for_log  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from timing import percentile  # noqa: E402

from ivr.simulate_media import MediaHost  # noqa: E402
from storage.db import make_engine, make_session_factory, transaction  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import RECORDING_RATING, OutboxJob, Recording  # noqa: E402
from storage.records.calls import CallDetails, get_or_create_call  # noqa: E402
from storage.records.recordings import note_recording  # noqa: E402

LANG = "ko-KR"
LEVEL = "very_satisfied"
PHRASE = "최고 예요"  # a phrase of the pack for LEVEL (load.py's "매우 만족" is not one)
DRAIN_TIMEOUT_S = 600.0


def note_jobs(factory, media: MediaHost, wav: Path, count: int, prefix: str) -> list[int]:
    """`count` calls with a pending spoken rating each; their outbox ids (not sent yet)."""
    ids = []
    with transaction(factory) as session:
        for number in range(count):
            call = get_or_create_call(session, f"CA{prefix}{number:030d}", CallDetails(lang=LANG))
            sid, url = media.publish(wav)
            note_recording(
                session, call, sid, purpose=RECORDING_RATING, lang=LANG, url=url, duration=1.0
            )
        ids = [job_id for job_id, _ in session.info.pop("outbox_jobs", [])]
    return ids


def wait_done(factory, ids: list[int], timeout_s: float = DRAIN_TIMEOUT_S) -> int:
    """Wait until every job in `ids` is done; return how many never were."""
    deadline = time.monotonic() + timeout_s
    while True:
        with factory() as session:
            left = session.scalar(
                select(func.count())
                .select_from(OutboxJob)
                .where(OutboxJob.id.in_(ids), OutboxJob.done_at.is_(None))
            )
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def rq_timings(redis_url: str, ids: list[int]) -> dict[str, list[float]]:
    """Queue wait, time in the job, and the gap before each job started (seconds)."""
    from redis import Redis
    from rq.job import Job

    redis = Redis.from_url(redis_url)
    jobs = Job.fetch_many([f"outbox-{i}" for i in ids], connection=redis)
    runs = sorted((j.started_at, j.ended_at, j.enqueued_at) for j in jobs if j and j.ended_at)
    times: dict[str, list[float]] = defaultdict(list)
    for (started, ended, enqueued), following in zip(runs, [*runs[1:], None], strict=True):
        times["queue wait"].append((started - enqueued).total_seconds())
        times["in the job"].append((ended - started).total_seconds())
        if following is not None:
            times["gap to next job"].append((following[0] - ended).total_seconds())
    return times


class PhaseTimer:
    """Wraps functions so that each call adds its wall time to a named phase."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self._undo: list[Callable[[], None]] = []

    def wrap(self, owner, attr: str, phase: str) -> None:
        original = getattr(owner, attr)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[phase].append(time.perf_counter() - start)

        setattr(owner, attr, timed)
        self._undo.append(lambda: setattr(owner, attr, original))

    def restore(self) -> None:
        while self._undo:
            self._undo.pop()()


def phases_in_process(ids: list[int]) -> dict[str, list[float]]:
    """Run the jobs here (as the worker would), timing each phase."""
    import vosk

    from storage.records.files import LocalFileStore
    from workers import recordings, runner
    from workers.speech import recognize

    timer = PhaseTimer()
    timer.wrap(runner, "run_outbox_job", "whole job")
    timer.wrap(recordings, "process_recording", "process_recording")
    timer.wrap(recordings, "fetch_recording", "  HTTP download")
    timer.wrap(LocalFileStore, "put_file", "  keep the file (store)")
    timer.wrap(recordings, "_recognise", "  recognise")
    timer.wrap(recognize, "prepare_audio", "    read and check the WAV")
    timer.wrap(recognize, "decode_nbest", "    decode (with recogniser)")
    timer.wrap(vosk, "KaldiRecognizer", "      create grammar recogniser")
    timer.wrap(recognize, "sounds_like_speech", "    speech check")
    timer.wrap(recordings.metrics_store, "observe", "  metric to Redis")
    timer.wrap(recordings, "_finish", "  store the result")
    try:
        for outbox_id in ids:
            runner.run_outbox_job(outbox_id)
    finally:
        timer.restore()
    return dict(timer.seconds)


def baseline(wav: Path, repeat: int) -> list[float]:
    """`recognize_rating` alone on the job's audio file, model loaded."""
    from workers.speech import load_model, recognize_rating

    load_model(LANG)
    recognize_rating(LANG, wav)  # warm
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = recognize_rating(LANG, wav)
        seconds.append(time.perf_counter() - start)
        assert result.level == LEVEL, result
    return seconds


def wrong_ratings(factory, ids: list[int]) -> tuple[int, int]:
    """(recordings not done, recordings heard as another level) among the jobs' recordings."""
    with factory() as session:
        rows = session.execute(select(Recording.status, Recording.recognized_level)).all()
    undone = sum(status != "done" for status, _ in rows)
    wrong = sum(level not in (LEVEL, None) for _, level in rows)
    return undone, wrong


def ms(values: list[float], q: float) -> str:
    return f"{1000 * percentile(sorted(values), q):8.1f}"


def report_line(name: str, values: list[float], per_job: int) -> str:
    total = sum(values) / per_job
    return f"{name:34} {1000 * total:8.1f} {ms(values, 0.5)} {ms(values, 0.95)} {len(values):>6}"


def run(args: argparse.Namespace, workdir: Path) -> bool:
    stack = ExitStack()
    try:
        if args.sqlite:
            database_url = f"sqlite:///{workdir / 'bench.db'}"
        else:
            from tests.postgres_cluster import PostgresCluster

            cluster = stack.enter_context(PostgresCluster())
            database_url = cluster.url.rsplit("/", 1)[0] + "/postgres"
        upgrade(database_url)
        redis_url = stack.enter_context(redis_server(workdir / "redis"))
        media = MediaHost(ACCOUNT_SID, AUTH_TOKEN)
        stack.callback(media.close)
        load.SPOKEN = {LEVEL: PHRASE}
        wav = load.speak(workdir)[LEVEL]
        env = dict(os.environ)
        env.pop("WORKORDER_WEBHOOK_URL", None)
        env |= {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "RECORDING_HOSTS": f"http://{media.netloc}",
            "IVR_INSTANCE_DIR": str(workdir / "instance"),
        }
        os.environ.update(env)
        engine = make_engine(database_url)
        stack.callback(engine.dispose)
        factory = make_session_factory(engine)
        worker_ids = note_jobs(factory, media, wav, args.jobs, "1")
        phase_ids = note_jobs(factory, media, wav, args.phases, "2")

        base = baseline(wav, args.phases)
        phases = phases_in_process(phase_ids)

        log = workdir / "worker.log"
        stack.enter_context(procfile_process("worker", env, log))
        wait_for_log(log, "loaded")
        from workers.context import connect_redis
        from workers.queues import send_after_commit

        started = time.perf_counter()
        send_after_commit(factory, connect_redis(redis_url), [(i, "speech") for i in worker_ids])
        never = wait_done(factory, worker_ids)
        elapsed = time.perf_counter() - started
        with factory() as session:
            rows = session.execute(
                select(OutboxJob.enqueued_at, OutboxJob.done_at).where(
                    OutboxJob.id.in_(worker_ids), OutboxJob.done_at.is_not(None)
                )
            ).all()
        latency = [(done - sent).total_seconds() for sent, done in rows]
        rq = rq_timings(redis_url, worker_ids)
        undone, wrong = wrong_ratings(factory, worker_ids + phase_ids)
    finally:
        stack.close()

    print(f"database {'SQLite' if args.sqlite else 'PostgreSQL'}, {os.cpu_count()} cores")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\n`ivr worker`: {len(latency)} of {args.jobs} spoken-rating jobs in {elapsed:.2f} s")
    print(f"jobs/s {len(latency) / elapsed:.2f}")
    print(
        f"per-job latency (sent -> done): p50 {percentile(sorted(latency), 0.5):.2f} s, "
        f"p95 {percentile(sorted(latency), 0.95):.2f} s"
    )
    header = f"{'phase':34} {'ms/job':>8} {'p50 ms':>8} {'p95 ms':>8} {'calls':>6}"
    print(f"\nRQ job records (real worker)\n{header}")
    for name in ("in the job", "gap to next job"):
        print(report_line(name, rq.get(name, [0.0]), max(1, len(rq.get(name, [])))))
    print(f"\nphases of a job, run in this process ({args.phases} jobs)\n{header}")
    for name, values in phases.items():
        print(report_line(name, values, args.phases))
    whole = statistics.mean(phases["whole job"])
    inner = statistics.mean(phases["process_recording"])
    print(f"{'outbox bookkeeping (whole - job)':34} {1000 * (whole - inner):8.1f}")
    print(f"\nbaseline: recognize_rating alone, same file, in process ({len(base)} runs)")
    print(f"{'recognition alone':34} {statistics.mean(base) * 1000:8.1f} {ms(base, 0.5)}")
    print(f"\njobs never done {never}, recordings not done {undone}, wrong ratings {wrong}")
    return not never and not undone and not wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=150, help="jobs run by `ivr worker`")
    parser.add_argument("--phases", type=int, default=30, help="jobs timed in process")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ivr-speech-jobs-") as folder:
        ok = run(args, Path(folder))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
