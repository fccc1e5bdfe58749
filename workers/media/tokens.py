"""Short-lived signed stream tokens, sent to Twilio in a `<Parameter>` and checked on `start`.

The token names the call, the stream key (used once: the media process claims it), the
language, where the caller is in the flow, the prompts to play and how long to listen.
It is signed with HMAC-SHA256 (itsdangerous) under `MEDIA_STREAM_SECRET`, or a key
derived from `TWILIO_AUTH_TOKEN` when that is not set, and expires after
`TOKEN_MAX_AGE_S`: Twilio opens the stream within a second of reading the TwiML.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from storage.settings import settings

TOKEN_MAX_AGE_S = 30
SALT = "ivr-media-stream"
# Twilio limits the custom parameters of a stream to 500 characters in all.
MAX_TOKEN_CHARS = 480


class BadToken(Exception):
    """A token that is forged, expired, malformed or for another call."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StreamTicket:
    """What the web tells the media process about one question."""

    call_sid: str
    stream_key: str
    lang: str
    node: str
    prompts: tuple[str, ...]
    no_input_s: int  # silence after the prompts that ends the question
    listen_s: int  # longest answer heard


def new_stream_key() -> str:
    """A fresh stream key (`MS` + 32 hex digits), shaped like a Twilio id."""
    return "MS" + secrets.token_hex(16)


def _secret() -> bytes:
    current = settings()
    if current.media_stream_secret:
        return current.media_stream_secret.encode()
    token = current.twilio_auth_token
    if not token:
        raise BadToken("no MEDIA_STREAM_SECRET or TWILIO_AUTH_TOKEN to sign with")
    return hmac.new(token.encode(), b"media-stream", hashlib.sha256).digest()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(), salt=SALT)


def sign(ticket: StreamTicket) -> str:
    """The token of `ticket`."""
    payload = [
        ticket.call_sid,
        ticket.stream_key,
        ticket.lang,
        ticket.node,
        ",".join(ticket.prompts),
        ticket.no_input_s,
        ticket.listen_s,
    ]
    return _serializer().dumps(payload)


def verify(token: str, call_sid: str, max_age: int = TOKEN_MAX_AGE_S) -> StreamTicket:
    """The ticket in `token` if it is genuine, fresh and for `call_sid`; else BadToken."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise BadToken("missing or oversized token")
    try:
        payload = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise BadToken("expired token") from None
    except BadSignature:
        raise BadToken("forged token") from None
    try:
        sid, key, lang, node, prompts, no_input_s, listen_s = payload
        ticket = StreamTicket(
            sid,
            key,
            lang,
            node,
            tuple(p for p in prompts.split(",") if p),
            int(no_input_s),
            int(listen_s),
        )
    except (TypeError, ValueError, AttributeError):
        raise BadToken("malformed token") from None
    if not hmac.compare_digest(ticket.call_sid, call_sid or ""):
        raise BadToken("token of another call")
    return ticket
