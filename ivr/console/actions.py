"""The action POSTs of a callback page: attempt, verdict, review, close (with evidence).

Each goes through `storage.callbacks.act`, so a refusal gets its audit row; the jobs of
a committed change are sent after the commit. A repeated `submission_key` changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request, url_for

from ivr.console import bp, error_page, labels
from ivr.console.auth import current_user, login_required
from ivr.console.evidence import BadUpload, discard, read_uploads, store
from ivr.console.queue import audit_refusal, check_access
from ivr.extensions import db_sessions
from storage import callbacks as wf
from storage.callback_steps import IllegalTransition, InvalidInput, NotAllowed, NotFound

KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
STATUS = {NotFound: 404, NotAllowed: 403, IllegalTransition: 409, InvalidInput: 400}
MESSAGES = {
    "attempts are logged only while": "只有待回访状态下才能登记回访尝试。",
    "the caller has not been reached": "尚未联系上来电人，不能进行此操作。",
    "a verdict is already recorded": "已经登记过核实结论。",
    "no mistaken/malicious verdict awaits": "没有等待审批的误评或恶意差评结论。",
    "the verdict's author cannot review": "不能审批自己登记的结论。",
    "only a supervisor reviews": "只有主管可以审批结论。",
    "say why it is not genuine": "误评或恶意差评须说明理由。",
    "feedback ": "当场解决或解释说明须填写来电人反馈；其他结论不填。",
    "describe the rectification": "请填写整改情况说明。",
    "give 1 to": "请上传 1 至 20 个证明材料文件。",
    "no rectification under way": "当前没有进行中的整改。",
    "this form was submitted for another": "该表单属于另一条回访，请刷新页面。",
    "a callback of department": "此回访不属于您的部门，您无权处理（已记录）。",
    "the callback is": "回访当前状态不允许此操作。",
}


def _chinese(error: Exception) -> str:
    text = str(error)
    for start, message in MESSAGES.items():
        if text.startswith(start):
            return message
    return text


def _submission_key() -> str | None:
    key = request.form.get("submission_key", "")
    return key if KEY_PATTERN.fullmatch(key) else None


def _run(callback_id: int, action: Callable[..., wf.Outcome], *args: Any, **kwargs: Any) -> Any:
    """Run one workflow action for the current user; the page again, or an error page."""
    return _answer(callback_id, _act(callback_id, action, *args, **kwargs))


def _act(
    callback_id: int, action: Callable[..., wf.Outcome], *args: Any, **kwargs: Any
) -> wf.Outcome | tuple[str, int]:
    """The action's outcome (its jobs are sent once it commits), or its refusal's error page."""
    user = current_user()
    assert user is not None
    factory = db_sessions()
    try:
        outcome = wf.act(
            factory, action, user, callback_id, *args, submission_key=_submission_key(), **kwargs
        )
    except wf.WorkflowError as error:
        status = STATUS.get(type(error), 400)
        return error_page(status, labels.HTTP_TITLES[status], _chinese(error))
    return outcome


def _answer(callback_id: int, outcome: wf.Outcome | tuple[str, int]) -> Any:
    """Back to the callback page with a note, or the error page as it is."""
    if isinstance(outcome, tuple):
        return outcome
    if outcome.duplicate:
        flash("该表单已经提交过，未重复处理。")
    else:
        flash(f"已保存。回访状态：{labels.label(outcome.state)}。")
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
    return _run(callback_id, wf.record_verdict, resolution, _note(), feedback=feedback)


@bp.post("/callbacks/<int:callback_id>/review")
@login_required()
def review(callback_id: int) -> Any:
    """A supervisor approves or rejects a mistaken/malicious verdict."""
    decision = request.form.get("decision", "")
    if decision not in ("approve", "reject"):
        return error_page(400, labels.HTTP_TITLES[400], "请选择批准或驳回。")
    return _run(callback_id, wf.review_verdict, decision == "approve", _note())


@bp.post("/callbacks/<int:callback_id>/close")
@login_required()
def close(callback_id: int) -> Any:
    """Close a rectification with its description, evidence files and feedback."""
    user = current_user()
    assert user is not None
    check_access(callback_id, user, "close")  # before any file is stored
    try:
        files = read_uploads(request.files.getlist("evidence"))
    except BadUpload as error:
        audit_refusal(callback_id, user, "upload", f"evidence refused: {error}")
        return error_page(400, "上传的文件不符合要求", str(error))
    keys = store(callback_id, files)
    description = request.form.get("description", "")
    feedback = request.form.get("feedback", "")
    outcome = _act(callback_id, wf.close_rectification, description, keys, feedback, _note())
    if isinstance(outcome, tuple) or outcome.duplicate:
        discard(keys)  # refused or already closed by this form: keep no stray files
    return _answer(callback_id, outcome)
