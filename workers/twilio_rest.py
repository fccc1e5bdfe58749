"""Twilio's REST API through the `twilio` library: redirecting and placing calls, SMS.

`TWILIO_API_URL` replaces `https://api.twilio.com` (a local stand-in in tests or a
staging proxy); credentials are the account's (`TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`).
"""

from __future__ import annotations

import os

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

__all__ = ["NotConfigured", "TwilioException", "TwilioRestException", "refusal", "rest_client"]

REST_TIMEOUT_S = 10
# Twilio's error code for redirecting a call that is no longer in progress.
CALL_NOT_IN_PROGRESS = 21220


class NotConfigured(RuntimeError):
    """The account's credentials are missing: nothing can be asked of Twilio."""


def rest_client() -> Client:
    """A client for the account in the environment, at `TWILIO_API_URL` if set."""
    account_sid = os.environ.get("TWILIO_ACCOUNT_SID")
    auth_token = os.environ.get("TWILIO_AUTH_TOKEN")
    if not account_sid or not auth_token:
        raise NotConfigured("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set")
    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=REST_TIMEOUT_S))
    base_url = (os.environ.get("TWILIO_API_URL") or "").strip().rstrip("/")
    if base_url:
        client.api.base_url = base_url
    return client


def refusal(error: Exception) -> str:
    """What Twilio said, in one line, for logs and API answers."""
    if isinstance(error, TwilioRestException):
        code = f" (error {error.code})" if error.code else ""
        return f"Twilio answered {error.status}{code}: {error.msg}"
    return f"Twilio could not be reached: {type(error).__name__}: {error}"[:300]
