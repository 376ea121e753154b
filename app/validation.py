"""Validation errors as people read them: a field name and a plain message, one per field.
Shared by the API (422 bodies) and the pages (messages beside form fields)."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from app.errors import FieldError, ValidationFailed
from app.sara.cheers import CheersElement
from app.sara.patrols import OutputKind
from app.sara.triangle import TriangleSide

# What each field is called in a message, with its article ("Enter a title"). Looked up by the
# whole dotted name, then by its pattern (``*`` for one part), then by its last part; a field
# missing here is named from its last part ("stuck_days" -> "the stuck days").
FIELD_LABELS: dict[str, str] = {
    "title": "a title", "problem_statement": "a problem statement", "category": "a category",
    "priority": "a priority", "source": "a source", "team": "a team", "owner": "an owner",
    "borough": "a local policing area", "ward": "a ward", "operation": "an operation",
    "version": "the version last read", "reason": "a reason", "body": "a note", "note": "a note",
    "statement": "a hypothesis", "evidence": "the evidence", "tactic": "a tactic",
    "partner": "the lead agency", "due_date": "the due date", "completed_on": "the date done",
    "notes": "notes", "analysis_summary": "an analysis summary",
    "baseline_start": "the date the baseline starts", "baseline_end": "the date the baseline ends",
    "baseline_first": "the first month of the baseline",
    "baseline_last": "the last month of the baseline",
    "response_plan": "a response plan", "process_evaluation": "a process evaluation",
    "impact_evaluation": "an impact evaluation",
    "impact_none_reason": "why no impact figures are possible",
    "lessons_learned": "the lessons learned", "outcome": "an outcome",
    "planned_patrol_minutes": "the planned patrol minutes a week",
    "buffer_width_m": "the width of the buffer in metres",
    "*.name": "a name for the area", "*.boundary": "an area", "*.geojson": "the area",
    "*.lat": "the latitude", "*.lng": "the longitude", "*.radius_m": "the radius in metres",
    "started_at": "the start time", "ended_at": "the end time", "date": "the date",
    "kind": "the kind", "officers": "the officers", "place": "where it was",
    "on": "the date of the outputs", "count": "the right number", "patrol_id": "the patrol",
    "raised_on": "the date the concern was raised", "raised_by": "who raised it",
    "raised_by_kind": "who raised it", "channel": "how it reached us",
    "description": "a description", "contact": "how to tell them", "we_did": "what was done",
    "name": "a name", "unit": "the owning unit", "start_date": "the start date",
    "end_date": "the end date", "username": "a username", "display_name": "a name",
    "password": "a password", "role": "a role", "force": "a force", "case": "a case reference",
    "ref": "a case reference", "cell_m": "a cell size", "top": "how many cells",
    "seed": "the seed", "block_size": "the number of hotspots in a block",
    "first": "the first month", "last": "the last month", "idle_days": "the days with no activity",
    "stuck_days": "the days in one stage", "from": "the first day", "to": "the last day",
    "limit": "the limit", "offset": "the offset",
    # Problem templates
    "slug": "a short name", "summary": "a summary", "hypotheses": "at least one hypothesis",
    "hypotheses.*": "a hypothesis", "technique": "a technique", "why": "a reason it fits",
    "due_in_days": "the days from opening until it is due",
    "review_every_days": "the days between supervisory reviews",
    "change_note": "what changed", "template": "a template",
    "decision": "a decision", "next_review_on": "the date of the next review",
    "reason_for_later": "why the next review can wait that long",
    "high": "the days between reviews of high priority cases",
    "medium": "the days between reviews of medium priority cases",
    "low": "the days between reviews of low priority cases",
}
for _kind in OutputKind:
    FIELD_LABELS[f"counts.{_kind.value}"] = f"the number of {_kind.counted(2).split(' ', 1)[1]}"
for _element in CheersElement:
    FIELD_LABELS[f"cheers.{_element.value}.met"] = f"whether {_element.label} is met"
    FIELD_LABELS[f"cheers.{_element.value}.evidence"] = f"the evidence for {_element.label}"
    FIELD_LABELS[f"cheers_prompts.{_element.value}"] = f"a prompt for {_element.label}"
for _side in TriangleSide:
    FIELD_LABELS[f"triangle.{_side.value}.who"] = f"who or what for {_side.label}"
    FIELD_LABELS[f"triangle.{_side.value}.known"] = f"what is known for {_side.label}"


def field_label(field: str) -> str:
    """How a message names a dotted field, with its article: ``counts.arrests`` -> "the number
    of arrests"."""
    parts = field.split(".")
    patterns = [field, ".".join(["*", *parts[1:]]), ".".join([*parts[:-1][:1], "*", parts[-1]])
                if len(parts) == 3 else "", f"*.{parts[-1]}" if len(parts) > 1 else "", parts[-1]]
    for key in patterns:
        if key in FIELD_LABELS:
            return FIELD_LABELS[key]
    return "the " + parts[-1].replace("_", " ")


def subject(label: str) -> str:
    """The label as a sentence's subject: "a title" -> "The title"."""
    for article in ("a ", "an ", "the "):
        if label.startswith(article):
            label = "the " + label.removeprefix(article)
            break
    return label[:1].upper() + label[1:]


def _too_short(label: str, least: int) -> str:
    if least <= 1:
        return f"Enter {label}."
    return f"Enter {label} of at least {least} characters."


def _characters(n: int) -> str:
    return "1 character" if n == 1 else f"{n} characters"


def _date_message(label: str, value: Any) -> str:
    """Why a typed date is refused: a day that does not exist is named as such ("31 February
    2026 is not a real date."), not as a format typed correctly."""
    found = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", value.strip()) \
        if isinstance(value, str) else None
    if found:
        year, month, day = (int(part) for part in found.groups())
        if 1 <= month <= 12:
            return f"{day} {calendar.month_name[month]} {year} is not a real date."
        return f"{subject(label)} must be a real date: a month is from 1 to 12."
    return f"Enter {label} as YYYY-MM-DD, e.g. 2026-03-27."


_Message = Callable[[str, dict[str, Any]], str]
_MESSAGES: dict[str, _Message] = {
    "missing": lambda f, e: f"Enter {f}.",
    "string_too_short": lambda f, e: _too_short(f, e["ctx"]["min_length"]),
    "string_too_long": lambda f, e:
        f"{subject(f)} must be {_characters(e['ctx']['max_length'])} or fewer.",
    "extra_forbidden": lambda f, e: f"{subject(f)} is not a field of this form.",
    "int_parsing": lambda f, e: f"Enter {f} as a whole number.",
    "int_type": lambda f, e: f"Enter {f} as a whole number.",
    "int_from_float": lambda f, e: f"Enter {f} as a whole number.",
    "float_parsing": lambda f, e: f"Enter {f} as a number.",
    "float_type": lambda f, e: f"Enter {f} as a number.",
    "greater_than_equal": lambda f, e: f"{subject(f)} must be {e['ctx']['ge']} or more.",
    "greater_than": lambda f, e: f"{subject(f)} must be more than {e['ctx']['gt']}.",
    "less_than_equal": lambda f, e: f"{subject(f)} must be {e['ctx']['le']} or less.",
    "less_than": lambda f, e: f"{subject(f)} must be less than {e['ctx']['lt']}.",
    "date_parsing": lambda f, e: _date_message(f, e.get("input")),
    "date_from_datetime_parsing": lambda f, e: _date_message(f, e.get("input")),
    "date_from_datetime_inexact": lambda f, e: _date_message(f, e.get("input")),
    "date_type": lambda f, e: _date_message(f, e.get("input")),
    "datetime_parsing": lambda f, e: f"Enter {f} as a date and time, YYYY-MM-DDTHH:MM.",
    "datetime_from_date_parsing": lambda f, e:
        f"Enter {f} as a date and time, YYYY-MM-DDTHH:MM.",
    "datetime_type": lambda f, e: f"Enter {f} as a date and time, YYYY-MM-DDTHH:MM.",
    "work_date": lambda f, e:
        f"{subject(f)} must be between {FIRST_DAY.year} and {LAST_DAY.year}.",
    "bool_parsing": lambda f, e: f"Use true or false for {f}.",
    "bool_type": lambda f, e: f"Use true or false for {f}.",
    "json_invalid": lambda f, e: "The request body is not valid JSON.",
    "model_attributes_type": lambda f, e: "Send a JSON object.",
    "model_type": lambda f, e: "Send a JSON object.",
    "dict_type": lambda f, e: "Send a JSON object.",
    "list_type": lambda f, e: f"Send {f} as a list.",
    "too_short": lambda f, e: f"Enter {f}.",
    "too_long": lambda f, e: f"{subject(f)}: {e['ctx']['max_length']} at most.",
}


# What to say when a value is not one of a field's choices (otherwise: the choices themselves).
_CHOICE_MESSAGES = {
    "category": "Choose a crime category.",
    "tactic": "Choose a tactic from the catalogue.",
    "priority": "Choose a priority.",
    "source": "Choose where the problem came from.",
    "partner": "Choose the lead agency.",
    "status": "Choose a status.",
    "outcome": "Choose an outcome.",
    "to": "Choose a stage: scanning, analysis, response, assessment or closed.",
    "channel": "Choose how the concern reached us.",
    "raised_by_kind": "Choose who raised the concern.",
    "role": "Choose a role.",
    "technique": "Choose a technique or tactic from the catalogue.",
    "decision": "Choose a decision.",
}


def _choice_message(field: str, error: dict[str, Any]) -> str:
    name = field.rsplit(".", 1)[-1]
    if name in _CHOICE_MESSAGES:
        return _CHOICE_MESSAGES[name]
    expected = error.get("ctx", {}).get("expected", "the listed values")
    return f"Choose {field_label(field)}: one of {expected}."


def message_for(field: str, error: dict[str, Any]) -> str:
    """One pydantic error as a sentence that names its field (by ``FIELD_LABELS``)."""
    kind = error.get("type", "")
    if kind in ("literal_error", "enum"):
        return _choice_message(field, error)
    if kind == "missing" and field.rsplit(".", 1)[-1] in _CHOICE_MESSAGES:
        return _CHOICE_MESSAGES[field.rsplit(".", 1)[-1]]
    make = _MESSAGES.get(kind)
    if make:
        return make(field_label(field), error)
    return str(error.get("msg", "Not valid.")).removeprefix("Value error, ")


def pydantic_errors(errors: Iterable[Any], drop_prefix: tuple[str, ...] = ()) -> list[FieldError]:
    """Field errors with dotted field names (``cheers.community.evidence``) and plain messages
    that name the field ("Enter the number of arrests as a whole number.")."""
    result: list[FieldError] = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in drop_prefix:
            loc = loc[1:]
        # Drop pydantic's internal steps (e.g. "function-before[...]", literal tags).
        loc = [part for part in loc if "[" not in part]
        field = ".".join(loc) or "body"
        if not any(e.field == field for e in result):  # one message per field is enough
            result.append(FieldError(field, message_for(field, error)))
    return result


@dataclass
class Problems:
    """What a form's own reading found wrong before its schema ran (a date that does not exist,
    a time that is not HH:MM). ``validate`` reports them together with the schema's messages, so
    that every wrong field is named at once."""

    errors: list[FieldError] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)  # payload fields left out because of them

    def add(self, name: str, message: str, *, hides: Iterable[str] = ()) -> None:
        self.errors.append(FieldError(name, message))
        self.hidden.update(hides)

    def covers(self, name: str) -> bool:
        """Whether the schema's message on ``name`` would repeat (or mislead about) one of
        these: the same field, a part of it, or the whole it is part of."""
        known = self.hidden | {e.field for e in self.errors}
        return any(name == k or name.startswith(k + ".") or k.startswith(name + ".")
                   for k in known)


Model = TypeVar("Model", bound=BaseModel)


def validate(model: type[Model], payload: dict[str, Any],
             problems: Problems | None = None) -> Model:
    """Validate a form payload against an API schema; raise ValidationFailed naming every wrong
    field: the form's own ``problems`` first, then the schema's on the other fields."""
    errors = list(problems.errors) if problems else []
    result: Model | None = None
    try:
        result = model.model_validate(payload)
    except ValidationError as exc:
        errors += [e for e in pydantic_errors(exc.errors())
                   if problems is None or not problems.covers(e.field)]
    if errors:
        raise ValidationFailed(errors)
    assert result is not None  # it validated
    return result


def refuse_nul(data: Any) -> Any:
    """Text may not hold the NUL character: PostgreSQL cannot store it, and no person types it.
    (A pydantic "before" validator: it sees the raw input.)"""
    if isinstance(data, str):
        if "\x00" in data:
            raise ValueError("Text must not contain the NUL character (\\x00).")
    elif isinstance(data, dict):
        for value in data.values():
            refuse_nul(value)
    elif isinstance(data, list | tuple):
        for value in data:
            refuse_nul(value)
    return data


# Dates of the work recorded (patrols, outputs, concerns, operations, periods of figures): a
# year outside these is a typing slip, and far dates overflow datetime arithmetic.
FIRST_DAY: date = date(2000, 1, 1)
LAST_DAY: date = date(2100, 12, 31)


def _plausible(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        # The message names the field (pydantic_errors knows it; this validator does not).
        raise PydanticCustomError(
            "work_date", f"Enter a date from {FIRST_DAY.year} to {LAST_DAY.year}.")
    return value


WorkDate = Annotated[date, AfterValidator(_plausible)]
WorkTime = Annotated[datetime, AfterValidator(_plausible)]
