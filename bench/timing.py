"""Timing every HTTP request of a benchmark, and the statistics of the timings."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

REQUEST_TIMEOUT_S = 15.0  # Twilio's own limit for a webhook answer
SLOW_MS = 1000


@dataclass(frozen=True)
class Sample:
    """One HTTP request: its path, how long it took and whether it got a 200."""

    path: str
    seconds: float
    ok: bool


class TimedClient:
    """A `Transport` for the simulator that times every request (one session per thread)."""

    def __init__(self, budget_s: float) -> None:
        self.deadline = time.monotonic() + budget_s
        self.samples: list[Sample] = []
        self.failures: dict[str, int] = {}
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def __call__(self, url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        path = urlsplit(url).path
        if time.monotonic() > self.deadline:
            self._record(path, 0.0, "over the time budget")
            return 0, ""
        start = time.perf_counter()
        try:
            response = self._session().post(
                url, data=form, headers=headers, timeout=REQUEST_TIMEOUT_S
            )
        except requests.RequestException as error:
            self._record(path, time.perf_counter() - start, type(error).__name__)
            return 0, ""
        status = response.status_code
        self._record(path, time.perf_counter() - start, None if status == 200 else f"HTTP {status}")
        return status, response.text

    def close(self) -> None:
        for session in self._sessions:
            session.close()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            with self._lock:
                self._sessions.append(session)
        return session

    def _record(self, path: str, seconds: float, failure: str | None) -> None:
        with self._lock:
            self.samples.append(Sample(path, seconds, failure is None))
            if failure:
                self.failures[failure] = self.failures.get(failure, 0) + 1


# --- statistics ----------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """Request figures of one phase."""

    requests: int
    errors: int
    elapsed_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    slow: int  # requests that took longer than SLOW_MS

    @classmethod
    def of(cls, samples: Sequence[Sample], elapsed_s: float) -> Stats:
        latencies = sorted(sample.seconds * 1000 for sample in samples)
        return cls(
            requests=len(samples),
            errors=sum(not sample.ok for sample in samples),
            elapsed_s=elapsed_s,
            p50_ms=percentile(latencies, 0.50),
            p99_ms=percentile(latencies, 0.99),
            max_ms=latencies[-1] if latencies else math.nan,
            slow=sum(latency > SLOW_MS for latency in latencies),
        )

    @classmethod
    def by_path(cls, samples: Sequence[Sample], elapsed_s: float) -> dict[str, Stats]:
        paths = sorted({sample.path for sample in samples})
        return {
            path: cls.of([sample for sample in samples if sample.path == path], elapsed_s)
            for path in paths
        }

    @property
    def per_second(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s else math.nan


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]
