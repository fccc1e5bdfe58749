"""Benchmark of the periodic sweep over 100,000 calls and 10,000 open callbacks.

What it measures
    A freshly migrated database (a temporary SQLite file, or `--database-url` for
    PostgreSQL: give an empty database) is seeded with bulk inserts: N calls made over
    the last 30 days, tickets, ratings and callbacks, and a few users (supervisors and
    department heads, who receive escalations). The mix, for N = 100,000:

    - 10 % `not_served` (never rated, never defaulted);
    - 50 % unrated (`hung_up` / `no_input`) and older than 7 days: each gets a default
      rating in the first sweep; 2 % unrated but recent (left alone);
    - 10,000 bad ratings with an `open` callback, about half of them past the 48 hours;
      1,000 bad ratings `called_back` with a rectification, half of them late;
    - the rest rated good or neutral.

    Then one full sweep (`workers.sweep.sweep`, exactly what `ivr sweep` and the cron
    process run) is timed as of the seeding time, and a second one, which must find
    nothing left to do (idempotence) and should be fast. Outbox jobs go to a throw-away
    redis-server (or `--redis-url`), as in production.

    With `--sms-reminders` (SMS_REMINDERS=on), the recent unrated calls hung up instead
    (2,000 for N = 100,000): the first sweep also queues one SMS reminder for each.

Run: `.venv/bin/python bench/sweep.py [--calls N] [--open-callbacks M]
[--database-url URL] [--redis-url URL] [--sms-reminders]`. Exit status 1 if the second
sweep did anything or the counts do not match the seed.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from redis import Redis
from sqlalchemy import Engine, func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the project's packages sit next to bench/

import workers.sweep  # noqa: E402
from bench.webhooks import redis_server  # noqa: E402
from storage.db import make_engine, make_session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    LEVEL_CATEGORY,
    Call,
    Callback,
    CallTicket,
    Department,
    Rating,
    User,
)
from workers.sweep import SweepReport, sweep  # noqa: E402

SEED = 4242
CHUNK = 5000
DEPARTMENTS = 20
SUPERVISORS = 3
RECTIFYING = 1000
NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)  # fixed, so that runs compare


def seed(engine: Engine, calls: int, open_callbacks: int, hung_up: bool = False) -> dict[str, int]:
    """Bulk-insert the mix described above; returns the expected counts."""
    rng = random.Random(SEED)
    users = _seed_users(engine)
    kinds = ["not_served"] * (calls // 10) + ["old_unrated"] * (calls // 2)
    kinds += ["new_unrated"] * (calls // 50) + ["open"] * open_callbacks
    kinds += ["rectifying"] * RECTIFYING
    kinds += ["good"] * (calls - len(kinds))
    rng.shuffle(kinds)
    rows: dict[type, list[dict[str, Any]]] = {Call: [], CallTicket: [], Rating: [], Callback: []}
    expected = dict.fromkeys(("default", "overdue", "rectify_overdue", "reminders", "due_soon"), 0)
    for call_id, kind in enumerate(kinds, start=1):
        late = rng.random() < 0.5  # for callbacks: past their deadline
        days = {"old_unrated": (8, 30), "new_unrated": (0, 6), "rectifying": (6, 20)}
        age = timedelta(days=rng.uniform(*days.get(kind, (0, 30))))
        if kind == "open":  # rated 1-47 hours ago, or 49-72 (overdue)
            age = timedelta(hours=rng.uniform(49, 72) if late else rng.uniform(1, 47))
        created = NOW - age
        dept = f"D-{rng.randrange(DEPARTMENTS):02d}"
        disposition = {"not_served": "not_served", "old_unrated": "hung_up"}.get(kind, "rated")
        if kind == "new_unrated":
            disposition = "hung_up" if hung_up else "no_input"
            expected["reminders"] += hung_up
        rows[Call].append(_call(call_id, created, dept, disposition))
        rows[CallTicket].append({"call_id": call_id, "ticket": f"T{call_id}", "position": 0})
        expected["default"] += kind == "old_unrated"
        if disposition != "rated":
            continue
        bad = kind in ("open", "rectifying")
        level = "dissatisfied" if bad else rng.choice(["very_satisfied", "satisfied"])
        rated_at = created + timedelta(minutes=3) if kind != "open" else created
        rows[Rating].append(_rating(call_id, level, rated_at))
        if bad:
            rows[Callback].append(_callback(call_id, dept, kind, rated_at, late))
            expected["overdue" if kind == "open" else "rectify_overdue"] += late
            due = rated_at + timedelta(hours=48)
            expected["due_soon"] += kind == "open" and NOW < due <= NOW + timedelta(hours=4)
    with engine.begin() as connection:
        for model, values in rows.items():
            for start in range(0, len(values), CHUNK):
                connection.execute(insert(model), values[start : start + CHUNK])
        if engine.dialect.name == "postgresql":  # explicit ids: move the sequences on
            for table in ("calls", "ratings", "callbacks"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    late = expected["overdue"] + expected["rectify_overdue"]
    # Escalations (the supervisors and the head), the owner told it is overdue (the head
    # is the department's only staff), and the owners of steps due within 4 hours.
    expected["notifications"] = late * (SUPERVISORS + 1) + late + expected.pop("due_soon")
    expected["users"] = users
    return expected


def _call(call_id: int, created: datetime, dept: str, disposition: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "call_sid": f"CA{call_id:032d}",
        "caller": f"+86138{call_id:08d}",
        "lang": "zh-CN",
        "agent": f"A{call_id % 300:04d}",
        "dept": dept,
        "disposition": disposition,
        "created_at": created,
        "updated_at": created,
        "ended_at": created + timedelta(minutes=5),
    }


def _rating(call_id: int, level: str, rated_at: datetime) -> dict[str, Any]:
    return {
        "id": call_id,
        "call_id": call_id,
        "level": level,
        "category": LEVEL_CATEGORY[level],
        "source": "dtmf",
        "rated_at": rated_at,
        "excluded": False,
    }


def _callback(call_id: int, dept: str, kind: str, rated_at: datetime, late: bool):
    row = {
        "call_id": call_id,
        "rating_id": call_id,
        "dept": dept,
        "state": "open" if kind == "open" else "called_back",
        "due_at": rated_at + timedelta(hours=48),
        "overdue": False,
        "created_at": rated_at,
        "updated_at": rated_at,
        "clock_start_at": rated_at,
        "failed_attempts": 0,
        "rectify_due_fallback": False,
        "rectify_overdue": False,
        "resolution": None,
        "reached_at": None,
        "rectify_due_at": None,
    }
    if kind == "rectifying":
        row |= {
            "resolution": "rectify_5d",
            "reached_at": rated_at + timedelta(hours=2),
            "rectify_due_at": NOW - timedelta(hours=5) if late else NOW + timedelta(days=2),
        }
    return row


def _seed_users(engine: Engine) -> int:
    """Supervisors and one head per department (the hash is a placeholder: no logins)."""
    names = [f"sup{n}" for n in range(SUPERVISORS)] + [f"head{n}" for n in range(DEPARTMENTS)]
    with engine.begin() as connection:
        for name in names:
            role = "supervisor" if name.startswith("sup") else "staff"
            dept = None if role == "supervisor" else f"D-{int(name[4:]):02d}"
            values = {"username": name, "password_hash": "!", "role": role, "dept": dept}
            user_id = connection.execute(
                insert(User).values(**values, created_at=NOW).returning(User.id)
            ).scalar_one()
            if dept:
                connection.execute(
                    insert(Department).values(
                        code=dept, name=dept, head_user_id=user_id, created_at=NOW
                    )
                )
    return len(names)


def timed_sweep(factory, redis: Redis) -> tuple[float, float, SweepReport]:
    """One sweep as of NOW: (total seconds, seconds spent sending jobs to Redis, report)."""
    spent = [0.0]
    real_send = workers.sweep.resend_pending

    def timed_send(*args: Any) -> int:
        started = time.perf_counter()
        try:
            return real_send(*args)
        finally:
            spent[0] += time.perf_counter() - started

    workers.sweep.resend_pending = timed_send
    try:
        started = time.perf_counter()
        report = sweep(factory, redis, NOW)
        return time.perf_counter() - started, spent[0], report
    finally:
        workers.sweep.resend_pending = real_send


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--open-callbacks", type=int, default=10_000)
    parser.add_argument("--database-url", help="an empty database (default: a temp SQLite file)")
    parser.add_argument("--redis-url", help="default: a throw-away redis-server")
    parser.add_argument("--sms-reminders", action="store_true", help="SMS_REMINDERS=on")
    args = parser.parse_args()
    if args.sms_reminders:
        os.environ |= {"SMS_REMINDERS": "on", "SURVEY_NUMBER": "+8610012345"}
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-sweep-")))
        url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
        redis_url = args.redis_url or stack.enter_context(redis_server(workdir / "redis"))
        upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        expected = seed(engine, args.calls, args.open_callbacks, args.sms_reminders)
        print(
            f"seeded {args.calls:,} calls, {args.open_callbacks:,} open callbacks "
            f"in {time.perf_counter() - started:.1f} s ({engine.dialect.name})"
        )
        factory, redis = make_session_factory(engine), Redis.from_url(redis_url)
        first_s, first_send_s, first = timed_sweep(factory, redis)
        second_s, second_send_s, second = timed_sweep(factory, redis)
        with factory() as session:
            defaults = session.scalar(select(func.count()).where(Rating.source == "default"))
        for name, total, send, report in (
            ("first sweep: ", first_s, first_send_s, first),
            ("second sweep:", second_s, second_send_s, second),
        ):
            print(
                f"{name} {total:7.2f} s (duties {total - send:.2f} s, sending jobs "
                f"{send:.2f} s)  {report}"
            )
        engine.dispose()
    ok = (
        (first.default_ratings, defaults) == (expected["default"], expected["default"])
        and first.callbacks_overdue == expected["overdue"]
        and first.rectifications_overdue == expected["rectify_overdue"]
        and first.notifications == expected["notifications"]
        and (second.default_ratings, second.callbacks_overdue, second.notifications) == (0, 0, 0)
        and second.rectifications_overdue == 0
        and (first.sms_reminders, second.sms_reminders) == (expected["reminders"], 0)
    )
    print("counts as seeded, second sweep idle" if ok else f"MISMATCH: expected {expected}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
