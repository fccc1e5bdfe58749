"""Exports for supervisors: the filtered calls list, the period report and a spot check.

Rows are typed (ids and counts as numbers, times as Beijing-time dates, rates as
fractions the spreadsheet formats as percentages) and every value is Chinese: the
caller passes `label` (code → Chinese name) and `names` (department and agent names),
so this module needs no web framework. Numbers are masked
(`storage.access.privacy.mask_number`); CSV carries a UTF-8 byte-order mark so that
spreadsheet programs read the Chinese correctly. The calls are read in batches
(`yield_per`) and written as they are read: 100,000 rows never sit in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import IO, Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.access.privacy import mask_number
from storage.models import Call, Callback, CallTicket, Rating, SpotCheck
from storage.reports.call_search import CallFilter, narrow
from storage.reports.figures import RATES, FigureRow
from storage.reports.xlsx import DATE_TIME, PERCENT, Column
from storage.text_safety import export_cell
from storage.workflow.deadlines import hotline_tz
from storage.workflow.spotchecks import CHECKLIST

MAX_EXPORT_ROWS = 100_000
BATCH = 5000
Label = Callable[[str | None], str]


class Names(Protocol):
    def dept(self, code: str | None) -> str: ...
    def agent(self, code: str | None) -> str: ...


CALL_COLUMNS = (
    Column("编号", 9),
    Column("通话编号", 24),
    Column("来电时间", 17, DATE_TIME),
    Column("承办部门", 14),
    Column("话务员", 10),
    Column("工单", 18),
    Column("来电号码（已脱敏）", 16),
    Column("语言", 8),
    Column("结束方式", 14),
    Column("评价等级", 11),
    Column("评价类别", 9),
    Column("评价方式", 16),
    Column("不计入统计", 10),
    Column("回访状态", 10),
    Column("核实结论", 20),
)
CALL_HEADERS = tuple(c.header for c in CALL_COLUMNS)
RATE_HEADERS = {
    "active_rate": "主动评价率",
    "good_rate": "好评率",
    "neutral_rate": "中评率",
    "bad_rate": "差评率",
    "callback_rate": "48小时回访率",
    "rectify_rate": "按期整改率",
    "followup_rate": "实名差评回访整改率",
}


def figure_columns(key_header: str, key_format: str | None = None) -> tuple[Column, ...]:
    """The report's columns: the group, counts, rates (as percentages)."""
    return (
        Column(key_header, 22, key_format),
        Column("来电数", 9),
        Column("评价数", 9),
        *(Column(name, 12, PERCENT) for name in RATE_HEADERS.values()),
        Column("待回访", 9),
        Column("不予采纳", 9),
        Column("剔除评价", 9),
    )


FIGURE_HEADERS = tuple(c.header for c in figure_columns("分组"))


def local(when: datetime | None, tz: ZoneInfo) -> datetime | None:
    """A stored UTC time as a naive Beijing-time datetime (what a spreadsheet cell holds)."""
    return when.astimezone(tz).replace(tzinfo=None) if when else None


def call_rows(
    session: Session, wanted: CallFilter, label: Label, names: Names, limit: int = MAX_EXPORT_ROWS
) -> Iterator[tuple]:
    """The calls of the list, newest first, typed, under `CALL_COLUMNS`; read in batches."""
    tz = hotline_tz()
    statement = narrow(
        select(
            Call.id,
            Call.call_sid,
            Call.created_at,
            Call.dept,
            Call.agent,
            Call.caller,
            Call.lang,
            Call.disposition,
            Rating.level,
            Rating.category,
            Rating.source,
            Rating.excluded,
            Callback.state,
            Callback.resolution,
        )
        .select_from(Call)
        .outerjoin(Rating, Rating.call_id == Call.id)
        .outerjoin(Callback, Callback.call_id == Call.id),
        wanted,
    )
    statement = statement.order_by(Call.created_at.desc(), Call.id.desc()).limit(limit)
    result = session.execute(statement.execution_options(yield_per=BATCH))
    for batch in result.partitions():
        tickets = _tickets(session, [row.id for row in batch])
        for row in batch:
            yield (
                row.id,
                row.call_sid,
                local(row.created_at, tz),
                names.dept(row.dept) if row.dept else "",
                names.agent(row.agent) if row.agent else "",
                tickets.get(row.id, ""),
                mask_number(row.caller) or "",
                label(row.lang) if row.lang else "",
                label(row.disposition),
                label(row.level) if row.level else "",
                label(row.category) if row.category else "",
                label(row.source) if row.source else "",
                "是" if row.excluded else "",
                label(row.state) if row.state else "",
                label(row.resolution) if row.resolution else "",
            )


def _tickets(session: Session, call_ids: list[int]) -> dict[int, str]:
    """The tickets of these calls, joined with 、, in their order."""
    found: dict[int, list[str]] = {}
    statement = (
        select(CallTicket.call_id, CallTicket.ticket)
        .where(CallTicket.call_id.in_(call_ids))
        .order_by(CallTicket.call_id, CallTicket.position)
    )
    for call_id, ticket in session.execute(statement):
        found.setdefault(call_id, []).append(ticket)
    return {call_id: "、".join(tickets) for call_id, tickets in found.items()}


def figure_rows(rows: Iterable[FigureRow], key: Callable[[str], Any] = str) -> list[tuple]:
    """Figure rows under `figure_columns`: rates as fractions (formatted as percentages)."""
    return [
        (
            key(row.key),
            row.calls,
            row.rated,
            *(getattr(row, rate) for rate in RATES),
            row.cb_pending,
            row.not_adopted,
            row.excluded,
        )
        for row in rows
    ]


def day_key(key: str) -> date:
    return date.fromisoformat(key)


def write_csv(out: IO[bytes], headers: Sequence[str], rows: Iterable[Sequence]) -> int:
    """CSV with a byte-order mark and one header line; times to the minute, rates as %."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    text.write("\ufeff")
    writer = csv.writer(text)
    writer.writerow(headers)
    count = 0
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
        count += 1
    text.detach()
    return count


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value * 100:.1f}%"
    return "" if value is None else export_cell(value)


def to_csv(headers: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """CSV bytes (small exports)."""
    out = io.BytesIO()
    write_csv(out, headers, rows)
    return out.getvalue()


SPOT_CHECK_COLUMNS = (
    Column("序号", 6),
    Column("回访编号", 9),
    Column("承办部门", 14),
    Column("核实结论", 20),
    Column("办结时间", 17, DATE_TIME),
    *(Column(name, 14) for _, name in CHECKLIST),
    Column("结果", 8),
    Column("发现的问题", 30),
    Column("抽查人", 10),
)
SPOT_CHECK_HEADERS = tuple(c.header for c in SPOT_CHECK_COLUMNS)


def _mark(passed: bool | None) -> str:
    return "未评" if passed is None else "合格" if passed else "不合格"


def spot_check_rows(session: Session, check: SpotCheck, label: Label, names: Names) -> list[tuple]:
    """A sample's callbacks and scores under `SPOT_CHECK_COLUMNS` (no caller data)."""
    tz = hotline_tz()
    rows = []
    for n, item in enumerate(check.items, 1):
        cb = session.get_one(Callback, item.callback_id)
        scores = item.scores or {}
        marks = (_mark(scores.get(code)) for code, _ in CHECKLIST)
        rows.append(
            (
                n,
                cb.id,
                names.dept(cb.dept),
                label(cb.resolution) if cb.resolution else "",
                local(cb.closed_at, tz),
                *marks,
                _mark(item.passed),
                item.finding or "",
                item.scored_by_name or "",
            )
        )
    return rows
