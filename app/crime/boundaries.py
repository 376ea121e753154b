"""Importing named boundaries (wards, LSOAs, boroughs, force areas) from GeoJSON in WGS84.

Each feature becomes an area with its code and name, found in the usual ONS property names
unless told otherwise. Importing a newer file of the same kind updates areas by code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import AuditAction, record
from app.auth.context import Actor
from app.crime.geometry import AreaError, area_shape, bounds
from app.crime.models import Area, AreaKind, ImportBatch, ImportKind, ImportStatus
from app.db import utcnow

# Property names of codes and names in ONS, GLA and police.uk boundary files.
CODE_FIELDS = ("WD24CD", "WD23CD", "WD22CD", "WD21CD", "LSOA21CD", "LSOA11CD", "LAD24CD",
               "LAD23CD", "LAD22CD", "GSS_CODE", "gss_code", "lau215cd", "PFA23CD", "code",
               "CODE")
NAME_FIELDS = ("WD24NM", "WD23NM", "WD22NM", "WD21NM", "LSOA21NM", "LSOA11NM", "LAD24NM",
               "LAD23NM", "LAD22NM", "NAME", "name", "lau215nm", "PFA23NM", "Name")
BOROUGH_FIELDS = ("LAD24CD", "LAD23CD", "LAD22CD", "LAD21CD")
MAX_FEATURES = 50_000


class BoundaryFileRefused(Exception):
    pass


@dataclass
class BoundaryReport:
    batch_id: int
    source: str
    status: str
    added: int
    updated: int
    rejected: int
    problems: list[dict[str, Any]]
    message: str


def read_features(content: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise BoundaryFileRefused("This is not a GeoJSON file (it is not valid JSON).") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise BoundaryFileRefused("A boundary file must be a GeoJSON FeatureCollection.")
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise BoundaryFileRefused("The GeoJSON file has no features.")
    if len(features) > MAX_FEATURES:
        raise BoundaryFileRefused(f"The file has {len(features):,} features; split it into "
                                  f"files of at most {MAX_FEATURES:,}.")
    return features


def _pick(properties: dict[str, Any], wanted: str | None, guesses: tuple[str, ...]) -> str:
    names = (wanted,) if wanted else guesses
    for name in names:
        value = properties.get(name)
        if value not in (None, ""):
            return str(value).strip()
    return ""


def import_boundaries(db: Session, actor: Actor, source: str, content: bytes, kind: AreaKind,
                      *, code_field: str | None = None,
                      name_field: str | None = None) -> BoundaryReport:
    """One transaction: every area of the file, or (if the file is refused) nothing."""
    batch = ImportBatch(kind=ImportKind.BOUNDARIES, source=source[:500],
                        sha256=hashlib.sha256(content).hexdigest(), status=ImportStatus.RUNNING,
                        bytes_total=len(content), user_id=actor.user.id if actor.user else None,
                        actor=actor.username)
    db.add(batch)
    db.flush()
    try:
        features = read_features(content)
    except BoundaryFileRefused as refused:
        return _finish(db, actor, batch, 0, 0, [], str(refused), ImportStatus.FAILED)
    existing = {a.code: a for a in db.scalars(select(Area).where(Area.kind == kind))}
    boroughs = _borough_shapes(db) if kind is not AreaKind.BOROUGH else []
    added = updated = 0
    problems: list[dict[str, Any]] = []
    for number, feature in enumerate(features, start=1):
        try:
            area = _area_from(feature, kind, code_field, name_field, boroughs)
        except AreaError as problem:
            problems.append({"line": number, "message": f"feature {number}: {problem}"})
            continue
        current = existing.get(area.code)
        if current is None:
            area.batch_id = batch.id
            db.add(area)
            existing[area.code] = area
            added += 1
        else:
            for name in ("name", "borough_code", "geometry", "min_e", "min_n", "max_e", "max_n",
                         "area_m2"):
                setattr(current, name, getattr(area, name))
            current.batch_id, current.updated_at = batch.id, utcnow()
            updated += 1
    batch.rows_read = len(features)
    return _finish(db, actor, batch, added, updated, problems, "", ImportStatus.DONE)


def _area_from(feature: Any, kind: AreaKind, code_field: str | None, name_field: str | None,
               boroughs: list[tuple[str, Any]]) -> Area:
    if not isinstance(feature, dict) or not isinstance(feature.get("geometry"), dict):
        raise AreaError("it has no geometry")
    properties = feature.get("properties") or {}
    code = _pick(properties, code_field, CODE_FIELDS)[:20]
    name = _pick(properties, name_field, NAME_FIELDS)[:200] or code
    if not code:
        raise AreaError("it has no code (name the code's property explicitly)")
    geometry = feature["geometry"]
    if geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise AreaError(f"its geometry is a {geometry.get('type')}, not a polygon")
    projected = area_shape(geometry)
    if projected.is_empty or projected.area <= 0:
        raise AreaError("its polygon has no area")
    box = bounds(projected)
    borough = code if kind is AreaKind.BOROUGH else (
        _pick(properties, None, BOROUGH_FIELDS) or _borough_at(boroughs, projected))
    return Area(kind=kind, code=code, name=name, borough_code=borough or None,
                geometry=geometry, min_e=box.min_e, min_n=box.min_n, max_e=box.max_e,
                max_n=box.max_n, area_m2=float(projected.area))


def _borough_shapes(db: Session) -> list[tuple[str, Any]]:
    return [(a.code, area_shape(a.geometry))
            for a in db.scalars(select(Area).where(Area.kind == AreaKind.BOROUGH))]


def _borough_at(boroughs: list[tuple[str, Any]], projected: Any) -> str | None:
    point = projected.representative_point()
    for code, borough in boroughs:
        if shapely.intersects(borough, point):
            return code
    return None


def _finish(db: Session, actor: Actor, batch: ImportBatch, added: int, updated: int,
            problems: list[dict[str, Any]], message: str,
            status: ImportStatus) -> BoundaryReport:
    batch.added, batch.already_present, batch.rejected = added, updated, len(problems)
    batch.problems, batch.message, batch.status = problems[:200], message, status
    batch.finished_at = batch.heartbeat_at = utcnow()
    batch.bytes_done = batch.bytes_total
    record(db, actor, AuditAction.DATA_IMPORT, object_type="import", object_ref=str(batch.id),
           details={"source": batch.source, "kind": "boundaries", "status": status.value,
                    "added": added, "updated": updated, "rejected": len(problems)})
    db.commit()
    return BoundaryReport(batch.id, batch.source, status.value, added, updated, len(problems),
                          problems, message)
