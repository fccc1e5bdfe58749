"""Twilio behind the telephony port: signed form posts in, TwiML out, its REST API for workers.

The only module that knows Twilio's field names (`CallSid`, `Digits`, `RecordingUrl` …),
its sentinels (`Digits=hangup`), TwiML and its REST client. `TWILIO_API_URL` replaces
`https://api.twilio.com` (a staging proxy, or the tests' fake).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from callflows import Step
from ivr.telephony import (
    CallRequest,
    NotConfigured,
    ProviderRefused,
    RecordingReport,
    Reply,
    StepUrls,
)
from storage.settings import Settings

REST_TIMEOUT_S = 10
# Twilio's error code for redirecting a call that is no longer in progress.
CALL_NOT_IN_PROGRESS = 21220
SID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_URL = 2000
# DialCallStatus values meaning no agent was reached: there is no service to rate.
AGENT_MISSED = {"no-answer", "busy", "failed", "canceled"}
# CallStatus values meaning the caller is no longer on the line.
CALLER_GONE = {"completed", "canceled", "busy", "failed", "no-answer"}
# ... and of those, the ones of a call never answered at all.
NEVER_ANSWERED = {"canceled", "busy", "failed", "no-answer"}
HUNG_UP_DIGITS = "hangup"  # what `<Gather>`/`<Record>` report when the caller hung up
SIGNATURE_HEADER = "X-Twilio-Signature"


def _field(form: dict[str, str], name: str, limit: int) -> str | None:
    value = (form.get(name) or "").strip()
    return value[:limit] or None


def _sid(form: dict[str, str], name: str) -> str | None:
    value = form.get(name, "")
    return value if SID_PATTERN.fullmatch(value) else None


def _duration(form: dict[str, str]) -> float | None:
    raw = _field(form, "RecordingDuration", 16)
    try:
        return max(0.0, float(raw)) if raw else None
    except ValueError:
        return None


def _recording(form: dict[str, str]) -> RecordingReport | None:
    recording_sid = _sid(form, "RecordingSid")
    url = (form.get("RecordingUrl") or "").strip()
    usable = url.startswith(("http://", "https://")) and len(url) <= MAX_URL
    if recording_sid is None and not url:
        return None
    return RecordingReport(
        sid=recording_sid,
        url=url if usable else None,
        duration_seconds=_duration(form),
        status=_field(form, "RecordingStatus", 16),
    )


class TwilioTelephony:
    """Twilio: webhooks signed with the account's token, TwiML answers, REST for workers."""

    name = "twilio"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # -- web side --
    def verify(self, url: str, form: dict[str, str], headers: dict[str, str]) -> bool:
        """Twilio's signature of `url` and `form`. The validator tries the URL with and
        without its port (two HMACs, and parsing the query) for every request: the URL
        as we give it, which is one of those two, is tried first, alone."""
        from twilio.request_validator import RequestValidator, compare

        signature = headers.get(SIGNATURE_HEADER, "")
        token = self.settings.twilio_auth_token
        if not (signature and token):
            return False
        validator = RequestValidator(token)
        as_given = urlparse(url).geturl() == url and "bodySHA256=" not in url
        if as_given and compare(validator.compute_signature(url, form), signature):
            return True
        return validator.validate(url, form, signature)

    def read(self, form: dict[str, str]) -> CallRequest:
        call_status = _field(form, "CallStatus", 16)
        dial_status = _field(form, "DialCallStatus", 16)
        digits = form.get("Digits", "")
        return CallRequest(
            call_sid=_sid(form, "CallSid"),
            caller=_field(form, "From", 32),
            called=_field(form, "To", 32),
            call_status=call_status,
            dial_status=dial_status,
            caller_gone=call_status in CALLER_GONE,
            never_answered=call_status in NEVER_ANSWERED,
            agent_missed=dial_status in AGENT_MISSED,
            keys="" if digits == HUNG_UP_DIGITS else digits,
            hung_up=digits == HUNG_UP_DIGITS,
            recording=_recording(form),
            text=form.get("Body"),
        )

    def call_is_over(self, call_status: str | None) -> bool:
        return call_status in CALLER_GONE

    def render(self, step: Step, base_url: str, lang: str, urls: StepUrls) -> Reply:
        from ivr.telephony import twiml

        if _all_recorded(lang, step.prompts):  # the same every time: rendered once
            return _rendered_step(step, base_url, lang, urls)
        return _reply(twiml.render_step(step, base_url, lang, urls))

    def media_stream(self, stream_url: str, parameters: dict[str, str], action_url: str) -> Reply:
        from ivr.telephony import twiml

        return _reply(twiml.connect_stream(stream_url, parameters, action_url))

    def play_and_hang_up(self, base_url: str, lang: str, *names: str) -> Reply:
        from ivr.telephony import twiml

        if _all_recorded(lang, names):
            return _rendered_goodbye(base_url, lang, names)
        return _reply(twiml.play_and_hang_up(base_url, lang, *names))

    def pause_and_poll(self, url: str, seconds: int = 1) -> Reply:
        from ivr.telephony import twiml

        return _reply(twiml.pause_and_redirect(url, seconds))

    def hang_up(self) -> Reply:
        return Reply('<?xml version="1.0" encoding="UTF-8"?><Response><Hangup /></Response>')

    def nothing(self) -> Reply:
        return Reply('<?xml version="1.0" encoding="UTF-8"?><Response />')

    def sms_reply(self, text: str | None) -> Reply:
        from twilio.twiml.messaging_response import MessagingResponse

        reply = MessagingResponse()
        if text:
            reply.message(text)
        return _reply(reply)

    # -- worker side --
    def configured(self) -> bool:
        return bool(self.settings.twilio_account_sid and self.settings.twilio_auth_token)

    def client(self):
        """A REST client for the account, at `TWILIO_API_URL` if set."""
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        current = self.settings
        if not current.twilio_account_sid or not current.twilio_auth_token:
            raise NotConfigured("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set")
        client = Client(
            current.twilio_account_sid,
            current.twilio_auth_token,
            http_client=TwilioHttpClient(timeout=REST_TIMEOUT_S),
        )
        if current.twilio_api_url:
            client.api.base_url = current.twilio_api_url
        return client

    def redirect_call(self, call_sid: str, url: str) -> None:
        client = self.client()
        with _refusals(call_sid):
            client.calls(call_sid).update(url=url, method="POST")

    def place_call(self, to: str, from_: str, url: str, status_url: str) -> str:
        client = self.client()
        with _refusals():
            placed = client.calls.create(
                to=to,
                from_=from_,
                url=url,
                method="POST",
                status_callback=status_url,
                status_callback_method="POST",
            )
        return placed.sid

    def fetch_recording(self, url: str, dest: Path) -> None:
        from workers.recording_fetch import fetch_recording

        current = self.settings
        sid, token = current.twilio_account_sid, current.twilio_auth_token
        auth = (sid, token) if sid and token else None
        fetch_recording(url, dest, auth=auth)  # only from `RECORDING_HOSTS`

    def delete_recording(self, recording_sid: str) -> None:
        client = self.client()
        try:
            with _refusals():
                client.recordings(recording_sid).delete()
        except ProviderRefused as refused:
            if not refused.not_found:
                raise

    def send_sms(self, to: str, from_: str, body: str) -> str:
        client = self.client()
        with _refusals():
            message = client.messages.create(to=to, from_=from_, body=body)
        return message.sid

    # -- the caller's side, for the simulator --
    @staticmethod
    def sign(auth_token: str, url: str, form: dict[str, str]) -> dict[str, str]:
        """The headers Twilio would send with this request."""
        from twilio.request_validator import RequestValidator

        return {SIGNATURE_HEADER: RequestValidator(auth_token).compute_signature(url, form)}


def _reply(response) -> Reply:
    return Reply(str(response))


# TwiML whose prompts all have their audio is a function of its arguments alone: it is
# built once per step, language and URLs (at most a few hundred: the URLs carry the
# caller's place in the flow, not the call). A prompt without audio is spoken from its
# pack's text (`<Say>`), rendered each time as before.
RENDERED_MAX = 1024


def _all_recorded(lang: str, names: Sequence[str]) -> bool:
    import prompts

    return all(prompts.audio_path(lang, name) is not None for name in names)


@lru_cache(maxsize=RENDERED_MAX)
def _rendered_step(step: Step, base_url: str, lang: str, urls: StepUrls) -> Reply:
    from ivr.telephony import twiml

    return _reply(twiml.render_step(step, base_url, lang, urls))


@lru_cache(maxsize=RENDERED_MAX)
def _rendered_goodbye(base_url: str, lang: str, names: tuple[str, ...]) -> Reply:
    from ivr.telephony import twiml

    return _reply(twiml.play_and_hang_up(base_url, lang, *names))


class _refusals:
    """Turns the REST client's exceptions into `ProviderRefused`, with what Twilio said."""

    def __init__(self, call_sid: str | None = None) -> None:
        self.call_sid = call_sid

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, _traceback) -> bool:
        from requests import RequestException
        from twilio.base.exceptions import TwilioException, TwilioRestException

        if error is None or not isinstance(error, TwilioException | RequestException):
            return False
        if isinstance(error, TwilioRestException):
            code = f" (error {error.code})" if error.code else ""
            said = f"Twilio answered {error.status}{code}: {error.msg}"
            raise ProviderRefused(
                said,
                not_found=error.status == 404,
                call_over=error.code == CALL_NOT_IN_PROGRESS,
            ) from error
        said = f"Twilio could not be reached: {type(error).__name__}: {error}"[:300]
        raise ProviderRefused(said) from error
