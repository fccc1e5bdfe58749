"""Benchmark of the figures page over 1,000,000 seeded calls.

What it measures
    A freshly migrated SQLite file (or `--database-url`, an empty database) is seeded
    with N calls spread over the last 365 days (`storage.seed`: ratings by key, speech
    and default, bad ratings' callbacks in every state, about 5 % of them not adopted),
    and the daily rollup is built once (`storage.reports.figures_rollup.refresh`, what the
    sweep and the page do). Then, through the real app and a logged-in supervisor
    (Flask's test client, no network), each page is requested `--repeat` times and the
    median time printed:

    - baseline: `/console/spot-checks` with no spot checks yet (a trivial page of the
      same app: session, user, one small query, template);
    - the figures page for the whole year, by department, by agent and by month;
    - the same after one new rating (the page recomputes that day first).

Run: `.venv/bin/python bench/figures.py [--calls N] [--repeat R] [--database-url URL]`.
Seeding a million calls takes about ten minutes: a `--database-url` that already holds
the calls (from an earlier run) is used as it is.
Exit status 1 if a figures page takes a second or more.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the project's packages sit next to bench/

from bench.console_client import PASSWORD, login, timed  # noqa: E402
from bench.scratch import scratch_environment  # noqa: E402
from storage.access.users import create_user, find_user  # noqa: E402
from storage.db import make_engine, make_session_factory, transaction  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Call  # noqa: E402
from storage.records.calls import CallDetails, get_or_create_call, record_rating  # noqa: E402
from storage.reports.figures_rollup import refresh  # noqa: E402
from storage.seed import SeedPlan, seed_calls  # noqa: E402
from storage.types import utcnow  # noqa: E402
from storage.workflow.deadlines import local_day  # noqa: E402

LIMIT_S = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", help="an empty database (default: a temp SQLite file)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with ExitStack() as stack:
        url = scratch_environment(stack, "bench-figures-", args.database_url)
        upgrade(url)
        factory = make_session_factory(make_engine(url))
        now = utcnow()
        plan = SeedPlan(calls=args.calls, start=now - timedelta(days=365), days=364)
        with factory() as session:
            present = session.scalar(select(func.count(Call.id))) or 0
        if present >= args.calls:
            print(f"using the {present:,} calls already in the database")
        else:
            started = time.perf_counter()
            seed_calls(factory, plan)
            seconds = time.perf_counter() - started
            print(f"seeded {args.calls:,} calls over 365 days in {seconds:.1f} s")
        started = time.perf_counter()
        days = refresh(factory)
        print(f"rollup built: {days} days in {time.perf_counter() - started:.1f} s")
        with transaction(factory) as session:
            if find_user(session, "boss") is None:
                create_user(session, "boss", PASSWORD, "supervisor")

        from ivr import create_app

        client = login(create_app())
        year = f"date_from={local_day(plan.start)}&date_to={local_day(now)}"
        pages = {
            "baseline /console/spot-checks": "/console/spot-checks",
            "figures, year by department": f"/console/figures?{year}&group=dept",
            "figures, year by agent": f"/console/figures?{year}&group=agent",
            "figures, year by month": f"/console/figures?{year}&group=month",
        }
        results = {name: timed(client, path, args.repeat) for name, path in pages.items()}
        with transaction(factory) as session:
            sid = f"CA-bench-{time.time_ns()}"
            call = get_or_create_call(session, sid, CallDetails(dept="D01", agent="X"))
            session.flush()
            record_rating(session, call, "very_dissatisfied", "dtmf")
        started = time.perf_counter()
        client.get(pages["figures, year by department"])
        results["figures after one new rating"] = time.perf_counter() - started
        baseline = results["baseline /console/spot-checks"]
        for name, seconds in results.items():
            print(f"{name:32s} {seconds * 1000:8.1f} ms  ({seconds / baseline:5.1f} x baseline)")
    slowest = max(seconds for name, seconds in results.items() if name.startswith("figures"))
    print(f"slowest figures page: {slowest * 1000:.0f} ms (goal < {LIMIT_S * 1000:.0f} ms)")
    return 0 if slowest < LIMIT_S else 1


if __name__ == "__main__":
    sys.exit(main())
