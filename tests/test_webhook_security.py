"""Only Twilio's signed requests are obeyed; refusals change nothing."""

from __future__ import annotations

import pytest

from ivr import create_app
from storage.models import Call, CallEvent, Rating
from tests.conftest import BASE_URL, sign, twiml_verbs
from tests.helpers import count

SID = "CA" + "a" * 32
PATH = "/voice/survey/input?lang=zh-CN&node=ask&reasks=0"
FORM = {"CallSid": SID, "Digits": "5", "CallStatus": "in-progress", "From": "+8613900000000"}


def _assert_nothing_written(sessions):
    assert count(sessions, Call) == 0
    assert count(sessions, Rating) == 0
    assert count(sessions, CallEvent) == 0


def test_correct_signature_is_obeyed(post, sessions):
    assert twiml_verbs(post(PATH, FORM)) == ["Play", "Hangup"]
    assert count(sessions, Rating) == 1


def test_missing_signature_is_refused(post, sessions):
    assert post(PATH, FORM, signed=False).status_code == 403
    _assert_nothing_written(sessions)


def test_tampered_form_is_refused(client, sessions):
    signature = sign(BASE_URL + PATH, FORM)
    tampered = FORM | {"Digits": "1"}
    response = client.post(PATH, data=tampered, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    _assert_nothing_written(sessions)


def test_tampered_query_is_refused(client, sessions):
    signature = sign(BASE_URL + PATH, FORM)
    response = client.post(
        PATH.replace("reasks=0", "reasks=1"), data=FORM, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403
    _assert_nothing_written(sessions)


@pytest.mark.parametrize(
    "signed_for",
    [
        "http://ivr.example.test" + PATH,  # wrong scheme
        "https://evil.example.test" + PATH,  # wrong host
        BASE_URL + "/voice/status",  # another endpoint
    ],
)
def test_signature_for_another_url_is_refused(client, sessions, signed_for):
    response = client.post(PATH, data=FORM, headers={"X-Twilio-Signature": sign(signed_for, FORM)})
    assert response.status_code == 403
    _assert_nothing_written(sessions)


def test_signature_with_another_token_is_refused(client, sessions):
    signature = sign(BASE_URL + PATH, FORM, token="someone-elses-token")
    assert (
        client.post(PATH, data=FORM, headers={"X-Twilio-Signature": signature}).status_code == 403
    )
    _assert_nothing_written(sessions)


def test_host_header_does_not_change_the_signed_url(client, sessions):
    """The URL checked is PUBLIC_BASE_URL's, whatever Host or X-Forwarded-Host says."""
    signature = sign("https://evil.example.test" + PATH, FORM)
    response = client.post(
        PATH,
        data=FORM,
        headers={
            "X-Twilio-Signature": signature,
            "Host": "evil.example.test",
            "X-Forwarded-Host": "evil.example.test",
        },
    )
    assert response.status_code == 403
    _assert_nothing_written(sessions)


@pytest.mark.parametrize("path", ["/voice/survey", "/voice/status", "/voice/survey/input"])
def test_every_webhook_checks_the_signature(post, sessions, path):
    assert post(path, FORM, signed=False).status_code == 403
    _assert_nothing_written(sessions)


def test_without_auth_token_webhooks_fail_closed(env, monkeypatch, sessions, caplog):
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    with caplog.at_level("ERROR"):
        app = create_app()
    assert "TWILIO_AUTH_TOKEN" in caplog.text, "a clear message at start-up"
    client = app.test_client()
    # Even a request "signed" with an empty token is refused.
    response = client.post(
        PATH, data=FORM, headers={"X-Twilio-Signature": sign(BASE_URL + PATH, FORM, token="")}
    )
    assert response.status_code == 403
    _assert_nothing_written(sessions)
