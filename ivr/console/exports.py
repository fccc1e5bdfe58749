"""Supervisors' exports (CSV, XLSX; numbers masked, audited) and the public summary."""

from __future__ import annotations

import tempfile
from typing import IO, Any
from urllib.parse import quote

from flask import Response, abort, render_template, request, send_file

from ivr.console import bp, labels
from ivr.console.access import audit_action, supervisors_only
from ivr.console.auth import current_user
from ivr.console.figures import RATE_NAMES, load_figures, read_period
from ivr.extensions import db_sessions
from storage.reports.call_search import FilterError, parse_filter
from storage.reports.exports import (
    CALL_COLUMNS,
    CALL_HEADERS,
    FIGURE_HEADERS,
    call_rows,
    day_key,
    figure_columns,
    figure_rows,
    to_csv,
    write_csv,
)
from storage.reports.figures import RATES, figures
from storage.reports.figures_rollup import refresh
from storage.reports.public_cases import cases
from storage.reports.xlsx import DATE, Sheet, write_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("xlsx", "csv")


def _disposition(fmt: str, name: str) -> str:
    filename = f"{name}.{fmt}"
    return f"attachment; filename=export.{fmt}; filename*=UTF-8''{quote(filename)}"


def download(data: bytes, fmt: str, name: str) -> Response:
    """A small export held in memory."""
    mimetype = XLSX if fmt == "xlsx" else "text/csv; charset=utf-8"
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = _disposition(fmt, name)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def new_spool() -> IO[bytes]:
    """A temporary file for an export; the response closes (and so removes) it."""
    return tempfile.TemporaryFile(prefix="ivr-export-")


def send_spooled(spool: IO[bytes], fmt: str, name: str) -> Response:
    """An export written to a temporary file, streamed from it (then the file is gone)."""
    spool.seek(0)
    mimetype = XLSX if fmt == "xlsx" else "text/csv; charset=utf-8"
    response = send_file(spool, mimetype=mimetype, max_age=0)
    response.headers["Content-Disposition"] = _disposition(fmt, name)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/export/calls.<fmt>")
@supervisors_only
def export_calls(fmt: str) -> Any:
    """The filtered calls list (up to `MAX_EXPORT_ROWS`), typed and in Chinese, numbers
    masked; rows are written to a temporary file as they are read, then streamed."""
    if fmt not in FORMATS:
        abort(404)
    try:
        wanted = parse_filter(request.args)
    except FilterError as problem:
        abort(400, description=str(problem))
    names = labels.names()
    spool = new_spool()
    with db_sessions()() as db:
        rows = call_rows(db, wanted, labels.label, names)
        if fmt == "csv":
            count = write_csv(spool, CALL_HEADERS, rows)
        else:
            (count,) = write_xlsx(spool, [Sheet("来电记录", CALL_COLUMNS, rows)])
    detail = {"format": fmt, "rows": count} | wanted.query_args()
    audit_action(current_user(), "export", "calls", detail=detail)
    return send_spooled(spool, fmt, "来电记录")


@bp.get("/export/report.<fmt>")
@supervisors_only
def export_report(fmt: str) -> Any:
    """The period's report: totals, by department, by agent and by day (typed cells)."""
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

    def dept_key(key: str) -> str:
        return labels.figure_key(key, "dept")

    def agent_key(key: str) -> str:
        return labels.figure_key(key, "agent")

    if fmt == "csv":
        rows = figure_rows([total], str) + figure_rows(by_dept, dept_key)
        return download(to_csv(FIGURE_HEADERS, rows), fmt, name)
    sheets = [
        Sheet("汇总", figure_columns("统计期间"), figure_rows([total])),
        Sheet("按部门", figure_columns("承办部门"), figure_rows(by_dept, dept_key)),
        Sheet("按话务员", figure_columns("话务员（部门）"), figure_rows(by_agent, agent_key)),
        Sheet("按日", figure_columns("日期", DATE), figure_rows(by_day, day_key)),
    ]
    spool = new_spool()
    write_xlsx(spool, sheets)
    return send_spooled(spool, fmt, name)


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
