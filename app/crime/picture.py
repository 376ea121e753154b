"""A case's crime picture (the Analysis panel): what police.uk data says about its target area,
and the comparison areas around it (buffer ring, control area, suggested controls).

Every count is of the crime published by the force that covers the case's area."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.cases.access import case_for
from app.cases.models import Case
from app.crime.geometry import area_shape, buffer_ring, geojson_wgs84
from app.crime.models import Area, AreaKind, ImportKind
from app.crime.queries import (
    Period,
    StopSearchSummary,
    crimes_in,
    data_months,
    months_label,
    months_with_data,
    no_data_reason,
    stop_searches_in,
    street_months,
    without_location,
)
from app.errors import ValidationFailed
from app.sara.areas import AreaError
from app.sara.problem import CATEGORIES

DEFAULT_MONTHS = 24


def case_categories(case: Case) -> list[str]:
    return list(case.crime_types or [case.category])


def target_shape(case: Case) -> BaseGeometry:
    if case.target_geometry is None:
        raise ValidationFailed.one("target_area", f"{case.ref} has no target area yet.")
    try:
        return area_shape(case.target_geometry, case.target_radius_m)
    except AreaError as exc:
        raise ValidationFailed.one("target_area", str(exc)) from None


def control_shape(case: Case) -> BaseGeometry | None:
    if case.control_geometry is None:
        return None
    return area_shape(case.control_geometry, case.control_radius_m)


def buffer_shape(case: Case) -> BaseGeometry | None:
    if not case.buffer_width_m or case.target_geometry is None:
        return None
    return buffer_ring(target_shape(case), case.buffer_width_m)


def case_force(case: Case) -> str:
    """The force whose data counts for a case: the one its local policing area belongs to."""
    return case.borough.force_id


def default_period(db: Session, force: str) -> Period | None:
    span = data_months(db, force)
    if span is None:
        return None
    months = span.months()[-DEFAULT_MONTHS:]
    return Period(months[0], months[-1])


@dataclass
class CrimePicture:
    ref: str
    area_name: str
    area_m2: float
    period: Period
    categories: list[str]
    monthly: list[tuple[date, int | None]]  # None: no data imported for the month
    by_category: list[tuple[str, str, int]]
    by_outcome: list[tuple[str, int]]
    stop_search: StopSearchSummary
    without_location: int
    months_missing: list[date]
    force_id: str
    force_name: str

    @property
    def total(self) -> int:
        return sum(count for _month, count in self.monthly if count is not None)

    @property
    def peak(self) -> tuple[date, int] | None:
        covered = [(month, count) for month, count in self.monthly if count is not None]
        return max(covered, key=lambda item: item[1]) if covered else None

    @property
    def mean(self) -> float | None:
        covered = [count for _month, count in self.monthly if count is not None]
        return sum(covered) / len(covered) if covered else None

    @property
    def no_data_reason(self) -> str | None:
        """Why some months count in no figure: none of the force's street crime for them."""
        return no_data_reason(self.force_name, self.months_missing)

    @property
    def stop_search_no_data_reason(self) -> str | None:
        return no_data_reason(self.force_name, self.stop_search.months_missing,
                              ImportKind.STOP_SEARCH)

    def summary_text(self) -> str:
        """The figures as a paragraph to pin into the analysis summary. A month without data
        is named as such, never written as a zero nor left out in silence."""
        kinds = ", ".join(CATEGORIES[c].lower() for c in self.categories)
        counted = f"{self.total} crimes recorded by police.uk"
        if self.months_missing:
            covered = len(self.monthly) - len(self.months_missing)
            counted += f" in the {covered} month{'s' if covered != 1 else ''} with data"
        parts = [f"Crime picture of {self.area_name or 'the target area'} "
                 f"({self.area_m2 / 1e4:.1f} ha), {kinds}, {self.period.label}: {counted}"]
        if self.mean is not None and self.peak:
            parts.append(f"a monthly mean of {self.mean:.1f}, peaking at {self.peak[1]} in "
                         f"{self.peak[0]:%b %Y}")
        if len(self.by_category) > 1:
            parts.append("by type: " + ", ".join(f"{label.lower()} {n}" for _s, label, n
                                                  in self.by_category[:5]))
        if self.by_outcome:
            parts.append("last outcomes: " + ", ".join(f"{label.lower()} {n}" for label, n
                                                       in self.by_outcome[:3]))
        parts.append(self._stop_search_text())
        if self.months_missing:
            parts.append(f"street-level crime: no data imported for "
                         f"{months_label(self.months_missing)} (no data, not zero crimes)")
        return "; ".join(parts) + "."

    def _stop_search_text(self) -> str:
        searches = self.stop_search
        if searches.total is None:
            return "stop and search: no data imported for these months"
        text = f"stop and search in the area: {searches.total}"
        if searches.months_missing:
            text += (f" in the months with data (no data imported for "
                     f"{months_label(searches.months_missing)})")
        return text


def crime_picture(db: Session, actor: Actor, ref: str, period: Period | None = None,
                  categories: list[str] | None = None) -> CrimePicture | None:
    """None when none of the case's force's crime data has been imported."""
    return picture_of(db, actor, case_for(db, actor, ref), period, categories)


def picture_of(db: Session, actor: Actor, case: Case, period: Period | None = None,
               categories: list[str] | None = None) -> CrimePicture | None:
    """``crime_picture`` of a case the caller has read through ``case_for``."""
    area = target_shape(case)  # no target area: say so, whether or not data is imported
    force = case_force(case)
    period = period or default_period(db, force)
    if period is None:
        return None
    categories = categories or case_categories(case)
    present = street_months(db, force, case.borough.force.label, period)
    points = crimes_in(db, force, area, period, categories)
    per_month = Counter(points.months)
    picture = CrimePicture(
        ref=case.ref, area_name=case.target_area_name, area_m2=float(area.area), period=period,
        categories=categories, force_id=force, force_name=case.borough.force.label,
        monthly=[(month, per_month.get(month, 0) if month in present else None)
                 for month in period.months()],
        by_category=[(slug, CATEGORIES.get(slug, slug), n)
                     for slug, n in Counter(points.categories).most_common()],
        by_outcome=Counter(o or "No outcome recorded (anti-social behaviour)"
                           for o in points.outcomes).most_common(),
        stop_search=stop_searches_in(db, force, area, period),
        without_location=without_location(db, force, period, categories),
        months_missing=[m for m in period.months() if m not in present],
    )
    record_read(db, actor, AuditAction.CRIME_PICTURE, object_type="case", object_ref=case.ref,
                details={"first": period.first.isoformat(), "last": period.last.isoformat(),
                         "categories": categories})
    return picture


@dataclass
class AreaCount:
    name: str
    count: int
    area_m2: float
    geometry: dict[str, Any]
    area_id: int | None = None


@dataclass
class Comparison:
    """Counts in the target, the buffer ring and the control area over one period."""

    period: Period
    categories: list[str]
    target: AreaCount
    buffer: AreaCount | None
    control: AreaCount | None
    suggestions: list[AreaCount]
    months_missing: list[date]  # months of the period with none of the force's data


def comparison(db: Session, actor: Actor, ref: str, period: Period | None = None,
               suggest: int = 5) -> Comparison | None:
    return comparison_of_case(db, case_for(db, actor, ref), period, suggest)


def comparison_of_case(db: Session, case: Case, period: Period | None = None,
                       suggest: int = 5) -> Comparison | None:
    """``comparison`` of a case the caller has read through ``case_for``."""
    force = case_force(case)
    period = period or _baseline(case) or default_period(db, force)
    if period is None:
        return None
    categories = case_categories(case)
    target = target_shape(case)
    ring = buffer_shape(case)
    control = control_shape(case)
    counted = AreaCount(case.target_area_name or "Target area",
                        len(crimes_in(db, force, target, period, categories)),
                        float(target.area), geojson_wgs84(target))
    present = months_with_data(db, force, period)
    return Comparison(
        period=period, categories=categories, target=counted,
        buffer=_count(db, force, f"{case.buffer_width_m} m ring around the target", ring,
                      period, categories) if ring is not None else None,
        control=_count(db, force, case.control_area_name or "Control area", control, period,
                       categories) if control is not None else None,
        suggestions=suggest_controls(db, case, target.union(ring) if ring is not None
                                     else target, counted.count, period, categories, suggest),
        months_missing=[m for m in period.months() if m not in present],
    )


def _count(db: Session, force: str, name: str, shape: BaseGeometry, period: Period,
           categories: list[str]) -> AreaCount:
    return AreaCount(name, len(crimes_in(db, force, shape, period, categories)),
                     float(shape.area), geojson_wgs84(shape))


def _baseline(case: Case) -> Period | None:
    if case.baseline_start and case.baseline_end:
        return Period(case.baseline_start.replace(day=1), case.baseline_end.replace(day=1))
    return None


def suggest_controls(db: Session, case: Case, exclusion: BaseGeometry, target_count: int,
                     period: Period, categories: list[str], limit: int) -> list[AreaCount]:
    """Wards (and LSOAs, where imported) of the case's local policing area that do not touch
    the target or its buffer, with the most similar crime count over the period."""
    candidates = [a for a in db.scalars(select(Area).where(
        Area.borough_code == case.borough_code, Area.kind.in_([AreaKind.WARD, AreaKind.LSOA])))]
    shapes = [(a, area_shape(a.geometry)) for a in candidates]
    shapes = [(a, s) for a, s in shapes if not s.intersects(exclusion)]
    if not shapes:
        return []
    everything = shapely.union_all([s for _a, s in shapes])
    points = crimes_in(db, case_force(case), everything, period, categories)
    tree = shapely.STRtree([s for _a, s in shapes])
    counts = np.zeros(len(shapes), dtype=np.int64)
    if len(points):
        hits = tree.query(shapely.points(points.eastings, points.northings),
                          predicate="intersects")
        # A point on a shared edge touches two areas: count it once, in the first.
        _first, index = np.unique(hits[0], return_index=True)
        np.add.at(counts, hits[1][index], 1)
    scored = sorted(
        zip(shapes, counts, strict=True),
        key=lambda item: (abs(np.log((item[1] + 1) / (target_count + 1))), item[0][0].name))
    return [AreaCount(f"{a.name} ({a.kind.label.lower()})", int(n), float(s.area),
                      geojson_wgs84(s), a.id) for (a, s), n in scored[:limit]]

