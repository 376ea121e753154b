"""Turning HTML form posts into the same pydantic inputs the API takes, and validation errors
back into messages beside the right fields."""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.auth.models import User
from app.auth.permissions import home_area
from app.errors import FieldError
from app.reference.service import areas_in_scope, grouped_by_force
from app.sara.cheers import CheersElement
from app.sara.triangle import TriangleSide
from app.validation import (
    FIRST_DAY,
    LAST_DAY,
    Problems,
    field_label,
    pydantic_errors,
    subject,
)

Form = FormData  # a page's submitted form: repeated fields are read with getlist


def field_id(field: str) -> str:
    """The form control id of a dotted field: cheers.community.met -> cheers-community-met."""
    return field.replace(".", "-")


def errors_by_field(errors: Iterable[FieldError], order: Sequence[str] = ()) -> dict[str, str]:
    """Messages by form control id; with ``order`` (the form's names), in the form's order, as
    an error summary lists them."""
    found = {field_id(e.field): e.message for e in errors}
    if not order:
        return found

    def position(control: str) -> int:
        return next((i for i, name in enumerate(order) if name.startswith(control)), len(order))

    return dict(sorted(found.items(), key=lambda item: position(item[0])))


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


# --- GOV.UK date inputs ------------------------------------------------------------------------

DATE_PARTS = ("day", "month", "year")
# The schema fields entered as GOV.UK date inputs (day, month, year): an error on one of these
# links to its day box.
DATE_INPUTS = frozenset({"raised_on", "on", "date", "baseline_start", "baseline_end",
                         "due_date", "start_date", "end_date", "next_review_on"})


def date_anchor(control: str) -> str:
    """Where an error summary's link for a form control goes: the day box of a date input."""
    return f"{control}-day" if control.rsplit("-", 1)[-1] in DATE_INPUTS else control


def date_parts(control: str, value: date | str | None, typed: Form) -> dict[str, str]:
    """What a date input's three boxes show: what was typed (kept after an error, "abc" too),
    else the stored date (a date or an ISO string)."""
    if any(f"{control}-{part}" in typed for part in DATE_PARTS):
        return {part: text(typed, f"{control}-{part}") for part in DATE_PARTS}
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, date):
        return dict.fromkeys(DATE_PARTS, "")
    return {"day": str(value.day), "month": str(value.month), "year": str(value.year)}


def date_field(form: Form, name: str, problems: Problems, *, field: str | None = None,
               required: bool = False, label: str | None = None,
               hides: Iterable[str] = ()) -> str | None:
    """A GOV.UK date input (``<name>-day``, ``-month``, ``-year``) as the ISO date the schema
    takes; what is wrong with it goes to ``problems``. Without the three boxes, a single ISO
    ``<name>`` value (scripts, older pages) goes to the schema as it is."""
    field = field or name
    if not any(f"{name}-{part}" in form for part in DATE_PARTS):
        return optional(form, name)
    parts = {part: text(form, f"{name}-{part}") for part in DATE_PARTS}
    label = label or field_label(field)
    hides = [field, *hides]
    if not any(parts.values()):
        if required:
            problems.add(field, f"Enter {label}.", hides=hides)
        return None
    found = read_date(parts, label)
    if isinstance(found, date):
        return found.isoformat()
    part, message = found
    problems.add(f"{field}.{part}" if part else field, message, hides=hides)
    return None


def read_date(parts: Mapping[str, str], label: str) -> date | tuple[str, str]:
    """The date typed in the three boxes, or the box to fix ("": the whole date) and one
    message for the date, as GOV.UK words them."""
    whole = subject(label)
    missing = [part for part in DATE_PARTS if not parts[part]]
    if missing:
        return missing[0], f"{whole} must include a {' and '.join(missing)}."
    wrong = [part for part in DATE_PARTS if not parts[part].isdigit()]
    if wrong:
        return wrong[0], f"{whole} must be a real date, in numbers, e.g. 27 3 2026."
    if len(parts["year"]) != 4:
        return "year", f"{whole} must include a year of 4 numbers, e.g. 2026."
    day, month, year = (int(parts[part]) for part in DATE_PARTS)
    if not 1 <= month <= 12:
        return "month", f"{whole} must be a real date: a month is from 1 to 12."
    try:
        value = date(year, month, day)
    except ValueError:
        return "", f"{day} {calendar.month_name[month]} {year} is not a real date."
    if not FIRST_DAY <= value <= LAST_DAY:
        return "year", f"{whole} must be between {FIRST_DAY.year} and {LAST_DAY.year}."
    return value


# --- case sections: form -> CaseUpdate payload -------------------------------------------------

def problem_payload(form: Form, problems: Problems) -> dict[str, Any]:
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


def area_choice(form: Form, prefix: str, problems: Problems) -> dict[str, Any] | None:
    """An area described by the fields named ``<prefix>-...``: a point and radius, a pasted or
    drawn polygon, a boundary chosen from a list (``{"area_id": N}``, resolved by the caller,
    which has the database), or nothing. What is wrong goes to ``problems`` (then: None)."""
    kind = text(form, f"{prefix}-kind")
    if kind == "none":
        return None
    name = text(form, f"{prefix}-name")
    if kind == "boundary":
        value = text(form, f"{prefix}-boundary")
        if not value.isdigit():
            problems.add(f"{prefix}.boundary", "Choose an area from the list.", hides=[prefix])
            return None
        return {"area_id": int(value), "name": name}
    if kind == "polygon":
        raw = text(form, f"{prefix}-geojson")
        try:
            geometry = json.loads(raw)
        except ValueError:
            problems.add(f"{prefix}.geojson", "Draw the area on the map, or paste a GeoJSON "
                         "geometry (this is not valid JSON).", hides=[prefix])
            return None
        if isinstance(geometry, dict) and geometry.get("type") == "Feature":
            geometry = geometry.get("geometry")
        return {"name": name, "geometry": geometry}
    if kind != "point":
        problems.add(f"{prefix}.kind", "Choose how to describe the area.", hides=[prefix])
        return None
    numbers: dict[str, float] = {}
    for part, label in (("lat", "latitude"), ("lng", "longitude"), ("radius_m", "radius")):
        try:
            numbers[part] = float(text(form, f"{prefix}-{part}"))
        except ValueError:
            problems.add(f"{prefix}.{part}", f"Enter the {label} as a number.", hides=[prefix])
    if len(numbers) < 3:
        return None
    radius = numbers["radius_m"]
    if radius != int(radius):
        problems.add(f"{prefix}.radius_m", "Enter the radius in whole metres.", hides=[prefix])
        return None
    return {"name": name,
            "geometry": {"type": "Point", "coordinates": [numbers["lng"], numbers["lat"]]},
            "radius_m": int(radius)}


def whole_number(form: Form, name: str) -> int | str | None:
    value = text(form, name)
    if not value:
        return None
    return int(value) if value.isdigit() else value  # the schema says what is wrong


def area_payload(form: Form, problems: Problems) -> dict[str, Any]:
    return {"target_area": area_choice(form, "target_area", problems)}


def comparison_payload(form: Form, problems: Problems) -> dict[str, Any]:
    return {"buffer_width_m": whole_number(form, "buffer_width_m"),
            "control_area": area_choice(form, "control_area", problems)}


def cheers_payload(form: Form, problems: Problems) -> dict[str, Any]:
    return {"cheers": {
        e.value: {"met": yes_no(form, f"cheers-{e.value}-met"),
                  "evidence": text(form, f"cheers-{e.value}-evidence")}
        for e in CheersElement
    }}


def triangle_payload(form: Form, problems: Problems) -> dict[str, Any]:
    return {"triangle": {
        s.value: {"who": text(form, f"triangle-{s.value}-who"),
                  "known": text(form, f"triangle-{s.value}-known")}
        for s in TriangleSide
    }}


def analysis_payload(form: Form, problems: Problems) -> dict[str, Any]:
    return {"analysis_summary": text(form, "analysis_summary"),
            "baseline_start": date_field(form, "baseline_start", problems),
            "baseline_end": date_field(form, "baseline_end", problems),
            "crime_types": [v for v in form.getlist("crime_types") if v] or None}


def response_payload(form: Form, problems: Problems) -> dict[str, Any]:
    return {"response_plan": text(form, "response_plan")}


def assessment_payload(form: Form, problems: Problems) -> dict[str, Any]:
    return {name: text(form, name) for name in
            ("process_evaluation", "impact_evaluation", "impact_none_reason",
             "lessons_learned")} | {
        "outcome": optional(form, "outcome")}


def hypothesis_payload(form: Form, prefix: str) -> dict[str, Any]:
    """Hypothesis fields are named ``<prefix>-statement`` etc. (one form per hypothesis)."""
    return {"statement": text(form, f"{prefix}-statement"),
            "status": text(form, f"{prefix}-status") or "open",
            "evidence": text(form, f"{prefix}-evidence")}


def action_payload(form: Form, prefix: str, problems: Problems) -> dict[str, Any]:
    return {"title": text(form, f"{prefix}-title"), "tactic": optional(form, f"{prefix}-tactic"),
            "partner": text(form, f"{prefix}-partner") or "police",
            "owner": text(form, f"{prefix}-owner"),
            "due_date": date_field(form, f"{prefix}-due_date", problems, field="due_date"),
            "status": text(form, f"{prefix}-status") or "planned",
            "notes": text(form, f"{prefix}-notes"),
            "assignee": optional(form, f"{prefix}-assignee"),
            "partner_agency": optional(form, f"{prefix}-partner_agency")}


def prefixed(errors: Iterable[FieldError], prefix: str,
             order: Sequence[str] = ()) -> dict[str, str]:
    """Messages by the ids of controls named ``<prefix>-<field>`` (one form per item)."""
    return errors_by_field([FieldError(f"{prefix}.{e.field}", e.message) for e in errors], order)


# --- patrols and outputs -----------------------------------------------------------------------

def patrols_payload(form: Form, problems: Problems) -> dict[str, Any]:
    return {"planned_patrol_minutes": whole_number(form, "planned_patrol_minutes")}


def signed_number(form: Form, name: str) -> int | str | None:
    """A count typed in a form: a whole number (negative ones too, so that the schema says
    "0 or more"), or the text itself for the schema to refuse."""
    value = text(form, name)
    if not value:
        return None
    return int(value) if re.fullmatch(r"-?\d{1,9}", value) else value


def patrol_times(form: Form, prefix: str, problems: Problems, *,
                 end_required: bool = True) -> dict[str, Any]:
    """London times from a date and two HH:MM fields. An end at or before the start is taken
    as the next day (a patrol past midnight); the 12-hour limit catches a slip."""
    hides = ("started_at", "ended_at")
    day = date_field(form, f"{prefix}-date", problems, field="date", required=True,
                     label="the date the patrol started", hides=hides)
    times: dict[str, time | None] = {}
    for name, label in (("started_at", "start"), ("ended_at", "end")):
        value = text(form, f"{prefix}-{name}")
        if not value and (name == "ended_at" and not end_required):
            times[name] = None
            continue
        try:
            times[name] = time.fromisoformat(value)
        except ValueError:
            message = (f"Enter the {label} time" if not value
                       else f"Enter the {label} time as HH:MM, e.g. 17:05")
            problems.add(name, message + ".", hides=hides)
    if day is None or len(times) < 2:
        return {}
    on = date.fromisoformat(day)
    start_time = times["started_at"]
    assert start_time is not None  # only the end may be left empty
    started = datetime.combine(on, start_time)
    ended = datetime.combine(on, times["ended_at"]) if times["ended_at"] else None
    if ended is not None and ended <= started:
        ended += timedelta(days=1)
    return {"started_at": started.isoformat(), "ended_at": ended.isoformat() if ended else None}


def patrol_details(form: Form, prefix: str) -> dict[str, Any]:
    return {"kind": text(form, f"{prefix}-kind") or "foot",
            "officers": text(form, f"{prefix}-officers"),
            "place": text(form, f"{prefix}-place"), "notes": text(form, f"{prefix}-notes")}


def outputs_payload(form: Form, prefix: str, kinds: Iterable[str],
                    problems: Problems) -> dict[str, Any]:
    counts = {kind: signed_number(form, f"{prefix}-counts-{kind}") for kind in kinds}
    patrol = text(form, f"{prefix}-patrol_id")
    return {"on": date_field(form, f"{prefix}-on", problems, field="on", required=True,
                             label="the date of the outputs"),
            "counts": {kind: count for kind, count in counts.items() if count is not None},
            "patrol_id": int(patrol) if patrol.isdigit() else (patrol or None),
            "notes": text(form, f"{prefix}-notes")}


# --- supervisory reviews -----------------------------------------------------------------------

def review_payload(form: Form, problems: Problems) -> dict[str, Any]:
    return {"note": text(form, "review-note"), "decision": optional(form, "review-decision"),
            "next_review_on": date_field(form, "review-next_review_on", problems,
                                         field="next_review_on"),
            "reason_for_later": text(form, "review-reason_for_later")}


def cadence_payload(form: Form) -> dict[str, Any]:
    return {priority: whole_number(form, f"cadence-{priority}")
            for priority in ("high", "medium", "low")}


Filters = TypeVar("Filters", bound=BaseModel)


def filters_from_address(schema: type[Filters], raw: dict[str, Any]
                         ) -> tuple[Filters, list[str]]:
    """A page's filters read from its address (``raw``: the values given, None for a blank
    one). A value that is not valid is dropped, so the page still answers with the others,
    and reported as "field: message" for the page to show."""
    try:
        return schema.model_validate(raw), []
    except ValidationError as exc:
        problems = pydantic_errors(exc.errors())
        wrong = {problem.field.split(".")[0] for problem in problems}
        kept = {name: value for name, value in raw.items() if name not in wrong}
        return schema.model_validate(kept), [f"{p.field}: {p.message}" for p in problems]
