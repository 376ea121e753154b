"""Validation messages as people read them: each names its field (dotted and prefixed names
too), counts are plural-safe, and a form's own problems join the schema's."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, Field

from app.errors import ValidationFailed
from app.validation import Problems, field_label, validate


class Sample(BaseModel):
    title: str = Field(min_length=3, max_length=200)
    note: str = Field(min_length=1, max_length=1)
    counts: dict[str, Annotated[int, Field(ge=0, le=1000)]] = {}


def messages(payload: dict[str, object], problems: Problems | None = None) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as refused:
        validate(Sample, payload, problems)
    return {e.field: e.message for e in refused.value.errors}


@pytest.mark.parametrize(("field", "label"), [
    ("title", "a title"),
    ("counts.arrests", "the number of arrests"),
    ("counts.stop_searches", "the number of stop and searches"),
    ("cheers.harm.evidence", "the evidence for Harm"),
    ("triangle.victim.who", "who or what for Victim or target"),
    ("target_area.radius_m", "the radius in metres"),
    ("control_area.lat", "the latitude"),
    ("stuck_days", "the days in one stage"),
    ("some_new_field", "the some new field"),
])
def test_every_field_has_a_name(field: str, label: str) -> None:
    assert field_label(field) == label


def test_messages_name_the_field_and_count_safely() -> None:
    assert messages({"title": "ab", "note": "", "counts": {"arrests": "two", "knives": -1}}) == {
        "title": "Enter a title of at least 3 characters.",
        "note": "Enter a note.",
        "counts.arrests": "Enter the number of arrests as a whole number.",
        "counts.knives": "The number of knives must be 0 or more.",
    }
    assert messages({"title": "abc", "note": "ab"}) == {
        "note": "The note must be 1 character or fewer."}
    assert messages({"note": "a"}) == {"title": "Enter a title."}


def test_a_forms_own_problems_come_first_and_replace_the_schemas_on_their_field() -> None:
    problems = Problems()
    problems.add("counts.arrests", "Enter the arrests in numbers.")
    problems.add("when.day", "The date must include a day.", hides=["note"])
    assert messages({"title": "ab", "note": "", "counts": {"arrests": "x"}}, problems) == {
        "counts.arrests": "Enter the arrests in numbers.",
        "when.day": "The date must include a day.",
        "title": "Enter a title of at least 3 characters.",
    }
