"""Services the fault tests break on purpose: a Redis of their own, a work-order receiver."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import _free_port
from tests.helpers import redis_answers
from tests.http_fakes import QuietHandler, serve


class RedisProcess:
    """A redis-server of one test, with its data on disk (AOF, fsync always), as in
    production: it can be frozen, killed, restarted on the same port, or flushed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed: run script/setup"
        self.process = subprocess.Popen(
            [
                binary,
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)),
                *("--save", "", "--appendonly", "yes", "--appendfsync", "always"),
                *("--maxmemory-policy", "noeviction"),
            ],
            stdout=subprocess.DEVNULL,
        )
        if not redis_answers(self.url, tries=200):
            raise RuntimeError("redis-server did not start")

    def freeze(self) -> None:
        """SIGSTOP: connections are accepted but nothing is answered (a hung server)."""
        self.process.send_signal(signal.SIGSTOP)

    def kill(self) -> None:
        """SIGKILL (also from frozen): the port refuses connections until `start`."""
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of the test's own, to stop, freeze and kill (import it as a fixture)."""
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


def _subject(body: dict) -> str:
    """What a push is about: the call's id, or the notification's."""
    if "call" in body:
        return body["call"]["call_sid"]
    return f"notification:{body['notification']['id']}"


class WorkOrderReceiver:
    """A local HTTP endpoint standing in for the work-order system: counts pushes per call."""

    def __init__(self) -> None:
        self.pushes: Counter[str] = Counter()
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self):
                receiver.pushes[_subject(json.loads(self.form_body()))] += 1
                self.answer(204)

        self.server = serve(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
