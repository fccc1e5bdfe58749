"""Serving prompt audio to Twilio at `/prompts/<lang>/<name>.wav`."""

from __future__ import annotations

from flask import Blueprint, abort, send_file

import prompts

bp = Blueprint("prompt_files", __name__)

CACHE_SECONDS = 24 * 3600
MAX_NAME = 64


@bp.get("/prompts/<lang>/<name>.wav")
def prompt_audio(lang: str, name: str):
    """The telephone-ready WAV of one prompt, cacheable (Twilio caches `<Play>` audio)."""
    if len(lang) > MAX_NAME or len(name) > MAX_NAME:  # longer than any file name can be
        abort(404)
    path = prompts.audio_path(lang, name) if prompts.is_valid_lang(lang) else None
    if path is None:
        abort(404)
    return send_file(path, mimetype="audio/wav", max_age=CACHE_SECONDS, conditional=True, etag=True)
