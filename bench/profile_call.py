"""Profile keypad calls end to end inside one process: where a webhook's time goes.

Places `--calls` keypad calls (press 4: a rating, a callback, a work-order job) through
the Flask test client, signed like Twilio, on a fresh SQLite file and a private Redis,
and prints per call: HTTP requests, SQL statements (by kind), Redis round trips, log
records, then cProfile's top functions by own and cumulative time.

Run: `.venv/bin/python bench/profile_call.py [--calls N] [--top N]`.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import sys
import tempfile
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from services import AUTH_TOKEN, redis_server  # noqa: E402

BASE_URL = "http://127.0.0.1:5999"


class Counting(logging.Handler):
    """Counts log records (they are formatted and written in production)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--in-turn", action="store_true", help="profile only while SQLite's writer turn is held"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ivr-profile-"))
    with redis_server(workdir / "redis") as redis_url:
        os.environ.update(
            DATABASE_URL=f"sqlite:///{workdir / 'ivr.sqlite3'}",
            REDIS_URL=redis_url,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            PUBLIC_BASE_URL=BASE_URL,
            IVR_INSTANCE_DIR=str(workdir / "instance"),
            LOG_LEVEL="INFO",
        )
        return profile(args.calls, args.top, args.in_turn)


def profile(calls: int, top: int, in_turn: bool = False) -> int:
    import redis.connection
    from sqlalchemy import event

    from ivr import create_app
    from ivr.simulate import CallScript, Simulator
    from storage.migrate import upgrade

    upgrade(os.environ["DATABASE_URL"])
    app = create_app()
    logging.getLogger().setLevel(logging.INFO)
    counting = Counting()
    logging.getLogger().addHandler(counting)
    statements: Counter[str] = Counter()
    engine = app.extensions["ivr.sessions"].kw["bind"]
    event.listen(
        engine,
        "before_cursor_execute",
        lambda _c, _cur, sql, *_: statements.update([sql.split(None, 1)[0].upper()]),
    )
    round_trips = Counter()
    send = redis.connection.AbstractConnection.send_packed_command

    def counted_send(self, command, check_health=True):
        round_trips["redis"] += 1
        return send(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = counted_send
    client = app.test_client()

    def post(url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = client.post(path, data=form, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    simulator = Simulator(BASE_URL, AUTH_TOKEN, post)
    simulator.call(CallScript(answers=["4"]))  # warm up: flows, packs, prompt files
    statements.clear()
    round_trips.clear()
    counting.records = 0
    requests = 0
    profiler = cProfile.Profile()
    if in_turn:
        profile_turns(profiler)
    else:
        profiler.enable()
    for _ in range(calls):
        requests += len(simulator.call(CallScript(answers=["4"])).statuses)
    profiler.disable()
    per_call = {kind: count / calls for kind, count in sorted(statements.items())}
    print(f"{calls} keypad calls (key 4), {requests / calls:.1f} requests per call")
    print(f"SQL statements per call: {sum(statements.values()) / calls:.1f} {per_call}")
    print(f"Redis round trips per call: {round_trips['redis'] / calls:.1f}")
    print(f"log records per call: {counting.records / calls:.1f}")
    stats = pstats.Stats(profiler).strip_dirs()
    total = stats.total_tt  # type: ignore[attr-defined]
    what = "inside the writer turn" if in_turn else "the test client included"
    print(f"CPU per call: {1000 * total / calls:.2f} ms (profiled; {what})")
    print(f"Python function calls per call: {stats.total_calls / calls:.0f} (load-independent)")  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return 0


def profile_turns(profiler: cProfile.Profile) -> None:
    """Enable `profiler` only while a transaction holds SQLite's writer turn."""
    from contextlib import contextmanager

    from storage.db import WriterTurn

    original = WriterTurn.__call__

    @contextmanager
    def profiled(self):
        with original(self):
            profiler.enable()
            try:
                yield
            finally:
                profiler.disable()

    WriterTurn.__call__ = profiled


if __name__ == "__main__":
    sys.exit(main())
