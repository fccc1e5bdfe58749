"""The header's search box: a number's last 4 digits (audited), a ticket, a call id, a
callback or call number. Staff search within their department's callbacks."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for

from ivr.console import bp
from ivr.console.access import audit_action
from ivr.console.auth import current_user, login_required
from ivr.extensions import db_sessions
from storage.access.privacy import mask_number
from storage.models import ROLE_STAFF, ROLE_SUPERVISOR
from storage.reports.find import find, read_query

PAGE_SIZE = 50
MAX_PAGE = 2000
KINDS = {
    "phone_tail": "来电号码后 4 位",
    "call_sid": "通话编号",
    "number": "回访编号或来电编号",
    "ticket": "工单号",
    "empty": "",
}


@bp.get("/search")
@login_required(roles=(ROLE_STAFF, ROLE_SUPERVISOR))
def search() -> Any:
    """Calls matching the query, newest first, with the total and pages."""
    user = current_user()
    assert user is not None
    query = read_query(request.args.get("q", ""))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    dept = user.dept if user.role == ROLE_STAFF else None
    if query.is_phone_tail:
        audit_action(user, "search_phone", f"tail:{query.text}", detail={"page": page})
    with db_sessions()() as db:
        total, calls = find(db, query, dept, (page - 1) * PAGE_SIZE, PAGE_SIZE)
        if total == 1 and page == 1 and query.kind in ("call_sid", "number"):
            only = calls[0]
            if user.role == ROLE_STAFF and only.callback is not None:
                return redirect(url_for("console.callback", callback_id=only.callback.id))
            if user.role == ROLE_SUPERVISOR:
                return redirect(url_for("console.call_page", call_id=only.id))
        rows = [{"call": call, "caller": mask_number(call.caller)} for call in calls]
        return render_template(
            "console/search.html",
            query=query,
            kind=KINDS[query.kind],
            rows=rows,
            total=total,
            page=page,
            pages=max(1, -(-total // PAGE_SIZE)),
            staff=user.role == ROLE_STAFF,
        )
