"""监督查评 (verification calls to a random share of all raters), raters found malicious,
and the holiday table's coverage shown to administrators."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ivr.console import bp
from ivr.console.access import audit_action, supervisors_only
from ivr.console.auth import current_user
from ivr.console.samples import draw_from_form, list_page
from ivr.extensions import db_sessions
from storage.db import transaction
from storage.models import Call
from storage.models_review import OUTCOMES, VerificationCheck, VerificationItem
from storage.reports.figures import Period
from storage.types import utcnow
from storage.workflow.deadlines import local_day
from storage.workflow.holidays import Coverage, current_coverage
from storage.workflow.malicious import repeat_raters
from storage.workflow.verification import (
    VerificationError,
    draw,
    record_outcome,
    tally,
    tally_items,
)

DRAWN = "已抽取 {size} 条已评价来电（随机种子 {seed}）。"
OUTCOME_NAMES = {"confirmed": "评价属实", "denied": "来电人否认评价", "unreachable": "联系不上"}


@bp.app_template_global()
def holiday_coverage() -> Coverage:
    """The covered range of the holiday schedules (for the administration pages)."""
    return current_coverage(local_day(utcnow()))


@bp.app_template_global()
def verification_tally(period: Period) -> Any:
    """The period's 监督查评 outcomes (for the figures page)."""
    with db_sessions()() as db:
        return tally(db, period)


@bp.get("/verification")
@supervisors_only
def verification() -> Any:
    """The samples drawn so far, the form to draw one, and repeat malicious raters."""
    return _list_page()


_list_page = partial(
    list_page,
    "console/verification.html",
    VerificationCheck,
    lambda check: tally_items(check.items),
    repeats=repeat_raters,
)


@bp.post("/verification")
@supervisors_only
def draw_verification() -> Any:
    """Draw a sample of rated calls by rate (%) or count; a seed may be given to redraw."""
    return draw_from_form(draw, VerificationError, _list_page, "console.verification_check", DRAWN)


@bp.get("/verification/<int:check_id>")
@supervisors_only
def verification_check(check_id: int) -> Any:
    """A sample: each rated call, and the outcome of its verification call."""
    with db_sessions()() as db:
        check = db.get(VerificationCheck, check_id)
        if check is None:
            abort(404, description=f"没有编号为 {check_id} 的查评。")
        ids = [item.call_id for item in check.items]
        calls = {c.id: c for c in db.scalars(select(Call).where(Call.id.in_(ids)))}
        return render_template(
            "console/verification_check.html",
            check=check,
            result=tally_items(check.items),
            calls=calls,
            outcomes=[(code, OUTCOME_NAMES[code]) for code in OUTCOMES],
            outcome_names=OUTCOME_NAMES,
        )


@bp.post("/verification/<int:check_id>/items/<int:item_id>")
@supervisors_only
def record_verification(check_id: int, item_id: int) -> Any:
    """Record the outcome of one verification call."""
    user = current_user()
    assert user is not None
    outcome = request.form.get("outcome", "")
    try:
        with transaction(db_sessions()) as db:
            item = db.get(VerificationItem, item_id)
            if item is None or item.check_id != check_id:
                abort(404, description="查评中没有这一条。")
            record_outcome(db, user, item, outcome, request.form.get("note", ""))
    except VerificationError as problem:
        flash(f"未保存：{problem}")
    else:
        audit_action(user, "verify", f"verification_item:{item_id}", detail={"outcome": outcome})
        flash("查评结果已保存。")
    return redirect(url_for("console.verification_check", check_id=check_id) + f"#item-{item_id}")
