"""Histograms kept in Redis, so that every web and worker process adds to the same counts.

Gunicorn runs several web processes and RQ forks a process per job: counters kept in
process memory would be scattered (a scrape sees one process) or lost with the job.
Each observation is one Redis pipeline (three increments on one hash); `/metrics`
reads the hashes at scrape time. A Redis error never fails the request being timed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY = "ivr:metrics:{name}"
BUCKETS: dict[str, tuple[float, ...]] = {
    # Twilio gives a webhook 15 s; the goal is well under one.
    "webhook_seconds": (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0),
    # Vosk on one recording: about real time for reasons, under a second for ratings.
    "recognition_seconds": (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0),
}
INF = "+Inf"


def _labels(labels: dict[str, str]) -> str:
    return json.dumps(labels, sort_keys=True, ensure_ascii=False)


def labels_field(labels: dict[str, str]) -> str:
    """The hash field prefix of a label set."""
    return _labels(labels)


def bucket_of(name: str, seconds: float) -> str:
    """The bucket bound (as text) an observation of `seconds` falls in."""
    return next((str(bound) for bound in BUCKETS[name] if seconds <= bound), INF)


def add_many(
    redis: Redis, counts: dict[tuple[str, str, str], int], sums: dict[tuple[str, str], float]
) -> None:
    """Add a batch of increments in one pipeline: counts by (name, labels field, part)
    and sums by (name, labels field). Raises RedisError."""
    with redis.pipeline(transaction=False) as pipe:
        for (name, field, part), n in counts.items():
            pipe.hincrby(KEY.format(name=name), f"{field}|{part}", n)
        for (name, field), seconds in sums.items():
            pipe.hincrbyfloat(KEY.format(name=name), f"{field}|sum", seconds)
        pipe.execute()


def observe(redis: Redis, name: str, seconds: float, **labels: str) -> None:
    """Count one observation of `seconds` in histogram `name` (one of `BUCKETS`)."""
    bucket = bucket_of(name, seconds)
    field = _labels(labels)
    try:
        with redis.pipeline(transaction=False) as pipe:
            key = KEY.format(name=name)
            pipe.hincrby(key, f"{field}|{bucket}", 1)
            pipe.hincrbyfloat(key, f"{field}|sum", seconds)
            pipe.hincrby(key, f"{field}|count", 1)
            pipe.execute()
    except RedisError as error:
        log.debug("metric %s not recorded: %s", name, error)


@dataclass
class Series:
    """One label set of a histogram: cumulative bucket counts, sum and count."""

    labels: dict[str, str]
    buckets: list[tuple[str, int]]
    total: float
    count: int


def read(redis: Redis, name: str) -> list[Series]:
    """Every label set of histogram `name`, with cumulative buckets as Prometheus wants."""
    raw = redis.hgetall(KEY.format(name=name))
    by_labels: dict[str, dict[str, str]] = {}
    for field, value in raw.items():
        labels, _, part = field.decode().rpartition("|")
        by_labels.setdefault(labels, {})[part] = value.decode()
    bounds: Sequence[str] = [*(str(b) for b in BUCKETS[name]), INF]
    out = []
    for labels, parts in sorted(by_labels.items()):
        running, buckets = 0, []
        for bound in bounds:
            running += int(parts.get(bound, 0))
            buckets.append((bound, running))
        count = int(parts.get("count", running))
        out.append(Series(json.loads(labels), buckets, float(parts.get("sum", 0)), count))
    return out
