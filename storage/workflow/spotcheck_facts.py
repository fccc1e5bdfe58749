"""What the record says about each spot-check item, so that nothing is ticked by default.

For every checklist item of a sampled callback, `facts()` gives the record's answer
(yes, no, or None when only a person can judge) and a sentence saying why, in Chinese.
The supervisor confirms it or overrides it with a reason (`storage.workflow.spotchecks.score`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from storage.models import CALLBACK_NOT_ADOPTED, Callback
from storage.workflow.deadlines import hotline_tz

RECTIFYING = ("rectify_5d", "rectify_15d")
FEEDBACK = {"satisfied": "满意", "not_satisfied": "不满意", "not_reached": "未能联系来电人反馈"}


@dataclass(frozen=True)
class Fact:
    """The record's answer to one checklist item (None: a person must judge) and why."""

    answer: bool | None
    text: str


def _at(when: datetime | None, tz: ZoneInfo) -> str:
    return when.astimezone(tz).strftime("%m-%d %H:%M") if when else "—"


def facts(cb: Callback) -> dict[str, Fact]:
    """The record's facts for each checklist item of `cb` (see `spotchecks.CHECKLIST`)."""
    tz = hotline_tz()
    return {
        "callback_in_time": _in_time(cb, tz),
        "verdict_grounded": _grounded(cb),
        "rectified": _rectified(cb, tz),
        "evidence": _evidence(cb),
        "fed_back": _fed_back(cb),
    }


def _in_time(cb: Callback, tz: ZoneInfo) -> Fact:
    if cb.reached_at is None:
        return Fact(False, f"否：未联系上来电人（期限 {_at(cb.due_at, tz)}）")
    on_time = cb.reached_at <= cb.due_at and not cb.overdue
    verdict = "是" if on_time else "否：超过 48 小时"
    return Fact(on_time, f"{verdict}（{_at(cb.reached_at, tz)} 联系上，期限 {_at(cb.due_at, tz)}）")


def _grounded(cb: Callback) -> Fact:
    if cb.resolution is None:
        return Fact(False, "否：没有核实结论")
    if not (cb.verdict_note or "").strip():
        return Fact(None, "结论未写说明，请查看回访记录后判断")
    return Fact(None, f"结论有说明：{cb.verdict_note.strip()[:60]}（请判断是否有据）")


def _rectified(cb: Callback, tz: ZoneInfo) -> Fact:
    if cb.state == CALLBACK_NOT_ADOPTED:
        return Fact(True, "是：经主管批准不予采纳，无需整改")
    if cb.resolution not in RECTIFYING:
        if cb.closed_at is None:
            return Fact(False, "否：尚未办结")
        return Fact(True, "是：当场解决或已解释说明，无需整改")
    if cb.closed_at is None:
        return Fact(False, f"否：整改未办结（期限 {_at(cb.rectify_due_at, tz)}）")
    if cb.rectify_overdue:
        return Fact(False, f"否：整改超期办结（{_at(cb.closed_at, tz)}）")
    return Fact(True, f"是：按期办结（{_at(cb.closed_at, tz)}）")


def _evidence(cb: Callback) -> Fact:
    files = len(cb.evidence or [])
    if cb.resolution not in RECTIFYING:
        return Fact(True, "是：该结论无需证明材料")
    if not files:
        return Fact(False, "否：没有上传证明材料")
    return Fact(None, f"已上传 {files} 个文件，请打开核验")


def _fed_back(cb: Callback) -> Fact:
    if cb.state == CALLBACK_NOT_ADOPTED:
        return Fact(True, "是：不予采纳，无需反馈")
    if cb.feedback in ("satisfied", "not_satisfied"):
        return Fact(True, f"是：来电人反馈{FEEDBACK[cb.feedback]}")
    if cb.feedback == "not_reached":
        return Fact(False, "否：未能联系来电人反馈")
    return Fact(False, "否：没有反馈记录")
