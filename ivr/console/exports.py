"""Supervisors' exports (CSV, XLSX; numbers masked, audited) and the public summary."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, abort, render_template, request

from ivr.console import bp
from ivr.console.access import audit_action, supervisors_only
from ivr.console.auth import current_user
from ivr.console.figures import RATE_NAMES, load_figures, read_period
from ivr.extensions import db_sessions
from storage.call_search import FilterError, parse_filter
from storage.exports import (
    CALL_HEADERS,
    FIGURE_HEADERS,
    call_rows,
    figure_rows,
    to_csv,
    to_xlsx,
)
from storage.figures import RATES, figures
from storage.figures_rollup import refresh
from storage.public_cases import cases

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("xlsx", "csv")


def download(data: bytes, fmt: str, name: str) -> Response:
    mimetype = XLSX if fmt == "xlsx" else "text/csv; charset=utf-8"
    response = Response(data, mimetype=mimetype)
    filename = f"{name}.{fmt}"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=export.{fmt}; filename*=UTF-8''{quote(filename)}"
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/export/calls.<fmt>")
@supervisors_only
def export_calls(fmt: str) -> Any:
    """The filtered calls list (up to `MAX_EXPORT_ROWS`), numbers masked."""
    if fmt not in FORMATS:
        abort(404)
    try:
        wanted = parse_filter(request.args)
    except FilterError as problem:
        abort(400, description=str(problem))
    with db_sessions()() as db:
        rows = call_rows(db, wanted)
    detail = {"format": fmt, "rows": len(rows)} | wanted.query_args()
    audit_action(current_user(), "export", "calls", detail=detail)
    if fmt == "csv":
        return download(to_csv(CALL_HEADERS, rows), fmt, "来电记录")
    return download(to_xlsx([("来电记录", CALL_HEADERS, rows)]), fmt, "来电记录")


@bp.get("/export/report.<fmt>")
@supervisors_only
def export_report(fmt: str) -> Any:
    """The period's report: totals, by department, by agent and by day."""
    if fmt not in FORMATS:
        abort(404)
    period, error = read_period(request.args)
    if error:
        abort(400, description=error)
    dept = (request.args.get("dept") or "").strip()[:64] or None
    refresh(db_sessions())
    with db_sessions()() as db:
        total, by_dept = figures(db, period, "dept", dept)
        by_agent = figures(db, period, "agent", dept)[1]
        by_day = figures(db, period, "day", dept)[1]
    total.key = f"{period.start} 至 {period.end}"
    audit_action(current_user(), "export", "report", detail={"format": fmt, "period": total.key})
    name = f"好差评报表-{period.start}-{period.end}"
    if fmt == "csv":
        return download(to_csv(FIGURE_HEADERS, figure_rows([total, *by_dept])), fmt, name)
    sheets = [
        ("汇总", FIGURE_HEADERS, figure_rows([total])),
        ("按部门", FIGURE_HEADERS, figure_rows(by_dept)),
        ("按话务员", FIGURE_HEADERS, figure_rows(by_agent)),
        ("按日", FIGURE_HEADERS, figure_rows(by_day)),
    ]
    return download(to_xlsx(sheets), fmt, name)


@bp.get("/public/summary")
def public_summary() -> Any:
    """The period's figures for publication: no login, no personal data, no agents."""
    period, error = read_period(request.args)
    data = load_figures(period, "dept", None)
    with db_sessions()() as db:
        chosen = cases(db, period)
    return render_template(
        "console/public_summary.html",
        period=period,
        total=data["total"],
        rows=data["rows"],
        rates=RATES,
        rate_names=RATE_NAMES,
        error=error,
        cases=chosen,
    )
