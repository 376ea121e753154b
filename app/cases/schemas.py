"""Pydantic schemas for cases: what the API accepts and answers, and what page forms validate
against (the same models, so pages and API agree on every rule)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.reference.codes import LOCAL_AUTHORITY_PATTERN, WARD_PATTERN
from app.sara.analysis import HypothesisStatus
from app.sara.areas import geometry_problems
from app.sara.assessment import Outcome
from app.sara.cheers import CheersElement
from app.sara.patrols import MAX_PLANNED_MINUTES_PER_WEEK
from app.sara.problem import CATEGORIES, Priority, ProblemSource
from app.sara.responses import TACTICS, ActionStatus, Partner
from app.sara.stages import Stage
from app.sara.triangle import TriangleSide
from app.validation import refuse_nul

if TYPE_CHECKING:  # a Literal built at run time is no type to mypy: the values are strings
    CategorySlug = str
    TacticKey = str
else:  # pydantic checks a value against the slugs and keys of the SARA rules
    CategorySlug = Literal.__getitem__(tuple(CATEGORIES))
    TacticKey = Literal.__getitem__(tuple(TACTICS))


def _gss_code(pattern_text: str, what: str) -> Any:
    pattern = re.compile(pattern_text)

    def check(value: Any) -> str:
        code = str(value).strip().upper() if isinstance(value, str) else value
        if not isinstance(code, str) or not pattern.match(code):
            raise ValueError(f"Use the ONS code of {what}.")
        return code

    return BeforeValidator(check)


# A local policing area: the local authority a force covers (API v1 calls it a borough).
BoroughCode = Annotated[str, _gss_code(
    LOCAL_AUTHORITY_PATTERN, "a local policing area, such as E09000033 (Westminster) or "
                             "W06000002 (Gwynedd)"),
    WithJsonSchema({"type": "string", "pattern": LOCAL_AUTHORITY_PATTERN,
                    "description": "A local policing area: the ONS (GSS) code of a local "
                                   "authority its force covers (London borough E09, unitary "
                                   "authority E06, district E07, metropolitan district E08, "
                                   "Welsh principal area W06).",
                    "examples": ["E09000033", "W06000002"]})]
WardCode = Annotated[str, _gss_code(
    WARD_PATTERN, "a ward, such as E05013794 (Church Street, Westminster)"),
    WithJsonSchema({"type": "string", "pattern": WARD_PATTERN,
                    "examples": ["E05013794"]})]
ForceId = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=40,
                                          pattern=r"^[a-z0-9-]+$"),
                    Field(description="A police force's police.uk id, e.g. north-wales",
                          examples=["north-wales"])]
Username = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True,
                                            min_length=3, max_length=64)]
LongText = Annotated[str, Field(max_length=20000)]
ShortText = Annotated[str, Field(max_length=200)]


class Input(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        return refuse_nul(data)


class TargetArea(Input):
    """A Polygon or MultiPolygon, or a Point with a radius: GeoJSON geometry in WGS84."""

    name: ShortText = ""
    geometry: dict[str, Any]
    radius_m: int | None = None

    @model_validator(mode="after")
    def _check_geometry(self) -> TargetArea:
        problems = geometry_problems(self.geometry, self.radius_m)
        if problems:
            raise ValueError(problems[0])
        return self

    model_config = ConfigDict(
        str_strip_whitespace=True, extra="forbid",
        json_schema_extra={"examples": [{
            "name": "Church Street market",
            "geometry": {"type": "Point", "coordinates": [-0.1707, 51.5227]},
            "radius_m": 250,
        }]},
    )


class CheersInput(Input):
    met: bool | None = None
    evidence: LongText = ""


class SideInput(Input):
    who: LongText = ""
    known: LongText = ""


TemplateSlug = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True,
                                                max_length=60, pattern=r"^[a-z0-9-]+$")]


class CaseCreate(Input):
    title: str = Field(min_length=3, max_length=200)
    problem_statement: LongText = ""
    # Before ``category``, whose check reads it.
    template: TemplateSlug | None = Field(
        None, description="Open from this problem template (its slug): the case takes its "
                          "category and priority unless given, its hypotheses and starting "
                          "actions", examples=["street-drug-market"])
    category: CategorySlug | None = Field(
        None, validate_default=True,
        description="police.uk category slug; may be left out when a template gives it")
    borough: BoroughCode
    ward: WardCode | None = None
    priority: Priority = Field(Priority.MEDIUM, description="Default: the template's, else "
                                                            "medium")
    source: ProblemSource = ProblemSource.OFFICER
    team: ShortText = ""
    owner: Username | None = None
    target_area: TargetArea | None = None
    cheers: dict[CheersElement, CheersInput] | None = None

    @field_validator("category")
    @classmethod
    def _category_or_template(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and not info.data.get("template"):
            raise PydanticCustomError("missing", "Field required")  # "Choose a crime category."
        return value

    model_config = ConfigDict(
        str_strip_whitespace=True, extra="forbid",
        json_schema_extra={"examples": [{
            "title": "Street violence around Church Street market",
            "problem_statement": "Repeated assaults and robberies between traders and "
                                 "customers on market days, 14:00-20:00.",
            "category": "violent-crime",
            "borough": "E09000033",
            "ward": "E05013794",
            "priority": "high",
        }]},
    )


class CaseUpdate(Input):
    """A partial update: only the fields present change. ``version`` is the one last read."""

    version: int = Field(ge=1)
    title: str | None = Field(None, min_length=3, max_length=200)
    problem_statement: LongText | None = None
    category: CategorySlug | None = None
    borough: BoroughCode | None = None
    ward: WardCode | None = None
    priority: Priority | None = None
    source: ProblemSource | None = None
    team: ShortText | None = None
    owner: Username | None = None
    target_area: TargetArea | None = None
    buffer_width_m: int | None = Field(None, ge=10, le=2000, description="Width in metres of "
                                       "the ring around the target used to watch for "
                                       "displacement")
    control_area: TargetArea | None = None
    crime_types: list[CategorySlug] | None = Field(
        None, max_length=14, description="police.uk categories the analysis looks at; "
                                         "null for the case's own category")
    cheers: dict[CheersElement, CheersInput] | None = None
    triangle: dict[TriangleSide, SideInput] | None = None
    analysis_summary: LongText | None = None
    baseline_start: date | None = None
    baseline_end: date | None = None
    response_plan: LongText | None = None
    planned_patrol_minutes: int | None = Field(
        None, ge=0, le=MAX_PLANNED_MINUTES_PER_WEEK,
        description="Hotspot patrol dosage planned for the target area, minutes a week")
    operation: int | None = Field(None, ge=1, le=2**31 - 1,
                                  description="The operation the case belongs to (its id); "
                                              "null for none")
    process_evaluation: LongText | None = None
    impact_evaluation: LongText | None = None
    impact_none_reason: LongText | None = Field(
        None, description="Why no impact figures are possible (instead of a saved impact "
                          "assessment, for the Assessment gate)")
    outcome: Outcome | None = None
    lessons_learned: LongText | None = None

    model_config = ConfigDict(
        str_strip_whitespace=True, extra="forbid",
        json_schema_extra={"examples": [{
            "version": 3,
            "cheers": {"community": {"met": True,
                                     "evidence": "12 calls from traders in 6 weeks"}},
            "priority": "high",
        }]},
    )


class HypothesisCreate(Input):
    statement: str = Field(min_length=3, max_length=2000)
    status: HypothesisStatus = HypothesisStatus.OPEN
    evidence: LongText = ""


class HypothesisUpdate(Input):
    version: int = Field(ge=1)
    statement: str | None = Field(None, min_length=3, max_length=2000)
    status: HypothesisStatus | None = None
    evidence: LongText | None = None


class ActionCreate(Input):
    title: str = Field(min_length=3, max_length=200)
    tactic: TacticKey | None = None
    partner: Partner = Partner.POLICE
    owner: Annotated[str, Field(max_length=120)] = ""
    due_date: date | None = None
    status: ActionStatus = ActionStatus.PLANNED
    notes: LongText = ""
    assignee: Username | None = Field(
        None, description="The popcase user who carries the action (username): an active "
                          "officer or supervisor of the case's area")
    partner_agency: int | None = Field(
        None, ge=1, le=2**31 - 1,
        description="The agency that leads the action, by its id in the case's force's "
                    "partner directory; `partner` then follows the agency's kind")


class ActionUpdate(Input):
    version: int = Field(ge=1)
    title: str | None = Field(None, min_length=3, max_length=200)
    tactic: TacticKey | None = None
    partner: Partner | None = None
    owner: Annotated[str, Field(max_length=120)] | None = None
    due_date: date | None = None
    status: ActionStatus | None = None
    notes: LongText | None = None
    assignee: Username | None = Field(None, description="A username; null to clear")
    partner_agency: int | None = Field(
        None, ge=1, le=2**31 - 1,
        description="The lead agency's id in the directory (`partner` follows its kind); null "
                    "to clear (`partner` is then kept unless given)")


class NoteCreate(Input):
    body: str = Field(min_length=1, max_length=20000)


class TransitionRequest(Input):
    to: Stage
    reason: Annotated[str, Field(max_length=5000)] = ""
    override: bool = False

    model_config = ConfigDict(
        str_strip_whitespace=True, extra="forbid",
        json_schema_extra={"examples": [
            {"to": "analysis", "reason": "", "override": False},
            {"to": "analysis", "reason": "Assessment shows no effect: re-analyse the market "
                                          "days", "override": False},
        ]},
    )


SortKey = Literal["relevance", "updated", "-updated", "created", "-created", "ref", "-ref",
                  "priority", "-priority", "stage", "-stage", "title", "-title"]


class CaseFilters(BaseModel):
    """List filters, identical for the API's query parameters and the list page's URL."""

    model_config = ConfigDict(str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        return refuse_nul(data)

    stage: list[Stage] = Field(default_factory=list)
    borough: BoroughCode | None = None
    force: ForceId | None = None
    ward: WardCode | None = None
    owner: Username | None = None
    category: CategorySlug | None = None
    overdue: bool | None = None
    review: Literal["overdue", "due"] | None = Field(
        None, description="overdue: the supervisory review is overdue; due: it falls within "
                          "the next 7 days")
    operation: int | None = Field(None, ge=1, le=2**31 - 1)
    q: Annotated[str, Field(max_length=200)] | None = None
    # None: the best match first when searching, else the most recently updated first.
    sort: SortKey | None = None
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10_000_000)

    @property
    def effective_sort(self) -> SortKey:
        if self.q and self.sort in (None, "relevance"):
            return "relevance"
        return "-updated" if self.sort in (None, "relevance") else self.sort


# --- answers -----------------------------------------------------------------------------------

class GateItem(BaseModel):
    code: str
    message: str


class Gate(BaseModel):
    stage: Stage
    next_stage: Stage | None
    met: bool
    unmet: list[GateItem]


class HypothesisRead(BaseModel):
    id: int
    statement: str
    status: HypothesisStatus
    evidence: str
    created_at: datetime
    version: int


class PersonRead(BaseModel):
    username: str
    display_name: str


class ActionRead(BaseModel):
    id: int
    title: str
    tactic: str | None
    tactic_label: str | None
    partner: Partner
    owner: str
    due_date: date | None
    status: ActionStatus
    completed_on: date | None
    notes: str
    assignee: PersonRead | None = Field(description="The popcase user who carries the action")
    partner_agency: int | None = Field(None, description="The lead agency's directory id")
    partner_agency_name: str | None = Field(None, description="The lead agency's name")
    overdue: bool
    version: int


class StageOverride(BaseModel):
    """A stage move made with the gate unmet, and what the gate lacked then."""

    from_stage: Stage
    to_stage: Stage
    at: datetime
    by: str | None = Field(description="Who overrode the gate (username)")
    by_name: str | None
    reason: str
    unmet: list[str] = Field(description="What the gate lacked when it was overridden")
    reviewed_at: datetime | None = Field(description="When another supervisor reviewed it")
    reviewed_by: str | None


class CaseTemplateRef(BaseModel):
    """The template version a case was opened from."""

    slug: str
    name: str
    version: int


class CaseRead(BaseModel):
    ref: str
    title: str
    problem_statement: str
    category: str
    priority: Priority
    source: ProblemSource
    stage: Stage
    stage_entered_at: datetime
    borough: str = Field(description="The case's local policing area (ONS code)")
    borough_name: str
    force: str = Field(description="The police force of the area (police.uk id)")
    ward: str | None
    ward_name: str | None
    team: str
    operation: int | None
    operation_name: str | None
    owner: str | None
    owner_name: str | None
    target_area: TargetArea | None
    buffer_width_m: int | None
    control_area: TargetArea | None
    crime_types: list[str]
    cheers: dict[CheersElement, CheersInput]
    triangle: dict[TriangleSide, SideInput]
    hypotheses: list[HypothesisRead]
    analysis_summary: str
    baseline_start: date | None
    baseline_end: date | None
    response_plan: str
    planned_patrol_minutes: int | None
    actions: list[ActionRead]
    process_evaluation: str
    impact_evaluation: str
    impact_none_reason: str
    outcome: Outcome | None
    lessons_learned: str
    gate: Gate
    overrides: list[StageOverride] = Field(
        description="Every stage move made with the gate unmet, oldest first")
    overridden_stages: list[Stage] = Field(
        description="The stages the case last left by overriding the gate: the tracker marks "
                    "them")
    template: CaseTemplateRef | None = Field(
        description="The template version the case was opened from, if any")
    next_review_on: date | None = Field(
        description="When a supervisor next reviews the case (none once it is closed)")
    review_overdue: bool
    review_days_overdue: int = Field(description="0 unless the review is overdue")
    created_at: datetime
    updated_at: datetime
    version: int


class CaseSummary(BaseModel):
    ref: str
    title: str
    stage: Stage
    category: str
    priority: Priority
    borough: str = Field(description="The case's local policing area (ONS code)")
    borough_name: str
    force: str = Field(description="The police force of the area (police.uk id)")
    ward: str | None
    ward_name: str | None
    operation: int | None
    operation_name: str | None
    owner: str | None
    owner_name: str | None
    overdue_actions: int
    next_review_on: date | None
    review_overdue: bool
    created_at: datetime
    updated_at: datetime
    version: int
    match: str | None = Field(
        None, description="With q: a passage of the case's text around the words found, as "
                          "safe HTML (the case text HTML-escaped, each matching word in "
                          "<mark>...</mark>, nothing else); null without q")


class CaseList(BaseModel):
    items: list[CaseSummary]
    total: int
    limit: int
    offset: int


class TimelineEntry(BaseModel):
    at: datetime
    kind: str
    actor: str | None
    actor_name: str | None
    summary: str
    body: str
    from_stage: Stage | None
    to_stage: Stage | None
    overridden: bool
    details: dict[str, Any]
