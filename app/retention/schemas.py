"""Retention periods, the retention queue and retention reviews over JSON (pages validate with
the same)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.cases.schemas import BoroughCode, ForceId, Input
from app.sara.problem import CATEGORIES
from app.sara.retention import MAX_MONTHS, MIN_MONTHS, Due, RetentionDecision
from app.sara.stages import Stage
from app.validation import WorkDate


class PeriodsChange(Input):
    """Months after closing until the first retention review, by police.uk category. A
    category left out keeps its current period."""

    months: dict[str, int] = Field(examples=[{"anti-social-behaviour": 72,
                                              "violent-crime": 120}])

    @field_validator("months")
    @classmethod
    def _known(cls, months: dict[str, int]) -> dict[str, int]:
        for category, n in months.items():
            if category not in CATEGORIES:
                raise ValueError(f"{category} is not a police.uk category.")
            if not MIN_MONTHS <= n <= MAX_MONTHS:
                raise ValueError(f"{category}: enter a number of months from {MIN_MONTHS} to "
                                 f"{MAX_MONTHS}.")
        return months


class PeriodsRead(BaseModel):
    force: str = Field(description="police.uk id")
    months: dict[str, int] = Field(description="Months after closing, by category")
    defaults: dict[str, int] = Field(description="What a force without its own period uses")
    customised: list[str] = Field(description="Categories the force has set itself")


class QueueQuery(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    force: ForceId | None = None
    borough: BoroughCode | None = None
    due: Due = Due.SOON
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=2**31 - 1)


class QueueItem(BaseModel):
    ref: str
    title: str
    category: str
    borough: str
    borough_name: str
    force: str
    closed_on: date
    retention_review_on: date
    days_overdue: int = Field(description="0 when not yet due")
    reviews: int = Field(description="Retention reviews made so far")


class QueueRead(BaseModel):
    items: list[QueueItem]
    total: int
    due: Due


class RetentionReviewCreate(Input):
    decision: RetentionDecision
    reason: str = Field(min_length=1, max_length=2000,
                        description="Why the case's personal data is kept or disposed of")
    next_review_on: WorkDate | None = Field(
        None, description="A retained case's next review: after today. None for a disposal")


class RetentionReviewRead(BaseModel):
    id: int
    ref: str
    reviewed_at: datetime
    reviewer: str | None
    reviewer_name: str | None
    decision: RetentionDecision
    decision_label: str
    reason: str
    due_on: date | None
    next_review_on: date | None
    erased: dict[str, Any] | None = Field(description="A disposal: what was erased, counted")


class ExportMade(BaseModel):
    """A case file that left popcase, from the access log."""

    at: datetime
    by: str
    reason: str
    redacted: bool
    operation: int | None = Field(description="Exported within this operation's bundle")


class CaseRetentionRead(BaseModel):
    ref: str
    title: str
    category: str
    stage: Stage
    borough: str
    borough_name: str
    closed_on: date | None
    retention_review_on: date | None
    period_months: int
    disposed_at: datetime | None
    reviews: list[RetentionReviewRead]
    exports: list[ExportMade] = Field(description="Every export of the case file, oldest "
                                                  "first: what left the system before any "
                                                  "disposal")
