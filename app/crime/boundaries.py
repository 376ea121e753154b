"""Importing named boundaries (local authorities, wards, LSOAs, force areas) from GeoJSON in
WGS84, and setting up a force's local policing areas from them.

Each feature becomes an area with its code and name, read from the file's properties in the ONS
style (``LAD20CD``/``LAD20NM``, ``WD22CD``/``WD22NM``, ``LSOA21CD``, ``PFA23CD``, upper or lower
case), with the Welsh name (``…NMW``) where given, or from ``GSS_CODE``/``NAME``. Importing a
newer file of the same kind updates areas by code. Invalid polygons (a real coastline may cross
itself) are repaired, not refused.

Local authorities imported for a force become its local policing areas, usable at once for
users, cases and the hotspot finder. A ward, LSOA or other area is linked to the local authority
its file names, or else to the one it lies in, and so to that area's force; a ward of a local
policing area becomes one of its wards.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import AuditAction
from app.auth.context import Actor
from app.auth.permissions import covers_force
from app.crime.geometry import area_shape, bounds, repaired_polygon
from app.crime.models import Area, AreaKind, ImportBatch, ImportKind, ImportStatus
from app.db import utcnow
from app.errors import ValidationFailed
from app.reference import codes
from app.reference.models import Borough, Force
from app.reference.setup import AreaSetup, register_local_areas, register_wards
from app.sara.areas import AreaError
from app.usecase import use_case

MAX_FEATURES = 50_000
# ONS property names by kind, as regular expressions over upper-cased names; "nn" is a year.
_ONS = {
    AreaKind.BOROUGH: ("LAD", "LA", "CTYUA", "UTLA", "LTLA"),
    AreaKind.WARD: ("WD",),
    AreaKind.LSOA: ("LSOA",),
    AreaKind.FORCE: ("PFA",),
}
# Any kind: the GLA's and others' plain names, and the 2015 London wards' LAU2 codes.
_GENERIC_CODES = ("GSS_CODE", "LAU215CD", "CODE", "ID")
_GENERIC_NAMES = ("NAME", "LAU215NM", "NAME_EN")
_GENERIC_WELSH = ("NAME_CY", "NAMEW", "NAME_WELSH")


class BoundaryFileRefused(Exception):
    pass


@dataclass
class BoundaryReport:
    batch_id: int
    source: str
    status: str
    kind: str
    force: str | None
    force_name: str | None
    added: int
    updated: int
    rejected: int
    problems: list[dict[str, Any]]
    message: str
    # Local authorities that became (or stayed) local policing areas of the force.
    local_areas: list[dict[str, str]] = field(default_factory=list)
    wards_linked: int = 0  # wards of a local policing area
    unlinked: int = 0  # areas in no local policing area of any force


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


@dataclass(frozen=True)
class Names:
    """What a feature's properties say it is."""

    code: str
    name: str
    welsh: str
    parent: str  # the local authority it lies in, where the file names it


def read_names(properties: dict[str, Any], kind: AreaKind, code_field: str | None = None,
               name_field: str | None = None) -> Names:
    upper = {str(key).upper(): value for key, value in properties.items()}
    stems = _ONS.get(kind, ())
    code = _first(upper, (code_field.upper(),) if code_field else
                  _ons(upper, stems, "CD") + _GENERIC_CODES)
    name = _first(upper, (name_field.upper(),) if name_field else
                  _ons(upper, stems, "NM") + _GENERIC_NAMES)
    welsh = _first(upper, _ons(upper, stems, "NMW") + _GENERIC_WELSH)
    parent = _first(upper, _ons(upper, _ONS[AreaKind.BOROUGH], "CD")) \
        if kind is not AreaKind.BOROUGH else ""
    return Names(code[:20], (name or code)[:200], welsh[:200], parent[:9].upper())


def _ons(upper: dict[str, Any], stems: tuple[str, ...], suffix: str) -> tuple[str, ...]:
    """Property names such as LAD20CD or WD22NMW present in the feature, newest year first."""
    found = []
    for stem in stems:
        pattern = re.compile(rf"^{stem}(\d{{2}})?{suffix}$")
        found += [(match[1] or "", key) for key in upper if (match := pattern.match(key))]
    return tuple(key for _year, key in sorted(found, reverse=True))


def _first(upper: dict[str, Any], names: tuple[str, ...]) -> str:
    for name in names:
        value = upper.get(name)
        if value not in (None, ""):
            return str(value).strip()
    return ""


def import_boundaries(db: Session, actor: Actor, source: str, content: bytes, kind: AreaKind,
                      *, force_id: str | None = None, code_field: str | None = None,
                      name_field: str | None = None) -> BoundaryReport:
    """One transaction: every area of the file, or (if the file is refused) nothing. With a
    force, local authorities become its local policing areas."""
    force = _force(db, force_id)
    batch = ImportBatch(kind=ImportKind.BOUNDARIES, source=source[:500],
                        sha256=hashlib.sha256(content).hexdigest(), status=ImportStatus.RUNNING,
                        bytes_total=len(content), user_id=actor.user.id if actor.user else None,
                        actor=actor.username, force_id=force.id if force else None, months=[])
    db.add(batch)
    db.flush()
    try:
        features = read_features(content)
    except BoundaryFileRefused as refused:
        return _finish(db, actor, batch, kind, _Tally(), str(refused), ImportStatus.FAILED)
    setup = AreaSetup.load(db, force)
    existing = {a.code: a for a in db.scalars(select(Area).where(Area.kind == kind))}
    parents = _local_authority_shapes(db) if kind is not AreaKind.BOROUGH else None
    tally = _Tally()
    for number, feature in enumerate(features, start=1):
        try:
            area, names, projected = _area_from(feature, kind, code_field, name_field)
            _link(db, area, names, projected, force, setup, parents)
            _check_own(actor, area, existing.get(area.code))
        except AreaError as problem:
            tally.problems.append({"line": number, "message": f"feature {number}: {problem}"})
            continue
        _store(db, area, existing, batch, tally)
        tally.unlinked += area.force_id is None
    if kind is AreaKind.BOROUGH and force is not None:
        tally.local_areas = register_local_areas(db, setup)
    tally.wards_linked = register_wards(db, setup) if kind is AreaKind.WARD else 0
    batch.rows_read = len(features)
    return _finish(db, actor, batch, kind, tally, "", ImportStatus.DONE)


def _force(db: Session, force_id: str | None) -> Force | None:
    if not force_id:
        return None
    force = db.get(Force, force_id.strip().lower())
    if force is None:
        raise ValidationFailed.one("force", f"There is no police force {force_id!r}: use its "
                                            "police.uk id, such as north-wales or metropolitan.")
    return force


@dataclass
class _Tally:
    added: int = 0
    updated: int = 0
    unlinked: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    local_areas: list[dict[str, str]] = field(default_factory=list)
    wards_linked: int = 0


def _area_from(feature: Any, kind: AreaKind, code_field: str | None,
               name_field: str | None) -> tuple[Area, Names, BaseGeometry]:
    if not isinstance(feature, dict) or not isinstance(feature.get("geometry"), dict):
        raise AreaError("it has no geometry")
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        raise AreaError("its properties are not an object")
    names = read_names(properties, kind, code_field, name_field)
    if not names.code:
        raise AreaError("it has no code (name the code's property explicitly)")
    geometry = feature["geometry"]
    if geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise AreaError(f"its geometry is a {geometry.get('type')}, not a polygon")
    geometry = repaired_polygon(geometry)
    projected = area_shape(geometry)
    if projected.is_empty or projected.area <= 0:
        raise AreaError("its polygon has no area")
    box = bounds(projected)
    area = Area(kind=kind, code=names.code, name=names.name, name_welsh=names.welsh,
                geometry=geometry, min_e=box.min_e, min_n=box.min_n, max_e=box.max_e,
                max_n=box.max_n, area_m2=float(projected.area))
    return area, names, projected


def _link(db: Session, area: Area, names: Names, projected: BaseGeometry, force: Force | None,
          setup: AreaSetup, parents: _Places | None) -> None:
    """The local authority an area lies in, and the force whose data counts there. Wards of a
    file imported for a force become the wards of its local policing areas."""
    kind = area.kind
    if kind is AreaKind.BOROUGH:
        area.borough_code = names.code
        area.force_id = setup.take_local_authority(area, force)
        return
    if kind is AreaKind.FORCE:
        area.force_id = force.id if force else db.scalar(
            select(Force.id).where(Force.area_code == names.code))
        return
    parent = setup.local_area(names.parent) if names.parent else None
    if parent is None and parents is not None:
        parent = _local_authority_at(parents, projected, force)
    if parent is not None and force is not None and parent.force_id != force.id:
        raise AreaError(f"it lies in {parent.name}, a local policing area of another force")
    area.borough_code = parent.code if parent else (names.parent or None)
    area.force_id = parent.force_id if parent else (force.id if force else None)
    if kind is AreaKind.WARD and force is not None and parent is not None \
            and codes.is_ward(area.code):
        setup.add_ward(area, parent)


def _check_own(actor: Actor, area: Area, current: Area | None) -> None:
    """A force's boundaries shape every figure of its areas: only its own people (or the
    machine's operator) add or change them."""
    user = actor.user
    for force_id in {area.force_id, current.force_id if current else None} - {None}:
        if user is not None and not covers_force(user, force_id):
            raise AreaError(f"{area.code} ({area.name}) is a boundary of another force's area; "
                            "it was left as it is")


@dataclass
class _Places:
    """The local policing areas with an imported boundary, indexed to place an area by where
    it lies (a national ward file holds thousands of wards)."""

    areas: list[Borough]
    tree: shapely.STRtree


def _local_authority_shapes(db: Session) -> _Places:
    rows = db.execute(select(Borough, Area.geometry).join(
        Area, (Area.code == Borough.code) & (Area.kind == AreaKind.BOROUGH))).all()
    shapes = [area_shape(geometry) for _borough, geometry in rows]
    return _Places([borough for borough, _geometry in rows], shapely.STRtree(shapes))


def _local_authority_at(places: _Places, projected: BaseGeometry,
                        force: Force | None) -> Borough | None:
    point = projected.representative_point()
    for index in sorted(places.tree.query(point, predicate="intersects")):
        borough = places.areas[int(index)]
        if force is None or borough.force_id == force.id:
            return borough
    return None


def _store(db: Session, area: Area, existing: dict[str, Area], batch: ImportBatch,
           tally: _Tally) -> None:
    current = existing.get(area.code)
    if current is None:
        area.batch_id = batch.id
        db.add(area)
        existing[area.code] = area
        tally.added += 1
        return
    for name in ("name", "name_welsh", "borough_code", "force_id", "geometry", "min_e",
                 "min_n", "max_e", "max_n", "area_m2"):
        setattr(current, name, getattr(area, name))
    current.batch_id, current.updated_at = batch.id, utcnow()
    tally.updated += 1


def _finish(db: Session, actor: Actor, batch: ImportBatch, kind: AreaKind, tally: _Tally,
            message: str, status: ImportStatus) -> BoundaryReport:
    problems = tally.problems
    # The ending of import_boundaries' one transaction: the areas were added before it.
    with use_case(db, actor, AuditAction.DATA_IMPORT, object_type="import",
                  object_ref=str(batch.id),
                  details={"source": batch.source, "kind": "boundaries",
                           "area_kind": kind.option, "force": batch.force_id,
                           "status": status.value, "added": tally.added,
                           "updated": tally.updated, "rejected": len(problems),
                           "local_areas": [a["code"] for a in tally.local_areas]}):
        batch.added, batch.already_present, batch.rejected = (tally.added, tally.updated,
                                                              len(problems))
        batch.problems, batch.message, batch.status = problems[:200], message, status
        batch.finished_at = batch.heartbeat_at = utcnow()
        batch.bytes_done = batch.bytes_total
    force = db.get(Force, batch.force_id) if batch.force_id else None
    return BoundaryReport(batch.id, batch.source, status.value, kind.option, batch.force_id,
                          force.label if force else None, tally.added, tally.updated,
                          len(problems), problems, message, tally.local_areas,
                          tally.wards_linked, tally.unlinked)
