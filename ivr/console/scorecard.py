"""An agent's scorecard (话务员评价卡): the period's rates, trend, five levels and the
bad ratings (callbacks) that came from the agent's calls."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ivr.console import bp, labels
from ivr.console.access import supervisors_only
from ivr.console.chart import trend_svg
from ivr.console.figures import load_figures, read_period, shown_figures
from ivr.extensions import db_sessions
from storage.models import Call, Callback
from storage.workflow.deadlines import end_of_day, start_of_day

MAX_CALLBACKS = 200


@bp.get("/agents/<code>")
@supervisors_only
def agent_scorecard(code: str) -> Any:
    """One agent's figures for the period (default: this month)."""
    code = code[:64]
    period, error = read_period(request.args)
    data = load_figures(period, "day", None, agent=code)
    statement = (
        select(Callback)
        .join(Call, Call.id == Callback.call_id)
        .where(
            Call.agent == code,
            Call.created_at >= start_of_day(period.start),
            Call.created_at < end_of_day(period.end),
        )
        .options(selectinload(Callback.rating), selectinload(Callback.call))
        .order_by(Callback.id.desc())
        .limit(MAX_CALLBACKS)
    )
    base = {"agent": code, "date_from": period.start.isoformat(), "date_to": period.end.isoformat()}
    chart = trend_svg(
        data["trend"],
        f"{labels.agent_name(code)} 评价趋势",
        label=lambda key: key[5:],
        link=lambda key: url_for("console.calls", **(base | {"date_from": key, "date_to": key})),
    )
    with db_sessions()() as db:
        callbacks = list(db.scalars(statement))
        return render_template(
            "console/agent.html",
            code=code,
            dept=labels.names().agent_depts.get(code),
            period=period,
            error=error,
            chart=chart,
            callbacks=callbacks,
            limit=MAX_CALLBACKS,
            base=base,
            **shown_figures(data),
        )
