"""The web app's security extensions: headers (Flask-Talisman), CSRF (Flask-WTF),
server-side sessions in Redis (Flask-Session), logins (Flask-Login), limits
(Flask-Limiter on Redis). Set up once by `create_app`."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_session import Session
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect

from ivr.config import Settings

SESSION_LIFETIME = timedelta(hours=12)
SESSION_KEY_PREFIX = "console:session:"

# The console runs under this policy: no inline script or style, nothing from elsewhere,
# never inside a frame.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "media-src": "'self'",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[], strategy="fixed-window")
talisman = Talisman()


def init_security(app: Flask, settings: Settings) -> None:
    """Attach the extensions; the console blueprint checks CSRF on its own POSTs."""
    secure = bool(settings.public_base_url and settings.public_base_url.startswith("https://"))
    app.config.update(
        SESSION_TYPE="redis",
        SESSION_REDIS=app.extensions["ivr.redis"],
        SESSION_KEY_PREFIX=SESSION_KEY_PREFIX,
        SESSION_PERMANENT=True,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        # Webhooks are signed by Twilio and the API takes bearer tokens: only the
        # console's forms carry a CSRF token (checked by its blueprint).
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # valid as long as the session
        RATELIMIT_STORAGE_URI=settings.redis_url,
        RATELIMIT_STRATEGY="fixed-window",
        RATELIMIT_HEADERS_ENABLED=False,
    )
    Session(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    limiter.init_app(app)
    talisman.init_app(
        app,
        force_https=False,  # TLS ends at the proxy; PUBLIC_BASE_URL says whether it is https
        strict_transport_security=secure,
        session_cookie_secure=secure,
        session_cookie_http_only=True,
        frame_options="DENY",
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy="same-origin",
        x_content_type_options=True,
    )
    app.after_request(_no_store_console_pages)


def _no_store_console_pages(response: Response) -> Response:
    """Console pages show callers' numbers and names: never kept by a browser or proxy."""
    if request.path.startswith("/console"):
        response.headers["Cache-Control"] = "private, no-store"
    return response
