"""A force's crime counted by local policing area: how much of its data each area holds, month
by month, beside the rows that fall in none of its areas (police.uk publishes some over the
force's border) and those without a location. The four add up to every row of the force in the
period, so an analyst can check the data before trusting a figure built on it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.auth.permissions import Perm, covers_force, require
from app.cases.access import acting_user
from app.crime.geometry import area_shape, bounds, inside
from app.crime.importer import done_batches
from app.crime.models import Area, AreaKind, StreetCrime
from app.crime.queries import (
    Period,
    data_months,
    months_with_data,
    no_data_reason,
    street_months,
    without_location,
)
from app.errors import NotFound, ValidationFailed
from app.reference.models import Borough, Force
from app.sara.problem import CATEGORIES


@dataclass
class AreaCounts:
    code: str
    name: str
    monthly: list[int | None]  # None: none of the force's data for the month

    @property
    def total(self) -> int:
        return sum(n for n in self.monthly if n is not None)


@dataclass
class ForceCounts:
    force: Force
    period: Period
    categories: list[str]
    months: list[date]
    months_missing: list[date]
    areas: list[AreaCounts]  # local policing areas with a boundary
    unbounded: list[str]  # names of its areas whose boundary is not imported
    outside: AreaCounts  # located rows in none of the areas
    without_location: int
    rows: int  # every row of the force in the period, located or not

    @property
    def located(self) -> int:
        return self.rows - self.without_location

    @property
    def no_data_reason(self) -> str | None:
        """Why some months' counts are None (every figure here leaves those months out)."""
        return no_data_reason(self.force.label, self.months_missing)


def force_counts(db: Session, actor: Actor, force_id: str, period: Period | None = None,
                 categories: list[str] | None = None) -> ForceCounts:
    """The counts, logged as a consultation of crime data (one transaction)."""
    user = acting_user(actor)
    require(user, Perm.CASE_READ)
    force = db.get(Force, force_id)
    if force is None or not covers_force(user, force.id):
        raise NotFound(f"There is no police force {force_id}.")
    unknown = [c for c in categories or [] if c not in CATEGORIES]
    if unknown:
        raise ValidationFailed.one("category", f"Unknown category {unknown[0]}.")
    span = data_months(db, force.id)
    if span is None:
        raise ValidationFailed.one("first", f"No street-level crime of {force.label} has been "
                                            "imported yet.")
    period = period or span
    street_months(db, force.id, force.label, period)  # a period without any is refused
    counts = _count(db, force, period, list(categories or []))
    record_read(db, actor, AuditAction.CRIME_COUNTS, object_type="force", object_ref=force.id,
                details={"first": period.first.isoformat(), "last": period.last.isoformat(),
                         "categories": counts.categories, "rows": counts.rows})
    return counts


def _count(db: Session, force: Force, period: Period, categories: list[str]) -> ForceCounts:
    months = period.months()
    present = months_with_data(db, force.id, period)
    filters = [StreetCrime.batch_id.in_(done_batches(force.id)),
               StreetCrime.month.between(period.first, period.last)]
    if categories:
        filters.append(StreetCrime.category.in_(categories))
    located = db.execute(select(StreetCrime.easting, StreetCrime.northing, StreetCrime.month)
                         .where(*filters, StreetCrime.easting.is_not(None))).all()
    eastings = np.fromiter((r[0] for r in located), dtype=np.float64, count=len(located))
    northings = np.fromiter((r[1] for r in located), dtype=np.float64, count=len(located))
    month_of = [_month(r[2]) for r in located]
    free = np.ones(len(located), dtype=bool)  # not yet counted in an area
    areas, unbounded = [], []
    for borough, geometry in _areas_of(db, force):
        if geometry is None:
            unbounded.append(borough.label)
            continue
        shape = area_shape(geometry)
        box = bounds(shape)
        near = free & (eastings >= box.min_e) & (eastings <= box.max_e) \
            & (northings >= box.min_n) & (northings <= box.max_n)
        index = np.flatnonzero(near)
        hit = index[inside(shape, eastings[index], northings[index])]
        free[hit] = False  # a point on a shared edge counts once, in the first area
        areas.append(AreaCounts(borough.code, borough.label,
                                _monthly((month_of[i] for i in hit), months, present)))
    outside = AreaCounts("", f"Outside {force.label}'s local policing areas",
                         _monthly((month_of[i] for i in np.flatnonzero(free)), months, present))
    total = db.scalar(select(func.count()).select_from(StreetCrime).where(*filters)) or 0
    return ForceCounts(
        force=force, period=period, categories=categories, months=months,
        months_missing=[m for m in months if m not in present], areas=areas,
        unbounded=unbounded, outside=outside,
        without_location=without_location(db, force.id, period, categories or None),
        rows=total)


def _areas_of(db: Session, force: Force) -> list[tuple[Borough, dict[str, Any] | None]]:
    rows = db.execute(select(Borough, Area.geometry).outerjoin(
        Area, (Area.code == Borough.code) & (Area.kind == AreaKind.BOROUGH))
        .where(Borough.force_id == force.id).order_by(Borough.name)).all()
    return [(borough, geometry) for borough, geometry in rows]


def _month(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _monthly(found: Iterable[date], months: list[date],
             present: set[date]) -> list[int | None]:
    counted = Counter(found)
    return [counted.get(m, 0) if m in present else None for m in months]
