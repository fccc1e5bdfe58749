"""The telephony port: what a provider must do for the service, in the service's words.

A provider (Twilio today; a SIP/FreeSWITCH gateway or a media-stream transport later)
is one class implementing `Telephony`, registered in `PROVIDERS` under the name the
`TELEPHONY_PROVIDER` setting selects. Nothing outside its module knows the provider's
field names, markup or REST API:

- web side: `verify` a request, `read` it into a `CallRequest` (the engine's event
  plus call details), and answer with `render` (an engine `Step`), `play_and_hang_up`,
  `pause_and_poll`, `hang_up`, `nothing` or `sms_reply`, each a `Reply`;
- worker side: `redirect_call`, `place_call`, `fetch_recording`, `delete_recording`,
  `send_sms`; failures raise `NotConfigured` or `ProviderRefused`.

This module imports neither Flask nor a provider's library: workers use it too. The
Flask glue (the `verified` decorator, turning a `Reply` into a response) is
`ivr.telephony.web`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from callflows import Event, KeyPressed, NoInput, Step
from storage.settings import Settings
from storage.settings import settings as process_settings

__all__ = [
    "CallRequest",
    "NotConfigured",
    "ProviderRefused",
    "RecordingReport",
    "Reply",
    "StepUrls",
    "Telephony",
    "provider",
]


class NotConfigured(RuntimeError):
    """The provider's credentials are missing: nothing can be asked of it."""


class ProviderRefused(Exception):
    """The provider refused a request, or could not be reached; `str()` says what it said.

    `not_found`: it knows no such call; `call_over`: the call is no longer live.
    """

    def __init__(self, said: str, *, not_found: bool = False, call_over: bool = False):
        super().__init__(said)
        self.not_found = not_found
        self.call_over = call_over


# What became of a recording, as `RecordingReport.status` says it.
REPORT_COMPLETED, REPORT_ABSENT, REPORT_FAILED = "completed", "absent", "failed"
REPORT_NEVER = (REPORT_ABSENT, REPORT_FAILED)  # no audio will come


@dataclass(frozen=True)
class RecordingReport:
    """A recording a request reports: its id, where to fetch it, how long, what became of it.

    `status` is `REPORT_COMPLETED`, `REPORT_ABSENT` (nothing was said) or
    `REPORT_FAILED`; None when the request does not say (a `<Record>`-style action).
    """

    sid: str | None
    url: str | None = None
    duration_seconds: float | None = None
    status: str | None = None


@dataclass(frozen=True)
class CallRequest:
    """One request from the provider, in the service's words.

    `keys` are the keys the caller pressed ("" for none); `hung_up` says the caller
    hung up during the step. `caller_gone` and `agent_missed` classify the provider's
    call status and dial status; the raw values are kept (`call_status`,
    `dial_status`) because they are stored with the call.
    """

    call_sid: str | None
    caller: str | None = None
    called: str | None = None
    call_status: str | None = None
    dial_status: str | None = None
    caller_gone: bool = False
    never_answered: bool = False
    agent_missed: bool = False
    keys: str = ""
    hung_up: bool = False
    recording: RecordingReport | None = None
    text: str | None = None  # an SMS body

    def event(self) -> Event:
        """The engine's event for an answer to a question: the keys, or silence."""
        return KeyPressed(self.keys) if self.keys else NoInput()


@dataclass(frozen=True)
class StepUrls:
    """Where the provider must report what happened in a step (absolute URLs of ours)."""

    key: str  # a key was pressed, or nothing (when silence is reported)
    recorded: str  # the caller's speech was recorded
    nothing_recorded: str  # the recording heard nothing
    recording_status: str  # the recording is ready, or will never be


@dataclass(frozen=True)
class Reply:
    """An answer to the provider: the body and its content type."""

    body: str
    content_type: str = "text/xml"


class Telephony(Protocol):
    """What a telephony provider does for the service (one implementation per provider)."""

    name: str

    # -- web side: requests the provider makes to us, and our answers --
    def verify(self, url: str, form: dict[str, str], headers: dict[str, str]) -> bool:
        """Did this request (`url` as the provider signed it) come from the provider?"""

    def read(self, form: dict[str, str]) -> CallRequest:
        """The request's call details, keys and recording, in the service's words."""

    def call_is_over(self, call_status: str | None) -> bool:
        """Does a call status we stored (`CallRequest.call_status`) mean the caller is gone?"""

    def render(self, step: Step, base_url: str, lang: str, urls: StepUrls) -> Reply:
        """Play the step's prompts; wait for a key and/or record, or hang up."""

    def play_and_hang_up(self, base_url: str, lang: str, *prompts: str) -> Reply:
        """Play the prompts, then hang up."""

    def pause_and_poll(self, url: str, seconds: int = 1) -> Reply:
        """Keep the caller waiting `seconds`, then ask `url` what to do."""

    def media_stream(self, stream_url: str, parameters: dict[str, str], action_url: str) -> Reply:
        """Connect the call to our media process at `stream_url` (bidirectional audio,
        `parameters` handed to it on start); when it closes the stream, ask `action_url`."""

    def hang_up(self) -> Reply:
        """End the call now."""

    def nothing(self) -> Reply:
        """Acknowledge the request; the call goes on (or ends) as it would anyway."""

    def sms_reply(self, text: str | None) -> Reply:
        """Answer an incoming SMS with `text`, or with nothing."""

    # -- worker side: what we ask of the provider (raise NotConfigured, ProviderRefused) --
    def configured(self) -> bool:
        """Are the credentials for asking the provider anything set?"""

    def redirect_call(self, call_sid: str, url: str) -> None:
        """Send a live call to `url` (our survey)."""

    def place_call(self, to: str, from_: str, url: str, status_url: str) -> str:
        """Call `to` from `from_`; `url` runs the call, `status_url` hears how it ends.
        Returns the new call's id."""

    def fetch_recording(self, url: str, dest: Path) -> None:
        """Download a recording into `dest` (raises `workers.recording_fetch.RecordingError`)."""

    def delete_recording(self, recording_sid: str) -> None:
        """Delete the provider's copy; one it no longer has counts as deleted."""

    def send_sms(self, to: str, from_: str, body: str) -> str:
        """Send a text message; returns the message's id."""


def _twilio(settings: Settings) -> Telephony:
    from ivr.telephony.twilio import TwilioTelephony

    return TwilioTelephony(settings)


# Provider name (the `TELEPHONY_PROVIDER` setting) -> how to build it from the settings.
PROVIDERS: dict[str, Callable[[Settings], Telephony]] = {"twilio": _twilio}


def provider(settings: Settings | None = None) -> Telephony:
    """The provider `settings` name (default: this process's settings).

    The web app passes its own settings, read when it was built."""
    current = settings or process_settings()
    return PROVIDERS[current.telephony_provider](current)
