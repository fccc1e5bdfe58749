"""The benchmark's reference: a minimal hand-written service speaking the same contract.

What a careful engineer would write in an afternoon for the keypad survey alone: the
same URLs (`/voice/survey`, `/voice/survey/input`, `/voice/status`), Twilio's signature
checked against `PUBLIC_BASE_URL`, the same prompts and re-asks (1-5 rate, anything else
or silence is asked again twice, then goodbye), one row per rating in SQLite through
the `sqlite3` module (never overwritten), TwiML written as strings. No ORM, no engine,
no Redis, no outbox, no callbacks, no audit trail. `bench/webhooks.py` serves it with
the same gunicorn flags as the service: the service's throughput is quoted against it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import closing
from urllib.parse import urlencode
from xml.sax.saxutils import quoteattr

from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator

from callflows import vocabulary

LEVELS = dict(zip("12345", vocabulary.LEVELS, strict=True))  # key -> level
MAX_REASKS = 2
SCHEMA = "CREATE TABLE IF NOT EXISTS ratings (call_sid TEXT PRIMARY KEY, level TEXT, at TEXT)"


def create_app() -> Flask:
    """The reference service, configured like the real one (`PUBLIC_BASE_URL` …)."""
    app = Flask(__name__)
    base = os.environ["PUBLIC_BASE_URL"].rstrip("/")
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    path = os.environ["REFERENCE_DB"]
    local = threading.local()
    with closing(sqlite3.connect(path, timeout=5, isolation_level=None)) as setup:
        # Once per process, not per thread: a thread's first request setting the journal
        # mode while others write failed with "database is locked" (no busy wait there).
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute(SCHEMA)

    def db() -> sqlite3.Connection:
        if not hasattr(local, "db"):
            local.db = sqlite3.connect(path, timeout=5, isolation_level=None)
        return local.db

    def play(*names: str) -> str:
        lang = request.args.get("lang", "zh-CN")
        return "".join(f"<Play>{base}/prompts/{lang}/{name}.wav</Play>" for name in names)

    def twiml(body: str) -> Response:
        xml = f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>'
        return Response(xml, mimetype="text/xml")

    def ask(reasks: int, *preface: str) -> Response:
        query = urlencode({"lang": request.args.get("lang", "zh-CN"), "reasks": reasks})
        action = quoteattr(f"{base}/voice/survey/input?{query}")
        return twiml(
            f'<Gather input="dtmf" numDigits="1" timeout="6" finishOnKey="" action={action}'
            f' method="POST" actionOnEmptyResult="true">{play(*preface, "ask_rating")}</Gather>'
        )

    @app.before_request
    def signed() -> None:
        query = request.query_string.decode("latin-1")
        url = base + request.path + (f"?{query}" if query else "")
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(url, request.form, signature):
            abort(403)

    @app.post("/voice/survey")
    def survey() -> Response:
        if request.form.get("DialCallStatus") in ("no-answer", "busy", "failed", "canceled"):
            return twiml("<Hangup/>")
        return ask(0)

    @app.post("/voice/survey/input")
    def survey_input() -> Response:
        digits = request.form.get("Digits", "")
        reasks = int(request.args.get("reasks", "0"))
        level = LEVELS.get(digits)
        if level is None and reasks >= MAX_REASKS:
            return twiml(play("goodbye_unrated") + "<Hangup/>")
        if level is None:
            return ask(reasks + 1, "invalid_key" if digits else "no_input")
        db().execute(
            "INSERT OR IGNORE INTO ratings VALUES (?, ?, datetime('now'))",
            (request.form["CallSid"], level),
        )
        thanks = "thanks_bad" if digits in "45" else "thanks"
        return twiml(play(thanks) + "<Hangup/>")

    @app.post("/voice/status")
    def status() -> Response:
        return twiml("")

    return app
