"""Pydantic schemas for problem templates: what the API accepts and answers, and what the
template forms validate against."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, StringConstraints, WithJsonSchema

from app.cases.schemas import CategorySlug, Input, TacticKey
from app.sara.problem import Priority
from app.sara.responses import Partner
from app.sara.templates import MAX_DUE_IN_DAYS, MAX_REVIEW_EVERY_DAYS

_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _slug(value: Any) -> Any:
    slug = value.strip().lower() if isinstance(value, str) else value
    if isinstance(slug, str) and slug and not (3 <= len(slug) <= 60 and _SLUG.match(slug)):
        raise ValueError("Enter a short name of 3 to 60 lower-case letters, digits and "
                         "hyphens, e.g. street-drinking.")
    return slug


Slug = Annotated[str, BeforeValidator(_slug), StringConstraints(min_length=3, max_length=60),
                 WithJsonSchema({"type": "string", "pattern": _SLUG.pattern,
                                 "minLength": 3, "maxLength": 60,
                                 "description": "Lower-case words joined by hyphens",
                                 "examples": ["street-drinking"]})]
TemplateName = Annotated[str, Field(min_length=3, max_length=120)]
Prompt = Annotated[str, Field(min_length=1, max_length=1000)]
Statement = Annotated[str, Field(min_length=3, max_length=2000)]


class SuggestedResponseInput(Input):
    technique: TacticKey = Field(
        description="A situational crime prevention technique or another named tactic")
    why: str = Field(min_length=3, max_length=500, description="Why it fits the problem")


class StartingActionInput(Input):
    title: str = Field(min_length=3, max_length=200)
    tactic: TacticKey | None = None
    partner: Partner = Partner.POLICE
    due_in_days: int = Field(ge=0, le=MAX_DUE_IN_DAYS,
                             description="Due this many days after the case is opened")


class CheersPrompts(Input):
    """What to ask for each of the six CHEERS elements."""

    community: Prompt
    harm: Prompt
    expectation: Prompt
    events: Prompt
    recurring: Prompt
    similarity: Prompt


class TemplateContentInput(Input):
    """Everything one version of a template sets."""

    name: TemplateName
    category: CategorySlug
    priority: Priority = Priority.MEDIUM
    summary: Annotated[str, Field(max_length=2000)] = ""
    cheers_prompts: CheersPrompts = Field(
        description="A prompt for each of the six CHEERS elements")
    hypotheses: list[Statement] = Field(min_length=1, max_length=12)
    responses: list[SuggestedResponseInput] = Field(default_factory=list, max_length=25)
    actions: list[StartingActionInput] = Field(default_factory=list, max_length=20)
    review_every_days: int | None = Field(
        None, ge=1, le=MAX_REVIEW_EVERY_DAYS,
        description="Supervisory review every this many days; null: the force's cadence by "
                    "priority")

    def stored(self) -> dict[str, Any]:
        """The columns of a template version."""
        return {
            "name": self.name, "category": self.category, "priority": self.priority,
            "summary": self.summary,
            "cheers_prompts": self.cheers_prompts.model_dump(),
            "hypotheses": list(self.hypotheses),
            "responses": [r.model_dump(mode="json") for r in self.responses],
            "actions": [a.model_dump(mode="json") for a in self.actions],
            "review_every_days": self.review_every_days,
        }


class TemplateCreate(TemplateContentInput):
    slug: Slug


class TemplateVersionCreate(TemplateContentInput):
    """A new version: ``version`` is the current version last read (stale: 409)."""

    version: int = Field(ge=1, le=2**31 - 1)
    change_note: str = Field(min_length=3, max_length=2000,
                             description="What changed and why")


class TemplateCopy(Input):
    """Copy a template (often a national one) to the user's force, to adapt it there."""

    slug: Slug
    name: TemplateName | None = None


class TemplateRetirement(Input):
    retired: bool = Field(description="true: retire (it can no longer be chosen); false: "
                                      "bring it back")


# --- answers -----------------------------------------------------------------------------------

class TemplateVersionRead(BaseModel):
    version: int
    name: str
    category: str
    priority: Priority
    summary: str
    cheers_prompts: dict[str, str]
    hypotheses: list[str]
    responses: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    review_every_days: int | None
    change_note: str
    created_at: datetime
    created_by: str | None


class TemplateVersionSummary(BaseModel):
    version: int
    name: str
    change_note: str
    created_at: datetime
    created_by: str | None


class TemplateSummary(BaseModel):
    slug: str
    name: str
    force: str | None = Field(description="The force it belongs to; null: national")
    category: str
    current_version: int
    retired: bool


class TemplateRead(TemplateSummary):
    retired_at: datetime | None
    created_at: datetime
    current: TemplateVersionRead
    versions: list[TemplateVersionSummary]


class TemplateList(BaseModel):
    items: list[TemplateSummary]
    total: int
