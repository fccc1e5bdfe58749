"""A gunicorn config for `bench/webhooks.py --probe`: how long SQLite's writer turn is held.

Loaded with `gunicorn -c bench/turn_probe.py …` into the service's workers. Each worker
times every transaction's writer turn (`storage.db.WriterTurn`, taken before `BEGIN
IMMEDIATE` and released after `COMMIT`): the wait for it, the wall time it is held, and
the CPU time its own thread used while holding it (`time.thread_time`). Held wall time
much above that CPU time means the holder was waiting for its process's GIL or for a
core while every other writer waited for it. Every request is timed the same way
(wall, own CPU). On exit each worker writes its figures to
`$IVR_BENCH_PROBE_DIR/turns-<pid>.json`; `summarize` reads them back.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROBE_DIR = "IVR_BENCH_PROBE_DIR"
_figures: dict[str, list[float]] = {
    "turn_wait": [],
    "turn_held": [],
    "turn_cpu": [],
    "request_wall": [],
    "request_cpu": [],
}
_lock = threading.Lock()


def _record(**values: float) -> None:
    with _lock:
        for name, value in values.items():
            _figures[name].append(value)


def _timed_turn(original):
    @contextmanager
    def turn(self) -> Iterator[None]:
        asked = time.perf_counter()
        with original(self):
            got, cpu = time.perf_counter(), time.thread_time()
            try:
                yield
            finally:
                held, used = time.perf_counter() - got, time.thread_time() - cpu
                _record(turn_wait=got - asked, turn_held=held, turn_cpu=used)

    return turn


def _timed_app(app):
    def timed(environ, start_response):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return app(environ, start_response)
        finally:
            elapsed = time.perf_counter() - wall
            _record(request_wall=elapsed, request_cpu=time.thread_time() - cpu)

    return timed


def post_worker_init(worker) -> None:
    from storage.db import WriterTurn

    WriterTurn.__call__ = _timed_turn(WriterTurn.__call__)
    worker.wsgi = _timed_app(worker.wsgi)


def worker_exit(server, worker) -> None:
    folder = os.environ.get(PROBE_DIR)
    if folder:
        with _lock:
            text = json.dumps(_figures)
        (Path(folder) / f"turns-{os.getpid()}.json").write_text(text)


def _mean_ms(values: list[float]) -> float:
    return 1000 * sum(values) / len(values) if values else float("nan")


def _pct_ms(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summarize(folder: Path, elapsed_s: float) -> list[str]:
    """Lines for the report: the turn's and the requests' figures over all workers."""
    merged: dict[str, list[float]] = {name: [] for name in _figures}
    files = sorted(folder.glob("turns-*.json"))
    for path in files:
        for name, values in json.loads(path.read_text()).items():
            merged[name] += values
    held, cpu, wait = merged["turn_held"], merged["turn_cpu"], merged["turn_wait"]
    wall, own = merged["request_wall"], merged["request_cpu"]
    return [
        f"probe ({len(files)} workers): {len(held)} transactions, writer turn held"
        f" {100 * sum(held) / elapsed_s:.0f} % of the phase;"
        f" held per transaction mean {_mean_ms(held):.1f} ms, p50 {_pct_ms(held, 0.5):.1f},"
        f" p90 {_pct_ms(held, 0.9):.1f};"
        f" holder's own CPU mean {_mean_ms(cpu):.1f} ms ({_share(cpu, held)} of the hold);"
        f" wait for the turn mean {_mean_ms(wait):.1f} ms, p90 {_pct_ms(wait, 0.9):.1f}",
        f"probe: {len(wall)} requests, wall mean {_mean_ms(wall):.1f} ms,"
        f" own CPU mean {_mean_ms(own):.1f} ms ({_share(own, wall)} of the wall);"
        f" workers' CPU {sum(own) / elapsed_s:.2f} cores over the phase",
    ]


def _share(part: list[float], whole: list[float]) -> str:
    return f"{100 * sum(part) / sum(whole):.0f} %" if sum(whole) else "-"
