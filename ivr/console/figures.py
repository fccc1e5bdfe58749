"""Supervisors' figures: any period and grouping, a trend chart and rankings."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import render_template, request, url_for

from callflows.vocabulary import LEVELS
from ivr.console import bp, labels
from ivr.console.access import supervisors_only
from ivr.console.chart import trend_svg
from ivr.extensions import db_sessions
from storage.reports.call_search import FIRST_DAY, LAST_DAY
from storage.reports.figures import (
    GROUPS,
    RATES,
    FigureRow,
    Period,
    figures,
    ranking,
    totals,
    with_empty_buckets,
)
from storage.reports.figures_rollup import refresh
from storage.reports.themes import group, remarks
from storage.types import utcnow
from storage.workflow.deadlines import local_day

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


@bp.app_template_global()
def merged(base: dict[str, Any], **more: Any) -> dict[str, Any]:
    """Query arguments `base` with `more` added (for drill-down links)."""
    return {**base, **more}


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


MIN_SAMPLE = 30  # ratings a department or agent needs to be ranked


def load_figures(
    period: Period, group: str, dept: str | None, agent: str | None = None
) -> dict[str, Any]:
    """Totals, grouped rows and the trend (zero periods kept), from a refreshed rollup."""
    refresh(db_sessions())
    with db_sessions()() as db:
        total, rows = figures(db, period, group, dept, agent)
        step = group if group in ("day", "week", "month") else trend_group(period)
        trend = rows if step == group else figures(db, period, step, dept, agent)[1]
        before = totals(db, previous(period), dept, agent)
        last_year = totals(db, a_year_before(period), dept, agent)
    if group in ("day", "week", "month"):
        rows = with_empty_buckets(rows, period, group)
    trend = with_empty_buckets(trend, period, step)
    return {
        "total": total,
        "rows": rows,
        "trend": trend,
        "step": step,
        "before": before,
        "last_year": last_year,
    }


def previous(period: Period) -> Period:
    """The period of the same length just before (环比)."""
    days = (period.end - period.start).days + 1
    return Period(period.start - timedelta(days=days), period.start - timedelta(days=1))


def a_year_before(period: Period) -> Period:
    """The same dates a year earlier (同比); 29 February becomes the 28th."""

    def back(day: date) -> date:
        try:
            return day.replace(year=day.year - 1)
        except ValueError:
            return day.replace(year=day.year - 1, day=28)

    return Period(back(period.start), back(period.end))


def bucket_range(key: str, step: str, period: Period) -> tuple[date, date]:
    """The days of a trend bucket (a day, an ISO week, a month) inside the period."""
    if step == "week":
        year, week = key.split("-W")
        start = date.fromisocalendar(int(year), int(week), 1)
        end = start + timedelta(days=6)
    elif step == "month":
        start = date(int(key[:4]), int(key[5:7]), 1)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    else:
        start = end = date.fromisoformat(key)
    return max(start, period.start), min(end, period.end)


def change(now: float | None, then: float | None) -> str:
    """`+1.2 个百分点`, `-0.4 个百分点`, or `—` without both values."""
    if now is None or then is None:
        return "—"
    points = (now - then) * 100
    return "持平" if abs(points) < 0.05 else f"{points:+.1f} 个百分点"


def shown_figures(data: dict[str, Any]) -> dict[str, Any]:
    """What the figure pages show of `load_figures`' result: the totals beside the
    previous period and last year, the rates and the five levels."""
    return {
        "total": data["total"],
        "before": data["before"],
        "last_year": data["last_year"],
        "change": change,
        "rates": RATES,
        "rate_names": RATE_NAMES,
        "levels": LEVELS,
    }


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
    rows: list[FigureRow] = data["rows"]
    ranked, small = rows, []
    if group in ("dept", "agent"):
        ranked = ranking([r for r in rows if r.rated >= MIN_SAMPLE])
        small = sorted((r for r in rows if r.rated < MIN_SAMPLE), key=lambda r: -r.rated)
    step = data["step"]
    base = {"date_from": period.start.isoformat(), "date_to": period.end.isoformat()}
    if dept:
        base["dept"] = dept

    def bucket_link(key: str) -> str:
        start, end = bucket_range(key, step, period)
        args = base | {"date_from": start.isoformat(), "date_to": end.isoformat()}
        return url_for("console.calls", **args)

    def label(key: str) -> str:
        return labels.figure_key(key, step) if step == "week" else key[5:] if step == "day" else key

    chart = trend_svg(
        data["trend"], f"{period.start} 至 {period.end} 评价趋势", label=label, link=bucket_link
    )
    return render_template(
        "console/figures.html",
        period=period,
        group=group,
        dept=dept or "",
        groups=GROUP_NAMES,
        rows=ranked,
        small=small,
        min_sample=MIN_SAMPLE,
        chart=chart,
        step=GROUP_NAMES[step],
        error=error,
        last_month=_last_month(period.start),
        base=base,
        bucket_link=bucket_link if group in ("day", "week", "month") else None,
        **shown_figures(data),
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
