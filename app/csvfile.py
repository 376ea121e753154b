"""The one CSV writer: every CSV popcase writes (case files, operation bundles, the evaluation
download, the access log, the force counts) goes through ``cell``.

A cell's *type* decides how it is written, never its text: numbers are written as numbers at
full precision (a negative one stays ``-23.5``), text is written as text and, when it starts
with a character a spreadsheet would run as a formula, prefixed with an apostrophe (OWASP's
advice on CSV injection). So a cell is protected exactly once, where it is written; callers pass
values, not pre-formatted strings (issue 18: ``'-23.5`` in an operation bundle came from
protecting a number that an earlier step had already turned into text).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

# = + - @ start formulas; a tab or carriage return first hides one behind white space
# (OWASP, "CSV Injection"); | starts a DDE call in some spreadsheets.
FORMULA_LEADS = frozenset("=+-@\t\r|")
LINE_END = "\r\n"  # RFC 4180


def text(value: str) -> str:
    """A text cell, protected against formula injection."""
    return "'" + value if value[:1] in FORMULA_LEADS else value


def cell(value: Any) -> str:
    """A value as its CSV cell: empty for None, true/false, numbers as numbers (floats at full
    precision, as Python's repr), dates in ISO 8601, anything else as protected text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return text(str(value.value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else ""
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return text(str(value))


def line(values: Iterable[Any]) -> str:
    """One CSV record, with its line end."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=LINE_END).writerow([cell(v) for v in values])
    return buffer.getvalue()


def lines(columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """A header and its rows, a record at a time (for streaming responses)."""
    yield line(columns)
    for row in rows:
        yield line(row)


def csv_bytes(columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> bytes:
    """A whole CSV file, UTF-8."""
    return "".join(lines(columns, rows)).encode("utf-8")
