"""The port in a Flask app: refuse unsigned requests, read the request, answer a `Reply`."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TypeVar

from flask import Response, abort, g, request

from ivr.extensions import settings
from ivr.telephony import CallRequest, Reply, Telephony
from ivr.telephony import provider as provider_for

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable)


def provider() -> Telephony:
    """The provider of the running app (built with the app's settings)."""
    return provider_for(settings())


def signed_url() -> str:
    """The URL the provider signed: `PUBLIC_BASE_URL` + path + query, never the Host header."""
    query = request.query_string.decode("latin-1")
    return settings().public_base_url + request.path + (f"?{query}" if query else "")


def verified(view: F) -> F:
    """Refuse (403, nothing written) any request the provider did not sign."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        if not settings().webhooks_ready:
            log.error("webhook refused: TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL must be set")
            abort(403)
        if not provider().verify(signed_url(), request.form, request.headers):
            log.warning(
                "webhook refused: bad signature for %s from %s", request.path, request.remote_addr
            )
            abort(403)
        return view(*args, **kwargs)

    return checked  # type: ignore[return-value]


def call_request() -> CallRequest:
    """This request in the service's words (read once per request)."""
    if "call_request" not in g:
        g.call_request = provider().read(request.form)
    return g.call_request


def respond(reply: Reply) -> Response:
    """A Flask response carrying the provider's answer."""
    return Response(reply.body, status=200, mimetype=reply.content_type)
