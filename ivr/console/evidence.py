"""Evidence uploads for closing a rectification: type by content, size per file."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from flask import request
from werkzeug.datastructures import FileStorage

from storage.records.files import file_store

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_REQUEST_BYTES = 25 * 1024 * 1024
CLOSE_ENDPOINT = "console.close"
MAGIC = (
    (b"%PDF-", "pdf"),
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
)


class BadUpload(ValueError):
    """An evidence file refused; the message (Chinese) says why."""


def widen_upload_limit() -> None:
    """Allow larger bodies on the closing form only (the app-wide limit is 1 MB)."""
    if request.endpoint == CLOSE_ENDPOINT:
        request.max_content_length = MAX_REQUEST_BYTES


def kind_of(head: bytes) -> str | None:
    """The file extension its first bytes prove (PDF, JPEG, PNG), or None."""
    for magic, ext in MAGIC:
        if head.startswith(magic):
            return ext
    return None


def read_uploads(files: Sequence[FileStorage]) -> list[tuple[bytes, str]]:
    """The chosen files' contents with their extension; `BadUpload` for any bad one."""
    checked: list[tuple[bytes, str]] = []
    for upload in files:
        if not upload or not upload.filename:
            continue
        data = upload.stream.read(MAX_FILE_BYTES + 1)
        name = upload.filename[:80]
        if len(data) > MAX_FILE_BYTES:
            raise BadUpload(f"文件「{name}」超过 10 MB。")
        if not data:
            raise BadUpload(f"文件「{name}」是空的。")
        ext = kind_of(data[:16])
        if ext is None:
            raise BadUpload(f"文件「{name}」不是 PDF、JPEG 或 PNG（按文件内容判断）。")
        checked.append((data, ext))
    return checked


def store(callback_id: int, files: Sequence[tuple[bytes, str]]) -> list[str]:
    """Save the files as `evidence/<callback id>/<random>.<ext>`; their keys."""
    keys: list[str] = []
    store_ = file_store()
    for data, ext in files:
        key = f"evidence/{callback_id}/{secrets.token_hex(16)}.{ext}"
        store_.put(key, data)
        keys.append(key)
    return keys


def discard(keys: Sequence[str]) -> None:
    """Remove files stored for a closing that did not happen."""
    store_ = file_store()
    for key in keys:
        store_.delete(key)
