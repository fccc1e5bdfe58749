"""Load benchmark of the Twilio webhooks, against a reference service and a bare endpoint.

What it measures
    The service is started exactly as the Procfile's `web` line starts it (gunicorn,
    same flags; only the bind address is forced to loopback), on its own Redis and a
    freshly migrated SQLite file in a temporary folder. N simulated calls
    (`ivr.simulate.Simulator`, signed like Twilio's) are placed by C concurrent
    callers; each call is 3-5 HTTP requests (survey, one to three key presses or
    silences, the status callback) and the latency of every request is recorded.
    The mix: 60 % press a valid key at once, 20 % an invalid key then a valid one,
    10 % stay silent once then press a valid key, 10 % stay silent until the re-asks
    run out (these calls must end unrated).

    The baseline is a minimal hand-written service speaking the same contract for the
    keypad survey (`bench/reference_app.py`: signature check, raw sqlite3, one row per
    rating, TwiML as strings), placed the same calls under the same gunicorn flags: the
    `calls/s service/reference` ratio is what the service's structure costs. Beside
    it, a bare Flask app (one POST route, fixed TwiML, no database; `bench/bare_app.py`)
    is sent the same number of POST requests at the same concurrency.

    Afterwards the database is checked: exactly the calls that pressed a valid key
    are rated, each with the level of its key, and gunicorn's log is scanned.

How to read the ratios
    Client, machine and gunicorn are shared by both runs, so the ratios are what the
    service's own work costs: signature check, SQLite transactions, TwiML rendering.
    `p50 ratio` 3.0 means a typical webhook takes three times as long as a do-nothing
    Flask request; `req/s ratio` 3.0 means the bare app serves three times as many
    requests per second. Absolute figures include the load generator itself (Python
    threads on the same cores), so compare ratios across machines, not raw numbers.

Run: `.venv/bin/python bench/webhooks.py [--calls N] [--concurrency C]
[--workers W] [--threads T]`. Exit status 1 on any request error, any "system busy"
answer, a Traceback in gunicorn's log, or a database mismatch.
"""

from __future__ import annotations

import argparse
import math
import random
import shlex
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the project's packages sit next to bench/

from callflows import load_flow  # noqa: E402
from ivr.simulate import SILENCE, CallOutcome, CallScript, Simulator  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Call, Rating  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
import turn_probe  # noqa: E402
from services import (  # noqa: E402
    AUTH_TOKEN,
    LOOPBACK,
    flag,
    free_port,
    gunicorn,
    procfile_web_command,
    redis_server,
    service_env,
)
from timing import SLOW_MS, Stats, TimedClient  # noqa: E402

FLOW = "rating"
SEED = 12345
PHASE_BUDGET_S = 45.0  # after this, a phase's remaining requests fail at once
BUSY_PROMPT = "system_busy"
BARE_APP = "bench.bare_app:create_app()"
BARE_PATH = "/twiml"
REFERENCE_APP = "bench.reference_app:create_app()"
# Share of calls per answer pattern (see `plan_calls`).
MIX = (("valid", 0.6), ("invalid_then_valid", 0.2), ("silent_then_valid", 0.1), ("silent", 0.1))
LOG_PATTERNS = ("Traceback", "ERROR", "database is locked", "WORKER TIMEOUT")


# --- the calls ---------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One simulated call: its answers and the rating level it must end with (or None)."""

    kind: str
    script: CallScript
    level: str | None


def plan_calls(count: int, rng: random.Random) -> list[Plan]:
    """`count` calls in the proportions of `MIX`, shuffled; keys come from the flow file."""
    ask = load_flow(FLOW).nodes[load_flow(FLOW).start]
    levels = {key: route.rate for key, route in ask.keys.items() if route.rate}
    invalid = [key for key in "0123456789#" if key not in ask.keys and key != ask.repeat_key]
    silences = [SILENCE] * (ask.max_reasks + 1)
    kinds = [kind for kind, share in MIX[1:] for _ in range(round(share * count))]
    kinds = [MIX[0][0]] * (count - len(kinds)) + kinds
    rng.shuffle(kinds)
    plans = []
    for kind in kinds:
        key = rng.choice(sorted(levels))
        answers = {
            "valid": [key],
            "invalid_then_valid": [rng.choice(invalid), key],
            "silent_then_valid": [SILENCE, key],
            "silent": silences,
        }[kind]
        level = None if kind == "silent" else levels[key]
        plans.append(Plan(kind, CallScript(answers=list(answers)), level))
    return plans


@dataclass(frozen=True)
class CallsResult:
    """The service phase: request figures, and how the calls went."""

    stats: Stats
    calls: int
    crashed: dict[str, int]  # exception raised by the simulator -> calls
    busy: int  # calls that heard the "system busy" fallback
    failures: dict[str, int]
    by_path: dict[str, Stats]

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.stats.elapsed_s if self.stats.elapsed_s else math.nan


# --- the phases ----------------------------------------------------------------------


def drive_calls(base_url: str, plans: Sequence[Plan], concurrency: int) -> CallsResult:
    """Place every planned call, `concurrency` at a time, timing each request."""
    client = TimedClient(PHASE_BUDGET_S)
    simulator = Simulator(base_url, AUTH_TOKEN, client)
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        futures = [pool.submit(simulator.call, plan.script) for plan in plans]
    elapsed = time.perf_counter() - start
    client.close()
    crashed: dict[str, int] = {}
    busy = 0
    for future in futures:
        outcome = _outcome(future, crashed)
        busy += outcome is not None and BUSY_PROMPT in outcome.heard
    stats = Stats.of(client.samples, elapsed)
    by_path = Stats.by_path(client.samples, elapsed)
    return CallsResult(stats, len(plans), crashed, busy, client.failures, by_path)


def _outcome(future: Future[CallOutcome], crashed: dict[str, int]) -> CallOutcome | None:
    try:
        return future.result()
    except Exception as error:  # a bad answer from the service: count it, go on
        name = type(error).__name__
        crashed[name] = crashed.get(name, 0) + 1
        return None


def drive_bare(url: str, total: int, concurrency: int) -> tuple[Stats, dict[str, int]]:
    """POST `total` webhook-like forms to the bare app, `concurrency` at a time."""
    client = TimedClient(PHASE_BUDGET_S)
    form = {
        "CallSid": "CA" + "0" * 32,
        "AccountSid": "AC" + "0" * 32,
        "From": "+8613800000000",
        "To": "+8612345000000",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        "CallStatus": "in-progress",
        "Digits": "3",
    }
    headers = {"X-Twilio-Signature": "x" * 28}
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda _: client(url, form, headers), range(total)))
    elapsed = time.perf_counter() - start
    client.close()
    return Stats.of(client.samples, elapsed), client.failures


# --- checks --------------------------------------------------------------------------


def check_database(database_url: str, plans: Sequence[Plan]) -> list[str]:
    """Problems found: calls rated though they should not be, missing or wrong levels."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            statement = select(Call.call_sid, Rating.level).join(Rating, Rating.call_id == Call.id)
            rated = dict(connection.execute(statement).all())
    finally:
        engine.dispose()
    expected = {plan.script.call_sid: plan.level for plan in plans if plan.level}
    silent = {plan.script.call_sid for plan in plans if plan.kind == "silent"}
    problems = []
    if len(rated) != len(expected):
        problems.append(f"{len(rated)} ratings, expected {len(expected)} (calls with a valid key)")
    if missing := expected.keys() - rated.keys():
        problems.append(f"{len(missing)} calls that pressed a valid key are unrated")
    if silent_rated := silent & rated.keys():
        problems.append(f"{len(silent_rated)} silence-only calls have a rating")
    wrong = [sid for sid, level in expected.items() if rated.get(sid, level) != level]
    if wrong:
        problems.append(f"{len(wrong)} ratings have another level than the key pressed")
    return problems


def check_reference(path: Path, plans: Sequence[Plan]) -> list[str]:
    """The reference service must have stored exactly the expected ratings too."""
    with closing(sqlite3.connect(path)) as db:
        rated = dict(db.execute("SELECT call_sid, level FROM ratings").fetchall())
    expected = {plan.script.call_sid: plan.level for plan in plans if plan.level}
    return [] if rated == expected else [f"reference: {len(rated)} ratings ≠ {len(expected)}"]


def scan_log(path: Path) -> dict[str, int]:
    """How many lines of a gunicorn log mention each of `LOG_PATTERNS`."""
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    return {pattern: sum(pattern in line for line in lines) for pattern in LOG_PATTERNS}


# --- report --------------------------------------------------------------------------


def print_report(
    service: CallsResult, reference: CallsResult, bare: Stats, bare_failures: dict[str, int]
) -> None:
    s, r = service.stats, reference.stats
    print(f"{'':8} {'calls':>6} {'requests':>8} {'errors':>6} {'calls/s':>8} {'req/s':>8}", end="")
    print(f" {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    print(
        f"{'service':8} {service.calls:>6} {s.requests:>8} {s.errors:>6}"
        f" {service.calls_per_second:>8.1f} {s.per_second:>8.1f}"
        f" {s.p50_ms:>8.1f} {s.p99_ms:>8.1f} {s.max_ms:>8.1f}"
    )
    print(
        f"{'ref':8} {reference.calls:>6} {r.requests:>8} {r.errors:>6}"
        f" {reference.calls_per_second:>8.1f} {r.per_second:>8.1f}"
        f" {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} {r.max_ms:>8.1f}"
    )
    print(
        f"{'bare':8} {'-':>6} {bare.requests:>8} {bare.errors:>6} {'-':>8} {bare.per_second:>8.1f}"
        f" {bare.p50_ms:>8.1f} {bare.p99_ms:>8.1f} {bare.max_ms:>8.1f}"
    )
    ratio = service.calls_per_second / reference.calls_per_second
    print(
        f"ratio: calls/s service/reference {ratio:.2f} (target at least 0.5),"
        f" p50 service/reference {s.p50_ms / r.p50_ms:.2f}x"
    )
    print(
        f"ratios: p50 service/bare {s.p50_ms / bare.p50_ms:.2f}x,"
        f" p99 service/bare {s.p99_ms / bare.p99_ms:.2f}x,"
        f" req/s bare/service {bare.per_second / s.per_second:.2f}x"
    )
    for path, stats in service.by_path.items():
        print(
            f"  {path:<20} {stats.requests:>5} requests, p50 {stats.p50_ms:.1f} ms,"
            f" p99 {stats.p99_ms:.1f} ms, max {stats.max_ms:.1f} ms,"
            f" {stats.slow} over {SLOW_MS} ms"
        )
    if service.failures or bare_failures:
        print(f"request failures: service {service.failures or '-'}, bare {bare_failures or '-'}")
    if service.crashed or reference.crashed:
        print(f"calls the simulator could not finish: {service.crashed}, {reference.crashed}")
    print(f"calls that heard '{BUSY_PROMPT}' (the webhook's error fallback): {service.busy}")


def print_log_scan(name: str, counts: dict[str, int]) -> None:
    found = ", ".join(f"{count} {pattern!r}" for pattern, count in counts.items())
    print(f"gunicorn log ({name}): {found}")


# --- main ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=300, help="simulated calls (300)")
    parser.add_argument("--concurrency", type=int, default=20, help="concurrent callers (20)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (the Procfile's default)")
    parser.add_argument("--threads", type=int, help="threads per worker (the Procfile's default)")
    parser.add_argument(
        "--probe", action="store_true", help="time the service's writer turn (bench/turn_probe.py)"
    )
    args = parser.parse_args(argv)
    if args.calls < 1 or args.concurrency < 1:
        parser.error("--calls and --concurrency must be at least 1")
    return args


def run(args: argparse.Namespace, workdir: Path) -> bool:
    """The whole benchmark in `workdir`; True when every check passed."""
    database_url = f"sqlite:///{workdir / 'ivr.sqlite3'}"
    upgrade(database_url)
    service_port, bare_port, reference_port = free_port(), free_port(), free_port()
    service_argv = procfile_web_command(service_port, args.workers, args.threads)
    if args.probe:
        service_argv[1:1] = ["--config", str(ROOT / "bench" / "turn_probe.py")]
    bare_argv = [*procfile_web_command(bare_port, args.workers, args.threads)[:-1], BARE_APP]
    reference_argv = procfile_web_command(reference_port, args.workers, args.threads)[:-1]
    reference_argv.append(REFERENCE_APP)
    print("service:", shlex.join(service_argv))
    print(f"calls {args.calls}, concurrency {args.concurrency}, workers", end=" ")
    print(f"{flag(service_argv, '--workers')}, threads {flag(service_argv, '--threads')}")
    plans = plan_calls(args.calls, random.Random(SEED))
    stack = ExitStack()
    try:
        redis_url = stack.enter_context(redis_server(workdir / "redis"))
        env = service_env(workdir, database_url, redis_url, service_port)
        if args.probe:
            (workdir / "probe").mkdir()
            env[turn_probe.PROBE_DIR] = str(workdir / "probe")
        service_url = stack.enter_context(
            gunicorn(service_argv, service_port, env, workdir / "service")
        )
        bare_url = stack.enter_context(gunicorn(bare_argv, bare_port, env, workdir / "bare"))
        reference_env = env | {"REFERENCE_DB": str(workdir / "reference.sqlite3")}
        reference_env["PUBLIC_BASE_URL"] = f"http://{LOOPBACK}:{reference_port}"
        reference_url = stack.enter_context(
            gunicorn(reference_argv, reference_port, reference_env, workdir / "reference")
        )
        reference = drive_calls(reference_url, plans, args.concurrency)
        service = drive_calls(service_url, plans, args.concurrency)
        bare, bare_failures = drive_bare(
            bare_url + BARE_PATH, service.stats.requests, args.concurrency
        )
    finally:
        stack.close()  # gunicorns, then redis
    print_report(service, reference, bare, bare_failures)
    if args.probe:
        print("\n".join(turn_probe.summarize(workdir / "probe", service.stats.elapsed_s)))
    problems = check_database(database_url, plans)
    problems += check_reference(workdir / "reference.sqlite3", plans)
    print("db check: ok" if not problems else "db check: MISMATCH: " + "; ".join(problems))
    names = ("service", "reference", "bare")
    logs = {name: scan_log(workdir / f"{name}.stderr.log") for name in names}
    for name, counts in logs.items():
        print_log_scan(name, counts)
    clean_logs = all(counts["Traceback"] == 0 for counts in logs.values())
    errors = service.stats.errors + bare.errors + sum(service.crashed.values()) + service.busy
    errors += reference.stats.errors + sum(reference.crashed.values())
    return not problems and errors == 0 and clean_logs


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `finally` blocks that stop servers


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    workdir = Path(tempfile.mkdtemp(prefix="ivr-bench-"))
    ok = False
    try:
        ok = run(args, workdir)
    except Exception as error:
        print(f"benchmark failed: {type(error).__name__}: {error}", file=sys.stderr)
    finally:
        if ok:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs and database kept in {workdir}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
