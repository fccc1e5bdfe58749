"""The Flask application: Twilio webhooks, prompt audio, the read API and health."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # workers import `ivr.telephony` and must not load Flask
    from flask import Flask

log = logging.getLogger(__name__)


def create_app() -> Flask:
    """Build the app from the environment (`storage.settings`).

    Settings are read and checked here: a bad one stops the web process at start."""
    from flask import Flask

    from ivr.config import secret_key
    from ivr.logging_setup import configure_logging
    from ivr.telephony import provider
    from storage.settings import load_settings

    settings = load_settings()
    configure_logging()
    provider(settings)  # the provider the settings name exists
    app = Flask(__name__)
    app.config["SECRET_KEY"] = secret_key(settings)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024

    from ivr import api, extensions, health, metrics, openapi, prompt_files, sms, voice
    from ivr.console import bp as console_bp
    from ivr.proxies import trust_proxies

    trust_proxies(app)

    extensions.init_app(app, settings)
    app.register_blueprint(voice.bp)
    app.register_blueprint(sms.bp)
    app.register_blueprint(prompt_files.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    metrics.time_webhooks(app)
    app.register_blueprint(console_bp)
    if not settings.webhooks_ready:
        log.error(
            "Twilio webhooks are DISABLED (every request gets 403): set TWILIO_AUTH_TOKEN and "
            "PUBLIC_BASE_URL (script/server makes local development values)."
        )
    return app
