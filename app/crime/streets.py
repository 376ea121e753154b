"""What a map without a street map draws instead (no tile server set): the outline of the local
policing area it lies in, and street names taken from the police.uk locations of the force's
crimes ("On or near Cheapside"), each placed at the mean position of its crimes' points.

A location's points are averaged within squares of ``BIN_M``, so a name used in two towns
("High Street") is placed in each, not half-way between. The map decides which labels fit at
its zoom (the most frequent first, none overlapping another); this sends the most frequent."""

from __future__ import annotations

from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crime.geometry import bounds
from app.crime.models import Area, AreaKind
from app.crime.queries import Period, street_labels
from app.sara.hotspots import ON_OR_NEAR

BIN_M = 500
MAX_LABELS = 600  # enough to fill a phone or desktop map at any zoom of a borough or county
AROUND_M = 2_000  # labels around a case's target area: its map's view and a zoom out or two


def label_text(location: str) -> str:
    """A police.uk location as a map label: "On or near Cheapside" is labelled "Cheapside"."""
    return location.removeprefix(ON_OR_NEAR).strip()


def street_features(db: Session, force: str, area: BaseGeometry, period: Period | None,
                    around_m: int = 0) -> list[dict[str, Any]]:
    """Street-name points (role ``street``) over ``area`` (British National Grid), widened by
    ``around_m``: the most frequent locations of the force's crimes in the period first."""
    if period is None:
        return []
    box = bounds(area.buffer(around_m) if around_m else area)
    return [{"type": "Feature", "geometry": {"type": "Point",
                                             "coordinates": [round(lon, 6), round(lat, 6)]},
             "properties": {"role": "street", "label": label_text(location), "count": count}}
            for location, lon, lat, count in street_labels(db, force, box, period, BIN_M,
                                                           MAX_LABELS)
            if label_text(location)]


def outline_feature(db: Session, code: str) -> dict[str, Any] | None:
    """The boundary of a local policing area (role ``outline``), if it has been imported."""
    area = db.scalar(select(Area).where(Area.kind == AreaKind.BOROUGH, Area.code == code))
    if area is None:
        return None
    return {"type": "Feature", "geometry": area.geometry,
            "properties": {"role": "outline", "label": area.name}}
