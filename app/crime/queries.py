"""Reading imported crime data: only rows of finished imports count, and the database does the
filtering (period, categories, bounding box) before anything reaches Python."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry
from sqlalchemy import BigInteger, Integer, Select, and_, cast, func, literal, select
from sqlalchemy.orm import Session

from app.crime.geometry import Bounds, bounds, inside
from app.crime.importer import done_batches
from app.crime.models import ImportBatch, StopSearch, StreetCrime
from app.crime.police_uk import parse_month
from app.errors import ValidationFailed


@dataclass(frozen=True)
class Period:
    """Whole months, both ends included."""

    first: date
    last: date

    def months(self) -> list[date]:
        months, current = [], self.first
        while current <= self.last:
            months.append(current)
            current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
        return months

    @property
    def label(self) -> str:
        return f"{self.first:%b %Y} to {self.last:%b %Y}"


def month_value(text: str, field: str) -> date:
    """A month given as YYYY-MM, or a field error."""
    month = parse_month(text or "")
    if month is None:
        raise ValidationFailed.one(field, f"{text!r} is not a month: use YYYY-MM, e.g. 2024-06.")
    return month


def data_months(db: Session) -> Period | None:
    """The span of months for which street-level crime has been imported."""
    first = _month_from(db, None)
    last = db.scalar(_visible_months().order_by(StreetCrime.month.desc()).limit(1))
    return Period(first, last) if first and last else None


def months_with_data(db: Session, period: Period) -> set[date]:
    """The months of ``period`` that hold street-level crime. One index seek per month
    (a skip scan): a DISTINCT, or MIN and MAX with the batch filter, read every row of the
    period, some 350 ms a page at a million crimes."""
    months: set[date] = set()
    month = _month_from(db, period.first)
    while month is not None and month <= period.last:
        months.add(month)
        month = _month_from(db, month, after=True)
    return months


def _visible_months() -> Select[tuple[date]]:
    return select(StreetCrime.month).where(StreetCrime.batch_id.in_(done_batches()))


def _month_from(db: Session, start: date | None, *, after: bool = False) -> date | None:
    """The first month with crimes from ``start`` on (or after it), read from the index."""
    query = _visible_months()
    if start is not None:
        query = query.where(StreetCrime.month > start if after else StreetCrime.month >= start)
    return db.scalar(query.order_by(StreetCrime.month).limit(1))


def _street_filter(period: Period, categories: list[str] | None,
                   box: Bounds | None) -> list[Any]:
    conditions = [StreetCrime.batch_id.in_(done_batches()),
                  StreetCrime.month.between(period.first, period.last)]
    if categories:
        conditions.append(StreetCrime.category.in_(categories))
    if box is not None:
        conditions += [StreetCrime.easting.between(box.min_e, box.max_e),
                       StreetCrime.northing.between(box.min_n, box.max_n)]
    return conditions


@dataclass
class PointSet:
    """Located crimes (and their attributes) inside one area."""

    eastings: np.ndarray
    northings: np.ndarray
    months: list[date]
    categories: list[str]
    outcomes: list[str]

    def __len__(self) -> int:
        return len(self.months)


def crimes_in(db: Session, area: BaseGeometry, period: Period,
              categories: list[str] | None) -> PointSet:
    box = bounds(area)
    rows = db.execute(
        select(StreetCrime.easting, StreetCrime.northing, StreetCrime.month,
               StreetCrime.category, StreetCrime.last_outcome)
        .where(*_street_filter(period, categories, box))
    ).all()
    if not rows:
        return PointSet(np.empty(0), np.empty(0), [], [], [])
    eastings = np.fromiter((r[0] for r in rows), dtype=np.float64, count=len(rows))
    northings = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
    keep = inside(area, eastings, northings)
    chosen = [row for row, kept in zip(rows, keep, strict=True) if kept]
    return PointSet(eastings[keep], northings[keep], [r[2] for r in chosen],
                    [r[3] for r in chosen], [r[4] for r in chosen])


def without_location(db: Session, period: Period, categories: list[str] | None,
                     falls_within: list[str] | None = None) -> int:
    """Crimes in the period that police.uk published with no location ("No Location"):
    they cannot be placed in any area, so area counts leave them out."""
    conditions = [*_street_filter(period, categories, None), StreetCrime.easting.is_(None)]
    if falls_within:
        conditions.append(StreetCrime.falls_within.in_(falls_within))
    return db.scalar(select(func.count()).select_from(StreetCrime).where(*conditions)) or 0


def cell_counts(db: Session, box: Bounds, cell_m: int, period: Period,
                categories: list[str] | None) -> list[tuple[int, int, int]]:
    """Crimes per grid cell (floor(e / cell), floor(n / cell)), counted by the database.
    Eastings and northings are whole positive metres in Great Britain: integer division
    (SQLAlchemy's ``//`` on integers) is that floor on both databases."""
    size = literal(cell_m, Integer)
    column = (StreetCrime.easting // size).label("col")
    row = (StreetCrime.northing // size).label("row")
    result = db.execute(
        select(column, row, func.count()).where(*_street_filter(period, categories, box))
        .group_by(column, row))
    return [(int(c), int(r), int(n)) for c, r, n in result]


def points_in_cells(db: Session, cells: list[tuple[int, int]], cell_m: int, period: Period,
                    categories: list[str] | None) -> tuple[np.ndarray, np.ndarray]:
    """The located crimes of some grid cells (e.g. those an area's edge crosses), as points."""
    if not cells:
        return np.empty(0), np.empty(0)
    size = literal(cell_m, BigInteger)
    # One 64-bit number per cell (col * 10^6 + row; rows stay below 10^6 in Great Britain):
    # PostgreSQL hashes a long IN list of plain values, not of (col, row) pairs.
    key = (cast(StreetCrime.easting, BigInteger) // size) * literal(1_000_000, BigInteger) \
        + cast(StreetCrime.northing, BigInteger) // size
    rows = db.execute(select(StreetCrime.easting, StreetCrime.northing).where(
        *_street_filter(period, categories, None), StreetCrime.easting.is_not(None),
        key.in_(sorted({col * 1_000_000 + row for col, row in cells})))).all()
    return (np.fromiter((r[0] for r in rows), dtype=np.float64, count=len(rows)),
            np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows)))


@dataclass
class StopSearchSummary:
    total: int
    by_object: list[tuple[str, int]]
    by_outcome: list[tuple[str, int]]


def stop_searches_in(db: Session, area: BaseGeometry, period: Period) -> StopSearchSummary:
    box = bounds(area)
    rows = db.execute(
        select(StopSearch.easting, StopSearch.northing, StopSearch.object_of_search,
               StopSearch.outcome)
        .where(StopSearch.batch_id.in_(done_batches()),
               StopSearch.month.between(period.first, period.last),
               and_(StopSearch.easting.between(box.min_e, box.max_e),
                    StopSearch.northing.between(box.min_n, box.max_n)))
    ).all()
    if not rows:
        return StopSearchSummary(0, [], [])
    keep = inside(area, np.array([r[0] for r in rows], dtype=np.float64),
                  np.array([r[1] for r in rows], dtype=np.float64))
    chosen = [r for r, kept in zip(rows, keep, strict=True) if kept]
    return StopSearchSummary(
        len(chosen),
        Counter(r[2] or "Not recorded" for r in chosen).most_common(),
        Counter(r[3] or "Not recorded" for r in chosen).most_common(),
    )


@dataclass(frozen=True)
class CrimeRow:
    """One located street crime, as a case file's crimes.csv lists it."""

    crime_id: str
    month: date
    category: str
    longitude: float
    latitude: float
    location: str
    lsoa_code: str
    last_outcome: str
    source: str  # the file it was imported from


def crime_rows_in(db: Session, area: BaseGeometry, period: Period,
                  categories: list[str] | None) -> list[CrimeRow]:
    """The located crimes inside ``area`` (the same ones ``crimes_in`` counts), whole."""
    rows = db.execute(
        select(StreetCrime.crime_id, StreetCrime.month, StreetCrime.category,
               StreetCrime.longitude, StreetCrime.latitude, StreetCrime.easting,
               StreetCrime.northing, StreetCrime.location, StreetCrime.lsoa_code,
               StreetCrime.last_outcome, ImportBatch.source)
        .join(ImportBatch, ImportBatch.id == StreetCrime.batch_id)
        .where(*_street_filter(period, categories, bounds(area)))
        .order_by(StreetCrime.month, StreetCrime.id)).all()
    if not rows:
        return []
    keep = inside(area, np.fromiter((r[5] for r in rows), dtype=np.float64, count=len(rows)),
                  np.fromiter((r[6] for r in rows), dtype=np.float64, count=len(rows)))
    return [CrimeRow(r[0], r[1], r[2], r[3], r[4], r[7], r[8], r[9], r[10])
            for r, kept in zip(rows, keep, strict=True) if kept]
