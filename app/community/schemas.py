from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.cases.schemas import BoroughCode, CategorySlug, Input, LongText, ShortText, WardCode
from app.sara.community import Channel, RaisedBy, TriageOutcome
from app.validation import WorkDate, refuse_nul

CaseRef = Annotated[str, Field(min_length=3, max_length=20, examples=["WM-2026-0001"])]


class ConcernCreate(Input):
    borough: BoroughCode
    ward: WardCode | None = None
    raised_on: WorkDate
    raised_by_kind: RaisedBy
    raised_by: ShortText = Field("", description="A name, or who they are (e.g. 'Chair of "
                                 "the Church Street ward panel')")
    contact: ShortText = Field("", description="How to tell them what was done; shown only "
                               "to officers and supervisors")
    channel: Channel
    place: ShortText = ""
    description: str = Field(min_length=3, max_length=20000)

    model_config = ConfigDict(
        str_strip_whitespace=True, extra="forbid",
        json_schema_extra={"examples": [{
            "borough": "E09000033", "ward": "E05013794", "raised_on": "2026-11-25",
            "raised_by_kind": "business", "raised_by": "Market traders' association",
            "channel": "ward_panel", "place": "Penfold Street walkway",
            "description": "Young men gather on the walkway at pack-up and intimidate "
                           "traders."}]},
    )


class ConcernTriage(Input):
    """``linked`` needs ``case``; ``new_case`` needs ``title`` and ``category`` (the case opens
    in Scanning in the concern's local policing area and ward); ``not_police`` needs ``reason``."""

    version: int = Field(ge=1)
    outcome: TriageOutcome
    case: CaseRef | None = None
    title: Annotated[str, Field(min_length=3, max_length=200)] | None = None
    category: CategorySlug | None = None
    reason: LongText = ""


class ConcernAnswer(Input):
    version: int = Field(ge=1)
    we_did: str = Field(min_length=3, max_length=20000,
                        description="What was done in answer (\"you said, we did\")")


ConcernStatus = Literal["awaiting", "linked", "new_case", "not_police", "answered",
                        "unanswered"]


class ConcernFilters(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        return refuse_nul(data)

    borough: BoroughCode | None = None
    status: ConcernStatus | None = None
    case: CaseRef | None = None
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10_000_000)


class ConcernRead(BaseModel):
    id: int
    borough: str
    borough_name: str
    ward: str | None
    ward_name: str | None
    raised_on: WorkDate
    raised_by_kind: RaisedBy
    raised_by: str
    contact: str | None = Field(description="Null for roles that may not see contact details")
    channel: Channel
    place: str
    description: str
    recorded_at: datetime
    recorded_by: str | None
    triage_outcome: TriageOutcome | None
    triage_reason: str
    triaged_at: datetime | None
    case: str | None
    we_did: str
    answered_at: datetime | None
    version: int


class ConcernList(BaseModel):
    items: list[ConcernRead]
    total: int
    limit: int
    offset: int
