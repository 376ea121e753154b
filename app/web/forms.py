"""Turning HTML form posts into the same pydantic inputs the API takes, and validation errors
back into messages beside the right fields."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.permissions import home_area
from app.errors import FieldError, ValidationFailed
from app.reference.service import areas_in_scope, grouped_by_force
from app.sara.cheers import CheersElement
from app.sara.triangle import TriangleSide

Form = Mapping[str, Any]


def field_id(field: str) -> str:
    """The form control id of a dotted field: cheers.community.met -> cheers-community-met."""
    return field.replace(".", "-")


def errors_by_field(errors: Iterable[FieldError]) -> dict[str, str]:
    return {field_id(e.field): e.message for e in errors}


# --- choices -----------------------------------------------------------------------------------

Options = list[tuple[str, Any]]


def area_options(db: Session, user: User) -> Options:
    """The local policing areas a user works in or reads, by name (with the Welsh name where
    there is one), under their force's name when they span several forces."""
    groups = grouped_by_force(db, areas_in_scope(db, user))
    if len(groups) == 1:
        return [(a.code, a.label) for a in groups[0][1]]
    return [(force.label, [(a.code, a.label) for a in areas]) for force, areas in groups]


def area_filter_options(db: Session, user: User | None) -> Options:
    """Area choices for a filter: none for someone who works in one area."""
    return [] if user is None or home_area(user) else area_options(db, user)


# --- values ------------------------------------------------------------------------------------

def text(form: Form, name: str) -> str:
    value = form.get(name, "")
    # Browsers never send NUL; a crafted request's NULs are dropped (PostgreSQL refuses them).
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


def optional(form: Form, name: str) -> str | None:
    return text(form, name) or None


def yes_no(form: Form, name: str) -> bool | None:
    return {"yes": True, "no": False}.get(text(form, name))


def version(form: Form) -> int | str:
    value = text(form, "version")
    return int(value) if value.isdigit() else value


# --- case sections: form -> CaseUpdate payload -------------------------------------------------

def problem_payload(form: Form) -> dict[str, Any]:
    payload: dict[str, Any] = {
        name: text(form, name)
        for name in ("title", "problem_statement", "category", "priority", "source", "team",
                     "borough")
    }
    payload["ward"] = optional(form, "ward")
    if "owner" in form:
        payload["owner"] = optional(form, "owner")
    if "operation" in form:
        operation = text(form, "operation")
        payload["operation"] = int(operation) if operation.isdigit() else (operation or None)
    return payload


def area_choice(form: Form, prefix: str) -> dict[str, Any] | None:
    """An area described by the fields named ``<prefix>-...``: a point and radius, a pasted or
    drawn polygon, a boundary chosen from a list (``{"area_id": N}``, resolved by the caller,
    which has the database), or nothing."""
    kind = text(form, f"{prefix}-kind")
    if kind == "none":
        return None
    name = text(form, f"{prefix}-name")
    if kind == "boundary":
        value = text(form, f"{prefix}-boundary")
        if not value.isdigit():
            raise ValidationFailed.one(f"{prefix}.boundary", "Choose an area from the list.")
        return {"area_id": int(value), "name": name}
    if kind == "polygon":
        raw = text(form, f"{prefix}-geojson")
        try:
            geometry = json.loads(raw)
        except ValueError:
            raise ValidationFailed.one(f"{prefix}.geojson", "Draw the area on the map, or paste "
                                       "a GeoJSON geometry (this is not valid JSON).") from None
        if isinstance(geometry, dict) and geometry.get("type") == "Feature":
            geometry = geometry.get("geometry")
        return {"name": name, "geometry": geometry}
    if kind != "point":
        raise ValidationFailed.one(f"{prefix}.kind", "Choose how to describe the area.")
    errors = []
    numbers: dict[str, float] = {}
    for part, label in (("lat", "latitude"), ("lng", "longitude"), ("radius_m", "radius")):
        try:
            numbers[part] = float(text(form, f"{prefix}-{part}"))
        except ValueError:
            errors.append(FieldError(f"{prefix}.{part}", f"Enter the {label} as a number."))
    if errors:
        raise ValidationFailed(errors)
    radius = numbers["radius_m"]
    if radius != int(radius):
        raise ValidationFailed.one(f"{prefix}.radius_m", "Enter the radius in whole metres.")
    return {"name": name,
            "geometry": {"type": "Point", "coordinates": [numbers["lng"], numbers["lat"]]},
            "radius_m": int(radius)}


def whole_number(form: Form, name: str) -> int | str | None:
    value = text(form, name)
    if not value:
        return None
    return int(value) if value.isdigit() else value  # the schema says what is wrong


def area_payload(form: Form) -> dict[str, Any]:
    return {"target_area": area_choice(form, "target_area")}


def comparison_payload(form: Form) -> dict[str, Any]:
    return {"buffer_width_m": whole_number(form, "buffer_width_m"),
            "control_area": area_choice(form, "control_area")}


def cheers_payload(form: Form) -> dict[str, Any]:
    return {"cheers": {
        e.value: {"met": yes_no(form, f"cheers-{e.value}-met"),
                  "evidence": text(form, f"cheers-{e.value}-evidence")}
        for e in CheersElement
    }}


def triangle_payload(form: Form) -> dict[str, Any]:
    return {"triangle": {
        s.value: {"who": text(form, f"triangle-{s.value}-who"),
                  "known": text(form, f"triangle-{s.value}-known")}
        for s in TriangleSide
    }}


def analysis_payload(form: Form) -> dict[str, Any]:
    return {"analysis_summary": text(form, "analysis_summary"),
            "baseline_start": optional(form, "baseline_start"),
            "baseline_end": optional(form, "baseline_end"),
            "crime_types": [v for v in form.getlist("crime_types") if v] or None}


def response_payload(form: Form) -> dict[str, Any]:
    return {"response_plan": text(form, "response_plan")}


def assessment_payload(form: Form) -> dict[str, Any]:
    return {name: text(form, name) for name in
            ("process_evaluation", "impact_evaluation", "impact_none_reason",
             "lessons_learned")} | {
        "outcome": optional(form, "outcome")}


def hypothesis_payload(form: Form, prefix: str) -> dict[str, Any]:
    """Hypothesis fields are named ``<prefix>-statement`` etc. (one form per hypothesis)."""
    return {"statement": text(form, f"{prefix}-statement"),
            "status": text(form, f"{prefix}-status") or "open",
            "evidence": text(form, f"{prefix}-evidence")}


def action_payload(form: Form, prefix: str) -> dict[str, Any]:
    return {"title": text(form, f"{prefix}-title"), "tactic": optional(form, f"{prefix}-tactic"),
            "partner": text(form, f"{prefix}-partner") or "police",
            "owner": text(form, f"{prefix}-owner"),
            "due_date": optional(form, f"{prefix}-due_date"),
            "status": text(form, f"{prefix}-status") or "planned",
            "notes": text(form, f"{prefix}-notes")}


def prefixed(errors: Iterable[FieldError], prefix: str) -> dict[str, str]:
    return {f"{prefix}-{field_id(e.field)}": e.message for e in errors}


# --- patrols and outputs -----------------------------------------------------------------------

def patrols_payload(form: Form) -> dict[str, Any]:
    return {"planned_patrol_minutes": whole_number(form, "planned_patrol_minutes")}


def signed_number(form: Form, name: str) -> int | str | None:
    """A count typed in a form: a whole number (negative ones too, so that the schema says
    "0 or more"), or the text itself for the schema to refuse."""
    value = text(form, name)
    if not value:
        return None
    return int(value) if re.fullmatch(r"-?\d{1,9}", value) else value


def patrol_times(form: Form, prefix: str, *, end_required: bool = True) -> dict[str, Any]:
    """London times from a date and two HH:MM fields. An end at or before the start is taken
    as the next day (a patrol past midnight); the 12-hour limit catches a slip."""
    errors = []
    day = text(form, f"{prefix}-date")
    try:
        on = date.fromisoformat(day)
    except ValueError:
        errors.append(FieldError("date", "Enter the date as YYYY-MM-DD, e.g. 2026-11-28."))
    times: dict[str, time | None] = {}
    for field, label in (("started_at", "start"), ("ended_at", "end")):
        value = text(form, f"{prefix}-{field}")
        if not value and (field == "ended_at" and not end_required):
            times[field] = None
            continue
        try:
            times[field] = time.fromisoformat(value)
        except ValueError:
            errors.append(FieldError(field, f"Enter the {label} time as HH:MM, e.g. 17:05."))
    if errors:
        raise ValidationFailed(errors)
    started = datetime.combine(on, times["started_at"])  # type: ignore[arg-type]
    ended = datetime.combine(on, times["ended_at"]) if times["ended_at"] else None
    if ended is not None and ended <= started:
        ended += timedelta(days=1)
    return {"started_at": started.isoformat(), "ended_at": ended.isoformat() if ended else None}


def patrol_details(form: Form, prefix: str) -> dict[str, Any]:
    return {"kind": text(form, f"{prefix}-kind") or "foot",
            "officers": text(form, f"{prefix}-officers"),
            "place": text(form, f"{prefix}-place"), "notes": text(form, f"{prefix}-notes")}


def outputs_payload(form: Form, prefix: str, kinds: Iterable[str]) -> dict[str, Any]:
    counts = {kind: signed_number(form, f"{prefix}-counts-{kind}") for kind in kinds}
    patrol = text(form, f"{prefix}-patrol_id")
    return {"on": text(form, f"{prefix}-on"),
            "counts": {kind: count for kind, count in counts.items() if count is not None},
            "patrol_id": int(patrol) if patrol.isdigit() else (patrol or None),
            "notes": text(form, f"{prefix}-notes")}
