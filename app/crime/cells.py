"""Crimes counted per force, month, category and stored point, so that a hotspot search sums
counts instead of counting a million crimes.

``street_crime_cells`` holds the located crimes of each force's finished imports per month,
category and point: cells of one metre of the British National Grid, the resolution the
importer stores police.uk's snap points at. Every grid the finder draws (cells of 50 to 500 m
from a multiple of their size) is made of whole cells of it, and a grid cell the area's edge
cuts is recounted exactly from the points it holds, with no second look at the crimes.

Why points rather than a 50 m grid: police.uk publishes a city's crimes at about one snap point
per 50 m square, so a 50 m grid held as many rows (361,654 against 378,642 for the benchmark's
million crimes) while the cells an edge cuts had to be recounted from ``street_crimes``, whose
index finds a 50 m square only by reading a 50 m slice of the whole area (4 s for the edge
around the City of London in the benchmark).

The table is kept by ``recount_cells``: the importer calls it in the transaction that makes a
file's rows count (or, should that be undone, stop counting), and it recounts the force's
months the file holds from the rows in ``street_crimes``, so the table equals a direct count
whatever was stored, replaced or removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Select, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from app.crime.models import ImportBatch, ImportStatus, StreetCrime, StreetCrimeCell
from app.crime.police_uk import parse_month

if TYPE_CHECKING:  # not at run time: the importer recounts cells without the geometry libraries
    from app.crime.geometry import Bounds


def recount_cells(db: Session, force_id: str | None, months: Iterable[date | str]) -> None:
    """Recount a force's cells of ``months`` (dates, or "YYYY-MM" as a batch lists them) from
    the located rows of its finished imports: one delete and one insert-select, in the
    caller's transaction."""
    parsed = {m if isinstance(m, date) else parse_month(m) for m in months}
    wanted = sorted(m for m in parsed if m is not None)
    if force_id is None or not wanted:
        return
    db.flush()  # the batch's own status is read by the insert-select below
    db.execute(delete(StreetCrimeCell).where(StreetCrimeCell.force_id == force_id,
                                             StreetCrimeCell.month.in_(wanted)))
    counted = (
        select(literal(force_id), StreetCrime.month, StreetCrime.category, StreetCrime.easting,
               StreetCrime.northing, func.count())
        .where(StreetCrime.batch_id.in_(_done_batches(force_id)),
               StreetCrime.month.in_(wanted), StreetCrime.easting.is_not(None))
        .group_by(StreetCrime.month, StreetCrime.category, StreetCrime.easting,
                  StreetCrime.northing))
    db.execute(insert(StreetCrimeCell).from_select(
        ["force_id", "month", "category", "easting", "northing", "crimes"], counted))


def _done_batches(force_id: str) -> Select[int]:
    """The force's finished imports (as ``app.crime.importer.done_batches``, which imports
    this module)."""
    return select(ImportBatch.id).where(ImportBatch.status == ImportStatus.DONE,
                                        ImportBatch.force_id == force_id)


def cell_filter(force_id: str, first: date, last: date, categories: list[str] | None,
                box: Bounds) -> list[ColumnElement[bool]]:
    """SQL conditions for a force's cells of a period, of the categories (all when none),
    in a box."""
    conditions: list[ColumnElement[bool]] = [
        StreetCrimeCell.force_id == force_id, StreetCrimeCell.month.between(first, last),
        StreetCrimeCell.easting.between(box.min_e, box.max_e),
        StreetCrimeCell.northing.between(box.min_n, box.max_n)]
    if categories:
        conditions.append(StreetCrimeCell.category.in_(categories))
    return conditions
