"""Load benchmark: 500 concurrent calls, keys and speech mixed, against the Procfile's
processes on PostgreSQL, beside a bare-endpoint baseline from the same run.

What it runs
    A throwaway PostgreSQL cluster (`tests/postgres_cluster.py`), a private Redis, and
    the Procfile's three lines: `web` (gunicorn with the Procfile's flags, bound to
    loopback), `worker` (`ivr worker`, the real Vosk Korean model) and `cron`
    (`ivr cron`). A local stand-in for Twilio's recording storage serves the spoken
    answers (`ivr.simulate_media.MediaHost`).

The calls
    N calls (default 500) are placed at once, C at a time (default 500: all of them
    concurrently), by the simulator, signed as Twilio signs. 70 % answer by key, in
    the mix of `bench/webhooks.py` (zh-CN); 30 % speak their rating in Korean (an
    espeak-ng voice at telephone quality), then confirm the read-back by key or fall
    back to keys when the recogniser was unsure or late, as a caller would.

What it prints
    calls/s, webhook p50/p99 (every request of every call), recognition latency p50/p95
    (from the recording reported to the recogniser's result stored: queue wait, fetch
    and Vosk, from the outbox's times), how the spoken ratings were stored, errors
    (HTTP errors, timeouts over Twilio's 15 s, `system_busy` answers, calls with a
    wrong or missing rating), and the same number of POSTs to a
    bare Flask endpoint (`bench/bare_app.py`) under the same gunicorn flags.

Run: `.venv/bin/python bench/load.py [--calls N] [--concurrency C] [--speech 0.3]`.
Exit status 1 on any error.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from services import (  # noqa: E402
    AUTH_TOKEN,
    free_port,
    gunicorn,
    procfile_web_command,
    redis_server,
    service_env,
    stop,
    wait_for_log,
)
from timing import Stats, TimedClient, percentile  # noqa: E402
from webhooks import BARE_APP, BARE_PATH, BUSY_PROMPT, drive_bare, plan_calls  # noqa: E402

from ivr.simulate import CallScript, Simulator  # noqa: E402
from ivr.simulate_media import MediaHost  # noqa: E402
from prompts.speech import read_speech_pack  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Call, OutboxJob, Rating  # noqa: E402
from storage.outbox import SPEECH_QUEUE  # noqa: E402
from tests.postgres_cluster import PostgresCluster  # noqa: E402

SEED = 500
BUDGET_S = 600.0
ACCOUNT_SID = "AC" + "b" * 32
# The spoken answer, and the key the same caller presses if asked to confirm (1 =
# "yes" at the read-back) or to use the keys instead (1 = very satisfied).
# The phrase is the Korean pack's own, so the bench follows the pack when it changes.
SPOKEN = {"very_satisfied": read_speech_pack("ko-KR").levels["very_satisfied"][0]}


def speak(folder: Path) -> dict[str, Path]:
    """One telephone-quality WAV per spoken level (espeak-ng, 8 kHz mono)."""
    waves = {}
    for level, text in SPOKEN.items():
        raw, wav = folder / f"{level}.raw.wav", folder / f"{level}.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-s", "140", "-w", str(raw), text], check=True)
        command = ["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(wav)]
        subprocess.run([*command, "sinc", "300-3400"], check=True)
        waves[level] = wav
    return waves


def plan(count: int, speech_share: float, waves: dict[str, Path]) -> list[tuple[CallScript, str]]:
    """(script, kind) per call: key calls from `bench/webhooks.py`, and speech calls."""
    rng = random.Random(SEED)
    speech = round(count * speech_share)
    calls = [(p.script, "keys") for p in plan_calls(count - speech, rng)]
    for _ in range(speech):
        answers = [f"say:{waves['very_satisfied']}", "1", "1"]
        calls.append((CallScript(answers=answers, lang="ko-KR"), "speech"))
    rng.shuffle(calls)
    return calls


@contextmanager
def procfile_process(line: str, env: dict[str, str], logs: Path):
    """`ivr worker` or `ivr cron`, as the Procfile runs them."""
    ivr = str(Path(sys.executable).with_name("ivr"))
    with logs.open("wb") as out:
        process = subprocess.Popen([ivr, line], cwd=ROOT, env=env, stdout=out, stderr=out)
        try:
            yield process
        finally:
            stop(process)


def recognition_seconds(database_url: str) -> list[float]:
    """Per spoken rating: from the recording reported (its job recorded in the outbox)
    to the recogniser's result stored (the job done): queue wait, fetch and Vosk."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(OutboxJob.created_at, OutboxJob.done_at).where(
                    OutboxJob.queue == SPEECH_QUEUE, OutboxJob.done_at.is_not(None)
                )
            ).all()
    finally:
        engine.dispose()
    return sorted((done - created).total_seconds() for created, done in rows)


def spoken_sources(database_url: str, calls: list[tuple[CallScript, str]]) -> dict[str, int]:
    """How the spoken calls' ratings were stored: `speech`, or `dtmf` after a late or
    unsure result sent the caller to the keys."""
    spoken = [script.call_sid for script, kind in calls if kind == "speech"]
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            statement = (
                select(Rating.source, func.count())
                .join(Call, Rating.call_id == Call.id)
                .where(Call.call_sid.in_(spoken))
                .group_by(Rating.source)
            )
            return dict(connection.execute(statement).all())
    finally:
        engine.dispose()


def check_ratings(database_url: str, calls: list[tuple[CallScript, str]]) -> list[str]:
    """Every call with a key or a spoken level must be rated; silent-only calls not."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            statement = select(Call.call_sid, Rating.level).join(Rating, Rating.call_id == Call.id)
            rated = dict(connection.execute(statement).all())
    finally:
        engine.dispose()
    silent = {s.call_sid for s, _ in calls if all(a == "silence" for a in s.answers)}
    missing = [s.call_sid for s, _ in calls if s.call_sid not in rated and s.call_sid not in silent]
    problems = [f"{len(missing)} calls unrated"] if missing else []
    spoken = [s.call_sid for s, kind in calls if kind == "speech"]
    if wrong := [sid for sid in spoken if rated.get(sid, "very_satisfied") != "very_satisfied"]:
        problems.append(f"{len(wrong)} spoken ratings stored with another level")
    if silent & rated.keys():
        problems.append(f"{len(silent & rated.keys())} silent calls rated")
    return problems


def run(args: argparse.Namespace, workdir: Path) -> bool:
    waves = speak(workdir)
    calls = plan(args.calls, args.speech, waves)
    stack = ExitStack()
    try:
        cluster = stack.enter_context(PostgresCluster(durable=True))
        database_url = cluster.url.rsplit("/", 1)[0] + "/postgres"
        upgrade(database_url)
        redis_url = stack.enter_context(redis_server(workdir / "redis"))
        media = MediaHost(ACCOUNT_SID, AUTH_TOKEN)
        stack.callback(media.close)
        port, bare_port = free_port(), free_port()
        env = service_env(workdir, database_url, redis_url, port)
        env |= {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "RECORDING_HOSTS": f"http://{media.netloc}"}
        web_argv = procfile_web_command(port, args.workers, args.threads)
        bare_argv = [*procfile_web_command(bare_port, args.workers, args.threads)[:-1], BARE_APP]
        print("web:", " ".join(web_argv[1:]), "| worker: ivr worker | cron: ivr cron")
        print(f"calls {len(calls)} ({sum(k == 'speech' for _, k in calls)} spoken),", end=" ")
        print(f"concurrency {args.concurrency}, PostgreSQL {cluster.bin.parent.name},", end=" ")
        print(f"{args.worker_processes} worker process(es)")
        for number in range(args.worker_processes):
            log = workdir / f"worker{number}.log"
            stack.enter_context(procfile_process("worker", env, log))
        stack.enter_context(procfile_process("cron", env, workdir / "cron.log"))
        web_url = stack.enter_context(gunicorn(web_argv, port, env, workdir / "web"))
        bare_url = stack.enter_context(gunicorn(bare_argv, bare_port, env, workdir / "bare"))
        for number in range(args.worker_processes):
            wait_for_log(workdir / f"worker{number}.log", "loaded")  # the model, before any job

        client = TimedClient(BUDGET_S)
        simulator = Simulator(web_url, AUTH_TOKEN, client, account_sid=ACCOUNT_SID, media=media)
        started = time.perf_counter()
        outcomes, crashed = _place_all(simulator, [s for s, _ in calls], args.concurrency)
        elapsed = time.perf_counter() - started
        client.close()
        service = Stats.of(client.samples, elapsed)
        bare, bare_failures = drive_bare(bare_url + BARE_PATH, service.requests, args.concurrency)
        undone = _drain(database_url)
        recognition = recognition_seconds(database_url)
        sources = spoken_sources(database_url, calls)
        problems = check_ratings(database_url, calls)
    finally:
        stack.close()
    busy = sum(BUSY_PROMPT in outcome.heard for outcome in outcomes)
    errors = service.errors + crashed + busy + len(problems) + undone
    print(f"{'':8} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, stats in (("service", service), ("bare", bare)):
        print(
            f"{name:8} {stats.requests:>8} {stats.per_second:>8.1f} {stats.p50_ms:>8.1f}"
            f" {stats.p99_ms:>8.1f} {stats.max_ms:>8.1f}"
        )
    print(f"calls/s: {len(calls) / elapsed:.1f} ({len(calls)} calls in {elapsed:.1f} s)")
    print(f"webhook p50 {service.p50_ms:.1f} ms, p99 {service.p99_ms:.1f} ms", end=" ")
    print(f"(bare p50 {bare.p50_ms:.1f} ms, p99 {bare.p99_ms:.1f} ms)")
    if recognition:
        print(
            f"recognition latency ({len(recognition)} spoken ratings): "
            f"p50 {percentile(recognition, 0.5):.2f} s, p95 {percentile(recognition, 0.95):.2f} s"
        )
    print(f"spoken calls rated by source: {sources}; speech jobs never done: {undone}")
    print(
        f"errors: {errors} (HTTP/timeouts {service.errors} {client.failures or ''}, "
        f"unfinished calls {crashed}, '{BUSY_PROMPT}' {busy}, rating problems {problems or 0}, "
        f"bare {bare.errors} {bare_failures or ''})"
    )
    return errors == 0


def _drain(database_url: str, timeout_s: float = 300) -> int:
    """Wait for the workers to finish every speech job; return how many never did."""
    engine = make_engine(database_url)
    statement = (
        select(func.count())
        .select_from(OutboxJob)
        .where(OutboxJob.queue == SPEECH_QUEUE, OutboxJob.done_at.is_(None))
    )
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with engine.connect() as connection:
                left = connection.scalar(statement)
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(1)
    finally:
        engine.dispose()


def _place_all(simulator: Simulator, scripts: list[CallScript], concurrency: int):
    from concurrent.futures import ThreadPoolExecutor

    outcomes, crashed = [], 0
    with ThreadPoolExecutor(concurrency) as pool:
        futures = [pool.submit(simulator.call, script) for script in scripts]
    for future in futures:
        try:
            outcomes.append(future.result())
        except Exception:
            crashed += 1
    return outcomes, crashed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--speech", type=float, default=0.3, help="share of spoken ratings")
    parser.add_argument("--workers", type=int, help="gunicorn workers (the Procfile's default)")
    parser.add_argument("--threads", type=int, help="threads per worker (the Procfile's default)")
    parser.add_argument(
        "--worker-processes", type=int, default=1, help="`ivr worker` processes (1: the Procfile)"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ivr-load-"))
    ok = False
    try:
        ok = run(args, workdir)
    finally:
        if ok:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs kept in {workdir}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
