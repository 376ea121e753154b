"""No data is never zero, in CSV too: the one convention every CSV of counts follows.

A count without imported data behind it (a month for which none of the force's police.uk files
is imported) is an empty cell, never 0, and the row's ``data`` column says ``no data``; a count
that has its data says ``imported`` there. A spreadsheet that sums the column then leaves the
month out instead of counting it as a month without crime, and a reader filtering on ``data``
sees which months a total rests on."""

from __future__ import annotations

from typing import Any

from app.crime.counts import ForceCounts
from app.csvfile import csv_bytes

NO_DATA = "no data"
IMPORTED = "imported"
DATA_COLUMN = ("data", f'"{IMPORTED}", or "{NO_DATA}" when none of the force\'s data for the '
                       "month is imported: the count is then empty, not 0")


def count_cells(count: int | None) -> list[Any]:
    """A count and its ``data`` cell."""
    return [None, NO_DATA] if count is None else [count, IMPORTED]


FORCE_COUNTS_COLUMNS = [
    ("area_code", "The local policing area's ONS code; empty for the rows outside every area"),
    ("area_name", "Its name"),
    ("month", "YYYY-MM"),
    ("count", "Located street-level crimes of the force in the area that month"),
    DATA_COLUMN,
]


def force_counts_csv(counts: ForceCounts) -> bytes:
    """A force's crime by local policing area, one row an area and month (the Data page's
    table), the rows outside its areas last."""
    rows = [[area.code, area.name, f"{month:%Y-%m}", *count_cells(count)]
            for area in [*counts.areas, counts.outside]
            for month, count in zip(counts.months, area.monthly, strict=True)]
    return csv_bytes([name for name, _meaning in FORCE_COUNTS_COLUMNS], rows)
