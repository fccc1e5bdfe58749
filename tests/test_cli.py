"""The `ivr` command: the flow diagram, the development settings and `ivr simulate`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ivr.cli import main
from tests.conftest import AUTH_TOKEN, BASE_URL
from tests.helpers import stored_call


def test_flow_diagram_prints_mermaid(env):
    result = CliRunner().invoke(main, ["flow", "diagram"])
    assert result.exit_code == 0
    assert result.output.startswith("stateDiagram-v2")
    assert "ask --> rated_bad: key 4 / rate dissatisfied" in result.output


def test_simulate_rates_a_call_on_a_running_service(live_server, sessions):
    result = CliRunner().invoke(
        main,
        [
            "simulate",
            "--keys",
            "9,4",
            "--url",
            BASE_URL,
            "--connect",
            live_server,
            "--call-sid",
            "CA" + "d" * 32,
        ],
        env={"TWILIO_AUTH_TOKEN": AUTH_TOKEN},
    )
    assert result.exit_code == 0, result.output
    assert "ask_rating: 您好，请对本次服务进行评价" in result.output
    assert "the caller presses '9'" in result.output
    assert "invalid_key" in result.output
    assert "thanks_bad" in result.output
    call = stored_call(sessions, "CA" + "d" * 32)
    assert call.rating.level == "dissatisfied"
    assert call.callback.state == "open"


def test_simulate_with_a_wrong_token_shows_the_refusal(live_server):
    result = CliRunner().invoke(
        main,
        ["simulate", "--keys", "1", "--url", BASE_URL, "--connect", live_server],
        env={"TWILIO_AUTH_TOKEN": "not-the-token"},
    )
    assert result.exit_code == 1
    assert "HTTP 403" in result.output


def test_simulate_uses_the_development_settings(env, monkeypatch, live_server, sessions):
    """What `script/server` makes is what `ivr simulate` uses when nothing is set."""
    from ivr.devenv import ensure_dev_env, read_dev_env

    values = ensure_dev_env(port=5999)
    assert values["PUBLIC_BASE_URL"] == "http://127.0.0.1:5999"
    assert ensure_dev_env(port=5999) == read_dev_env() == values, "kept, not remade"
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    monkeypatch.delenv("PUBLIC_BASE_URL")
    result = CliRunner().invoke(main, ["simulate", "--keys", "1", "--connect", live_server])
    # The live server checks signatures against the test settings, not the development
    # ones, so it refuses: proof that the development token was what signed the request.
    assert "HTTP 403" in result.output


@pytest.mark.parametrize("missing", ["TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL"])
def test_simulate_without_settings_says_what_to_do(env, monkeypatch, missing):
    monkeypatch.delenv(missing)
    result = CliRunner().invoke(main, ["simulate"])
    assert result.exit_code != 0
    assert "script/server" in result.output
