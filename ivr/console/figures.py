"""Supervisors' figures: any period and grouping, a trend chart and rankings."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import render_template, request

from ivr.console import bp
from ivr.console.access import supervisors_only
from ivr.console.chart import trend_svg
from ivr.extensions import db_sessions
from storage.call_search import FIRST_DAY, LAST_DAY
from storage.deadlines import local_day
from storage.figures import GROUPS, RATES, FigureRow, Period, figures, ranking
from storage.figures_rollup import refresh
from storage.themes import group, remarks
from storage.types import utcnow

GROUP_NAMES = {
    "dept": "按部门",
    "agent": "按话务员",
    "day": "按日",
    "week": "按周",
    "month": "按月",
}
RATE_NAMES = {
    "active_rate": "主动评价率",
    "good_rate": "好评率",
    "neutral_rate": "中评率",
    "bad_rate": "差评率",
    "callback_rate": "48 小时回访率",
    "rectify_rate": "按期整改率",
    "followup_rate": "实名差评回访整改率",
}
MAX_DAYS = 3660


def percent(value: float | None) -> str:
    """`0.8734` → `87.3%`; no value → `—`."""
    return "—" if value is None else f"{value * 100:.1f}%"


bp.add_app_template_filter(percent, "percent")


def read_period(args: Any) -> tuple[Period, str | None]:
    """The period asked for (default: this month so far), or this month and an error."""
    today = local_day(utcnow())
    default = Period(today.replace(day=1), today)
    try:
        start = date.fromisoformat(args.get("date_from") or default.start.isoformat())
        end = date.fromisoformat(args.get("date_to") or default.end.isoformat())
        period = Period(start, end)
    except ValueError:
        return default, "日期无效或结束日期早于开始日期，已显示本月数据。"
    if not (FIRST_DAY <= start <= LAST_DAY and FIRST_DAY <= end <= LAST_DAY):
        return (
            default,
            f"日期超出范围（{FIRST_DAY.year} 年至 {LAST_DAY.year} 年），已显示本月数据。",
        )
    if (end - start).days > MAX_DAYS:
        return default, "日期范围过大（最多十年），已显示本月数据。"
    return period, None


def trend_group(period: Period) -> str:
    """The trend's time step: days up to two months, weeks up to a year, else months."""
    days = (period.end - period.start).days + 1
    return "day" if days <= 62 else "week" if days <= 366 else "month"


def load_figures(period: Period, group: str, dept: str | None) -> dict[str, Any]:
    """Totals, grouped rows and the trend, from a freshly refreshed rollup."""
    refresh(db_sessions())
    with db_sessions()() as db:
        total, rows = figures(db, period, group, dept)
        step = group if group in ("day", "week", "month") else trend_group(period)
        trend = rows if step == group else figures(db, period, step, dept)[1]
    return {"total": total, "rows": rows, "trend": trend, "step": step}


@bp.get("/figures", endpoint="figures")
@supervisors_only
def figures_page() -> Any:
    """The policy's figures for a period, grouped as asked; excluded ratings left out."""
    period, error = read_period(request.args)
    group = request.args.get("group", "dept")
    if group not in GROUPS:
        group, error = "dept", "未知的分组方式，已按部门显示。"
    dept = (request.args.get("dept") or "").strip()[:64] or None
    data = load_figures(period, group, dept)
    ranked: list[FigureRow] = ranking(data["rows"]) if group in ("dept", "agent") else data["rows"]
    chart = trend_svg(data["trend"], f"{period.start} 至 {period.end} 评价趋势")
    return render_template(
        "console/figures.html",
        period=period,
        group=group,
        dept=dept or "",
        groups=GROUP_NAMES,
        rates=RATES,
        rate_names=RATE_NAMES,
        total=data["total"],
        rows=ranked,
        chart=chart,
        step=GROUP_NAMES[data["step"]],
        error=error,
        last_month=_last_month(period.start),
    )


def _last_month(day: date) -> tuple[date, date]:
    end = day.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


@bp.get("/problems")
@supervisors_only
def problems() -> Any:
    """Recurring problems: the period's spoken reasons and verdict notes grouped by theme."""
    period, error = read_period(request.args)
    dept = (request.args.get("dept") or "").strip()[:64] or None
    with db_sessions()() as db:
        items = remarks(db, period, dept)
    return render_template(
        "console/problems.html",
        period=period,
        dept=dept or "",
        themes=group(items),
        total=len(items),
        error=error,
    )
