"""The read API for the hotline's work-order system (`/api/v1`, bearer tokens)."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from datetime import UTC, datetime

from flask import Blueprint, g, jsonify, request
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException

from callflows.vocabulary import CALLBACK_STATES
from ivr.extensions import db_sessions
from storage.access.tokens import check_token
from storage.db import transaction
from storage.models import Call, Callback, CallTicket
from storage.records.calls import find_call
from storage.reports.serialize import call_to_dict, iso
from storage.workflow.clocks import current_step

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PAGE_SIZE = 100
MAX_ID_LENGTH = 64  # call ids and ticket ids are stored in columns of this size
MAX_CURSOR_LENGTH = 200
MAX_TIME_LENGTH = 40
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, tzinfo=UTC)


def _storable_id(value: str) -> bool:
    """Whether `value` could be a stored id (PostgreSQL text cannot hold NUL)."""
    return len(value) <= MAX_ID_LENGTH and "\x00" not in value


def token_required(view):
    """401 unless the request carries `Authorization: Bearer <valid token>`."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with transaction(db_sessions()) as session:
            found = check_token(session, token.strip()) if scheme.lower() == "bearer" else None
            g.api_token_name = found.name if found else None
        if found is None:
            response = jsonify(error="a valid bearer token is required")
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="ivr"'
            return response
        return view(*args, **kwargs)

    return checked


def error(status: int, message: str):
    """A JSON error answer."""
    response = jsonify(error=message)
    response.status_code = status
    return response


@bp.errorhandler(HTTPException)
def _http_error(problem: HTTPException):
    """The API answers errors (a body that is not JSON, 404, 405 …) in JSON too."""
    return error(problem.code or 500, problem.description or problem.name)


@bp.get("/calls/<call_sid>")
@token_required
def get_call(call_sid: str):
    """One call with its rating and callback."""
    if not _storable_id(call_sid):
        return error(404, "no such call")
    with transaction(db_sessions()) as session:
        call = find_call(session, call_sid)
        if call is None:
            return error(404, "no such call")
        return jsonify(call_to_dict(call))


@bp.get("/calls")
@token_required
def list_calls():
    """Calls by ticket, or changed since a time, oldest change first, page by page."""
    ticket = request.args.get("ticket")
    since_raw = request.args.get("updated_since")
    if not ticket and not since_raw:
        return error(400, "give ticket or updated_since")
    if ticket and not _storable_id(ticket):
        return error(400, "ticket is malformed")
    statement = select(Call).options(
        selectinload(Call.tickets),
        selectinload(Call.rating),
        selectinload(Call.callback).selectinload(Callback.assignee),
        selectinload(Call.callback).selectinload(Callback.consults),
        selectinload(Call.linked_call),
        selectinload(Call.linked_by),
        selectinload(Call.rates_call),
    )
    if ticket:
        statement = statement.where(
            Call.id.in_(select(CallTicket.call_id).where(CallTicket.ticket == ticket))
        )
    if since_raw:
        since = _parse_time(since_raw)
        if since is None:
            return error(400, "updated_since must be an ISO 8601 time (UTC if no offset)")
        statement = statement.where(Call.updated_at >= since)
    cursor = request.args.get("cursor")
    if cursor:
        after = _decode_cursor(cursor)
        if after is None:
            return error(400, "bad cursor")
        statement = statement.where(
            or_(Call.updated_at > after[0], and_(Call.updated_at == after[0], Call.id > after[1]))
        )
    statement = statement.order_by(Call.updated_at, Call.id).limit(PAGE_SIZE + 1)
    with transaction(db_sessions()) as session:
        calls = list(session.scalars(statement))
        page = calls[:PAGE_SIZE]
        next_cursor = _encode_cursor(page[-1]) if len(calls) > PAGE_SIZE else None
        return jsonify(items=[call_to_dict(c) for c in page], next_cursor=next_cursor)


@bp.get("/callbacks")
@token_required
def list_callbacks():
    """Callbacks, earliest deadline first, optionally of one state."""
    state = request.args.get("state")
    if state is not None and state not in CALLBACK_STATES:
        return error(400, f"state must be one of {sorted(CALLBACK_STATES)}")
    statement = select(Callback).options(selectinload(Callback.call))
    if state:
        statement = statement.where(Callback.state == state)
    statement = statement.order_by(Callback.due_at, Callback.id).limit(1000)
    with transaction(db_sessions()) as session:
        items = [
            {
                "call_sid": cb.call.call_sid,
                "dept": cb.dept,
                "state": cb.state,
                "due_at": iso(cb.due_at),
                "overdue": cb.overdue,
                "step": current_step(cb).step,
                "step_due_at": iso(current_step(cb).due_at),
            }
            for cb in session.scalars(statement)
        ]
    return jsonify(items=items)


def _parse_time(raw: str) -> datetime | None:
    """An ISO 8601 time in UTC (a time without offset is UTC); None if unreadable or
    outside the years 1970-9998."""
    if len(raw) > MAX_TIME_LENGTH:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return value if EARLIEST <= value <= LATEST else None


def _encode_cursor(call: Call) -> str:
    raw = json.dumps([call.updated_at.isoformat(), call.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """`[ISO time, call id]` as made by `_encode_cursor`, or None for anything else."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        return None
    match decoded:
        case [str(when), int(call_id)] if 0 < call_id < 2**63:
            pass
        case _:
            return None
    at = _parse_time(when)
    return None if at is None else (at, call_id)


from ivr import api_surveys  # noqa: E402, F401  (routes on `bp`)
