"""The OpenAPI 3 description of the read API, served at `/api/v1/openapi.json`."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import Blueprint, jsonify

bp = Blueprint("openapi", __name__)

SPEC = Path(__file__).with_name("openapi.json")


@cache
def description() -> dict:
    """The description, read once (tests check it against the running API)."""
    return json.loads(SPEC.read_text(encoding="utf-8"))


@bp.get("/api/v1/openapi.json")
def openapi():
    """Public, like any API reference: it holds no data."""
    return jsonify(description())
