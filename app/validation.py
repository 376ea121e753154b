"""Validation errors as people read them: a field name and a plain message, one per field.
Shared by the API (422 bodies) and the pages (messages beside form fields)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, ValidationError

from app.errors import FieldError, ValidationFailed

_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda e: "This field is required.",
    "string_too_short": lambda e: f"Enter at least {e['ctx']['min_length']} characters.",
    "string_too_long": lambda e: f"Use at most {e['ctx']['max_length']} characters.",
    "extra_forbidden": lambda e: "This field is not recognised.",
    "int_parsing": lambda e: "Enter a whole number.",
    "int_type": lambda e: "Enter a whole number.",
    "greater_than_equal": lambda e: f"Enter {e['ctx']['ge']} or more.",
    "less_than_equal": lambda e: f"Enter {e['ctx']['le']} or less.",
    "date_parsing": lambda e: "Enter a date as YYYY-MM-DD.",
    "date_from_datetime_parsing": lambda e: "Enter a date as YYYY-MM-DD.",
    "date_type": lambda e: "Enter a date as YYYY-MM-DD.",
    "bool_parsing": lambda e: "Use true or false.",
    "bool_type": lambda e: "Use true or false.",
    "json_invalid": lambda e: "The request body is not valid JSON.",
    "model_attributes_type": lambda e: "Send a JSON object.",
    "dict_type": lambda e: "Send a JSON object.",
    "list_type": lambda e: "Send a list.",
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
}


def _choice_message(field: str, error: dict[str, Any]) -> str:
    name = field.rsplit(".", 1)[-1]
    if name in _CHOICE_MESSAGES:
        return _CHOICE_MESSAGES[name]
    return f"Choose one of {error.get('ctx', {}).get('expected', 'the listed values')}."


def pydantic_errors(errors: Iterable[Any], drop_prefix: tuple[str, ...] = ()) -> list[FieldError]:
    """Field errors with dotted field names (``cheers.community.evidence``) and plain messages."""
    result: list[FieldError] = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in drop_prefix:
            loc = loc[1:]
        # Drop pydantic's internal steps (e.g. "function-before[...]", literal tags).
        loc = [part for part in loc if "[" not in part]
        field = ".".join(loc) or "body"
        kind = error.get("type", "")
        make = _MESSAGES.get(kind)
        if kind in ("literal_error", "enum"):
            message = _choice_message(field, error)
        else:
            message = make(error) if make else str(error.get("msg", "Not valid."))
        message = message.removeprefix("Value error, ")
        if not any(e.field == field for e in result):  # one message per field is enough
            result.append(FieldError(field, message))
    return result


def validate(model: type[Any], payload: dict[str, Any]) -> Any:
    """Validate a form payload against an API schema; raise ValidationFailed on bad input."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise ValidationFailed(pydantic_errors(exc.errors())) from None


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
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


def _plausible(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"Enter a date from {FIRST_DAY.year} to {LAST_DAY.year}.")
    return value


WorkDate = Annotated[date, AfterValidator(_plausible)]
WorkTime = Annotated[datetime, AfterValidator(_plausible)]
