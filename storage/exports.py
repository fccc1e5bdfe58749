"""Exports for supervisors: the filtered calls list and the period report, as CSV or XLSX.

Numbers are masked (`storage.privacy.mask_number`); CSV carries a UTF-8 byte-order mark
so that spreadsheet programs read the Chinese correctly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.orm import Session

from storage.call_search import CallFilter, search
from storage.deadlines import hotline_tz
from storage.figures import RATES, FigureRow
from storage.models import Callback, SpotCheck
from storage.privacy import mask_number
from storage.spotchecks import CHECKLIST
from storage.text_safety import export_cell

MAX_EXPORT_ROWS = 100_000
CALL_HEADERS = (
    "编号",
    "通话编号",
    "来电时间",
    "承办部门",
    "话务员",
    "工单",
    "来电号码（已脱敏）",
    "语言",
    "结束方式",
    "评价等级",
    "评价类别",
    "评价方式",
    "不计入统计",
    "回访状态",
    "核实结论",
)
RATE_HEADERS = {
    "active_rate": "主动评价率",
    "good_rate": "好评率",
    "neutral_rate": "中评率",
    "bad_rate": "差评率",
    "callback_rate": "48小时回访率",
    "rectify_rate": "按期整改率",
    "followup_rate": "实名差评回访整改率",
}
FIGURE_HEADERS = (
    "分组",
    "来电数",
    "评价数",
    *RATE_HEADERS.values(),
    "待回访",
    "不予采纳",
    "剔除评价",
)


def _local(when: datetime | None, tz: ZoneInfo) -> str:
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M") if when else ""


def call_rows(session: Session, wanted: CallFilter, limit: int = MAX_EXPORT_ROWS) -> list[tuple]:
    """The calls of the list, newest first, as rows under `CALL_HEADERS` (numbers masked)."""
    tz = hotline_tz()
    rows = []
    for call in session.scalars(search(wanted).limit(limit)):
        rating, cb = call.rating, call.callback
        rows.append(
            (
                call.id,
                call.call_sid,
                _local(call.created_at, tz),
                call.dept or "",
                call.agent or "",
                "、".join(t.ticket for t in call.tickets),
                mask_number(call.caller) or "",
                call.lang or "",
                call.disposition,
                rating.level if rating else "",
                rating.category if rating else "",
                rating.source if rating else "",
                "是" if rating and rating.excluded else "",
                cb.state if cb else "",
                (cb.resolution or "") if cb else "",
            )
        )
    return rows


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def figure_rows(rows: Iterable[FigureRow]) -> list[tuple]:
    """Figure rows under `FIGURE_HEADERS`."""
    return [
        (
            row.key,
            row.calls,
            row.rated,
            *(_percent(getattr(row, rate)) for rate in RATES),
            row.cb_pending,
            row.not_adopted,
            row.excluded,
        )
        for row in rows
    ]


def to_csv(headers: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """CSV text with a byte-order mark, one header line; cells never formulas."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows([export_cell(value) for value in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence]]]) -> bytes:
    """An XLSX workbook with one sheet per `(title, headers, rows)`, headers in bold;
    cells are text or numbers, never formulas."""
    book = Workbook()
    book.remove(book.active)
    for title, headers, rows in sheets:
        sheet = book.create_sheet(title[:31])
        sheet.append(list(headers))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([export_cell(value) for value in row])
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


SPOT_CHECK_HEADERS = (
    "序号",
    "回访编号",
    "承办部门",
    "核实结论",
    "办结时间",
    *(name for _, name in CHECKLIST),
    "结果",
    "发现的问题",
    "抽查人",
)


def _mark(passed: bool | None) -> str:
    return "" if passed is None else "合格" if passed else "不合格"


def spot_check_rows(session: Session, check: SpotCheck) -> list[tuple]:
    """A sample's callbacks and scores under `SPOT_CHECK_HEADERS` (no caller data)."""
    tz = hotline_tz()
    rows = []
    for n, item in enumerate(check.items, 1):
        cb = session.get_one(Callback, item.callback_id)
        scores = item.scores or {}
        marks = (_mark(scores.get(code)) for code, _ in CHECKLIST)
        result = _mark(item.passed)
        rows.append(
            (
                n,
                cb.id,
                cb.dept or "",
                cb.resolution or "",
                _local(cb.closed_at, tz),
                *marks,
                result,
                item.finding or "",
                item.scored_by_name or "",
            )
        )
    return rows
