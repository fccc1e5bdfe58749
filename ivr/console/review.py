"""监督查评 (verification calls to a random share of all raters), raters found malicious,
and the holiday table's coverage shown to administrators."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ivr.console import bp
from ivr.console.access import audit_action, supervisors_only
from ivr.console.auth import current_user
from ivr.console.figures import read_period
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

LIST_LIMIT = 100
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
    period, _ = read_period(request.args)
    return _list_page(period, None, 200)


def _list_page(period: Period, error: str | None, status: int) -> Any:
    with db_sessions()() as db:
        checks = db.scalars(
            select(VerificationCheck)
            .options(selectinload(VerificationCheck.items))
            .order_by(VerificationCheck.id.desc())
            .limit(LIST_LIMIT)
        ).all()
        html = render_template(
            "console/verification.html",
            checks=[(check, tally_items(check.items)) for check in checks],
            period=period,
            error=error,
            form=request.form,
            repeats=repeat_raters(db),
        )
    return html, status


def _number(raw: str | None, kind: type) -> Any:
    try:
        return kind(raw) if raw not in (None, "") else None
    except ValueError:
        raise VerificationError(f"不是有效的数字：{str(raw)[:20]}") from None


@bp.post("/verification")
@supervisors_only
def draw_verification() -> Any:
    """Draw a sample of rated calls by rate (%) or count; a seed may be given to redraw."""
    user = current_user()
    assert user is not None
    form = request.form
    try:
        period = Period(date.fromisoformat(form["date_from"]), date.fromisoformat(form["date_to"]))
    except (KeyError, ValueError):
        return _list_page(read_period({})[0], "请填写有效的开始和结束日期。", 400)
    try:
        percent = _number(form.get("rate"), float) if form.get("mode") == "rate" else None
        count = _number(form.get("count"), int) if form.get("mode") != "rate" else None
        with transaction(db_sessions()) as db:
            check = draw(
                db,
                user,
                period,
                rate=None if percent is None else percent / 100,
                count=count,
                seed=_number(form.get("seed"), int),
            )
            check_id, size, seed = check.id, len(check.items), check.seed
    except VerificationError as problem:
        return _list_page(period, str(problem), 400)
    flash(f"已抽取 {size} 条已评价来电（随机种子 {seed}）。")
    return redirect(url_for("console.verification_check", check_id=check_id))


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
