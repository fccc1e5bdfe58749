"""Figures computed independently of the rollup: straight from the rows, in Python."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from storage.models import Call

TZ = ZoneInfo("Asia/Shanghai")


def expected_counts(sessions, start: date, end: date, key=lambda call: call.dept) -> dict:
    """Counts per `key(call)` for calls of hotline days start..end, by the definitions."""
    out: dict = defaultdict(lambda: defaultdict(int))
    with sessions() as session:
        calls = session.scalars(
            select(Call).options(selectinload(Call.rating), selectinload(Call.callback))
        )
        for call in calls:
            if not start <= call.created_at.astimezone(TZ).date() <= end:
                continue
            c = out[key(call)]
            c["calls"] += 1
            c["served"] += call.disposition != "not_served" and call.kind != "later"
            r, cb = call.rating, call.callback
            if r is None:
                continue
            if r.excluded:
                c["excluded"] += 1
                c["not_adopted"] += cb is not None and cb.state == "not_adopted"
                continue
            c["rated"] += 1
            c[r.level] += 1
            c["active"] += r.source in ("dtmf", "speech")
            c[r.category] += 1
            if r.category != "bad":
                continue
            if cb.state == "anonymous":
                c["anonymous_bad"] += 1
            elif call.caller:
                c["realname_bad"] += 1
                closed = cb.state == "closed"
                c["realname_followed"] += closed and cb.feedback != "not_reached"
                c["realname_unconfirmed"] += closed and cb.feedback == "not_reached"
            if cb.reached_at or cb.overdue or cb.state == "unreachable":
                c["cb_settled"] += 1
            c["cb_in_time"] += bool(cb.reached_at and cb.reached_at <= cb.due_at)
            if cb.resolution in ("rectify_5d", "rectify_15d") and (
                cb.state == "closed" or cb.rectify_overdue
            ):
                c["rect_settled"] += 1
                c["rect_on_time"] += cb.state == "closed" and cb.closed_at <= cb.rectify_due_at
    return out
