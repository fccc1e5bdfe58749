"""Trusting the `X-Forwarded-*` headers of the deployment's own proxies, and no others."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from storage.settings import settings

log = logging.getLogger(__name__)


def trusted_proxy_count() -> int:
    """`TRUSTED_PROXIES`: how many proxies (load balancer, TLS terminator) stand in front
    of the web processes and append to `X-Forwarded-For`; 0 (the default) trusts none."""
    return settings().trusted_proxies


def trust_proxies(app: Flask) -> None:
    """Take the client's address, scheme and host from the last `TRUSTED_PROXIES` hops.

    The address keys the console's login limit. Twilio signatures never depend on these
    headers: they are checked against `PUBLIC_BASE_URL`.
    """
    count = trusted_proxy_count()
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
        log.info("trusting X-Forwarded-* from %d proxy hop(s)", count)
