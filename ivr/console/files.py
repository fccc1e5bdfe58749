"""Files of the console: a callback's evidence, and how audio is sent."""

from __future__ import annotations

from typing import Any

from flask import abort, send_file

from ivr.console import bp
from ivr.console.auth import current_user, login_required
from ivr.console.queue import check_access, load
from ivr.extensions import db_sessions
from storage.records.files import file_store

EVIDENCE_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}


def audio_type(head: bytes) -> str:
    """The audio's MIME type from its first bytes (Twilio sends WAV or MP3)."""
    if head.startswith(b"RIFF"):
        return "audio/wav"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    return "application/octet-stream"


def _send(key: str, mimetype: str, name: str) -> Any:
    try:
        stream = file_store().open(key)
    except FileNotFoundError:
        abort(404, description="文件不存在或已被清理。")
    response = send_file(stream, mimetype=mimetype, download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/callbacks/<int:callback_id>/evidence/<int:number>")
@login_required()
def evidence(callback_id: int, number: int) -> Any:
    """The `number`-th evidence file (from 1)."""
    user = current_user()
    assert user is not None
    check_access(callback_id, user, "download")
    with db_sessions()() as db:
        keys = load(db, callback_id).evidence or []
    if not 1 <= number <= len(keys):
        abort(404, description="没有这个证明材料。")
    key = keys[number - 1]
    ext = key.rsplit(".", 1)[-1]
    return _send(
        key, EVIDENCE_TYPES.get(ext, "application/octet-stream"), f"证明材料-{number}.{ext}"
    )
