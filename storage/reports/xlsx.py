"""Spreadsheets a report can be built on: typed cells, widths, frozen header, filters.

Text cells are made safe (`storage.text_safety.export_cell`: never a formula). Written
with openpyxl's write-only mode into a file: rows go to disk as they come, so a
sheet of 100,000 rows never sits in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from storage.text_safety import export_cell

DATE_TIME = "yyyy-mm-dd hh:mm"
DATE = "yyyy-mm-dd"
PERCENT = "0.0%"
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
WRAP = Alignment(vertical="center", wrap_text=True)


@dataclass(frozen=True)
class Column:
    """A column: its header, width (characters) and number format (None: as typed)."""

    header: str
    width: float = 12
    number_format: str | None = None


@dataclass(frozen=True)
class Sheet:
    """A sheet: its title, columns and rows (any iterable: read once, as written)."""

    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]


def write_xlsx(out: IO[bytes] | str, sheets: Sequence[Sheet]) -> list[int]:
    """Write the workbook to `out`; the number of data rows of each sheet."""
    book = Workbook(write_only=True)
    counts = []
    for sheet in sheets:
        counts.append(_write_sheet(book, sheet))
    book.save(out)
    return counts


def _write_sheet(book: Workbook, sheet: Sheet) -> int:
    ws = book.create_sheet(sheet.title[:31])
    for index, column in enumerate(sheet.columns, 1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.freeze_panes = "A2"
    header = []
    for column in sheet.columns:
        cell = WriteOnlyCell(ws, column.header)
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, WRAP
        header.append(cell)
    ws.append(header)
    formats = [(n, c.number_format) for n, c in enumerate(sheet.columns) if c.number_format]
    count = 0
    for row in sheet.rows:
        values: list[Any] = [export_cell(value) for value in row]
        for n, number_format in formats:
            if values[n] is not None and values[n] != "":
                cell = WriteOnlyCell(ws, values[n])
                cell.number_format = number_format
                values[n] = cell
        ws.append(values)
        count += 1
    last = get_column_letter(len(sheet.columns))
    ws.auto_filter.ref = f"A1:{last}{count + 1}"
    return count
