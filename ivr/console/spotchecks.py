"""Supervisors' spot checks: draw a reproducible sample of finished callbacks, score it."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ivr.console import bp, labels
from ivr.console.access import audit_action, supervisors_only
from ivr.console.auth import current_user
from ivr.console.samples import draw_from_form, list_page
from ivr.extensions import db_sessions
from storage.db import transaction
from storage.models import Callback, SpotCheck, SpotCheckItem
from storage.reports.exports import SPOT_CHECK_COLUMNS, SPOT_CHECK_HEADERS, spot_check_rows, to_csv
from storage.reports.xlsx import Sheet, write_xlsx
from storage.workflow.spotcheck_facts import facts
from storage.workflow.spotchecks import CHECKLIST, SpotCheckError, draw, report, score

DRAWN = "已抽取 {size} 条回访（随机种子 {seed}）。"
ANSWERS = {"yes": True, "no": False}


@bp.get("/spot-checks")
@supervisors_only
def spot_checks() -> Any:
    """The samples drawn so far, newest first, and the form to draw one."""
    return _list_page()


_list_page = partial(list_page, "console/spotchecks.html", SpotCheck, report)


@bp.post("/spot-checks")
@supervisors_only
def draw_spot_check() -> Any:
    """Draw a sample by rate (%) or count; the seed may be given to redraw one."""
    dept = (request.form.get("dept") or "").strip()[:64] or None
    return draw_from_form(draw, SpotCheckError, _list_page, "console.spot_check", DRAWN, dept=dept)


@bp.get("/spot-checks/<int:check_id>")
@supervisors_only
def spot_check(check_id: int) -> Any:
    """A sample: each callback, the record's facts, its score and the findings."""
    return _check_page(check_id)


def _check_page(check_id: int, problem: dict[str, Any] | None = None, status: int = 200) -> Any:
    with db_sessions()() as db:
        check = db.get(SpotCheck, check_id)
        if check is None:
            abort(404, description=f"没有编号为 {check_id} 的抽查。")
        ids = [item.callback_id for item in check.items]
        callbacks = {
            cb.id: cb
            for cb in db.scalars(
                select(Callback).where(Callback.id.in_(ids)).options(selectinload(Callback.call))
            )
        }
        html = render_template(
            "console/spotcheck.html",
            check=check,
            result=report(check),
            callbacks=callbacks,
            facts={cb_id: facts(cb) for cb_id, cb in callbacks.items()},
            checklist=CHECKLIST,
            problem=problem or {},
        )
    return html, status


@bp.post("/spot-checks/<int:check_id>/items/<int:item_id>")
@supervisors_only
def score_spot_check_item(check_id: int, item_id: int) -> Any:
    """Record one sampled callback's score and findings."""
    user = current_user()
    assert user is not None
    form = request.form
    answers = {code: ANSWERS.get(form.get(code, "")) for code, _ in CHECKLIST}
    reasons = {code: form.get(f"reason_{code}", "") for code, _ in CHECKLIST}
    try:
        with transaction(db_sessions()) as db:
            item = db.get(SpotCheckItem, item_id)
            if item is None or item.spot_check_id != check_id:
                abort(404, description="抽查中没有这一条。")
            score(db, user, item, answers, form.get("finding", ""), reasons)
    except SpotCheckError as problem:
        return _check_page(check_id, {"item": item_id, "message": str(problem), "form": form}, 400)
    else:
        flash("评分已保存。")
    return redirect(url_for("console.spot_check", check_id=check_id) + f"#item-{item_id}")


@bp.get("/spot-checks/<int:check_id>.<fmt>")
@supervisors_only
def export_spot_check(check_id: int, fmt: str) -> Any:
    """A sample and its results as CSV or XLSX, for the report to the management body."""
    from ivr.console.exports import FORMATS, download, new_spool, send_spooled

    if fmt not in FORMATS:
        abort(404)
    with db_sessions()() as db:
        check = db.get(SpotCheck, check_id)
        if check is None:
            abort(404, description=f"没有编号为 {check_id} 的抽查。")
        rows = spot_check_rows(db, check, labels.label, labels.names())
    audit_action(current_user(), "export", f"spot_check:{check_id}", detail={"format": fmt})
    name = f"抽查-{check_id}-{check.period_start}-{check.period_end}"
    if fmt == "csv":
        return download(to_csv(SPOT_CHECK_HEADERS, rows), fmt, name)
    spool = new_spool()
    write_xlsx(spool, [Sheet(f"抽查{check_id}", SPOT_CHECK_COLUMNS, rows)])
    return send_spooled(spool, fmt, name)
