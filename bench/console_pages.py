"""Benchmark of the console's pages and exports over many seeded calls.

What it measures
    A freshly migrated SQLite file is seeded with N calls (default 100,000) over the
    last `--days` days in 8 named departments with named agents (`storage.seed`), the
    daily rollup built once. Through the real app and a logged-in supervisor (Flask's
    test client, no network), each page is requested `--repeat` times and the median
    printed, as a ratio to a trivial console page of the same run (the spot-check list
    with no spot checks). The calls export (all N rows, as XLSX and CSV) is timed once,
    with the peak Python memory it allocated (tracemalloc, in a second pass).

    Pages: the calls list (all, one department), the header search by a phone tail
    (a tail present in the data), the figures (by department, by agent), an agent's
    scorecard, the wallboard and its JSON, the queue (active and all states), a callback
    page, the inbox, problems, report.xlsx.

Run: `.venv/bin/python bench/console_pages.py [--calls N] [--days D] [--repeat R]`.
`--database-url` keeps the seeded database (a SQLite file or PostgreSQL): a later run
on it migrates it (timing the migration) and reuses its calls instead of seeding again.
`--no-exports` skips the calls exports (slow at a million rows).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import tracemalloc
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the project's packages sit next to bench/

from sqlalchemy import func, select  # noqa: E402

from bench.console_client import PASSWORD, login, timed  # noqa: E402
from bench.scratch import scratch_environment  # noqa: E402
from storage.access.users import create_user, find_user  # noqa: E402
from storage.db import make_engine, make_session_factory, transaction  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Call, Callback  # noqa: E402
from storage.reports.figures_rollup import refresh  # noqa: E402
from storage.seed import DEPARTMENT_NAMES, SeedPlan, name_departments, seed_calls  # noqa: E402
from storage.types import utcnow  # noqa: E402


def peak_memory(client, path: str) -> float:
    """MB of Python memory allocated at the peak while `path` is produced and read."""
    tracemalloc.start()
    response = client.get(path)
    size = len(response.get_data())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  {path}: {size / 1e6:.1f} MB file")
    return peak / 1e6


def seed(factory, calls: int, days: int) -> None:
    with transaction(factory) as session:
        name_departments(session)
        create_user(session, "boss", PASSWORD, "supervisor")
    try:
        from storage.names import save_agent

        with transaction(factory) as session:
            for n in range(len(DEPARTMENT_NAMES)):
                for a in range(8):
                    save_agent(session, f"A{n:02d}{a:02d}", f"话务员{n}{a}", f"D{n:02d}")
    except ImportError:  # before the agents table existed
        pass
    plan = SeedPlan(calls=calls, start=utcnow() - timedelta(days=days), days=days, departments=8)
    started = time.perf_counter()
    seed_calls(factory, plan)
    print(f"seeded {calls:,} calls over {days} days in {time.perf_counter() - started:.1f} s")
    refresh(factory)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument("--no-exports", action="store_true", help="skip the calls exports")
    parser.add_argument("--database-url", help="a database to seed and keep (or reuse)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with ExitStack() as stack:
        url = scratch_environment(stack, "bench-console-", args.database_url)
        started = time.perf_counter()
        upgrade(url)
        print(f"migrated in {time.perf_counter() - started:.1f} s")
        factory = make_session_factory(make_engine(url))
        with factory() as session:
            present = session.scalar(select(func.count(Call.id))) or 0
        if present:
            print(f"using the {present:,} calls already in the database")
            started = time.perf_counter()
            refresh(factory)
            print(f"rollup refreshed in {time.perf_counter() - started:.1f} s")
        else:
            seed(factory, args.calls, args.days)
        with transaction(factory) as session:
            if find_user(session, "clerk") is None:  # a department's callback officer
                create_user(session, "clerk", PASSWORD, "staff", "D01")
        with factory() as session:
            caller = session.scalar(select(Call.caller).where(Call.caller.is_not(None)).limit(1))
            callback = session.scalar(select(func.min(Callback.id)))

        from ivr import create_app

        client = login(create_app())
        pages = {
            "baseline /console/spot-checks": "/console/spot-checks",
            "queue (all states)": "/console/queue?state=all",
            "calls list": "/console/calls",
            "calls list, one department": "/console/calls?dept=D03",
            "figures by department": "/console/figures",
            "figures by agent": "/console/figures?group=agent",
            "search by phone tail": f"/console/search?q={caller[-4:]}",
            "agent scorecard": "/console/agents/A0101",
            "wallboard": "/console/wallboard",
            "wallboard.json": "/console/wallboard.json",
            "queue (active)": "/console/queue",
            "callback page": f"/console/callbacks/{callback}",
            "inbox": "/console/inbox",
            "problems": "/console/problems",
            "report.xlsx": "/console/export/report.xlsx",
        }
        results = {name: timed(client, path, args.repeat) for name, path in pages.items()}
        staff = login(create_app(), "clerk")
        for name, path in {
            "staff: queue": "/console/queue",
            "staff: inbox": "/console/inbox",
            "staff: wallboard": "/console/wallboard",
            "staff: search by phone tail": f"/console/search?q={caller[-4:]}",
        }.items():
            results[name] = timed(staff, path, args.repeat)
        for fmt in () if args.no_exports else ("xlsx", "csv"):
            results[f"calls.{fmt}, all rows"] = timed(client, f"/console/export/calls.{fmt}", 1)
        baseline = results["baseline /console/spot-checks"]
        for name, seconds in results.items():
            print(f"{name:36s} {seconds * 1000:9.1f} ms  ({seconds / baseline:7.1f} x baseline)")
        if not args.no_memory and not args.no_exports:
            for fmt in ("xlsx", "csv"):
                mb = peak_memory(client, f"/console/export/calls.{fmt}")
                print(f"calls.{fmt} peak Python memory: {mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
