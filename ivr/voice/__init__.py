"""Twilio voice webhooks: the rating survey, its recordings, and call status callbacks.

Every request is signed by Twilio; the caller's place in the flow travels in the
signed action URLs we write, and everything else in the database, so any web
process can answer any request.
"""

from __future__ import annotations

import logging

from flask import Blueprint, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/voice")


@bp.errorhandler(Exception)
def _fallback(error: Exception):
    """Never leave Twilio with a 5xx: the caller would hear an application error."""
    from ivr.voice.common import goodbye, survey_lang

    if isinstance(error, HTTPException):
        return error
    log.exception("webhook %s failed; caller sent to the goodbye prompt", request.path)
    return goodbye(survey_lang(), "system_busy")


@bp.before_request
def _apply_kept_entries() -> None:
    """Make sure this process applies what it (or a process before it) kept."""
    from flask import current_app

    from ivr.voice.kept import start_drainer

    start_drainer(current_app._get_current_object())


from ivr.voice import hotline, speech, status, streamed, survey  # noqa: E402, F401  (routes on `bp`)
