"""The Flask application: Twilio webhooks, prompt audio, the read API and health."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from flask import Flask, redirect, url_for

from ivr.config import Settings
from ivr.logging_setup import configure_logging

log = logging.getLogger(__name__)


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment; `overrides` replaces settings (for tests)."""
    configure_logging()
    app = Flask(__name__)
    settings = Settings.from_env()
    if overrides:
        settings = replace(settings, **overrides)
    app.config["SECRET_KEY"] = settings.secret_key
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024

    from ivr import api, extensions, health, metrics, openapi, prompt_files, sms, voice
    from ivr.clean_input import clean_requests
    from ivr.console import bp as console_bp
    from ivr.proxies import trust_proxies
    from ivr.web_security import init_security

    trust_proxies(app)
    clean_requests(app)

    extensions.init_app(app, settings)
    init_security(app, settings)
    app.register_blueprint(voice.bp)
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
