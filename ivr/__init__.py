"""The Flask application: Twilio webhooks, prompt audio, the read API and health."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # workers import `ivr.telephony` and must not load Flask
    from flask import Flask

log = logging.getLogger(__name__)

# How long a thread of a web process may keep the GIL while another waits (CPython's
# default: 5 ms). A webhook thread holding SQLite's writer turn gives up the GIL around
# every statement and then waits up to this long to run again, while all other writers
# of every process wait for it: at 0.5 ms the keypad flow's throughput under load rose
# by about a third (README, "Per-webhook cost").
GIL_SWITCH_INTERVAL_S = 0.0005


def create_app() -> Flask:
    """Build the app from the environment (`storage.settings`).

    Settings are read and checked here: a bad one stops the web process at start."""
    from flask import Flask, redirect, url_for

    from ivr.config import secret_key
    from ivr.logging_setup import configure_logging
    from ivr.telephony import provider
    from storage.settings import load_settings

    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    settings = load_settings()
    configure_logging()
    provider(settings)  # the provider the settings name exists
    app = Flask(__name__)
    app.config["SECRET_KEY"] = secret_key(settings)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024

    from ivr import (
        api,
        extensions,
        health,
        metrics,
        openapi,
        prompt_files,
        sms,
        voice,
        web_security,
    )
    from ivr.clean_input import clean_requests
    from ivr.console import bp as console_bp
    from ivr.proxies import trust_proxies
    from ivr.web_security import init_security

    trust_proxies(app)
    clean_requests(app)

    extensions.init_app(app, settings)
    init_security(app, settings)
    app.register_blueprint(voice.bp)
    # Twilio's webhooks have no rate limits (signed requests; a limit would hang up on
    # callers): the limiter's check of every request is skipped for them.
    web_security.limiter.exempt(voice.bp)
    app.register_blueprint(sms.bp)
    app.register_blueprint(prompt_files.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    metrics.time_webhooks(app)
    app.register_blueprint(console_bp)
    app.add_url_rule("/", "root", lambda: redirect(url_for("console.home")))
    if not settings.webhooks_ready:
        log.error(
            "Twilio webhooks are DISABLED (every request gets 403): set TWILIO_AUTH_TOKEN and "
            "PUBLIC_BASE_URL (script/server makes local development values)."
        )
    return app
