from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.cases.schemas import ForceId, Input, LongText, ShortText
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


class OperationRead(BaseModel):
    id: int
    name: str
    description: str
    unit: str
    force: str = Field(description="The police force that runs it (police.uk id)")
    force_name: str
    start_date: date
    end_date: date | None
    cases: int = Field(description="The operation's cases that the caller may see")
    created_at: datetime
    updated_at: datetime
    version: int
