"""The wallboard's numbers: each department's callbacks now, its 实名差评回访整改率
against the 100 % target (red/amber/green), and clusters of bad ratings in the last day
(差评集中的问题要及时调查: one department, or one theme, over a threshold).

The board's rate counts only what is due: of this month's real-name bad ratings, those
closed with the caller's feedback / those closed or past their deadline (the callback's
48 h, or the rectification's deadline once one was set). A case still open inside its
deadline is not a failure: it counts in neither (`pending`), so a department is not red
for work it still has time to do.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from storage.models import (
    CALLBACK_CALLED_BACK,
    CALLBACK_OPEN,
    SERVICE_KINDS,
    Call,
    Callback,
    Rating,
)
from storage.reports.figures import Period, figures
from storage.reports.themes import group, remarks
from storage.workflow.deadlines import local_day, start_of_day

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
    pending: int = 0  # this month's real-name bad ratings still open inside their deadline
    realname_due: int = 0  # this month's real-name bad ratings closed or past their deadline
    realname_followed: int = 0  # … of which closed with the caller's feedback

    @property
    def followup_rate(self) -> float | None:
        """Followed up / due (None when nothing is due yet)."""
        return self.realname_followed / self.realname_due if self.realname_due else None

    @property
    def rag(self) -> str:
        """red, amber or green against the 100 % target (grey when nothing is due)."""
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


def _pending(session: Session, now: datetime, since: datetime, dept: str | None) -> dict:
    """Per department, the real-name bad ratings of calls since `since` still open inside
    their deadline (few: only the cases not yet due are joined to their calls)."""
    deadline = func.coalesce(Callback.rectify_due_at, Callback.due_at)
    statement = (
        select(Callback.dept, func.count(Callback.id))
        .join(Call, Call.id == Callback.call_id)
        .join(Rating, Rating.id == Callback.rating_id)
        .where(Callback.state.in_(ACTIVE), deadline >= now)
        .where(Call.created_at >= since, Call.kind.in_(SERVICE_KINDS))
        .where(func.coalesce(Call.caller, "") != "")
        .where(Rating.category == "bad", Rating.excluded.is_(False))
        .group_by(Callback.dept)
    )
    if dept:
        statement = statement.where(Callback.dept == dept)
    return {key or "": count for key, count in session.execute(statement)}


def board(session: Session, now: datetime, dept: str | None = None) -> list[DeptBoard]:
    """Every department's callbacks now and this month's follow-up rate (of what is due)."""
    deadline = func.coalesce(Callback.rectify_due_at, Callback.due_at)
    statement = (  # from the index ix_callbacks_board alone
        select(
            Callback.dept.label("dept"),
            _count(Callback.state == CALLBACK_OPEN).label("open"),
            _count(and_(deadline >= now, deadline < now + SOON)).label("due_soon"),
            _count(deadline < now).label("overdue"),
        )
        .where(Callback.state.in_(ACTIVE))
        .group_by(Callback.dept)
    )
    if dept:
        statement = statement.where(Callback.dept == dept)
    boards = {
        row.dept or "": DeptBoard(row.dept or "", row.open, row.due_soon, row.overdue)
        for row in session.execute(statement)
    }
    today = local_day(now)
    month = Period(today.replace(day=1), today)
    pending = _pending(session, now, start_of_day(month.start), dept)
    for row in figures(session, month, "dept", dept)[1]:
        tile = boards.setdefault(row.key, DeptBoard(row.key))
        tile.reached_in_time, tile.settled = row.cb_in_time, row.cb_settled
        tile.pending = pending.get(row.key, 0)
        tile.realname_due = max(row.realname_bad - tile.pending, 0)
        tile.realname_followed = row.realname_followed
    return sorted(boards.values(), key=lambda b: (-b.overdue, -b.due_soon, -b.open, b.dept))


def clusters(
    session: Session, now: datetime, threshold: int, dept: str | None = None
) -> list[Alert]:
    """Departments and themes with at least `threshold` bad ratings in the last 24 hours."""
    # A day's bad ratings are few: counted here, so that the database reads them by
    # `ix_callbacks_created_at` rather than every callback in department order.
    statement = select(Callback.dept).where(Callback.created_at >= now - DAY)
    if dept:
        statement = statement.where(Callback.dept == dept)
    per_dept = Counter(key or "" for key in session.scalars(statement))
    alerts = [Alert("dept", key, count) for key, count in per_dept.items() if count >= threshold]
    days = Period(local_day(now - DAY), local_day(now))
    for theme in group(remarks(session, days, dept)):
        if theme.count >= threshold and theme.code != "other":
            alerts.append(Alert("theme", theme.name, theme.count, dict(theme.top_depts())))
    return sorted(alerts, key=lambda a: -a.count)
