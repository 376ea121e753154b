"""The figures supervisors oversee. Pages render these same objects, so that every figure on
a dashboard is the one the API answers for the same filters."""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from app.cases.schemas import BoroughCode, ForceId, Input
from app.handover.schemas import DepartedOwner
from app.sara.patrols import OutputKind
from app.sara.problem import Priority
from app.sara.stages import Stage
from app.validation import WorkDate


class StatsQuery(BaseModel):
    """Which cases and which days the figures cover. ``first``/``last`` (``from``/``to`` in
    the API) default to the operation's start (or the financial year's, 1 April) and today."""

    model_config = ConfigDict(str_strip_whitespace=True, populate_by_name=True)

    operation: int | None = Field(None, ge=1, le=2**31 - 1)
    borough: BoroughCode | None = None
    force: ForceId | None = None
    stage: list[Stage] = Field(default_factory=list)
    first: WorkDate | None = Field(None, alias="from")
    last: WorkDate | None = Field(None, alias="to")


class OperationRef(BaseModel):
    id: int
    name: str


class PeriodRead(BaseModel):
    first: date
    last: date
    days: int


class StatsFilters(BaseModel):
    operation: int | None
    borough: str | None
    force: str | None
    stage: list[Stage]


class BoroughCases(BaseModel):
    borough: str
    name: str
    total: int
    by_stage: dict[Stage, int]


class CaseFigures(BaseModel):
    total: int
    by_stage: dict[Stage, int]
    by_borough: list[BoroughCases]


class MonthOutputs(BaseModel):
    month: str = Field(description="YYYY-MM")
    counts: dict[OutputKind, int]
    total: int


class OutputFigures(BaseModel):
    totals: dict[OutputKind, int]
    total: int
    by_month: list[MonthOutputs]


class PatrolFigures(BaseModel):
    visits: int = Field(description="Completed patrols that started in the period")
    delivered_minutes: int
    delivered_hours: float = Field(description="Rounded to 0.1 hour, as the pages show it")
    planned_minutes: int = Field(description="Each case's weekly plan over the days of the "
                                 "period it was open, rounded to the minute")
    planned_hours: float
    percent_of_plan: int | None = Field(description="Null when no patrol was planned")
    in_band: int = Field(description="Visits of 10 to 15 minutes")
    shorter: int
    longer: int
    running: int = Field(description="Patrols running now")


class ConcernFigures(BaseModel):
    received: int = Field(description="Concerns raised in the period and triaged to these "
                          "cases")
    answered: int = Field(description="Of those, the ones whose case says what was done")
    unanswered: int
    awaiting_triage: int | None = Field(description="Concerns of the areas in scope raised "
                                        "in the period and not yet triaged (not counted for "
                                        "an operation: untriaged concerns are on no case)")


class Summary(BaseModel):
    operation: OperationRef | None
    scope: str = Field(description="The local policing areas the caller may see: their home "
                       "area's code, their force's police.uk id, or 'all'")
    filters: StatsFilters
    period: PeriodRead
    cases: CaseFigures
    outputs: OutputFigures
    patrols: PatrolFigures
    concerns: ConcernFigures


class QueueQuery(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    borough: BoroughCode | None = None
    operation: int | None = Field(None, ge=1, le=2**31 - 1)
    idle_days: int = Field(28, ge=1, le=3650)
    stuck_days: int = Field(60, ge=1, le=3650)


class OverdueAction(BaseModel):
    ref: str
    title: str
    action_id: int
    action: str
    owner: str
    due_date: date
    days_overdue: int


class QuietCase(BaseModel):
    ref: str
    title: str
    stage: Stage
    borough: str
    owner_name: str | None
    since: datetime = Field(description="Last activity, or when the case entered its stage")
    days: int


class OverrideToReview(BaseModel):
    event_id: int
    ref: str
    title: str
    at: datetime
    by: str | None
    from_stage: Stage | None
    to_stage: Stage | None
    reason: str
    unmet: list[str]


class ReviewToMake(BaseModel):
    """An open case whose supervisory review is overdue or falls due soon."""

    ref: str
    title: str
    stage: Stage
    priority: Priority
    borough: str
    owner_name: str | None
    next_review_on: date
    days_overdue: int = Field(description="0 for a review not yet due")
    days_left: int = Field(description="Days until it falls due (negative once overdue)")


Item = TypeVar("Item", bound=BaseModel)


class QueueList(BaseModel, Generic[Item]):
    total: int
    items: list[Item]


class WorkQueue(BaseModel):
    reviews_overdue: QueueList[ReviewToMake] = Field(
        description="Open cases whose supervisory review date has passed, the longest overdue "
                    "first: they lead the queue")
    reviews_due_soon: QueueList[ReviewToMake] = Field(
        description="Open cases whose review falls due from today to 7 days ahead, soonest "
                    "first")
    borough: str | None
    idle_days: int
    stuck_days: int
    overdue_actions: QueueList[OverdueAction]
    inactive_cases: QueueList[QuietCase]
    stuck_cases: QueueList[QuietCase]
    overrides_to_review: QueueList[OverrideToReview] = Field(
        description="Overrides nobody has reviewed, except the reader's own: another "
                    "supervisor reviews those")
    own_overrides_waiting: int = Field(0, description="The reader's own overrides waiting for "
                                                      "another supervisor's review")
    departed_owners: list[DepartedOwner] = Field(
        default_factory=list, description="Deactivated accounts still holding open cases or "
                                          "actions here, until their work is handed over")


class OverrideReview(Input):
    note: str = Field("", max_length=5000, description="What the reviewer concluded")


class ReviewRead(BaseModel):
    event_id: int
    ref: str
    reviewed_at: datetime
    reviewed_by: str
    note: str
