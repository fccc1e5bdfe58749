"""Checking that a webhook request really comes from Twilio (`X-Twilio-Signature`)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TypeVar

from flask import abort, current_app, request
from twilio.request_validator import RequestValidator

from ivr.clean_input import as_sent

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable)


def signed_url() -> str:
    """The URL Twilio signed: `PUBLIC_BASE_URL` + path + query, never the Host header."""
    settings = current_app.config["IVR_SETTINGS"]
    query = request.query_string.decode("latin-1")
    return settings.public_base_url + request.path + (f"?{query}" if query else "")


def twilio_signed(view: F) -> F:
    """Refuse (403, nothing written) any request whose Twilio signature does not match."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        settings = current_app.config["IVR_SETTINGS"]
        if not settings.webhooks_ready:
            log.error("webhook refused: TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL must be set")
            abort(403)
        signature = request.headers.get("X-Twilio-Signature", "")
        validator = RequestValidator(settings.twilio_auth_token)
        form = as_sent(request.form)  # what Twilio signed, before input cleaning
        if not signature or not validator.validate(signed_url(), form, signature):
            log.warning(
                "webhook refused: bad signature for %s from %s", request.path, request.remote_addr
            )
            abort(403)
        return view(*args, **kwargs)

    return checked  # type: ignore[return-value]
