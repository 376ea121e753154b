"""Look-ups on forces, local policing areas and wards, the areas in a user's scope, and the
admin's change of an area's reference prefix."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.service import AuditAction
from app.auth.context import Actor
from app.auth.models import User
from app.auth.permissions import Perm, home_area, require, scope_of
from app.errors import FieldError, NotFound, ValidationFailed
from app.reference import codes
from app.reference.models import Borough, Force, Ward
from app.reference.setup import taken_prefixes
from app.usecase import use_case

_TITLES = (" police service", " constabulary", " police")


def list_forces(db: Session) -> list[Force]:
    return list(db.scalars(select(Force).order_by(Force.area_name)))


def get_force(db: Session, force_id: str) -> Force:
    force = db.get(Force, force_id.strip().lower())
    if force is None:
        raise NotFound(f"There is no police force {force_id}.")
    return force


def forces_with_areas(db: Session) -> list[tuple[Force, int]]:
    """The forces that have local policing areas, with how many."""
    rows = db.execute(select(Force, func.count(Borough.code)).join(
        Borough, Borough.force_id == Force.id).group_by(Force.id).order_by(Force.area_name))
    return [(force, count) for force, count in rows]


def list_boroughs(db: Session, force_id: str | None = None) -> list[Borough]:
    query = select(Borough).order_by(Borough.name)
    if force_id:
        query = query.where(Borough.force_id == force_id)
    return list(db.scalars(query))


def areas_in_scope(db: Session, user: User) -> list[Borough]:
    """The local policing areas a user works in or reads: their home area, their force's, or
    every force's."""
    home = home_area(user)
    if home is not None:
        return [b for b in [db.get(Borough, home)] if b is not None]
    return list_boroughs(db, user.force_id)


def areas_in_force_scope(db: Session, user: User) -> list[Borough]:
    """Every local policing area of the user's force (of every force, for an account that
    names none): public crime data may be searched across the force, whatever one's home
    area."""
    return list_boroughs(db, user.force_id)


def grouped_by_force(db: Session, areas: list[Borough]) -> list[tuple[Force, list[Borough]]]:
    """Areas under their force, forces and areas by name (for choices that span several
    forces)."""
    forces = {f.id: f for f in list_forces(db)}
    groups: dict[str, list[Borough]] = {}
    for area in sorted(areas, key=lambda a: (forces[a.force_id].label, a.name)):
        groups.setdefault(area.force_id, []).append(area)
    return [(forces[force_id], members) for force_id, members in groups.items()]


def list_wards(db: Session, borough_code: str | None = None) -> list[Ward]:
    query = select(Ward).order_by(Ward.name)
    if borough_code:
        query = query.where(Ward.borough_code == borough_code)
    return list(db.scalars(query))


def get_borough(db: Session, code: str) -> Borough | None:
    return db.get(Borough, code)


def get_ward(db: Session, code: str) -> Ward | None:
    return db.get(Ward, code)


def unknown_area(code: str) -> str:
    """The message for a code that is no local policing area of any force set up here."""
    return (f"{code} is not a local policing area here: its force's areas must be set up "
            "first (an admin imports the force's local authority boundaries).")


def check_places(db: Session, *, force: str | None = None, borough: str | None = None,
                 ward: str | None = None) -> None:
    """Filters naming a force, a local policing area or a ward that is not set up here are
    refused with a message for each (an empty list would read as "no cases there"); a ward
    must lie in the area named with it."""
    errors = []
    if force and db.get(Force, force) is None:
        errors.append(FieldError("force", f"There is no police force {force}."))
    if borough and db.get(Borough, borough) is None:
        errors.append(FieldError("borough", unknown_area(borough)))
    if ward:
        found = db.get(Ward, ward)
        if found is None:
            errors.append(FieldError("ward", f"{ward} is not a ward of any local policing "
                                             "area."))
        elif borough and found.borough_code != borough:
            errors.append(FieldError("ward", f"{found.name} is not a ward of that area."))
    if errors:
        raise ValidationFailed(errors)


def _user_of(db: Session, prefix: str) -> str:
    """Who holds a reference prefix, in words: an area, or another area's cases."""
    holder = db.scalar(select(Borough.name).where(Borough.ref_prefix == prefix))
    if holder:
        return holder
    from app.cases.models import Case  # here: the importer uses this module without the cases

    case = db.scalar(select(Case.ref).where(Case.ref_prefix == prefix).limit(1))
    return f"the case {case}" if case else "another area's cases"


def scope_name(db: Session, user: User) -> str:
    """Where a user works, in words: their home area's name, their force's, or "" for every
    force (the page header, the command line)."""
    return scope_label(db, scope_of(user))


def scope_label(db: Session, scope: str) -> str:
    """A scope word (``scope_of``) in words: an area's or a force's name, or "" for all."""
    if scope == "all":
        return ""
    borough = db.get(Borough, scope)
    if borough is not None:
        return borough.label
    force = db.get(Force, scope)
    return force.label if force else scope


def area_name(db: Session, code: str | None) -> str:
    """A local policing area's name for a page, never its code (unless it is unknown)."""
    if not code:
        return ""
    borough = db.get(Borough, code)
    return borough.label if borough else code


# --- forces named in files ---------------------------------------------------------------------

def plain_force_words(words: str) -> str:
    """A force's words without its title: "North Wales Police" and the force area "North
    Wales" are both "north wales" ("Devon & Cornwall Police": "devon and cornwall")."""
    text = " ".join(words.lower().replace("&", "and").split())
    for title in _TITLES:
        text = text.removesuffix(title)
    return text


def force_named(db: Session, words: str) -> Force | None:
    """The force a file's rows name ("Reported by"), by its learned name or its area's."""
    plain = plain_force_words(words)
    if not plain:
        return None
    for force in list_forces(db):
        if plain in (plain_force_words(force.name), plain_force_words(force.area_name)):
            return force
    return None


def learn_force_name(db: Session, force_id: str, name: str) -> None:
    """A force's name as its own files write it (both force columns agreeing)."""
    force = db.get(Force, force_id)
    name = name.strip()[:100]
    if force is not None and name and force.name != name:
        force.name = name


# --- the admin's change of a prefix ------------------------------------------------------------

def change_prefix(db: Session, actor: Actor, code: str, prefix: str) -> Borough:
    """New cases of the area take the new prefix; existing references never change."""
    if actor.user is not None:
        require(actor.user, Perm.FORCE_MANAGE)
    borough = db.get(Borough, code.strip().upper())
    if borough is None:
        raise NotFound(f"There is no local policing area {code}.")
    prefix = prefix.strip().upper()
    if not codes.PREFIX_PATTERN.match(prefix):
        raise ValidationFailed.one("ref_prefix", "Use 2 to 4 capital letters, such as GW.")
    if prefix == borough.ref_prefix:
        return borough
    if prefix in taken_prefixes(db, borough):
        raise ValidationFailed([FieldError("ref_prefix", f"{prefix} is already used by "
                                                         f"{_user_of(db, prefix)}: choose "
                                                         "another.")])
    with use_case(db, actor, AuditAction.AREA_UPDATE, object_type="area",
                  object_ref=borough.code) as done:
        before, borough.ref_prefix = borough.ref_prefix, prefix
        done.details = {"ref_prefix": [before, prefix]}
    return borough
