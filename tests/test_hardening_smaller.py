"""Issue 11, items 10 and 12: Redis with a password, the public-case number filter,
`ivr token list|revoke`, private files, a full recordings disk in /healthz."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import urllib.parse

import pytest
from click.testing import CliRunner
from redis import Redis
from redis.exceptions import AuthenticationError, ResponseError

from ivr.cli import main
from storage.access.tokens import check_token, create_token
from storage.db import transaction
from storage.records.files import file_store
from storage.reports.public_cases import contains_long_number
from tests.conftest import _free_port
from tests.console_helpers import login, make_people
from tests.helpers import redis_answers

# 10. Redis with a password --------------------------------------------------------------


def test_development_settings_give_redis_a_random_password(env):
    from ivr.devenv import ensure_dev_env

    first = ensure_dev_env(port=5998)["REDIS_URL"]
    password = urllib.parse.urlsplit(first).password
    assert password and len(password) >= 32
    assert ensure_dev_env(port=5998)["REDIS_URL"] == first  # kept, not remade


@pytest.fixture
def local_redis(project_root, tmp_path):
    """`script/local-redis` as `script/server` starts it, on a free port."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    url = f"redis://:s3cret-{port}-pass@127.0.0.1:{port}/0"
    environment = os.environ | {"REDIS_URL": url, "IVR_INSTANCE_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [str(project_root / "script" / "local-redis")],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    redis_answers(url)
    yield url, port, tmp_path
    process.terminate()
    process.wait(10)


def test_the_local_redis_refuses_anyone_without_the_password(local_redis):
    url, port, instance = local_redis
    assert Redis.from_url(url).ping()
    with pytest.raises((AuthenticationError, ResponseError), match=r"(?i)auth"):
        Redis(host="127.0.0.1", port=port).rpush("rq:queue:default", "job")
    config = instance / "redis" / "redis.conf"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # the password is in there
    assert stat.S_IMODE((instance / "redis").stat().st_mode) == 0o700


def test_the_local_redis_will_not_start_without_a_password(project_root, tmp_path):
    environment = os.environ | {
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "IVR_INSTANCE_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [str(project_root / "script" / "local-redis")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "no password" in done.stderr


def test_the_console_works_on_a_redis_with_a_password(local_redis, env, monkeypatch, sessions):
    """Sessions, the login limit and jobs all use REDIS_URL's credentials."""
    from ivr import create_app

    url, _, _ = local_redis
    monkeypatch.setenv("REDIS_URL", url)
    make_people(sessions)
    client = create_app().test_client()
    assert login(client, "li").status_code == 302
    assert client.get("/console/queue").status_code == 200
    assert login(client, "zhang", "wrong-password").status_code == 401


# 12. Smaller ones -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "来电人 138_1111_2222 反映",
        "号码 138.1111.2222",
        "一三八一一一一二二二二",
        "幺三八 幺幺幺幺 二二二二",
        "１３８１１１１２２２２",
        "138-1111-2222",
    ],
)
def test_public_cases_refuse_phone_numbers_however_written(text):
    assert contains_long_number(text)


@pytest.mark.parametrize("text", ["三天内修复路灯", "2026年11月28日办结", "工单 T-2026 已办结"])
def test_public_cases_keep_ordinary_text(text):
    assert not contains_long_number(text)


def test_tokens_are_listed_and_revoked_by_name(env, sessions):
    with transaction(sessions) as session:
        secret = create_token(session, "work-orders")
        create_token(session, "reports")
    listed = CliRunner().invoke(main, ["token", "list"])
    assert listed.exit_code == 0, listed.output
    assert "work-orders" in listed.output and "reports" in listed.output
    assert secret not in listed.output and "live" in listed.output
    revoked = CliRunner().invoke(main, ["token", "revoke", "work-orders"])
    assert revoked.exit_code == 0, revoked.output
    with transaction(sessions) as session:
        assert check_token(session, secret) is None
    assert "revoked" in CliRunner().invoke(main, ["token", "list"]).output
    again = CliRunner().invoke(main, ["token", "revoke", "work-orders"])
    assert again.exit_code != 0 and "no live token" in again.output


def test_revoked_token_is_refused_by_the_api(client, sessions):
    with transaction(sessions) as session:
        secret = create_token(session, "work-orders")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/callbacks", headers=headers).status_code == 200
    CliRunner().invoke(main, ["token", "revoke", "work-orders"])
    assert client.get("/api/v1/callbacks", headers=headers).status_code == 401


def test_sqlite_file_and_recordings_folder_are_private(client, tmp_path, monkeypatch):
    monkeypatch.setenv("RECORDINGS_DIR", str(tmp_path / "recordings"))
    old = os.umask(0o022)
    try:
        file_store().put("recordings/CA1/RE1.wav", b"RIFF")
        assert client.get("/healthz").status_code in (200, 503)  # opens the database
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "recordings").stat().st_mode) == 0o700
    database = tmp_path / "ivr.sqlite3"
    for path in (database, tmp_path / "ivr.sqlite3-wal"):
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((tmp_path / "instance").stat().st_mode) == 0o700


def test_a_full_recordings_disk_is_reported_by_healthz(client, tmp_path, monkeypatch):
    monkeypatch.setenv("RECORDINGS_DIR", str(tmp_path / "recordings"))
    free_mb = shutil.disk_usage(tmp_path).free // (1024 * 1024)
    monkeypatch.setenv("RECORDINGS_MIN_FREE_MB", str(free_mb + 1024))  # as if nearly full
    body = client.get("/healthz").get_json()
    assert body["status"] == "failing"
    assert body["checks"]["recordings"].startswith("failing: disk nearly full")
    monkeypatch.setenv("RECORDINGS_MIN_FREE_MB", "1")
    assert client.get("/healthz").get_json()["checks"]["recordings"] == "ok"


def test_setting_a_password_from_the_command_line_ends_the_users_sessions(
    app, sessions, fast_hashing
):
    make_people(sessions)
    browser = app.test_client()
    assert login(browser, "zhang").status_code == 302
    done = CliRunner().invoke(main, ["user", "set-password", "zhang"], input="fresh-pass-2026\n")
    assert done.exit_code == 0, done.output
    assert "1 session(s) ended" in done.output
    assert browser.get("/console/queue").location.endswith("/console/login")
    assert login(app.test_client(), "zhang", "fresh-pass-2026").status_code == 302
