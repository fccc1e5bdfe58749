"""Text from outside made safe to keep and to export.

Control characters (NUL, ESC, …: everything below U+0020 but tab, newline and carriage
return, and DEL) are stripped where input enters (webhooks, API, console forms): they
mean nothing in a name or a ticket and break XLSX files. A spreadsheet cell starting
with `= + - @`, tab or CR is a formula to Excel and LibreOffice: exports prefix it with
`'` so that it stays text (OWASP's advice for CSV injection).
"""

from __future__ import annotations

import re
from typing import Any

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def strip_control(text: str) -> str:
    """`text` without control characters (tab, newline and CR are kept)."""
    return CONTROL_CHARACTERS.sub("", text)


def has_control(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


def export_cell(value: Any) -> Any:
    """A cell value safe in CSV and XLSX: text is cleaned and never read as a formula."""
    if not isinstance(value, str):
        return value
    value = strip_control(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value
