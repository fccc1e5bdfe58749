"""A simulated caller that talks to the service exactly as Twilio would.

It posts signed form requests, follows the TwiML it gets back (`<Play>`, `<Say>`,
`<Gather>`, `<Redirect>`, `<Hangup>`), answers each `<Gather>` from a script of key
presses, and finally sends the call's status callback. The HTTP transport is a
parameter, so tests drive the Flask app directly and `ivr simulate` goes over HTTP.
"""

from __future__ import annotations

import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

import prompts

SILENCE = "silence"
HANG_UP = "hangup"
MAX_REQUESTS = 50

# post(url, form, headers) -> (status, body)
Transport = Callable[[str, dict[str, str], dict[str, str]], tuple[int, str]]


def new_call_sid() -> str:
    """A call id shaped like Twilio's (`CA` + 32 hex digits)."""
    return "CA" + secrets.token_hex(16)


@dataclass
class CallScript:
    """What the simulated caller does: the answer to each question, in order."""

    answers: list[str]
    lang: str = "zh-CN"
    agent: str | None = "A1024"
    dept: str | None = "D-housing"
    tickets: tuple[str, ...] = ("T1",)
    caller: str = "+8613800000000"
    called: str = "+8612345000000"
    dial_status: str | None = "completed"
    call_sid: str = field(default_factory=new_call_sid)

    @classmethod
    def parse_answers(cls, text: str) -> list[str]:
        """`"9,silence,4"` → `["9", "silence", "4"]`; `hangup` ends the call."""
        return [part.strip() for part in text.split(",") if part.strip()]


@dataclass
class CallOutcome:
    """What happened: the prompts heard, the keys pressed, how it ended."""

    heard: list[str] = field(default_factory=list)
    pressed: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    hung_up_by: str = ""
    transcript: list[str] = field(default_factory=list)


class Simulator:
    """Places simulated calls against the service at `public_base_url`."""

    def __init__(
        self,
        public_base_url: str,
        auth_token: str,
        transport: Transport,
        account_sid: str = "AC" + "0" * 32,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.base_url = public_base_url.rstrip("/")
        self.validator = RequestValidator(auth_token)
        self.transport = transport
        self.account_sid = account_sid
        self.echo = echo

    def call(self, script: CallScript) -> CallOutcome:
        """Run one call to its end, then send the `completed` status callback."""
        outcome = CallOutcome()
        answers = iter(script.answers)
        query = {"lang": script.lang, "agent": script.agent, "dept": script.dept}
        if script.tickets:
            query["tickets"] = ",".join(script.tickets)
        url = f"{self.base_url}/voice/survey?{urlencode({k: v for k, v in query.items() if v})}"
        form = self._form(script, CallStatus="in-progress")
        if script.dial_status:
            form |= {"DialCallStatus": script.dial_status, "DialCallSid": new_call_sid()}
        self._say(
            outcome, f"☎  call {script.call_sid} → {urlsplit(url).path}?{urlsplit(url).query}"
        )
        for _ in range(MAX_REQUESTS):
            status, body = self._post(url, form, outcome)
            if status != 200:
                self._say(
                    outcome, f"   ✗ service answered HTTP {status}: the caller hears an error"
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
        self, body: str, script: CallScript, answers: Iterable[str], outcome: CallOutcome
    ) -> tuple[str | None, dict[str, str]]:
        """Play one TwiML document; return the next request to make, if any."""
        root = ET.fromstring(body)
        if root.tag != "Response":
            raise ValueError(f"not TwiML: <{root.tag}>")
        for verb in root:
            if verb.tag in ("Play", "Say"):
                self._hear(verb, outcome)
            elif verb.tag == "Pause":
                self._say(outcome, f"   … pause {verb.get('length', '1')} s")
            elif verb.tag == "Hangup":
                outcome.hung_up_by = "service"
                self._say(outcome, "   ✆ the service hangs up")
                return None, {}
            elif verb.tag == "Redirect":
                return (verb.text or "").strip(), self._form(script, CallStatus="in-progress")
            elif verb.tag == "Gather":
                for prompt in verb:
                    self._hear(prompt, outcome)
                answer = next(iter(answers), HANG_UP)
                if answer == HANG_UP:
                    outcome.hung_up_by = "caller"
                    self._say(outcome, "   ✆ the caller hangs up")
                    return None, {}
                form = self._form(script, CallStatus="in-progress")
                if answer == SILENCE:
                    self._say(outcome, f"   … the caller stays silent ({verb.get('timeout')} s)")
                    if verb.get("actionOnEmptyResult") != "true":
                        continue
                else:
                    outcome.pressed.append(answer)
                    form["Digits"] = answer
                    self._say(outcome, f"   ⌨ the caller presses {answer!r}")
                return verb.get("action"), form
        outcome.hung_up_by = "end of TwiML"
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
        signature = self.validator.compute_signature(url, form)
        status, body = self.transport(url, form, {"X-Twilio-Signature": signature})
        outcome.statuses.append(status)
        return status, body

    def _say(self, outcome: CallOutcome, line: str) -> None:
        outcome.transcript.append(line)
        if self.echo:
            self.echo(line)


def _prompt_text(lang: str, name: str) -> str:
    try:
        return prompts.load_pack(lang).prompts.get(name, "")
    except prompts.UnknownLanguage:
        return ""
