"""The wallboard (大屏): per department, callbacks open, due within 4 h, overdue, reached
within 48 h, and 实名差评回访整改率 against 100 % (red/amber/green); clusters of bad
ratings raise an alert. The page polls `wallboard.json` (ivr/static/wallboard.js)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, render_template, request

from ivr.console import bp, labels
from ivr.console.auth import current_user, login_required
from ivr.console.figures import percent
from ivr.extensions import db_sessions
from storage.models import ROLE_STAFF, ROLE_SUPERVISOR
from storage.reports.figures_rollup import refresh
from storage.reports.wallboard import AMBER_FROM, board, clusters
from storage.settings import settings
from storage.types import utcnow

REFRESH_SECONDS = 30
RAG_NAMES = {"green": "达标", "amber": "接近目标", "red": "未达标", "none": "本月暂无到期"}


def cluster_threshold() -> int:
    """Bad ratings within 24 h that make a cluster (`WALLBOARD_CLUSTER_THRESHOLD`)."""
    return settings().wallboard_cluster_threshold


def _state() -> dict[str, Any]:
    """The board as JSON-ready data, in Chinese and with names."""
    user = current_user()
    assert user is not None
    dept = user.dept if user.role == ROLE_STAFF else None
    now = utcnow()
    refresh(db_sessions())
    with db_sessions()() as db:
        tiles = board(db, now, dept)
        alerts = clusters(db, now, cluster_threshold(), dept)
    return {
        "updated": labels.local_time(now),
        "departments": [
            {
                "dept": tile.dept,
                "name": labels.dept_name(tile.dept) if tile.dept else "未指定部门",
                "open": tile.open,
                "due_soon": tile.due_soon,
                "overdue": tile.overdue,
                "reached": f"{tile.reached_in_time}/{tile.settled}",
                "rate": percent(tile.followup_rate),
                "followed": f"{tile.realname_followed}/{tile.realname_due}",
                "pending": tile.pending,
                "rag": tile.rag,
                "rag_name": RAG_NAMES[tile.rag],
            }
            for tile in tiles
        ],
        "alerts": [
            (
                f"差评集中：{labels.dept_name(a.key)} 24 小时内 {a.count} 条差评，请及时调查。"
                if a.kind == "dept"
                else f"差评集中：“{a.key}” 24 小时内 {a.count} 条（"
                + "、".join(f"{labels.dept_name(d)} {n}" for d, n in a.depts.items())
                + "），请及时调查。"
            )
            for a in alerts
        ],
    }


@bp.get("/wallboard")
@login_required(roles=(ROLE_STAFF, ROLE_SUPERVISOR))
def wallboard() -> Any:
    """The wallboard page (staff see their own department)."""
    return render_template(
        "console/wallboard.html",
        state=_state(),
        refresh=min(max(request.args.get("refresh", REFRESH_SECONDS, type=int) or 30, 2), 300),
        amber=int(AMBER_FROM * 100),
        threshold=cluster_threshold(),
    )


@bp.get("/wallboard.json")
@login_required(roles=(ROLE_STAFF, ROLE_SUPERVISOR))
def wallboard_json() -> Any:
    """The same numbers, for the page's polling."""
    response = jsonify(_state())
    response.headers["Cache-Control"] = "no-store"
    return response
