"""Recurring problems (方案 三): the callers' spoken reasons and the verdict notes, by theme.

Themes are keyword lists (Vosk writes Chinese with spaces between words, so text is
compared without white space); a text may fall under several themes, and one that
matches none is counted under 其他. The lists are a starting point for the hotline to
edit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from storage.models import RECORDING_DONE, RECORDING_REASON, Call, Callback, Recording
from storage.reports.figures import Period
from storage.workflow.deadlines import end_of_day, start_of_day

THEMES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "attitude",
        "服务态度",
        ("态度", "语气", "不耐烦", "凶", "骂", "敷衍", "推诿", "冷漠", "不礼貌"),
    ),
    (
        "efficiency",
        "办理效率",
        ("慢", "拖", "太久", "没人管", "没人理", "一个月", "几个月", "多次", "反复", "迟迟"),
    ),
    (
        "quality",
        "办理质量",
        ("没解决", "未解决", "没有解决", "不专业", "答非所问", "不清楚", "没用", "无效"),
    ),
    ("reach", "接通与转接", ("打不通", "占线", "转接", "排队", "没人接")),
    ("city", "市政与环境", ("路灯", "噪音", "垃圾", "停水", "停电", "道路", "污染", "井盖")),
    ("housing", "住房与物业", ("物业", "房屋", "漏水", "电梯", "租房", "维修")),
)
OTHER = ("other", "其他", ())
MAX_TEXTS = 20_000
EXAMPLES = 5
SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Remark:
    """One text: a spoken reason or a verdict note, with its call."""

    call_id: int
    dept: str
    kind: str  # reason or verdict
    text: str


@dataclass
class Theme:
    code: str
    name: str
    count: int = 0
    depts: dict[str, int] = field(default_factory=dict)
    examples: list[Remark] = field(default_factory=list)

    def top_depts(self, n: int = 3) -> list[tuple[str, int]]:
        return sorted(self.depts.items(), key=lambda item: (-item[1], item[0]))[:n]


def themes_of(text: str) -> list[str]:
    """The codes of the themes `text` mentions (`other` when none)."""
    plain = SPACE.sub("", text)
    found = [code for code, _, words in THEMES if any(word in plain for word in words)]
    return found or [OTHER[0]]


def remarks(session: Session, period: Period, dept: str | None = None) -> list[Remark]:
    """The period's spoken reasons (transcribed) and verdict notes, by the call's day."""
    in_period = (
        Call.created_at >= start_of_day(period.start),
        Call.created_at < end_of_day(period.end),
        *((Call.dept == dept,) if dept else ()),
    )
    reasons = (
        select(Call.id, Call.dept, Recording.transcript)
        .join(Recording, Recording.call_id == Call.id)
        .where(
            *in_period,
            Recording.purpose == RECORDING_REASON,
            Recording.status == RECORDING_DONE,
            Recording.transcript.is_not(None),
        )
        .limit(MAX_TEXTS)
    )
    # Read from the period's callbacks (by `ix_callbacks_created_at`: a callback comes
    # after its call), not by probing every call of the period for one.
    noted = aliased(Callback)
    with_notes = select(noted.id).where(
        noted.created_at >= start_of_day(period.start), noted.verdict_note.is_not(None)
    )
    notes = (
        select(Call.id, Call.dept, Callback.verdict_note)
        .join(Callback, Callback.call_id == Call.id)
        .where(*in_period, Callback.id.in_(with_notes))
        .limit(MAX_TEXTS)
    )
    out = [Remark(cid, d or "", "reason", t) for cid, d, t in session.execute(reasons) if t.strip()]
    out += [Remark(cid, d or "", "verdict", t) for cid, d, t in session.execute(notes) if t.strip()]
    return out


def group(items: list[Remark]) -> list[Theme]:
    """Themes with their counts, departments and first examples, most frequent first."""
    table = {code: Theme(code, name) for code, name, _ in (*THEMES, OTHER)}
    for remark in items:
        for code in themes_of(remark.text):
            theme = table[code]
            theme.count += 1
            theme.depts[remark.dept or "—"] = theme.depts.get(remark.dept or "—", 0) + 1
            if len(theme.examples) < EXAMPLES:
                theme.examples.append(remark)
    return sorted((t for t in table.values() if t.count), key=lambda t: -t.count)
