"""The benchmark's baseline: a bare Flask app with one POST route and no database.

`bench/webhooks.py` serves it with the same gunicorn flags as the real service, so
the difference between the two is the cost of the service's own work per request.
"""

from __future__ import annotations

from flask import Flask, Response

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup /></Response>'


def create_app() -> Flask:
    """A Flask app answering `POST /twiml` with a fixed TwiML document."""
    app = Flask(__name__)

    @app.post("/twiml")
    def twiml() -> Response:
        return Response(TWIML, status=200, mimetype="text/xml")

    return app
