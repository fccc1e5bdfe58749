"""A stand-in for Twilio's REST API on a loopback port, for the `twilio` library.

It serves the three resources the service uses (redirect a call, place a call, send a
message), checks the account's Basic auth and records every request with its form
fields, and answers as Twilio does: JSON resources, and JSON errors with Twilio's codes.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs

import pytest

from tests.http_fakes import QuietHandler, serve

ACCOUNT_SID = "AC" + "0" * 32

CALL = re.compile(r"/2010-04-01/Accounts/(?P<account>\w+)/Calls/(?P<sid>\w+)\.json")
CALLS = re.compile(r"/2010-04-01/Accounts/(?P<account>\w+)/Calls\.json")
MESSAGES = re.compile(r"/2010-04-01/Accounts/(?P<account>\w+)/Messages\.json")


@dataclass
class Seen:
    """One request as Twilio received it."""

    method: str
    path: str
    authorization: str | None
    form: dict[str, list[str]]

    def field(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


class FakeTwilio:
    """Live calls by sid (`calls[sid] = "in-progress"`), messages sent, and refusals.

    `refuse = (http_status, code, message)` makes the next requests fail that way.
    """

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.basic = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.calls: dict[str, str] = {}
        self.seen: list[Seen] = []
        self.refuse: tuple[int, int, str] | None = None
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                form = parse_qs(self.form_body().decode(), keep_blank_values=True)
                seen = Seen("POST", self.path, self.headers.get("Authorization"), form)
                fake.seen.append(seen)
                status, body = fake.answer(seen)
                self.answer(status, json.dumps(body).encode())

        self.server = serve(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def answer(self, seen: Seen) -> tuple[int, dict]:
        if seen.authorization != self.basic:
            return self.error(401, 20003, "Authenticate")
        if self.refuse is not None:
            return self.error(*self.refuse)
        if match := CALL.fullmatch(seen.path):
            return self.redirect(match["sid"], seen)
        if CALLS.fullmatch(seen.path):
            sid = "CA" + secrets.token_hex(16)
            self.calls[sid] = "queued"
            return 201, self.resource(sid, "queued", seen.field("To"), seen.field("From"))
        if MESSAGES.fullmatch(seen.path):
            sid = "SM" + secrets.token_hex(16)
            message = self.resource(sid, "queued", seen.field("To"), seen.field("From"))
            return 201, message | {"body": seen.field("Body")}
        return self.error(404, 20404, f"The requested resource {seen.path} was not found")

    def redirect(self, sid: str, seen: Seen) -> tuple[int, dict]:
        status = self.calls.get(sid)
        if status is None:
            return self.error(404, 20404, f"The requested resource {seen.path} was not found")
        if status != "in-progress":
            return self.error(400, 21220, "Call is not in-progress. Cannot redirect.")
        return 200, self.resource(sid, status, None, None)

    def resource(self, sid: str, status: str, to: str | None, from_: str | None) -> dict:
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "status": status,
            "to": to,
            "from": from_,
        }

    @staticmethod
    def error(status: int, code: int, message: str) -> tuple[int, dict]:
        more = f"https://www.twilio.com/docs/errors/{code}"
        return status, {"code": code, "message": message, "more_info": more, "status": status}

    def requests_to(self, pattern: re.Pattern) -> list[Seen]:
        return [seen for seen in self.seen if pattern.fullmatch(seen.path)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_twilio(monkeypatch):
    """A fake Twilio REST API; the service is pointed at it (`TWILIO_API_URL`)."""
    from tests.conftest import AUTH_TOKEN

    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_API_URL", fake.url)
    yield fake
    fake.close()
