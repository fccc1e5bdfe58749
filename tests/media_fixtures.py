"""Fixtures of the media-stream tests: the real `ivr media` process and spoken Korean.

The media process is started as the Procfile starts it (`.venv/bin/ivr media`), on a
free loopback port, with the test's database, Redis and recordings folder; the app
is told its `ws://` address in `MEDIA_STREAM_URL` (TLS is terminated in front of it
in production).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis import Redis

from workers.media import availability

ROOT = Path(__file__).resolve().parent.parent
KO = "ko-KR"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MediaProcess:
    """A running `ivr media` process."""

    def __init__(self, port: int, capacity: int, log_path: Path) -> None:
        self.port, self.capacity, self.log_path = port, capacity, log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, redis_url: str, timeout: float = 90) -> None:
        ivr = Path(sys.executable).with_name("ivr")
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                str(ivr),
                "media",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--capacity",
                str(self.capacity),
                "--threads",
                "2",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
        redis = Redis.from_url(redis_url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ivr media exited: {self.log_path.read_text()[-2000:]}")
            mine = [p for p in availability.processes(redis) if p.name.endswith(f":{self.port}")]
            if mine and mine[0].fresh(time.time()):
                return
            time.sleep(0.2)
        raise RuntimeError(f"ivr media did not start: {self.log_path.read_text()[-2000:]}")

    def kill(self) -> None:
        """Kill it as a crash would (no goodbye in Redis)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "log", None):
            self.log.close()


@pytest.fixture
def media_env(env, monkeypatch, tmp_path):
    """The environment of the app and the media process, with live speech on."""
    port = _free_port()
    monkeypatch.setenv("MEDIA_STREAM_URL", f"ws://127.0.0.1:{port}")
    monkeypatch.setenv("RECORDINGS_DIR", str(tmp_path / "recordings"))
    return MediaProcess(
        port, int(os.environ.get("TEST_MEDIA_CAPACITY", "20")), tmp_path / "media.log"
    )


@pytest.fixture
def media_process(media_env, redis_url):
    """`ivr media` running for the test."""
    media_env.start(redis_url)
    yield media_env
    media_env.stop()


@pytest.fixture(scope="session")
def spoken(tmp_path_factory):
    """`spoken("좋아요")` → a telephone-quality WAV of it (8 kHz mono), with silence around."""
    folder = tmp_path_factory.mktemp("spoken-stream")
    cache: dict[str, Path] = {}

    def speak(text: str) -> Path:
        if text not in cache:
            raw = folder / f"raw{len(cache)}.wav"
            out = folder / f"say{len(cache)}.wav"
            subprocess.run(["espeak-ng", "-v", "ko", "-s", "140", "-w", str(raw), text], check=True)
            subprocess.run(
                [
                    "sox",
                    str(raw),
                    "-r",
                    "8000",
                    "-c",
                    "1",
                    "-b",
                    "16",
                    str(out),
                    "sinc",
                    "300-3400",
                    "pad",
                    "0.2",
                    "0",
                ],
                check=True,
            )
            cache[text] = out
        return cache[text]

    return speak
