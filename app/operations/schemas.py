from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.assessment.schemas import Month
from app.cases.schemas import BoroughCode, CategorySlug, ForceId, Input, LongText, ShortText
from app.sara.allocation import Method
from app.validation import WorkDate

OperationName = Annotated[str, Field(min_length=3, max_length=100)]


class OperationCreate(Input):
    name: OperationName
    description: LongText = ""
    unit: ShortText = Field("", description="The unit that owns the operation")
    start_date: WorkDate
    end_date: WorkDate | None = None
    force: ForceId | None = Field(None, description="The police force that runs the "
                                  "operation: its cases lie in that force's areas (default: "
                                  "the caller's force)")
    borough: BoroughCode | None = Field(None, description="The local policing area that runs "
                                        "the operation: its supervisors change it, and only "
                                        "its cases join it; null for a force-wide operation. "
                                        "Default: the caller's home area, or force-wide for "
                                        "one who works across the force. Only an owner the "
                                        "caller could change is accepted.")

    model_config = ConfigDict(
        str_strip_whitespace=True, extra="forbid",
        json_schema_extra={"examples": [{
            "name": "Nightingale", "unit": "Met Operations: Violence Suppression Unit",
            "description": "Hotspot policing of the places with the most violence, chosen "
                           "centrally and worked by the neighbourhood teams.",
            "start_date": "2026-04-01"}]},
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> OperationCreate:
        if self.end_date and self.end_date < self.start_date:
            raise ValueError("The operation must end after it starts.")
        return self


class OperationUpdate(Input):
    version: int = Field(ge=1)
    name: OperationName | None = None
    description: LongText | None = None
    unit: ShortText | None = None
    start_date: WorkDate | None = None
    end_date: WorkDate | None = None
    borough: BoroughCode | None = Field(None, description="Hand the operation to another "
                                        "owner: an area that holds all its cases, or null for "
                                        "the force")


class OperationRead(BaseModel):
    id: int
    name: str
    description: str
    unit: str
    force: str = Field(description="The police force that runs it (police.uk id)")
    force_name: str
    borough: str | None = Field(description="The local policing area that runs it (ONS code); "
                                "null: the force as a whole")
    borough_name: str | None
    can_change: bool = Field(description="Whether the caller may change it: the owning "
                             "area's supervisors and the force's analysts may")
    start_date: date
    end_date: date | None
    cases: int = Field(description="The operation's cases that the caller may see")
    created_at: datetime
    updated_at: datetime
    version: int


class OperationFilters(Input):
    """Filters of the operation list (API and page)."""

    borough: BoroughCode | None = None
    force: ForceId | None = None


class AllocationCreate(Input):
    """Randomise the operation's candidate hotspots to patrols or comparison."""

    cases: list[Annotated[str, Field(max_length=30)]] = Field(
        min_length=1, max_length=500, description="The candidate hotspots: references of the "
        "operation's cases, each with a target area")
    method: Method = Field(Method.PAIRS, description="pairs: matched pairs by baseline crime; "
                           "blocks: blocks of block_size by baseline crime")
    block_size: int | None = Field(None, ge=2, le=10, description="For blocks (default 4)")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="To repeat an allocation "
                             "made elsewhere; by default popcase draws one and records it")
    starts: Month | None = Field(None, description="The first month of patrols (default: the "
                                 "month after this one, or the operation's first month if "
                                 "later); never before this month")
    baseline_first: Month | None = Field(None, description="The baseline months whose crime "
                                         "matches the blocks (default: up to 12 months of "
                                         "imported data before patrols start)")
    baseline_last: Month | None = None
    categories: list[CategorySlug] | None = Field(None, description="The crime counted "
                                                  "(default: the candidates' categories)")
    note: LongText = ""

    @model_validator(mode="after")
    def _block_size_for_blocks(self) -> AllocationCreate:
        if self.block_size is not None and self.method is Method.PAIRS and self.block_size != 2:
            raise ValueError("Matched pairs are blocks of 2: leave block_size out, or choose "
                             "blocks.")
        return self


class CellCandidatesCreate(Input):
    """The top cells of a hotspot search opened as cases of the operation: candidate hotspots
    for its randomised allocation. Each case is opened as "Open a case here" opens one, with
    the category searched for (one), else the cell's commonest."""

    borough: BoroughCode | None = Field(None, description="The local policing area searched")
    area: int | None = Field(None, ge=1, le=2**31 - 1, description="Or an imported area's id")
    first: Month
    last: Month
    categories: list[CategorySlug] = Field(default_factory=list, max_length=14,
                                           description="The crime searched (default: all)")
    cell_m: int = Field(250, description="Cell size: 50, 100, 150, 200, 250, 300, 400 or 500 m")
    rank_by: Literal["crimes", "harm"] = "crimes"
    top: int = Field(8, ge=1, le=50, description="How many cells, best first; cells that are "
                     "already cases of the operation are passed over")


class CellCandidatesRead(BaseModel):
    cases: list[str] = Field(description="The new cases' references, in the cells' rank order")
    skipped: int = Field(description="Cells passed over: their case is in the operation already")
