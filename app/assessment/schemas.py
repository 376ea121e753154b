"""What the API accepts and answers for impact assessments and operation evaluations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from app.cases.schemas import CategorySlug, Input, LongText
from app.sara.assessment import Outcome
from app.sara.stages import Stage

Month = Annotated[str, Field(pattern=r"^\d{4}-\d{2}$", examples=["2024-06"],
                             description="A month, YYYY-MM")]


class AssessmentRequest(Input):
    """Two periods of whole months of equal length: before the response and after it."""

    before_first: Month
    before_last: Month
    after_first: Month
    after_last: Month
    categories: list[CategorySlug] | None = Field(  # type: ignore[valid-type]
        None, max_length=14, description="police.uk categories; null for the case's own")
    note: LongText = ""

    model_config = {"str_strip_whitespace": True, "extra": "forbid", "json_schema_extra": {
        "examples": [{"before_first": "2023-12", "before_last": "2024-11",
                      "after_first": "2024-12", "after_last": "2025-11"}]}}


class AssessmentProposal(BaseModel):
    """Periods proposed from the response's start: the month it started in is left out when
    it started after the 1st (that month holds both before and after)."""

    before_first: str | None
    before_last: str | None
    after_first: str | None
    after_last: str | None
    categories: list[str]
    response_start: date | None
    data_first: str | None = Field(description="The first month of imported street crime")
    data_last: str | None
    target: str | None
    buffer: str | None
    control: str | None
    problems: list[str] = Field(description="What stops an assessment now, in words")


class AreaFigures(BaseModel):
    name: str
    before: int
    after: int
    percent_change: float | None
    reading: str


class OddsRatioRead(BaseModel):
    value: float | None
    low: float | None
    high: float | None
    log: float | None
    variance: float | None
    reading: str


class DisplacementRead(BaseModel):
    success_measure: float | None
    buffer_displacement_measure: float | None
    wdq: float | None
    reading: str


class NetEffectRead(BaseModel):
    value: float | None
    reading: str


class MonthlySeries(BaseModel):
    months: list[str]
    target: list[int]
    buffer: list[int] | None
    control: list[int] | None


class BatchUsed(BaseModel):
    id: int
    source: str
    sha256: str
    first_month: date | None
    last_month: date | None


class SnapshotRead(BaseModel):
    number: int
    created_at: datetime
    created_by: str | None
    before_first: date
    before_last: date
    after_first: date
    after_last: date
    months: int = Field(description="The length of each period, in months")
    categories: list[str]
    response_start: date | None
    target: AreaFigures
    buffer: AreaFigures | None
    control: AreaFigures | None
    odds_ratio: OddsRatioRead
    displacement: DisplacementRead
    total_net_effect: NetEffectRead
    monthly: MonthlySeries
    areas: dict[str, Any] = Field(description="The areas' shapes as counted (GeoJSON, WGS84)")
    batches: list[BatchUsed]
    note: str
    changes_since_previous: list[str] = Field(
        description="What differs from the snapshot before it: periods, areas, data counted, "
                    "figures")


class EvaluationRow(BaseModel):
    ref: str
    title: str
    borough: str
    stage: Stage
    outcome: Outcome | None
    snapshot: int | None = Field(description="The case's latest saved assessment")
    saved_at: datetime | None
    before_first: date | None
    after_last: date | None
    target_before: int | None
    target_after: int | None
    target_percent_change: float | None
    odds_ratio: float | None
    odds_ratio_low: float | None
    odds_ratio_high: float | None
    wdq: float | None
    total_net_effect: float | None
    reading: str


class PooledRead(BaseModel):
    hotspots: int = Field(description="Hotspots with a defined odds ratio")
    odds_ratio: float | None
    low: float | None
    high: float | None
    log: float | None
    standard_error: float | None
    q: float | None = Field(description="Cochran's Q (null with fewer than two hotspots)")
    i_squared: float | None = Field(description="Heterogeneity, percent")
    reading: str


class OperationEvaluation(BaseModel):
    operation: int
    name: str
    rows: list[EvaluationRow]
    pooled: PooledRead
    method: str
