"""Reading imported crime data: only rows of finished imports count, every figure counts the rows
of one force (the one that covers the area), and the database does the filtering (period,
categories, bounding box) before anything reaches Python.

A month is present for a force when a file of that force holding the month was imported: a
month without one is missing, never counted as zero crimes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from app.auth.models import User
from app.crime.cells import cell_filter
from app.crime.geometry import Bounds, bounds, inside
from app.crime.importer import done_batches
from app.crime.models import (
    ImportBatch,
    ImportKind,
    ImportStatus,
    StopSearch,
    StreetCrime,
    StreetCrimeCell,
)
from app.crime.police_uk import parse_month
from app.errors import ValidationFailed
from app.reference.models import Borough, Force
from app.sara.hotspots import NO_LOCATION


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


def month_ranges(months: set[date]) -> list[Period]:
    """Months as the runs of consecutive months they make (Jan 2017 to Nov 2020, Oct 2023 to
    Dec 2025): where a force's data has gaps shows at a glance."""
    runs: list[Period] = []
    for month in sorted(months):
        if runs and Period(runs[-1].last, month).months() == [runs[-1].last, month]:
            runs[-1] = Period(runs[-1].first, month)
        else:
            runs.append(Period(month, month))
    return runs


def months_label(months: Iterable[date]) -> str:
    """Months named as their runs: "Jan 2024 to Mar 2024, May 2024"."""
    return ", ".join(f"{run.first:%b %Y}" if run.first == run.last else run.label
                     for run in month_ranges(set(months)))


# What each kind of police.uk data is called where a figure says it has none.
DATA_NAMES = {ImportKind.STREET: "street-level crime", ImportKind.STOP_SEARCH: "stop and search",
              ImportKind.OUTCOMES: "outcomes data"}


def no_data_reason(force_label: str, months: Iterable[date],
                   kind: ImportKind = ImportKind.STREET) -> str | None:
    """Why a figure is missing, as the API's ``no_data_reason`` and the pages say it: none of
    the force's data of that kind is imported for the months. None when no month is missing."""
    missing = sorted(set(months))
    if not missing:
        return None
    return f"No {DATA_NAMES[kind]} of {force_label} is imported for {months_label(missing)}."


@dataclass(frozen=True)
class Coverage:
    """A force's local policing areas and the months of each kind of its data imported."""

    force: Force
    local_areas: int
    street: set[date]
    stop_search: set[date]
    outcomes: set[date]


def coverage(db: Session) -> list[Coverage]:
    """Every force that has local policing areas here or data imported."""
    months: dict[tuple[str, ImportKind], set[date]] = {}
    for force, kind, batch_months in db.execute(select(
            ImportBatch.force_id, ImportBatch.kind, ImportBatch.months).where(
            ImportBatch.status == ImportStatus.DONE, ImportBatch.force_id.is_not(None))):
        found = months.setdefault((force, kind), set())
        found.update(m for text in batch_months if (m := parse_month(text)))
    areas: dict[str, int] = {force: n for force, n in db.execute(
        select(Borough.force_id, func.count()).group_by(Borough.force_id))}
    forces = {force for force, _kind in months} | set(areas)
    return [Coverage(force, areas.get(force.id, 0),
                     months.get((force.id, ImportKind.STREET), set()),
                     months.get((force.id, ImportKind.STOP_SEARCH), set()),
                     months.get((force.id, ImportKind.OUTCOMES), set()))
            for force in db.scalars(select(Force).where(Force.id.in_(forces))
                                    .order_by(Force.area_name))]


def month_value(text: str, field: str) -> date:
    """A month given as YYYY-MM, or a field error."""
    month = parse_month(text or "")
    if month is None:
        raise ValidationFailed.one(field, f"{text!r} is not a month: use YYYY-MM, e.g. 2024-06.")
    return month


def batches_seen_by(user: User) -> ColumnElement[bool]:
    """SQL condition for the imports a user may see: those of their force (every force's, for
    an account that names none), and boundary files set up for no force."""
    if user.force_id is None:
        return true()
    return or_(ImportBatch.force_id.is_(None), ImportBatch.force_id == user.force_id)


def present_months(db: Session, force: str,
                   kind: ImportKind = ImportKind.STREET) -> set[date]:
    """The months a force's finished imports of a kind hold (from each batch's own record: a
    force has a file a month, so this reads a few rows, never the crimes)."""
    rows = db.scalars(select(ImportBatch.months).where(
        ImportBatch.status == ImportStatus.DONE, ImportBatch.kind == kind,
        ImportBatch.force_id == force))
    return {month for months in rows for text in months if (month := parse_month(text))}


def data_months(db: Session, force: str) -> Period | None:
    """The span of months for which a force's street-level crime has been imported."""
    months = present_months(db, force)
    return Period(min(months), max(months)) if months else None


def months_with_data(db: Session, force: str, period: Period,
                     kind: ImportKind = ImportKind.STREET) -> set[date]:
    """The months of ``period`` for which a force's data of a kind was imported."""
    return {m for m in present_months(db, force, kind) if period.first <= m <= period.last}


def street_months(db: Session, force: str, force_label: str, period: Period) -> set[date]:
    """The months of ``period`` with the force's street-level crime imported. A period with
    none is refused, naming the months there are: every count over it would be a zero that
    stands for no data."""
    present = months_with_data(db, force, period)
    if not present:
        imported = present_months(db, force)
        raise ValidationFailed.one(
            "first", f"No street-level crime of {force_label} is imported for "
                     f"{months_label(period.months())}"
                     + (f": choose months from {months_label(imported)}." if imported else "."))
    return present


def _street_filter(force: str, period: Period, categories: list[str] | None,
                   box: Bounds | None) -> list[Any]:
    conditions = [StreetCrime.batch_id.in_(done_batches(force)),
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


def crimes_in(db: Session, force: str, area: BaseGeometry, period: Period,
              categories: list[str] | None) -> PointSet:
    box = bounds(area)
    rows = db.execute(
        select(StreetCrime.easting, StreetCrime.northing, StreetCrime.month,
               StreetCrime.category, StreetCrime.last_outcome)
        .where(*_street_filter(force, period, categories, box))
    ).all()
    if not rows:
        return PointSet(np.empty(0), np.empty(0), [], [], [])
    eastings = np.fromiter((r[0] for r in rows), dtype=np.float64, count=len(rows))
    northings = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
    keep = inside(area, eastings, northings)
    chosen = [row for row, kept in zip(rows, keep, strict=True) if kept]
    return PointSet(eastings[keep], northings[keep], [r[2] for r in chosen],
                    [r[3] for r in chosen], [r[4] for r in chosen])


def without_location(db: Session, force: str, period: Period,
                     categories: list[str] | None) -> int:
    """A force's crimes in the period that police.uk published with no location ("No
    Location"): they cannot be placed in any area, so area counts leave them out."""
    conditions = [*_street_filter(force, period, categories, None),
                  StreetCrime.easting.is_(None)]
    return db.scalar(select(func.count()).select_from(StreetCrime).where(*conditions)) or 0


def cell_counts(db: Session, force: str, box: Bounds, cell_m: int, period: Period,
                categories: list[str] | None) -> list[tuple[int, int, int]]:
    """Crimes per grid cell (floor(e / cell), floor(n / cell)), counted by the database.
    Eastings and northings are whole positive metres in Great Britain: integer division
    (SQLAlchemy's ``//`` on integers) is that floor on both databases."""
    size = literal(cell_m, Integer)
    column = (StreetCrime.easting // size).label("col")
    row = (StreetCrime.northing // size).label("row")
    result = db.execute(
        select(column, row, func.count()).where(*_street_filter(force, period, categories, box))
        .group_by(column, row))
    return [(int(c), int(r), int(n))  # type: ignore[arg-type]  # the box excluded NULL
            for c, r, n in result]


def point_counts(db: Session, force: str, box: Bounds, period: Period,
                 categories: list[str] | None) -> list[tuple[int, int, int]]:
    """Crimes per stored point (easting, northing) in a box: the force's cells summed over
    the period's months and the categories (``app.crime.cells``), never the crimes counted.
    police.uk publishes crimes at a few thousand snap points a borough, so these rows stay
    few."""
    crimes = func.sum(StreetCrimeCell.crimes)
    result = db.execute(
        select(StreetCrimeCell.easting, StreetCrimeCell.northing, crimes)
        .where(*cell_filter(force, period.first, period.last, categories, box))
        .group_by(StreetCrimeCell.easting, StreetCrimeCell.northing))
    return [(int(e), int(n), int(count)) for e, n, count in result]


def point_counts_by_category(db: Session, force: str, box: Bounds, period: Period,
                             categories: list[str]) -> np.ndarray:
    """``point_counts`` for each category: (the category's place in ``categories``, easting,
    northing, crimes) rows of an int64 array; numbered by the database, as tens of thousands
    of rows of names would take longer to read than to count."""
    number = case({c: i for i, c in enumerate(categories)}, value=StreetCrimeCell.category)
    crimes = func.sum(StreetCrimeCell.crimes)
    result = db.execute(
        select(number, StreetCrimeCell.easting, StreetCrimeCell.northing, crimes)
        .where(*cell_filter(force, period.first, period.last, categories, box))
        .group_by(StreetCrimeCell.category, StreetCrimeCell.easting, StreetCrimeCell.northing))
    return np.array([tuple(row) for row in result], dtype=np.int64).reshape(-1, 4)


_POINTS_PER_QUERY = 400  # SQLite's compound SELECT holds at most 500 parts


def point_names(db: Session, points: list[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """The police.uk location text of each stored point ("On or near Cheapside"); points with
    no text are left out."""
    return {point: place[0] for point, place in _named_rows(db, points).items()}


def _named_rows(db: Session, points: list[tuple[int, int]]
                ) -> dict[tuple[int, int], tuple[str, float, float]]:
    """The location text and snap point (longitude, latitude) of each stored point, read from
    one row of it that has a text: a snap point carries one name (so it is in every police.uk
    file checked here: the City's 74 months, North Wales's 4), so one row a point names all
    its crimes. One query for up to 400 points, each a seek on the point index."""
    places: dict[tuple[int, int], tuple[str, float, float]] = {}
    for start in range(0, len(points), _POINTS_PER_QUERY):
        chunk = points[start:start + _POINTS_PER_QUERY]
        wanted = union_all(*(select(literal(e, Integer).label("e"), literal(n, Integer).label("n"))
                             for e, n in chunk)).subquery("wanted")
        named = aliased(StreetCrime)
        first = (select(named.id)
                 .where(named.easting == wanted.c.e, named.northing == wanted.c.n,
                        named.location.not_in(("", NO_LOCATION)))
                 .limit(1).correlate(wanted).scalar_subquery())
        found = db.execute(
            select(wanted.c.e, wanted.c.n, StreetCrime.location, StreetCrime.longitude,
                   StreetCrime.latitude)
            .join(StreetCrime, StreetCrime.id == first))
        for e, n, location, lon, lat in found:
            places[int(e), int(n)] = (str(location), float(lon), float(lat))
    return places


_IDS_PER_QUERY = 500


def point_places(db: Session, box: Bounds, points: list[tuple[int, int]]
                 ) -> dict[tuple[int, int], tuple[str, float, float]]:
    """The location text and snap point (longitude, latitude) of the stored ``points`` (all
    in ``box``) that have a text, each read from one row of it.

    PostgreSQL seeks each point in the point index from one statement (the points sent as two
    arrays). SQLite finds the first row of every point in the box from the point index alone
    (it holds the row's id, a stretch read in order), then reads those rows by id; the rare
    point whose first row has no text is looked up again for one that has. Each is several
    times quicker than the other's way on its own database."""
    if db.get_bind().dialect.name == "postgresql":
        return _places_by_seek(db, points)
    firsts = db.execute(
        select(StreetCrime.easting, StreetCrime.northing, func.min(StreetCrime.id))
        .where(StreetCrime.easting.between(box.min_e, box.max_e),
               StreetCrime.northing.between(box.min_n, box.max_n))
        .group_by(StreetCrime.easting, StreetCrime.northing)).all()
    point_of = {int(first): (int(e), int(n)) for e, n, first in firsts
                if first is not None and e is not None and n is not None}
    ids = list(point_of)
    places: dict[tuple[int, int], tuple[str, float, float]] = {}
    for start in range(0, len(ids), _IDS_PER_QUERY):
        for id_, location, lon, lat in db.execute(
                select(StreetCrime.id, StreetCrime.location, StreetCrime.longitude,
                       StreetCrime.latitude)
                .where(StreetCrime.id.in_(ids[start:start + _IDS_PER_QUERY]))):
            if location not in ("", NO_LOCATION) and lon is not None and lat is not None:
                places[point_of[id_]] = (str(location), float(lon), float(lat))
    unnamed = [point for point in point_of.values() if point not in places]
    return places | _named_rows(db, unnamed)


_PLACES_BY_SEEK = text(f"""
    SELECT wanted.e, wanted.n, named.location, named.longitude, named.latitude
    FROM unnest(CAST(:eastings AS integer[]), CAST(:northings AS integer[])) AS wanted (e, n)
    CROSS JOIN LATERAL (
        SELECT location, longitude, latitude FROM {StreetCrime.__tablename__}
        WHERE easting = wanted.e AND northing = wanted.n AND location <> ''
          AND location <> :no_location
        LIMIT 1) AS named""")


def _places_by_seek(db: Session, points: list[tuple[int, int]]
                    ) -> dict[tuple[int, int], tuple[str, float, float]]:
    found = db.execute(_PLACES_BY_SEEK, {"eastings": [e for e, _ in points],
                                         "northings": [n for _, n in points],
                                         "no_location": NO_LOCATION})
    return {(int(e), int(n)): (str(location), float(lon), float(lat))
            for e, n, location, lon, lat in found}


def street_labels(db: Session, force: str, box: Bounds, period: Period, bin_m: int,
                  limit: int) -> list[tuple[str, float, float, int]]:
    """The police.uk locations of a force's crimes in a box, as (location, mean longitude,
    mean latitude, crimes), most crimes first: one row per location and ``bin_m`` square, so
    that a street name used in two towns is placed in each, not half-way between them.

    Counted from the force's point cells and one row a point (``point_places``), never from
    the crimes themselves: a case's map would otherwise read every crime of a year around it
    (a few hundred thousand rows in central London) to draw a few hundred names."""
    groups: dict[tuple[str, int, int], list[float]] = {}  # crimes, sum of lon, sum of lat
    counted = point_counts(db, force, box, period, None)
    places = point_places(db, box, [(e, n) for e, n, _ in counted])
    for e, n, crimes in counted:
        if (e, n) not in places:
            continue
        location, lon, lat = places[e, n]
        group = groups.setdefault((location, e // bin_m, n // bin_m), [0, 0.0, 0.0])
        group[0] += crimes
        group[1] += lon * crimes
        group[2] += lat * crimes
    ranked = sorted(groups.items(), key=lambda item: (-item[1][0], item[0][0]))[:limit]
    return [(location, lon / crimes, lat / crimes, int(crimes))
            for (location, _, _), (crimes, lon, lat) in ranked]


@dataclass
class StopSearchSummary:
    """Stop and search in an area; ``total`` is None when none of the period's months has the
    force's stop-and-search data (no data is not zero searches), and so is the count of each
    such month in ``monthly``."""

    total: int | None
    by_object: list[tuple[str, int]]
    by_outcome: list[tuple[str, int]]
    months_missing: list[date]
    monthly: list[tuple[date, int | None]]


def stop_searches_in(db: Session, force: str, area: BaseGeometry,
                     period: Period) -> StopSearchSummary:
    present = months_with_data(db, force, period, ImportKind.STOP_SEARCH)
    missing = [m for m in period.months() if m not in present]
    if not present:
        return StopSearchSummary(None, [], [], missing, [(m, None) for m in period.months()])
    box = bounds(area)
    # A search's month is its file's (``month``), so a month's file holds all its searches.
    rows = db.execute(
        select(StopSearch.easting, StopSearch.northing, StopSearch.object_of_search,
               StopSearch.outcome, StopSearch.month)
        .where(StopSearch.batch_id.in_(done_batches(force)),
               StopSearch.month.between(period.first, period.last),
               and_(StopSearch.easting.between(box.min_e, box.max_e),
                    StopSearch.northing.between(box.min_n, box.max_n)))
    ).all()
    chosen = []
    if rows:
        keep = inside(area, np.array([r[0] for r in rows], dtype=np.float64),
                      np.array([r[1] for r in rows], dtype=np.float64))
        chosen = [r for r, kept in zip(rows, keep, strict=True) if kept]
    per_month = Counter(r[4] for r in chosen)
    return StopSearchSummary(
        len(chosen),
        Counter(r[2] or "Not recorded" for r in chosen).most_common(),
        Counter(r[3] or "Not recorded" for r in chosen).most_common(),
        missing,
        [(m, per_month.get(m, 0) if m in present else None) for m in period.months()],
    )


@dataclass(frozen=True)
class CrimeRow:
    """One located street crime, as a case file's crimes.csv lists it."""

    crime_id: str | None  # police.uk gives some crimes no id
    month: date
    category: str
    longitude: float
    latitude: float
    location: str
    lsoa_code: str
    lsoa_name: str  # beside the code, for the person who reads the file
    last_outcome: str
    source: str  # the file it was imported from


def crime_rows_in(db: Session, force: str, area: BaseGeometry, period: Period,
                  categories: list[str] | None) -> list[CrimeRow]:
    """The located crimes inside ``area`` (the same ones ``crimes_in`` counts), whole."""
    rows = db.execute(
        select(StreetCrime.crime_id, StreetCrime.month, StreetCrime.category,
               StreetCrime.longitude, StreetCrime.latitude, StreetCrime.easting,
               StreetCrime.northing, StreetCrime.location, StreetCrime.lsoa_code,
               StreetCrime.last_outcome, ImportBatch.source, StreetCrime.lsoa_name)
        .join(ImportBatch, ImportBatch.id == StreetCrime.batch_id)
        .where(*_street_filter(force, period, categories, bounds(area)))
        .order_by(StreetCrime.month, StreetCrime.id)).all()
    if not rows:
        return []
    keep = inside(area, np.fromiter((r[5] for r in rows), dtype=np.float64, count=len(rows)),
                  np.fromiter((r[6] for r in rows), dtype=np.float64, count=len(rows)))
    return [CrimeRow(r[0], r[1], r[2], r[3], r[4],  # type: ignore[arg-type]  # in the box: located, with both
                     r[7], r[8], r[11], r[9], r[10])
            for r, kept in zip(rows, keep, strict=True) if kept]
