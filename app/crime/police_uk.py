"""Reading data.police.uk CSV files: which kind a file is, and each row checked and turned into
values to store, or into a problem with its line number.

What real files hold (see shared/data/policeuk/PROVENANCE.md): LF or CRLF line endings; a BOM
sometimes; anti-social behaviour rows with no Crime ID; "No Location" rows with empty
coordinates (kept and counted); Crime IDs repeated within one month's file (distinct rows);
stop-and-search rows dated outside their file's month, or without coordinates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from hashlib import blake2b
from operator import gt, itemgetter
from typing import Any

from app.crime.categories import SLUG_BY_LABEL
from app.crime.models import ImportKind

STREET_COLUMNS = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
                  "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
                  "Context")
OUTCOME_COLUMNS = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
                   "Location", "LSOA code", "LSOA name", "Outcome type")
STOP_SEARCH_COLUMNS = ("Type", "Date", "Part of a policing operation", "Policing operation",
                       "Latitude", "Longitude", "Gender", "Age range", "Self-defined ethnicity",
                       "Officer-defined ethnicity", "Legislation", "Object of search", "Outcome",
                       "Outcome linked to object of search",
                       "Removal of more than just outer clothing")
# Older stop-and-search files lack these; everything else must be there.
STOP_SEARCH_OPTIONAL = frozenset({"Policing operation", "Part of a policing operation",
                                  "Removal of more than just outer clothing",
                                  "Outcome linked to object of search",
                                  "Self-defined ethnicity"})
KIND_COLUMNS = {ImportKind.STREET: STREET_COLUMNS, ImportKind.OUTCOMES: OUTCOME_COLUMNS,
                ImportKind.STOP_SEARCH: STOP_SEARCH_COLUMNS}
# A parsed row is a tuple of its table's columns in this order (the importer adds the British
# National Grid point and the batch): a million rows are a million tuples, not dictionaries.
# ``month`` is ISO text ("2024-01-01"), as both databases take it.
STORED_COLUMNS: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.STREET: ("identity", "crime_id", "month", "category", "reported_by",
                        "falls_within", "longitude", "latitude", "location", "lsoa_code",
                        "lsoa_name", "last_outcome", "context"),
    ImportKind.OUTCOMES: ("identity", "crime_id", "month", "outcome_type", "reported_by",
                          "falls_within", "longitude", "latitude", "location", "lsoa_code"),
    ImportKind.STOP_SEARCH: ("identity", "force", "month", "occurred_at", "search_type",
                             "part_of_operation", "operation", "longitude", "latitude", "gender",
                             "age_range", "self_defined_ethnicity", "officer_defined_ethnicity",
                             "legislation", "object_of_search", "outcome", "outcome_linked",
                             "outer_clothing_removed"),
}
Row = tuple[Any, ...]

# A generous box around the United Kingdom (police.uk covers England, Wales and Northern
# Ireland): coordinates outside it are typing or export errors.
UK_LONGITUDE = (-9.0, 2.5)
UK_LATITUDE = (49.0, 61.0)
# As police.uk names its files, also when a browser has saved a second copy ("... (1).csv").
FILE_NAME = re.compile(r"(?P<month>\d{4}-\d{2})-(?P<force>[a-z0-9-]+?)-"
                       r"(?P<kind>street|outcomes|stop-and-search)(?: \(\d+\))?\.csv$",
                       re.IGNORECASE)
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class HeaderRefused(Exception):
    """The file is not one of the police.uk CSV kinds: refused whole."""


@dataclass(frozen=True)
class FileFacts:
    """What a file's name says (police.uk names files YYYY-MM-force-kind.csv)."""

    month: date | None = None
    force: str = ""


def facts_from_name(name: str) -> FileFacts:
    match = FILE_NAME.search(name.rsplit("/", 1)[-1].rsplit(":", 1)[-1])
    if not match:
        return FileFacts()
    return FileFacts(parse_month(match["month"]), match["force"].lower())


def detect_kind(header: Sequence[str]) -> tuple[ImportKind, dict[str, int]]:
    """The kind of file a header belongs to, and each column's position."""
    names = [h.strip().lstrip("\ufeff") for h in header]
    positions = {name: index for index, name in enumerate(names)}
    for kind, columns in KIND_COLUMNS.items():
        if list(columns) == names:
            return kind, positions
    if "Type" in positions and "Object of search" in positions:
        missing = [c for c in STOP_SEARCH_COLUMNS
                   if c not in positions and c not in STOP_SEARCH_OPTIONAL]
        if not missing:
            return ImportKind.STOP_SEARCH, positions
    raise HeaderRefused(_header_message(names))


def _header_message(names: list[str]) -> str:
    shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
    closest = max(KIND_COLUMNS.items(),
                  key=lambda item: len(set(item[1]) & set(names)) / len(item[1]))
    kind, columns = closest
    missing = [c for c in columns if c not in names]
    hint = (f" It looks closest to the police.uk {kind.label.lower()} kind, but lacks: "
            f"{', '.join(missing)}." if missing and set(columns) & set(names) else "")
    return (f"This is not a police.uk street, outcomes or stop-and-search CSV file: its first "
            f"line is \"{shown or 'empty'}\".{hint}")


@dataclass
class RowProblem(Exception):
    message: str


@dataclass
class Identities:
    """Stable identities of a file's rows: the same file imported again gives the same ones.

    A row's key is its Crime ID where it has one, else its whole content; a key repeated in
    the file (police.uk repeats some Crime IDs, and identical anti-social behaviour rows are
    separate incidents) is told apart by its occurrence number within the file."""

    kind: ImportKind
    seen: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.kind_text = self.kind.value  # read once per row: a plain string is quicker

    def of(self, month: date, key: tuple[str, ...]) -> bytes:
        """16 bytes: the month, then a digest of the key. Keys of one month sort together, so
        a month's file fills one stretch of the unique index instead of the whole of it."""
        occurrence = self.seen.get(key, 0)
        self.seen[key] = occurrence + 1
        text = "\x1f".join((self.kind_text, *key, str(occurrence)))
        return _month_prefix(month) + blake2b(text.encode("utf-8"), digest_size=14).digest()


@lru_cache(maxsize=4096)
def _month_prefix(month: date) -> bytes:
    return ((month.year - 1900) * 12 + month.month).to_bytes(2, "big")


@lru_cache(maxsize=4096)  # a file holds one or a few months: parse each once
def parse_month(text: str) -> date | None:
    match = MONTH.match(text.strip())
    if not match:
        return None
    year, month = int(match[1]), int(match[2])
    return date(year, month, 1) if 1 <= month <= 12 and 1990 <= year <= 2100 else None


@lru_cache(maxsize=4096)
def _month_and_text(text: str) -> tuple[date, str] | None:
    month = parse_month(text)
    return (month, month.isoformat()) if month else None


def parse_coordinates(lon_text: str, lat_text: str) -> tuple[float, float] | None:
    """None when both are empty (a row without location); RowProblem when they are bad."""
    lon_text, lat_text = lon_text.strip(), lat_text.strip()
    if not lon_text and not lat_text:
        return None
    try:
        lon, lat = float(lon_text), float(lat_text)
    except ValueError:
        raise RowProblem(f"the coordinates ({lon_text or 'empty'}, {lat_text or 'empty'}) "
                         "are not numbers") from None
    if not (UK_LONGITUDE[0] <= lon <= UK_LONGITUDE[1]
            and UK_LATITUDE[0] <= lat <= UK_LATITUDE[1]):
        raise RowProblem(f"the coordinates ({lon}, {lat}) are outside the United Kingdom")
    return lon, lat


def _bool(text: str, column: str) -> bool | None:
    value = text.strip().lower()
    if value in ("", "nan"):
        return None
    if value in ("true", "false"):
        return value == "true"
    raise RowProblem(f"{column} is {text!r}, expected True or False")


def _field(row: Sequence[str], positions: dict[str, int], column: str, limit: int) -> str:
    index = positions.get(column)
    value = row[index].strip() if index is not None and index < len(row) else ""
    if len(value) > limit:
        raise RowProblem(f"{column} is longer than {limit} characters")
    return value


# Street files have exactly STREET_COLUMNS, in that order (detect_kind checks): fixed indices
# keep the hot loop of a million-row import simple and fast.
_STREET_LIMITS = (64, 20, 80, 80, 30, 30, 200, 9, 100, 100, 150, 5000)


def street_row(row: Sequence[str], identities: Identities) -> Row:
    """A street file's row (exactly STREET_COLUMNS) as its STORED_COLUMNS."""
    (crime_id, month_text, reported_by, falls_within, lon_text, lat_text, location, lsoa_code,
     lsoa_name, crime_type, last_outcome, context) = map(str.strip, row)
    if any(map(gt, map(len, row), _STREET_LIMITS)):
        raise RowProblem(_too_long(row, _STREET_LIMITS, STREET_COLUMNS))
    month = _month_and_text(month_text)
    if month is None:
        raise RowProblem(f"Month {month_text!r} is not a month (YYYY-MM)")
    category = SLUG_BY_LABEL.get(crime_type)
    if category is None:
        raise RowProblem(f"Crime type {crime_type!r} is not a police.uk crime type")
    longitude, latitude = parse_coordinates(lon_text, lat_text) or (None, None)
    key = (crime_id,) if crime_id else ("", month_text, reported_by, falls_within, lon_text,
                                        lat_text, location, lsoa_code, crime_type, context)
    return (identities.of(month[0], key), crime_id or None, month[1], category, reported_by,
            falls_within, longitude, latitude, location, lsoa_code, lsoa_name, last_outcome,
            context)


_Stored = Callable[[dict[str, Any]], tuple[Any, ...]]  # a row's values in stored order
_STORED_OUTCOME: _Stored = itemgetter(*STORED_COLUMNS[ImportKind.OUTCOMES])
_STORED_STOP_SEARCH: _Stored = itemgetter(*STORED_COLUMNS[ImportKind.STOP_SEARCH])


def _too_long(row: Sequence[str], limits: Sequence[int], columns: Sequence[str]) -> str:
    for value, limit, column in zip(row, limits, columns, strict=True):
        if len(value) > limit:
            return f"{column} is longer than {limit} characters"
    return "a value is too long"


def outcome_row(row: Sequence[str], positions: dict[str, int],
                identities: Identities) -> Row:
    crime_id = _field(row, positions, "Crime ID", 64)
    if not crime_id:
        raise RowProblem("an outcome needs the Crime ID it belongs to")
    month_text = _field(row, positions, "Month", 20)
    month = parse_month(month_text)
    if month is None:
        raise RowProblem(f"Month {month_text!r} is not a month (YYYY-MM)")
    point = parse_coordinates(_field(row, positions, "Longitude", 30),
                              _field(row, positions, "Latitude", 30))
    outcome_type = _field(row, positions, "Outcome type", 150)
    values = {
        "crime_id": crime_id, "month": month, "outcome_type": outcome_type,
        "reported_by": _field(row, positions, "Reported by", 80),
        "falls_within": _field(row, positions, "Falls within", 80),
        "longitude": point[0] if point else None, "latitude": point[1] if point else None,
        "location": _field(row, positions, "Location", 200),
        "lsoa_code": _field(row, positions, "LSOA code", 9),
    }
    values["identity"] = identities.of(month, (crime_id, month.isoformat(), outcome_type))
    values["month"] = month.isoformat()
    return _STORED_OUTCOME(values)


def stop_search_row(row: Sequence[str], positions: dict[str, int], identities: Identities,
                    facts: FileFacts) -> Row:
    date_text = _field(row, positions, "Date", 40)
    try:
        occurred_at = datetime.fromisoformat(date_text)
    except ValueError:
        raise RowProblem(f"Date {date_text!r} is not a date and time (ISO 8601)") from None
    if occurred_at.tzinfo is None:
        raise RowProblem(f"Date {date_text!r} has no UTC offset")
    point = parse_coordinates(_field(row, positions, "Longitude", 30),
                              _field(row, positions, "Latitude", 30))
    values: dict[str, Any] = {
        "force": facts.force,
        "month": facts.month or occurred_at.date().replace(day=1),
        "occurred_at": occurred_at,
        "search_type": _field(row, positions, "Type", 60),
        "part_of_operation": _bool(_field(row, positions, "Part of a policing operation", 10),
                                   "Part of a policing operation"),
        "operation": _field(row, positions, "Policing operation", 200),
        "longitude": point[0] if point else None, "latitude": point[1] if point else None,
        "gender": _field(row, positions, "Gender", 40),
        "age_range": _field(row, positions, "Age range", 40),
        "self_defined_ethnicity": _field(row, positions, "Self-defined ethnicity", 200),
        "officer_defined_ethnicity": _field(row, positions, "Officer-defined ethnicity", 60),
        "legislation": _field(row, positions, "Legislation", 200),
        "object_of_search": _field(row, positions, "Object of search", 120),
        "outcome": _field(row, positions, "Outcome", 150),
        "outcome_linked": _bool(_field(row, positions, "Outcome linked to object of search", 10),
                                "Outcome linked to object of search"),
        "outer_clothing_removed": _bool(
            _field(row, positions, "Removal of more than just outer clothing", 10),
            "Removal of more than just outer clothing"),
    }
    # The row's own values only: the same file renamed (force and month come from the name)
    # must give the same identities.
    content = tuple(str(values[k]) for k in sorted(values) if k not in ("force", "month"))
    values["identity"] = identities.of(occurred_at.date().replace(day=1), content)
    values["month"] = values["month"].isoformat()
    return _STORED_STOP_SEARCH(values)
