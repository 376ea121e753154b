"""The hand-over's input and answers, shared by the API and the pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.cases.schemas import Input, PersonRead, Username
from app.sara.responses import ActionStatus
from app.sara.stages import Stage

ActionId = Annotated[int, Field(ge=1, le=2**31 - 1)]
CaseRefKey = Annotated[str, Field(min_length=3, max_length=20)]
# More than any one person carries; it bounds the work a single request can ask for.
MAX_NAMED = 5000


class HandoverRequest(Input):
    """Who takes what. ``to`` takes everything not named in ``cases`` or ``actions``; an
    action on a case that is handed over follows the case's new owner unless named."""

    to: Username | None = Field(None, description="The default recipient (username)")
    cases: dict[CaseRefKey, Username] = Field(
        default_factory=dict, max_length=MAX_NAMED,
        description="A recipient per case reference, for those not going to `to`")
    actions: dict[ActionId, Username] = Field(
        default_factory=dict, max_length=MAX_NAMED,
        description="A recipient per action id, for those not following their case or `to`")
    dry_run: bool = Field(False, description="Check the hand-over and answer what it would "
                                             "move, without changing anything")

    model_config = ConfigDict(
        str_strip_whitespace=True, extra="forbid",
        json_schema_extra={"examples": [
            {"to": "pc.jones"},
            {"to": "pc.jones", "cases": {"WM-2026-0007": "sgt.okafor"},
             "actions": {"412": "pc.ali"}},
        ]},
    )

    @field_validator("cases")
    @classmethod
    def _upper_refs(cls, value: dict[str, str]) -> dict[str, str]:
        return {ref.strip().upper(): name for ref, name in value.items()}


class OpenCase(BaseModel):
    ref: str
    title: str
    stage: Stage
    borough: str
    borough_name: str
    version: int


class OpenAction(BaseModel):
    id: int
    title: str
    status: ActionStatus
    due_date: date | None
    case_ref: str
    follows_case: bool = Field(description="The action's case is one of the person's open "
                                           "cases: by default it goes with the case")


class OpenWork(BaseModel):
    person: PersonRead
    active: bool
    cases: list[OpenCase]
    actions: list[OpenAction]
    total_cases: int
    total_actions: int
    elsewhere: int = Field(description="Open cases and actions of the person in areas the "
                                       "reader does not see (counted, not listed)")


class RecipientShare(BaseModel):
    username: str
    display_name: str
    cases: list[str] = Field(description="The references of the cases they now own")
    actions: list[int] = Field(description="The ids of the actions they now carry")


class HandoverResult(BaseModel):
    handover: str = Field(description="The hand-over's id (in the access log and timelines)")
    dry_run: bool
    person: PersonRead
    by: PersonRead
    at: datetime
    cases: int
    actions: int
    refs: list[str] = Field(description="Every case touched: owned, or holding an action moved")
    recipients: list[RecipientShare]


class DepartedOwner(BaseModel):
    """A deactivated account that still holds open work, until a supervisor hands it over."""

    username: str
    display_name: str
    cases: int = Field(description="Open cases they own, in the queue's areas")
    actions: int = Field(description="Open actions assigned to them, in the queue's areas")
    link: str = Field(description="The page where their work is handed over")
