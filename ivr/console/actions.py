"""The action POSTs of a callback page: attempt, verdict, review, close (with evidence).

Each goes through `storage.workflow.callbacks.act`, so a refusal gets its audit row; the jobs of
a committed change are sent after the commit. A repeated `submission_key` changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request, url_for

from ivr.console import bp, error_page, labels, messages
from ivr.console.auth import current_user, login_required
from ivr.console.evidence import BadUpload, discard, read_uploads, store
from ivr.console.queue import audit_refusal, check_access, next_case, render_detail
from ivr.extensions import db_sessions
from storage.records.files import file_store
from storage.workflow import callbacks as wf
from storage.workflow.callback_steps import IllegalTransition, InvalidInput, NotAllowed, NotFound

KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
STATUS = {NotFound: 404, NotAllowed: 403, IllegalTransition: 409, InvalidInput: 400}
FORMS = {"console.attempt": "attempt", "console.verdict": "verdict", "console.close": "close"}
EVIDENCE_KEY = re.compile(r"evidence/(\d+)/[0-9a-f]{32}\.(pdf|jpg|png)")


def _chinese(error: Exception) -> str:
    return messages.translate(str(error))


def _in_place(callback_id: int, message: str, status: int, files: list[dict] | None = None) -> Any:
    """The callback page again, the refusal beside its form, what was typed kept."""
    kept = {key: request.form.get(key, "") for key in request.form if key != "csrf_token"}
    form = FORMS.get(request.endpoint or "", "review")
    problem = {"form": form, "message": message, "kept": kept, "files": files or []}
    return render_detail(callback_id, status=status, problem=problem)


def _submission_key() -> str | None:
    key = request.form.get("submission_key", "")
    return key if KEY_PATTERN.fullmatch(key) else None


def _run(callback_id: int, action: Callable[..., wf.Outcome], *args: Any, **kwargs: Any) -> Any:
    """Run one workflow action for the current user; the page again, or an error page."""
    return _answer(callback_id, _act(callback_id, action, *args, **kwargs))


def _act(
    callback_id: int,
    action: Callable[..., wf.Outcome],
    *args: Any,
    kept_files: list[dict] | None = None,
    **kwargs: Any,
) -> wf.Outcome | tuple[str, int]:
    """The action's outcome (its jobs are sent once it commits), or the page with its
    refusal in place."""
    user = current_user()
    assert user is not None
    factory = db_sessions()
    try:
        outcome = wf.act(
            factory, action, user, callback_id, *args, submission_key=_submission_key(), **kwargs
        )
    except wf.WorkflowError as error:
        status = STATUS.get(type(error), 400)
        if status in (400, 409):
            return _in_place(callback_id, _chinese(error), status, kept_files)
        return error_page(status, labels.HTTP_TITLES[status], _chinese(error))
    return outcome


def _answer(callback_id: int, outcome: wf.Outcome | tuple[str, int]) -> Any:
    """Back to the callback page with a note, or the error page as it is."""
    if isinstance(outcome, tuple):
        return outcome
    if outcome.duplicate:
        flash("该表单已经提交过，未重复处理。")
    else:
        flash(f"回访 #{callback_id} 已保存。回访状态：{labels.label(outcome.state)}。")
    if request.form.get("then") == "next":
        user = current_user()
        following = next_case(user, callback_id) if user else None
        if following is not None:
            return redirect(url_for("console.callback", callback_id=following))
        flash("队列中没有其他待处理的回访了。")
        return redirect(url_for("console.queue"))
    return redirect(url_for("console.callback", callback_id=callback_id))


def _note() -> str:
    return request.form.get("note", "")[:4000]


@bp.post("/callbacks/<int:callback_id>/attempt")
@login_required()
def attempt(callback_id: int) -> Any:
    """Log one call-back attempt."""
    return _run(callback_id, wf.log_attempt, request.form.get("result", ""), _note())


@bp.post("/callbacks/<int:callback_id>/verdict")
@login_required()
def verdict(callback_id: int) -> Any:
    """Record the verdict once the caller is reached."""
    feedback = request.form.get("feedback") or None
    resolution = request.form.get("resolution", "")
    consulted = [code[:64] for code in request.form.getlist("consulted")[:20]]
    return _run(
        callback_id, wf.record_verdict, resolution, _note(), feedback=feedback, consulted=consulted
    )


@bp.post("/callbacks/<int:callback_id>/review")
@login_required()
def review(callback_id: int) -> Any:
    """A supervisor approves or rejects a mistaken/malicious verdict."""
    decision = request.form.get("decision", "")
    if decision not in ("approve", "reject"):
        return _in_place(callback_id, "请选择批准或驳回。", 400)
    return _run(callback_id, wf.review_verdict, decision == "approve", _note())


@bp.post("/callbacks/<int:callback_id>/close")
@login_required()
def close(callback_id: int) -> Any:
    """Close a rectification with its description, evidence files and feedback."""
    user = current_user()
    assert user is not None
    check_access(callback_id, user, "close")  # before any file is stored
    chosen = [f.filename[:80] for f in request.files.getlist("evidence") if f and f.filename]
    kept = _kept_evidence(callback_id)
    try:
        files = read_uploads(request.files.getlist("evidence"))
    except BadUpload as error:
        audit_refusal(callback_id, user, "upload", f"evidence refused: {error}")
        return _in_place(callback_id, f"{error}请重新选择文件。", 400, kept)
    new_keys = store(callback_id, files)
    new_files = [{"key": k, "name": n} for k, n in zip(new_keys, chosen, strict=False)]
    keys = [f["key"] for f in kept] + new_keys
    description = request.form.get("description", "")
    feedback = request.form.get("feedback", "")
    outcome = _act(
        callback_id,
        wf.close_rectification,
        description,
        keys,
        feedback,
        _note(),
        kept_files=kept + new_files,
    )
    if not isinstance(outcome, tuple) and outcome.duplicate:
        discard(keys)  # already closed by this form: keep no stray files
    return _answer(callback_id, outcome)


def _kept_evidence(callback_id: int) -> list[dict]:
    """Files stored by an earlier refused submission of this form (kept for the retry)."""
    names = request.form.getlist("kept_name")
    kept = []
    for n, key in enumerate(request.form.getlist("kept_evidence")[:20]):
        match = EVIDENCE_KEY.fullmatch(key)
        if match and int(match[1]) == callback_id and file_store().exists(key):
            kept.append({"key": key, "name": names[n][:80] if n < len(names) else "已上传文件"})
    return kept
