"""Supervisors' calls: the filtered list, a call's page, its recordings (streamed, audited)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import prompts
from callflows.vocabulary import CATEGORIES, DISPOSITIONS, LEVELS, RECORDING_CALL, SOURCES
from ivr.console import bp
from ivr.console.access import audit_action, may_hear, refuse, supervisors_only
from ivr.console.auth import current_user, login_required
from ivr.console.files import audio_type
from ivr.console.playback import starts_playback
from ivr.extensions import db_sessions
from storage.access.privacy import mask_number
from storage.db import transaction
from storage.models import (
    RECORDING_RATING,
    RECORDING_REASON,
    ROLES,
    Call,
    CallbackEvent,
    CallEvent,
    PublicCase,
    Recording,
)
from storage.records.files import file_store
from storage.reports.call_search import CallFilter, FilterError, count, parse_filter, search
from storage.reports.public_cases import CaseError, choose, withdraw

PAGE_SIZE = 50
MAX_PAGE = 10_000


def filter_choices() -> dict[str, Any]:
    """The select boxes' options, for the list and export forms."""
    return {
        "levels": LEVELS,
        "categories": CATEGORIES,
        "sources": SOURCES,
        "dispositions": DISPOSITIONS,
        "langs": tuple(prompts.available_languages()),
    }


@bp.get("/calls")
@supervisors_only
def calls() -> Any:
    """Calls matching the filters, newest first, `PAGE_SIZE` a page."""
    try:
        wanted = parse_filter(request.args)
        error, status = None, 200
    except FilterError as problem:
        wanted, error, status = CallFilter(), str(problem), 400
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    statement = search(wanted).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    with db_sessions()() as db:
        total = (db.scalar(count(wanted)) or 0) if error is None else 0
        found = list(db.scalars(statement)) if error is None else []
        rows = [{"call": call, "caller": mask_number(call.caller)} for call in found]
        html = render_template(
            "console/calls.html",
            rows=rows,
            f=wanted,
            args=wanted.query_args(),
            page=page,
            total=total,
            pages=max(1, -(-total // PAGE_SIZE)),
            error=error,
            **filter_choices(),
        )
    return html, status


def load_call(db: Session, call_id: int) -> Call:
    """The call with its rating, callback, tickets and recordings, or 404."""
    statement = (
        select(Call)
        .where(Call.id == call_id)
        .options(
            selectinload(Call.rating),
            selectinload(Call.callback),
            selectinload(Call.tickets),
            selectinload(Call.recordings),
        )
    )
    call = db.scalars(statement).first()
    if call is None:
        abort(404, description=f"没有编号为 {call_id} 的来电记录。")
    return call


def _rating_recording(call: Call) -> Recording | None:
    """The recording the rating came from, else the call's last rating-step recording."""
    if call.rating and call.rating.recording_id:
        chosen = [r for r in call.recordings if r.id == call.rating.recording_id]
        if chosen:
            return chosen[0]
    rating_step = [r for r in call.recordings if r.purpose == RECORDING_RATING]
    return rating_step[-1] if rating_step else None


def render_call(call_id: int, revealed: str | None = None, case_error: str | None = None) -> str:
    with db_sessions()() as db:
        call = load_call(db, call_id)
        history = db.scalars(
            select(CallEvent).where(CallEvent.call_id == call.id).order_by(CallEvent.id)
        ).all()
        callback_events = []
        if call.callback:
            callback_events = db.scalars(
                select(CallbackEvent)
                .where(CallbackEvent.callback_id == call.callback.id)
                .order_by(CallbackEvent.id)
            ).all()
        return render_template(
            "console/call.html",
            call=call,
            rating=call.rating,
            cb=call.callback,
            rating_recording=_rating_recording(call),
            reasons=[r for r in call.recordings if r.purpose == RECORDING_REASON],
            whole=[r for r in call.recordings if r.purpose == RECORDING_CALL],
            history=history,
            callback_events=callback_events,
            masked=mask_number(call.caller),
            revealed=revealed,
            case=db.scalars(select(PublicCase).where(PublicCase.call_id == call.id)).first(),
            case_error=case_error,
            form=request.form,
        )


@bp.get("/calls/<int:call_id>")
@supervisors_only
def call_page(call_id: int) -> Any:
    """A call: its rating and how it was given, recordings, transcripts, callback history."""
    return render_call(call_id)


@bp.post("/calls/<int:call_id>/reveal")
@supervisors_only
def reveal_call_number(call_id: int) -> Any:
    """Show the caller's full number once, and log who saw it."""
    with db_sessions()() as db:
        number = load_call(db, call_id).caller
    audit_action(current_user(), "reveal", f"call:{call_id}")
    return render_call(call_id, revealed=number or "（无号码）")


@bp.get("/recordings/<int:recording_id>/audio")
@login_required(roles=ROLES)  # every role logged in; `may_hear` decides, refusals audited
def recording_audio(recording_id: int) -> Any:
    """The recording's audio, with range requests (206); allowed roles only, audited."""
    user = current_user()
    assert user is not None
    target = f"recording:{recording_id}"
    with db_sessions()() as db:
        recording = db.get(Recording, recording_id)
        if recording is None:
            abort(404, description="没有这条录音。")
        call = load_call(db, recording.call_id)
        allowed = may_hear(user, call)
        key = recording.file_key
    if not allowed:
        refuse(user, target, "您无权收听这条录音（已记录）。")
    store = file_store()
    if not key or not store.exists(key):
        abort(404, description="录音文件不存在或已按保存期限清理。")
    if starts_playback(user, target):
        audit_action(user, "listen", target, detail={"call_id": call.id})
    with store.open(key) as head:
        mimetype = audio_type(head.read(4))
    source = store.path(key) or store.open(key)  # a local path gives ranges for free
    response = send_file(source, mimetype=mimetype, conditional=True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/calls/<int:call_id>/case")
@supervisors_only
def choose_case(call_id: int) -> Any:
    """Choose the call as a public good or bad case, or withdraw it."""
    user = current_user()
    assert user is not None
    try:
        with transaction(db_sessions()) as db:
            call = load_call(db, call_id)
            if request.form.get("withdraw"):
                withdraw(db, call.id)
                message = "已撤下公开案例。"
            else:
                choose(
                    db, user, call, request.form.get("title", ""), request.form.get("summary", "")
                )
                message = "已选为公开案例，将显示在公开汇总页。"
    except CaseError as problem:
        return render_call(call_id, case_error=str(problem)), 400
    flash(message)
    return redirect(url_for("console.call_page", call_id=call_id))
