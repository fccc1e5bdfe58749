"""Synthetic calls for benchmarks, tests and demonstrations: many, fast, reproducible.

`seed_calls` writes calls with ratings (key, speech, the 7-day default) and the
callbacks of bad ratings in every state, with core bulk inserts (about 40,000 calls a
second on SQLite). The same `seed` gives the same rows.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from callflows.vocabulary import LEVELS
from storage.access.privacy import phone_tail
from storage.access.users import create_department
from storage.db import transaction
from storage.models import (
    CALLBACK_CALLED_BACK,
    CALLBACK_CLOSED,
    CALLBACK_NOT_ADOPTED,
    CALLBACK_OPEN,
    CALLBACK_UNREACHABLE,
    DISPOSITION_HUNG_UP,
    DISPOSITION_RATED,
    LEVEL_CATEGORY,
    Call,
    Callback,
    Rating,
)
from storage.records.calls import CALLBACK_DUE_AFTER

# The seeded departments D00, D01 … by name, as a 12345 centre would have them.
DEPARTMENT_NAMES = (
    "住房保障局",
    "交通运输局",
    "水务局",
    "市场监管局",
    "人社局",
    "教育局",
    "卫健委",
    "城管局",
)
LEVEL_WEIGHTS = (45, 25, 12, 10, 8)
BATCH = 5000


@dataclass(frozen=True)
class SeedPlan:
    """How many calls, over which days, in how many departments and agents."""

    calls: int
    start: datetime  # aware
    days: int
    departments: int = 12
    agents_per_department: int = 8
    seed: int = 1


def _callback(rng: random.Random, call_id: int, rated_at: datetime, dept: str) -> dict:
    """A bad rating's callback in a plausible random state."""
    due = rated_at + CALLBACK_DUE_AFTER
    row = {
        "call_id": call_id,
        "rating_id": call_id,
        "dept": dept,
        "state": CALLBACK_OPEN,
        "due_at": due,
        "overdue": False,
        "resolution": None,
        "rectify_due_at": None,
        "created_at": rated_at,
        "updated_at": rated_at,
        "failed_attempts": 0,
        "rectify_due_fallback": False,
        "rectify_overdue": False,
        "reached_at": None,
        "closed_at": None,
    }
    fate = rng.random()
    if fate < 0.08:
        row["overdue"] = rng.random() < 0.5
        return row
    if fate < 0.13:
        row.update(state=CALLBACK_UNREACHABLE, overdue=True, failed_attempts=3)
        return row
    reached = rated_at + timedelta(hours=rng.choice((2, 20, 40, 60)))
    row.update(reached_at=reached, overdue=reached > due, state=CALLBACK_CALLED_BACK)
    if fate < 0.18:
        row.update(state=CALLBACK_NOT_ADOPTED, resolution="malicious", closed_at=reached)
        return row
    resolution = rng.choice(("on_the_spot", "rectify_5d", "rectify_15d", "explained"))
    row["resolution"] = resolution
    if resolution.startswith("rectify"):
        days = 5 if resolution == "rectify_5d" else 15
        row["rectify_due_at"] = reached + timedelta(days=days)
        if rng.random() < 0.8:
            late = rng.random() < 0.15
            row["closed_at"] = reached + timedelta(days=days + 2 if late else days - 1)
            row.update(state=CALLBACK_CLOSED, rectify_overdue=late)
    else:
        row.update(state=CALLBACK_CLOSED, closed_at=reached)
    return row


def _rows(plan: SeedPlan, rng: random.Random, first_id: int, count: int):
    """Rows for calls `first_id`… (and their ratings and callbacks)."""
    calls, ratings, callbacks = [], [], []
    span = plan.days * 86400
    for call_id in range(first_id, first_id + count):
        dept_no = rng.randrange(plan.departments)
        dept = f"D{dept_no:02d}"
        agent = f"A{dept_no:02d}{rng.randrange(plan.agents_per_department):02d}"
        created = plan.start + timedelta(seconds=rng.randrange(span))
        caller = None if rng.random() < 0.1 else f"+86138{rng.randrange(10**8):08d}"
        rated = rng.random() < 0.92
        calls.append(
            {
                "id": call_id,
                "call_sid": f"CA{plan.seed:04d}{call_id:012d}",
                "caller": caller,
                "caller_tail": phone_tail(caller),
                "lang": "zh-CN",
                "agent": agent,
                "dept": dept,
                "disposition": DISPOSITION_RATED if rated else DISPOSITION_HUNG_UP,
                "created_at": created,
                "updated_at": created,
                "ended_at": created + timedelta(minutes=1),
            }
        )
        if not rated:
            continue
        source = rng.choices(("dtmf", "speech", "default"), (60, 20, 20))[0]
        level = rng.choices(LEVELS, LEVEL_WEIGHTS)[0]
        if source == "default":
            level = "basically_satisfied"
        rated_at = created + (timedelta(days=7) if source == "default" else timedelta(minutes=1))
        rating = {
            "id": call_id,
            "call_id": call_id,
            "level": level,
            "category": LEVEL_CATEGORY[level],
            "source": source,
            "rated_at": rated_at,
            "excluded": False,
        }
        ratings.append(rating)
        if rating["category"] == "bad":
            callback = _callback(rng, call_id, rated_at, dept)
            rating["excluded"] = callback["state"] == CALLBACK_NOT_ADOPTED
            callbacks.append(callback)
    return calls, ratings, callbacks


def name_departments(session: Session, names: Sequence[str] = DEPARTMENT_NAMES) -> None:
    """Create the departments the seeded calls name (D00, D01 …) with these names."""
    for n, name in enumerate(names):
        create_department(session, f"D{n:02d}", name)


def seed_calls(factory: sessionmaker[Session], plan: SeedPlan) -> int:
    """Write `plan.calls` calls after the highest existing id; return the first new id."""
    rng = random.Random(plan.seed)
    with factory() as session:
        first = (session.scalar(select(func.max(Call.id))) or 0) + 1
    for offset in range(0, plan.calls, BATCH):
        size = min(BATCH, plan.calls - offset)
        calls, ratings, callbacks = _rows(plan, rng, first + offset, size)
        with transaction(factory) as session:
            session.execute(insert(Call), calls)
            if ratings:
                session.execute(insert(Rating), ratings)
            if callbacks:
                session.execute(insert(Callback), callbacks)
    _advance_sequences(factory, (Call, Rating, Callback))
    return first


def _advance_sequences(factory: sessionmaker[Session], models: tuple[type, ...]) -> None:
    """PostgreSQL: move the id sequences past the explicit ids written above."""
    with transaction(factory) as session:
        if session.get_bind().dialect.name != "postgresql":
            return
        for model in models:
            table = model.__tablename__
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            )
