"""The wallboard's numbers: each department's callbacks now, its 实名差评回访整改率
against the 100 % target (red/amber/green), and clusters of bad ratings in the last day
(差评集中的问题要及时调查: one department, or one theme, over a threshold)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from storage.models import CALLBACK_CALLED_BACK, CALLBACK_OPEN, Callback
from storage.reports.figures import Period, figures
from storage.reports.themes import group, remarks
from storage.workflow.deadlines import local_day

SOON = timedelta(hours=4)
DAY = timedelta(hours=24)
TARGET = 1.0  # every real-name bad rating called back and rectified (第十五条)
AMBER_FROM = 0.9
ACTIVE = (CALLBACK_OPEN, CALLBACK_CALLED_BACK)


@dataclass
class DeptBoard:
    """One department's tile."""

    dept: str
    open: int = 0
    due_soon: int = 0
    overdue: int = 0
    reached_in_time: int = 0
    settled: int = 0
    followup_rate: float | None = None

    @property
    def rag(self) -> str:
        """red, amber or green against the 100 % target (grey without real-name bad ratings)."""
        if self.followup_rate is None:
            return "none"
        if self.followup_rate >= TARGET:
            return "green"
        return "amber" if self.followup_rate >= AMBER_FROM else "red"


@dataclass
class Alert:
    """Bad ratings clustering in the last 24 hours."""

    kind: str  # dept or theme
    key: str
    count: int
    depts: dict[str, int] = field(default_factory=dict)


def _count(condition) -> object:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def board(session: Session, now: datetime, dept: str | None = None) -> list[DeptBoard]:
    """Every department's callbacks now and this month's follow-up rate."""
    deadline = func.coalesce(Callback.rectify_due_at, Callback.due_at)
    active = Callback.state.in_(ACTIVE)
    statement = select(
        Callback.dept.label("dept"),
        _count(Callback.state == CALLBACK_OPEN).label("open"),
        _count(and_(active, deadline >= now, deadline < now + SOON)).label("due_soon"),
        _count(and_(active, deadline < now)).label("overdue"),
    ).group_by(Callback.dept)
    if dept:
        statement = statement.where(Callback.dept == dept)
    boards = {
        row.dept or "": DeptBoard(row.dept or "", row.open, row.due_soon, row.overdue)
        for row in session.execute(statement)
    }
    today = local_day(now)
    month = Period(today.replace(day=1), today)
    for row in figures(session, month, "dept", dept)[1]:
        tile = boards.setdefault(row.key, DeptBoard(row.key))
        tile.reached_in_time, tile.settled = row.cb_in_time, row.cb_settled
        tile.followup_rate = row.followup_rate
    return sorted(boards.values(), key=lambda b: (-b.overdue, -b.due_soon, -b.open, b.dept))


def clusters(
    session: Session, now: datetime, threshold: int, dept: str | None = None
) -> list[Alert]:
    """Departments and themes with at least `threshold` bad ratings in the last 24 hours."""
    statement = (
        select(Callback.dept, func.count(Callback.id))
        .where(Callback.created_at >= now - DAY)
        .group_by(Callback.dept)
    )
    if dept:
        statement = statement.where(Callback.dept == dept)
    alerts = [Alert("dept", key or "", count) for key, count in session.execute(statement)]
    alerts = [a for a in alerts if a.count >= threshold]
    days = Period(local_day(now - DAY), local_day(now))
    for theme in group(remarks(session, days, dept)):
        if theme.count >= threshold and theme.code != "other":
            alerts.append(Alert("theme", theme.name, theme.count, dict(theme.top_depts())))
    return sorted(alerts, key=lambda a: -a.count)
