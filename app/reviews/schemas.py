"""The review cadence and supervisory reviews over JSON (pages validate with the same)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from app.cases.schemas import Input
from app.sara.problem import Priority
from app.sara.reviews import MAX_CADENCE_DAYS, MIN_CADENCE_DAYS, ReviewDecision
from app.validation import WorkDate

CadenceDays = Annotated[int, Field(ge=MIN_CADENCE_DAYS, le=MAX_CADENCE_DAYS,
                                   description="Days between supervisory reviews")]


class CadenceChange(Input):
    """The whole table at once: days between reviews for each priority."""

    high: CadenceDays
    medium: CadenceDays
    low: CadenceDays


class CadenceRead(BaseModel):
    force: str = Field(description="police.uk id")
    high: int
    medium: int
    low: int
    defaults: dict[Priority, int] = Field(description="What a force without its own table "
                                                      "uses")
    customised: bool = Field(description="Whether the force has set its own table")


class ReviewCreate(Input):
    note: str = Field(min_length=1, max_length=5000,
                      description="What the supervisor found and asked for")
    decision: ReviewDecision
    next_review_on: WorkDate | None = Field(
        None, description="Default: today plus the cadence of the case's priority. After "
                          "today; more than twice the cadence ahead only with "
                          "`reason_for_later`")
    reason_for_later: str = Field("", max_length=2000)


class ReviewRead(BaseModel):
    id: int
    ref: str
    reviewed_at: datetime
    reviewer: str | None
    reviewer_name: str | None
    note: str
    decision: ReviewDecision
    decision_label: str
    due_on: date | None = Field(description="The review date that was due when it was made")
    days_late: int = Field(description="Days after ``due_on`` the review was made (0: on time)")
    next_review_on: date
    reason_for_later: str
    priority: Priority
    cadence_days: int
