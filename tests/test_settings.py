"""One settings object: a bad variable stops a process at start, naming the variable;
no module but `storage/settings.py` reads the environment; the README's table is the code's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from storage.settings import Settings, SettingsError, load_settings, variable_names

pytestmark = pytest.mark.any_database

ROOT = Path(__file__).resolve().parent.parent
BAD_VALUES = [
    ("HOTLINE_TZ", "Mars/Base"),
    ("DEADLINE_DAYS", "lunar"),
    ("CALLBACK_MAX_ATTEMPTS", "three"),
    ("CALLBACK_MAX_ATTEMPTS", "0"),
    ("RECORDING_RETENTION_DAYS", "thirty"),
    ("TRUSTED_PROXIES", "11"),
    ("REDIS_URL", "localhost:6379"),
    ("DATABASE_URL", "mysql://db/ivr"),
    ("PUBLIC_BASE_URL", "ivr.example.gov.cn"),
    ("CALLBACK_ATTEMPT_GAP_HOURS", "soon"),
    ("CONTACT_WORKING_DAYS", "0"),
    ("NOTIFY_WEBHOOK_FORMAT", "slack"),
    ("NOTIFY_MAX_ATTEMPTS", "-1"),
    ("TELEPHONY_PROVIDER", "asterisk"),
    ("LOG_LEVEL", "LOUD"),
    ("RECORDING_HOSTS", "user@api.twilio.com"),
    ("PORT", "http"),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_a_bad_value_is_refused_naming_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


@pytest.mark.parametrize("prefix", ["WORKORDER_WEBHOOK", "MANAGEMENT_WEBHOOK", "NOTIFY_WEBHOOK"])
def test_a_webhook_url_without_its_secret_is_refused(prefix):
    with pytest.raises(SettingsError, match=f"{prefix}_SECRET must be set with {prefix}_URL"):
        Settings.from_env({f"{prefix}_URL": "https://workorders.example.gov.cn/hook"})


def test_defaults_need_no_variable(tmp_path):
    settings = Settings.from_env({"IVR_INSTANCE_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'ivr.sqlite3'}"
    assert str(settings.hotline_tz) == "Asia/Shanghai"
    assert (settings.deadline_days, settings.callback_max_attempts) == ("natural", 3)
    assert settings.recording_hosts == {("api.twilio.com", None)}
    assert settings.telephony_provider == "twilio" and not settings.webhooks_ready


def test_the_web_process_stops_at_start(env, monkeypatch):
    from ivr import create_app

    monkeypatch.setenv("HOTLINE_TZ", "Mars/Base")
    with pytest.raises(SettingsError, match="HOTLINE_TZ is not a time zone"):
        create_app()


@pytest.mark.parametrize("command", [["sweep"], ["worker"], ["cron"]])
def test_worker_cron_and_cli_stop_at_start_with_a_clear_message(project_root, tmp_path, command):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "IVR_INSTANCE_DIR": str(tmp_path)}
    done = subprocess.run(
        [str(project_root / ".venv" / "bin" / "ivr"), *command],
        env=env | {"DEADLINE_DAYS": "lunar"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "configuration error: DEADLINE_DAYS must be one of 'natural', 'working'" in done.stderr


def test_a_bad_setting_set_later_is_seen_at_the_next_start(monkeypatch):
    monkeypatch.setenv("CALLBACK_MAX_ATTEMPTS", "many")
    with pytest.raises(SettingsError, match="CALLBACK_MAX_ATTEMPTS"):
        load_settings()


def test_no_module_reads_the_environment_but_the_settings():
    readers = []
    for folder in ("ivr", "storage", "workers", "callflows", "prompts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "storage" / "settings.py":
                continue
            text = path.read_text()
            if re.search(r"os\.environ|os\.getenv|getenv\(", text):
                readers.append(str(path.relative_to(ROOT)))
    assert readers == []


def test_the_readme_table_lists_exactly_the_settings():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_column = line.split("|")[1]
            documented |= set(re.findall(r"`([A-Z_<>]+)`", first_column))
    assert documented == set(variable_names()) | {"VOSK_MODEL_<LANG>"}


def test_the_web_process_does_not_load_the_speech_recogniser(env):
    """Vosk is the workers' business: the web process only reads the packs."""
    code = (
        "import sys; from ivr import create_app; app = create_app(); "
        "app.test_client().get('/healthz'); "
        "from ivr.voice.common import can_speak; can_speak('ko-KR'); can_speak('zh-CN'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('vosk', 'pydub')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
