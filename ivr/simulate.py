"""A simulated caller that talks to the service exactly as Twilio would.

It posts signed form requests, follows the TwiML it gets back (`<Play>`, `<Say>`,
`<Gather>`, `<Record>`, `<Pause>`, `<Redirect>`, `<Hangup>`), answers from a script
(keys, silence, a WAV file spoken after the tone, hanging up), sends the recording
status callbacks Twilio would, and finally the call's status callback. The HTTP
transport is a parameter, so tests drive the Flask app directly and `ivr simulate`
goes over HTTP.
"""

from __future__ import annotations

import re
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import prompts
from ivr.simulate_media import MediaHost
from ivr.telephony.twilio import TwilioTelephony

SILENCE = "silence"
HANG_UP = "hangup"
SAY = "say:"  # "say:/path/to/answer.wav"
CONFIRM = "confirm:"  # "confirm:satisfied": 1 if the read-back names that level, else 2
MAX_REQUESTS = 60

# post(url, form, headers) -> (status, body)
Transport = Callable[[str, dict[str, str], dict[str, str]], tuple[int, str]]


def new_call_sid() -> str:
    """A call id shaped like Twilio's (`CA` + 32 hex digits)."""
    return "CA" + secrets.token_hex(16)


@dataclass
class CallScript:
    """What the simulated caller does, and how Twilio delivers its callbacks."""

    answers: list[str]
    lang: str = "zh-CN"
    agent: str | None = "A1024"
    dept: str | None = "D-housing"
    tickets: tuple[str, ...] = ("T1",)
    caller: str = "+8613800000000"
    called: str = "+8612345000000"
    dial_status: str | None = "completed"
    call_sid: str = field(default_factory=new_call_sid)
    linked: str | None = None  # the CallSid of the other party of a proxy pair
    recording_status_first: bool = False  # the status callback before the action
    repeat_callbacks: bool = False  # every recording callback delivered twice

    @classmethod
    def parse_answers(cls, text: str) -> list[str]:
        """`"9,silence,say:a.wav,confirm:satisfied"`: keys, `silence`, a WAV to speak,
        a read-back check (1 if it names that level, else 2), `hangup`."""
        return [part.strip() for part in text.split(",") if part.strip()]


@dataclass
class CallOutcome:
    """What happened: the prompts heard, the keys pressed, how it ended."""

    heard: list[str] = field(default_factory=list)
    pressed: list[str] = field(default_factory=list)
    spoken: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    hung_up_by: str = ""
    transcript: list[str] = field(default_factory=list)
    streams: list = field(default_factory=list)  # StreamResult of each media stream
    # Recording callbacks Twilio sends right after the request being made.
    pending: list[tuple[str, dict[str, str], CallScript]] = field(default_factory=list, repr=False)


class Simulator:
    """Places simulated calls against the service at `public_base_url`."""

    def __init__(
        self,
        public_base_url: str,
        auth_token: str,
        transport: Transport,
        account_sid: str = "AC" + "0" * 32,
        echo: Callable[[str], None] | None = None,
        media: MediaHost | None = None,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = public_base_url.rstrip("/")
        self.auth_token = auth_token
        self.transport = transport
        self.account_sid = account_sid
        self.echo = echo
        self.media = media
        self.pause = pause

    def call(self, script: CallScript) -> CallOutcome:
        """Run one call to its end, then send the `completed` status callback."""
        outcome = CallOutcome()
        answers = list(script.answers)
        query = {"lang": script.lang, "agent": script.agent, "dept": script.dept}
        if script.tickets:
            query["tickets"] = ",".join(script.tickets)
        query["linked"] = script.linked
        url = f"{self.base_url}/voice/survey?{urlencode({k: v for k, v in query.items() if v})}"
        form = self._form(script, CallStatus="in-progress")
        if script.dial_status:
            form |= {"DialCallStatus": script.dial_status, "DialCallSid": new_call_sid()}
        parts = urlsplit(url)
        self._say(outcome, f"☎  call {script.call_sid} → {parts.path}?{parts.query}")
        for _ in range(MAX_REQUESTS):
            status, body = self._post(url, form, outcome)
            self._send_later(outcome)
            if status != 200:
                self._say(
                    outcome, f"   ✗ the service answered HTTP {status}: the caller hears an error"
                )
                outcome.hung_up_by = "error"
                break
            next_url, form = self._follow(body, script, answers, outcome)
            if next_url is None:
                break
            url = next_url
        self._post(
            f"{self.base_url}/voice/status",
            self._form(script, CallStatus="completed", CallDuration="60"),
            outcome,
        )
        self._say(outcome, f"☎  call ended ({outcome.hung_up_by or 'no more TwiML'})")
        return outcome

    def _follow(
        self, body: str, script: CallScript, answers: list[str], outcome: CallOutcome
    ) -> tuple[str | None, dict[str, str]]:
        """Play one TwiML document; return the next request to make, if any."""
        root = ET.fromstring(body)
        if root.tag != "Response":
            raise ValueError(f"not TwiML: <{root.tag}>")
        for verb in root:
            if verb.tag in ("Play", "Say"):
                self._hear(verb, outcome)
            elif verb.tag == "Pause":
                seconds = float(verb.get("length", "1"))
                self._say(outcome, f"   … pause {seconds:g} s")
                self.pause(seconds)
            elif verb.tag == "Hangup":
                return self._hung_up(outcome, "service")
            elif verb.tag == "Redirect":
                return (verb.text or "").strip(), self._form(script, CallStatus="in-progress")
            elif verb.tag == "Gather":
                request = self._gather(verb, script, answers, outcome)
                if request != "continue":
                    return request
            elif verb.tag == "Record":
                request = self._record(verb, script, answers, outcome)
                if request != "continue":
                    return request
            elif verb.tag == "Connect":
                return self._stream(verb, script, answers, outcome)
        outcome.hung_up_by = "end of TwiML"
        return None, {}

    def _gather(self, verb: ET.Element, script: CallScript, answers: list[str], outcome):
        heard_before = len(outcome.heard)
        for prompt in verb:
            self._hear(prompt, outcome)
        answer = answers[0] if answers else HANG_UP
        if answer.startswith(CONFIRM):  # a caller who checks what was read back
            heard = outcome.heard[heard_before:]
            meant = f"level_{answer.removeprefix(CONFIRM)}"
            answer = "1" if meant in heard else "2"
            if "readback" not in heard:
                answer = HANG_UP  # asked something else: this caller gives up
        if answer == HANG_UP:
            return self._hung_up(outcome, "caller")
        form = self._form(script, CallStatus="in-progress")
        if answer == SILENCE or answer.startswith(SAY):
            # No key: Twilio moves on to the next verb unless told to report silence.
            if verb.get("actionOnEmptyResult") != "true":
                return "continue"
            answers.pop(0)
            self._say(outcome, f"   … no key pressed ({verb.get('timeout')} s)")
            return verb.get("action"), form
        answers.pop(0)
        outcome.pressed.append(answer)
        form["Digits"] = answer
        self._say(outcome, f"   ⌨ the caller presses {answer!r}")
        return verb.get("action"), form

    def _record(self, verb: ET.Element, script: CallScript, answers: list[str], outcome):
        answer = answers.pop(0) if answers else HANG_UP
        self._say(outcome, "   ♪ tone: recording")
        form = self._form(script, CallStatus="in-progress")
        status_url = verb.get("recordingStatusCallback")
        if answer == SILENCE or not answer.startswith(SAY):
            if answer not in (SILENCE, HANG_UP):  # a key ends an empty recording
                outcome.pressed.append(answer)
                self._say(outcome, f"   ⌨ the caller presses {answer!r}")
                return verb.get("action"), form | {"Digits": answer, "RecordingDuration": "0"}
            if answer == HANG_UP:
                return self._hung_up(outcome, "caller")
            self._say(outcome, "   … the caller says nothing: no recording")
            absent = self._form(script, RecordingSid="RE" + secrets.token_hex(16))
            self._callback(status_url, absent | {"RecordingStatus": "absent"}, script, outcome)
            return "continue"
        if self.media is None:
            raise ValueError("speaking a WAV needs a MediaHost")
        path = Path(answer.removeprefix(SAY))
        recording_sid, recording_url = self.media.publish(path)
        outcome.spoken.append(path.name)
        self._say(outcome, f"   🗣 the caller says {path.name}")
        details = {
            "RecordingSid": recording_sid,
            "RecordingUrl": recording_url,
            "RecordingDuration": str(max(1, round(_seconds(path)))),
        }
        status_form = self._form(script, **details, RecordingStatus="completed")
        if script.recording_status_first and status_url:
            self._callback(status_url, status_form, script, outcome)
        action_form = form | details
        if script.repeat_callbacks:
            self._post(verb.get("action"), action_form, outcome)
        if not script.recording_status_first and status_url:
            outcome.pending.append((status_url, status_form, script))  # right after the action
        return verb.get("action"), action_form

    def _stream(self, verb: ET.Element, script: CallScript, answers: list[str], outcome):
        """`<Connect><Stream>`: the caller on a media stream, then the `<Connect action>`."""
        from ivr.simulate_stream import run_stream

        stream = verb.find("Stream")
        params = {p.get("name"): p.get("value") for p in stream.iter("Parameter")}
        answer = answers.pop(0) if answers else HANG_UP
        result = run_stream(
            stream.get("url"),
            params,
            script.call_sid,
            self.account_sid,
            answer,
            lambda line: self._say(outcome, line),
        )
        outcome.streams.append(result)
        for name in result.heard:
            outcome.heard.append(name)
            self._say(outcome, f"   ▶ {name}: {_prompt_text(script.lang, name)}")
        key = answer.removeprefix("then-hangup:").removeprefix("early:")
        if len(key) == 1:
            outcome.pressed.append(key)
        elif key.startswith(SAY):
            outcome.spoken.append(Path(key.removeprefix(SAY)).name)
        if result.closed_by == "caller":
            return self._hung_up(outcome, "caller")
        self._say(outcome, f"   ⇄ stream closed ({result.closed_by})")
        return verb.get("action"), self._form(script, CallStatus="in-progress")

    def _callback(self, url: str | None, form: dict[str, str], script: CallScript, outcome) -> None:
        if not url:
            return
        for _ in range(2 if script.repeat_callbacks else 1):
            self._post(url, form, outcome)

    def _send_later(self, outcome: CallOutcome) -> None:
        later, outcome.pending = outcome.pending, []
        for url, form, script in later:
            self._callback(url, form, script, outcome)

    def _hung_up(self, outcome: CallOutcome, by: str) -> tuple[None, dict]:
        outcome.hung_up_by = by
        self._say(outcome, f"   ✆ the {by} hangs up")
        return None, {}

    def _hear(self, verb: ET.Element, outcome: CallOutcome) -> None:
        text = (verb.text or "").strip()
        match = re.search(r"/prompts/([^/]+)/([a-z0-9_]+)\.wav$", text)
        if verb.tag == "Play" and match:
            lang, name = match.groups()
            outcome.heard.append(name)
            self._say(outcome, f"   ▶ {name}: {_prompt_text(lang, name)}")
        else:
            outcome.heard.append(text)
            self._say(outcome, f"   ▶ ({verb.tag}) {text}")

    def _form(self, script: CallScript, **extra: str) -> dict[str, str]:
        return {
            "CallSid": script.call_sid,
            "AccountSid": self.account_sid,
            "From": script.caller,
            "To": script.called,
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
            **extra,
        }

    def _post(self, url: str, form: dict[str, str], outcome: CallOutcome) -> tuple[int, str]:
        headers = TwilioTelephony.sign(self.auth_token, url, form)
        status, body = self.transport(url, form, headers)
        outcome.statuses.append(status)
        return status, body

    def _say(self, outcome: CallOutcome, line: str) -> None:
        outcome.transcript.append(line)
        if self.echo:
            self.echo(line)


def _seconds(path: Path) -> float:
    from pydub import AudioSegment

    try:
        return AudioSegment.from_file(path).duration_seconds
    except Exception:  # not audio: Twilio would still report some duration
        return 1.0


def _prompt_text(lang: str, name: str) -> str:
    try:
        return prompts.load_pack(lang).prompts.get(name, "")
    except prompts.UnknownLanguage:
        return ""
