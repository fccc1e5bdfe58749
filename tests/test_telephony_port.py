"""The telephony port: Twilio's words stay in its provider module."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from callflows import KeyPressed, NoInput
from ivr.telephony import PROVIDERS, provider
from ivr.telephony.twilio import TwilioTelephony
from storage.settings import Settings

pytestmark = pytest.mark.any_database

ROOT = Path(__file__).resolve().parent.parent
TWILIO_WORDS = re.compile(
    r"\"(CallSid|Digits|RecordingSid|RecordingUrl|RecordingStatus|RecordingDuration|CallStatus"
    r"|DialCallStatus|From|To|Body|hangup)\"|^\s*(from|import) twilio\b|VoiceResponse",
    re.MULTILINE,
)
OUTSIDE_THE_PROVIDER = [
    *sorted((ROOT / "ivr" / "voice").glob("*.py")),
    ROOT / "ivr" / "sms.py",
    ROOT / "ivr" / "api_surveys.py",
    *sorted((ROOT / "workers").rglob("*.py")),
    *sorted((ROOT / "storage").rglob("*.py")),
]


def test_handlers_and_workers_never_see_a_twilio_word():
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0).strip()}"
        for path in OUTSIDE_THE_PROVIDER
        for match in TWILIO_WORDS.finditer(path.read_text())
    ]
    assert found == []


def test_a_request_is_read_in_the_services_words():
    twilio = TwilioTelephony(Settings())
    form = {
        "CallSid": "CA" + "1" * 32,
        "From": "+8613800000000",
        "To": "+8612345",
        "CallStatus": "in-progress",
        "DialCallStatus": "no-answer",
        "Digits": "4",
    }
    request = twilio.read(form)
    assert (request.call_sid, request.caller, request.called) == (
        form["CallSid"],
        *["+8613800000000", "+8612345"],
    )
    assert request.agent_missed and not request.caller_gone
    assert request.event() == KeyPressed("4")
    hung_up = twilio.read(form | {"Digits": "hangup", "CallStatus": "completed"})
    assert hung_up.hung_up and hung_up.caller_gone and hung_up.event() == NoInput()
    assert twilio.read({"CallSid": "not a sid!"}).call_sid is None


def test_a_signature_is_checked_against_the_accounts_token():
    twilio = TwilioTelephony(Settings(twilio_auth_token="token"))
    url, form = "https://ivr.example.gov.cn/voice/survey?lang=zh-CN", {"CallSid": "CA1"}
    assert twilio.verify(url, form, TwilioTelephony.sign("token", url, form))
    assert not twilio.verify(url, form, TwilioTelephony.sign("other", url, form))
    assert not twilio.verify(url, form, {})


def test_the_provider_is_chosen_by_the_setting(monkeypatch):
    assert set(PROVIDERS) == {"twilio"}
    assert provider(Settings()).name == "twilio"
    monkeypatch.setitem(PROVIDERS, "echo", lambda settings: "an echo provider")
    assert provider(Settings(telephony_provider="echo")) == "an echo provider"


@pytest.mark.parametrize("reply", ["hang_up", "nothing"])
def test_fixed_answers_are_twiml(reply):
    body = getattr(TwilioTelephony(Settings()), reply)().body
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?><Response')
