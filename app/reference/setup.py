"""Setting up a force's local policing areas and their wards from imported boundaries.

A local authority imported for a force becomes one of its local policing areas, with a case
reference prefix derived from its name (an admin may change it later); importing it again
updates its names and keeps its prefix. An area of one force is never moved to another by an
import: police force areas are made of whole local authorities, so such a file is a mistake.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from app.cases.models import Case, RefCounter
from app.crime.models import Area
from app.reference import codes
from app.reference.models import Borough, Force, Ward
from app.sara.areas import AreaError


def taken_prefixes(db: Session, area: Borough | None = None) -> set[str]:
    """Prefixes in use: by an area now, by an area's cases before a prefix was changed, or by a
    reference counter. A new area never takes one, so a reference always names one area. For
    an existing ``area``: what another area holds (its own prefixes, old and new, stay free to
    it)."""
    others = (Borough.code != area.code) if area else true()
    other_cases = (Case.borough_code != area.code) if area else true()
    in_use = set(db.scalars(select(Borough.ref_prefix).where(others)))
    on_cases = set(db.scalars(select(Case.ref_prefix).where(other_cases).distinct()))
    counted = set(db.scalars(select(RefCounter.prefix).distinct()))
    own: set[str] = set()
    if area is not None:
        own = {area.ref_prefix} | set(db.scalars(
            select(Case.ref_prefix).where(Case.borough_code == area.code).distinct()))
    return in_use | on_cases | (counted - own)


@dataclass
class AreaSetup:
    """What one boundary file sets up, gathered feature by feature and written at the end."""

    force: Force | None
    areas: dict[str, Borough]  # every local policing area, by code
    # The file's local authorities to set up (or update) as the force's local policing areas.
    local_authorities: dict[str, Area] = field(default_factory=dict)
    wards: dict[str, tuple[Area, Borough]] = field(default_factory=dict)

    @classmethod
    def load(cls, db: Session, force: Force | None) -> AreaSetup:
        return cls(force, {b.code: b for b in db.scalars(select(Borough))})

    def local_area(self, code: str) -> Borough | None:
        return self.areas.get(code)

    def take_local_authority(self, area: Area, force: Force | None) -> str | None:
        """The force of an imported local authority: its own if it is a local policing area
        already, else the force it is being set up for (None without one)."""
        known = self.areas.get(area.code)
        if known is not None:
            if force is not None and known.force_id != force.id:
                raise AreaError(f"{area.code} ({known.name}) is a local policing area of "
                                f"another force ({known.force_id}); it was left as it is")
            if force is not None:
                self.local_authorities[area.code] = area
            return known.force_id
        if force is None:
            return None
        if not codes.is_local_authority(area.code):
            raise AreaError(f"{area.code} is not a local authority's code (E06, E07, E08, E09 "
                            "or W06 and six digits)")
        self.local_authorities[area.code] = area
        return force.id

    def add_ward(self, area: Area, parent: Borough) -> None:
        self.wards[area.code] = (area, parent)


def register_local_areas(db: Session, setup: AreaSetup) -> list[dict[str, str]]:
    """Create or update the force's local policing areas; their codes, names and prefixes."""
    assert setup.force is not None
    taken = taken_prefixes(db)
    result = []
    for code, area in sorted(setup.local_authorities.items()):
        borough = setup.areas.get(code)
        if borough is None:
            prefix = codes.derive_prefix(area.name, taken)
            taken.add(prefix)
            borough = Borough(code=code, name=area.name[:100], name_welsh=area.name_welsh[:100],
                              ref_prefix=prefix, force_id=setup.force.id)
            db.add(borough)
            setup.areas[code] = borough
        else:
            borough.name, borough.name_welsh = area.name[:100], area.name_welsh[:100]
        result.append({"code": code, "name": borough.name, "name_welsh": borough.name_welsh,
                       "ref_prefix": borough.ref_prefix})
    db.flush()
    return result


def register_wards(db: Session, setup: AreaSetup) -> int:
    """Wards of local policing areas become choosable on cases and concerns."""
    for code, (area, parent) in setup.wards.items():
        ward = db.get(Ward, code[:9])
        if ward is None:
            db.add(Ward(code=code[:9], name=area.name[:100], name_welsh=area.name_welsh[:100],
                        borough_code=parent.code))
        else:
            ward.name, ward.name_welsh = area.name[:100], area.name_welsh[:100]
            ward.borough_code = parent.code
    db.flush()
    return len(setup.wards)
