"""Processes the benchmarks start and stop: a private Redis, gunicorn as in the Procfile."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests
from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
STARTUP_TIMEOUT_S = 120.0  # a busy shared machine takes tens of seconds to import
STOP_TIMEOUT_S = 10.0
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
PROBE_PATH = "/prompts/zh-CN/thanks.wav"  # any answer means the server is up


def wait_for_log(log: Path, text: str, timeout_s: float = 120) -> None:
    """Until the process writing `log` has said `text` (e.g. its model is loaded)."""
    deadline = time.monotonic() + timeout_s
    while text not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{log.name} never said {text!r}")
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate a process we started; kill it if it does not stop in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT_S)


@contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """A throw-away redis-server on a free loopback port (as in tests/conftest.py)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run script/setup")
    port = free_port()
    workdir.mkdir()
    command = [binary, "--port", str(port), "--bind", LOOPBACK, "--save", ""]
    command += ["--appendonly", "no", "--dir", str(workdir)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        url = f"redis://{LOOPBACK}:{port}/0"
        _wait_for_redis(url, process)
        yield url
    finally:
        stop(process)


def _wait_for_redis(url: str, process: subprocess.Popen[bytes]) -> None:
    client = Redis.from_url(url, socket_timeout=1)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            client.ping()
            return
        except Exception:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server did not answer on {url}")


def procfile_web_command(port: int, workers: int | None, threads: int | None) -> list[str]:
    """The Procfile's `web` command for this run: our port, loopback only, venv gunicorn."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    line = next((item for item in lines if item.startswith("web:")), None)
    if line is None:
        raise RuntimeError("Procfile has no web: line")
    values = {"PORT": str(port), "WEB_CONCURRENCY": workers, "WEB_THREADS": threads}

    def expand(match: re.Match[str]) -> str:
        value = values.get(match[1])
        return str(value) if value is not None else (match[2] or "")

    argv = shlex.split(re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", expand, line.removeprefix("web:")))
    if argv[0] != "gunicorn" or argv[-1].startswith("-"):
        raise RuntimeError(f"expected `web: gunicorn [flags] APP` in the Procfile: {line}")
    argv[0] = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    return _bind_loopback(argv, port)


def _bind_loopback(argv: list[str], port: int) -> list[str]:
    address = f"{LOOPBACK}:{port}"
    for index, arg in enumerate(argv):
        if arg in ("-b", "--bind"):
            argv[index + 1] = address
            return argv
        if arg.startswith("--bind="):
            argv[index] = f"--bind={address}"
            return argv
    return [argv[0], "--bind", address, *argv[1:]]


def flag(argv: Sequence[str], name: str) -> str:
    """The value of `name` in a gunicorn command line (for the report)."""
    return argv[argv.index(name) + 1] if name in argv else "?"


@contextmanager
def gunicorn(argv: list[str], port: int, env: dict[str, str], logs: Path) -> Iterator[str]:
    """Run gunicorn from the project root; stdout (access log) and stderr go to `logs`."""
    with (
        (logs.with_suffix(".access.log")).open("wb") as stdout,
        (logs.with_suffix(".stderr.log")).open("wb") as stderr,
    ):
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
        try:
            base_url = f"http://{LOOPBACK}:{port}"
            _wait_for_http(base_url + PROBE_PATH, process, logs.with_suffix(".stderr.log"))
            yield base_url
        finally:
            stop(process)


def _wait_for_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            requests.get(url, timeout=2)  # any HTTP answer, 404 included, means it is up
            return
        except requests.RequestException:
            time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"gunicorn did not answer at {url}; its log ends with:\n{tail}")


def service_env(workdir: Path, database_url: str, redis_url: str, port: int) -> dict[str, str]:
    """The environment a deployment would set, pointing at this run's throw-away stores."""
    env = dict(os.environ)
    env.pop("WORKORDER_WEBHOOK_URL", None)  # never call out of the machine
    env |= {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PUBLIC_BASE_URL": f"http://{LOOPBACK}:{port}",
        "IVR_INSTANCE_DIR": str(workdir / "instance"),
    }
    return env
