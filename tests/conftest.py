"""Fixtures: a real Redis server, a real SQLite database, the app, and a signed 'Twilio'."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from redis import Redis
from sqlalchemy.engine import make_url

from ivr import create_app
from ivr.simulate import CallScript, Simulator
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from tests.helpers import redis_answers

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
BASE_URL = "https://ivr.example.test"


@pytest.fixture(autouse=True)
def fresh_redis_breakers(monkeypatch):
    """Each test starts with closed Redis breakers: one test's hung or killed Redis must
    not leave the next test's webhooks skipping Redis (the breaker is per process)."""
    from ivr import redis_guard

    monkeypatch.setattr(redis_guard, "_BREAKERS", {})


@pytest.fixture(autouse=True)
def fresh_timings_tally():
    """Each test starts with an empty webhook-timings tally: timings an earlier test
    kept in memory (its Redis killed or hung) must not be written into this test's
    Redis by the process's timings thread, which writes for the newest app."""
    from ivr import timings

    timings.TALLY.take()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> str:
    """A real redis-server on a free port for the whole test session."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run script/setup")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    redis_answers(url)
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture
def redis_url(redis_server) -> str:
    """The test Redis, flushed before each test."""
    Redis.from_url(redis_server).flushall()
    return redis_server


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Iterator[str]:
    """One database migrated to head per test session, which each test copies: an SQLite
    file, or a PostgreSQL template database when `IVR_TEST_POSTGRES_URL` names a server
    (e.g. `postgresql://ivr:ivr@localhost/postgres`). Copying costs milliseconds where
    migrating costs about a second."""
    server = os.environ.get("IVR_TEST_POSTGRES_URL")
    if not server:
        path = tmp_path_factory.mktemp("template") / "ivr.sqlite3"
        upgrade(f"sqlite:///{path}")
        assert not path.with_name(path.name + "-wal").exists(), "template not checkpointed"
        yield str(path)
        return
    name = f"ivr_template_{uuid.uuid4().hex[:12]}"
    _postgres_admin(server, f'CREATE DATABASE "{name}"')
    upgrade(_postgres_url(server, name))
    yield name
    _postgres_admin(server, f'DROP DATABASE "{name}" WITH (FORCE)')


def _postgres_admin(server: str, statement: str) -> None:
    """Run one statement on the server's maintenance database, outside a transaction."""
    admin = make_engine(server).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(statement)
    finally:
        admin.dispose()


def _postgres_url(server: str, name: str) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def database_url(tmp_path, migrated_template) -> Iterator[str]:
    """A fresh database at the schema's head, this test's alone: a copy of the session's
    migrated template (an SQLite file, or a new PostgreSQL database)."""
    server = os.environ.get("IVR_TEST_POSTGRES_URL")
    if not server:
        path = tmp_path / "ivr.sqlite3"
        shutil.copy2(migrated_template, path)
        yield f"sqlite:///{path}"
        return
    name = f"ivr_test_{uuid.uuid4().hex[:12]}"
    _postgres_admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    yield _postgres_url(server, name)
    _postgres_admin(server, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_only(database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite-specific behaviour")


@pytest.fixture
def env(monkeypatch, tmp_path, database_url, redis_url) -> None:
    """Environment variables as a deployment would set them."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("PUBLIC_BASE_URL", BASE_URL)
    monkeypatch.setenv("IVR_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.delenv("WORKORDER_WEBHOOK_URL", raising=False)


@pytest.fixture
def app(env):
    """The app, configured from the environment."""
    return create_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def sessions(database_url):
    """A session factory on the test database, for assertions."""
    return make_session_factory(make_engine(database_url))


def flask_transport(client):
    """Send the simulator's requests into the Flask test client."""

    def post(url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = client.post(path, data=form, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    return post


@pytest.fixture
def twilio(client) -> Simulator:
    """A fake Twilio: signs requests and follows TwiML, like the real one."""
    return Simulator(BASE_URL, AUTH_TOKEN, flask_transport(client))


@pytest.fixture
def place_call(twilio):
    """Place one simulated call: `place_call("4")`, `place_call("9,silence,2", lang=...)`."""

    def place(answers: str, **script) -> tuple[CallScript, object]:
        call = CallScript(answers=CallScript.parse_answers(answers), **script)
        return call, twilio.call(call)

    return place


@pytest.fixture(scope="session")
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def pytest_configure(config):
    os.environ.setdefault("HOTLINE_TZ", "Asia/Shanghai")


def pytest_collection_modifyitems(config, items):
    """On the PostgreSQL pass, skip the tests whose outcome no database changes (speech
    accuracy, browsers, the media stream): the SQLite pass runs them."""
    if not os.environ.get("IVR_TEST_POSTGRES_URL"):
        return
    skip = pytest.mark.skip(reason="any_database: run once, in the SQLite pass")
    for item in items:
        if item.get_closest_marker("any_database"):
            item.add_marker(skip)


def sign(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """The `X-Twilio-Signature` Twilio would send for this URL and form."""
    from twilio.request_validator import RequestValidator

    return RequestValidator(token).compute_signature(url, form)


@pytest.fixture
def post(client):
    """POST a form to `path` signed like Twilio (for the public URL), or not at all."""

    def send(path: str, form: dict[str, str], *, signed: bool = True, headers=None):
        all_headers = {"X-Twilio-Signature": sign(BASE_URL + path, form)} if signed else {}
        return client.post(path, data=form, headers=all_headers | (headers or {}))

    return send


def twiml_verbs(response) -> list[str]:
    """The verbs of a TwiML answer, checking it is well-formed TwiML served as XML."""
    import xml.etree.ElementTree as ET

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.get_data())
    assert root.tag == "Response"
    return [element.tag for element in root.iter()][1:]


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """`app` on a real, threaded HTTP server on a loopback port, for the block; its address."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture
def live_server(app):
    """The app on a real, threaded HTTP server on a loopback port; yields its address."""
    with serving(app) as address:
        yield address


CHROMIUM = "/usr/bin/chromium"  # Debian's; never `playwright install`
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture
def browser():
    """Debian's Chromium under Playwright (skipped without either)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed: apt-get install chromium fonts-noto-cjk")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@functools.cache
def _cached_password_hash(password: str) -> str:
    import storage.access.users

    return storage.access.users.generate_password_hash(password, method="scrypt")


@pytest.fixture
def fast_hashing(monkeypatch):
    """Hash each test password once per session: scrypt is slow by design."""
    import storage.access.users

    monkeypatch.setattr(storage.access.users, "hash_password", _cached_password_hash)
