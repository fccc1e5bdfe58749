"""Is a media process up and has it room? Its heartbeat in Redis says so.

Each media process writes, every `HEARTBEAT_EVERY_S`, its open streams and capacity
into one Redis hash. The web offers a stream only when `MEDIA_STREAM_URL` is set and
some process beat recently with room to spare; otherwise the question is asked the
record-and-poll way. `/healthz` reads the same hash.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from redis import Redis

from storage.settings import settings

HEARTBEAT_KEY = "ivr:media:processes"
HEARTBEAT_EVERY_S = 1.0
STALE_AFTER_S = 10.0  # a busy process beats late; a dead one is also caught by the action


@dataclass(frozen=True)
class MediaProcess:
    """One media process as its last heartbeat described it."""

    name: str
    streams: int
    capacity: int
    at: float

    def fresh(self, now: float) -> bool:
        return now - self.at < STALE_AFTER_S

    def has_room(self) -> bool:
        return self.streams < self.capacity


def stream_url() -> str | None:
    """`MEDIA_STREAM_URL` (the `wss://` address Twilio opens), or None: streams off."""
    return settings().media_stream_url


def beat(redis: Redis, name: str, streams: int, capacity: int) -> None:
    """Say that this media process is up, with `streams` open of `capacity`."""
    value = json.dumps({"streams": streams, "capacity": capacity, "at": time.time()})
    redis.hset(HEARTBEAT_KEY, name, value)


def leave(redis: Redis, name: str) -> None:
    """This media process stops: forget it at once."""
    redis.hdel(HEARTBEAT_KEY, name)


def processes(redis: Redis) -> list[MediaProcess]:
    """Every media process that ever beat (fresh or not)."""
    found = []
    for name, raw in redis.hgetall(HEARTBEAT_KEY).items():
        try:
            data = json.loads(raw)
            found.append(
                MediaProcess(
                    name.decode() if isinstance(name, bytes) else str(name),
                    int(data["streams"]),
                    int(data["capacity"]),
                    float(data["at"]),
                )
            )
        except (ValueError, KeyError, TypeError):
            continue
    return found


def has_room(redis: Redis) -> bool:
    """A media process beat recently and has room for one more stream."""
    now = time.time()
    return any(p.fresh(now) and p.has_room() for p in processes(redis))


def health(redis: Redis) -> str:
    """`ok`, or why not, for `/healthz`."""
    now = time.time()
    fresh = [p for p in processes(redis) if p.fresh(now)]
    if not fresh:
        return "failing: no media process heartbeat"
    if not any(p.has_room() for p in fresh):
        return "failing: every media process is full"
    return "ok"
