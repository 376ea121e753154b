"""What the partner API accepts and answers; the pages validate their forms against the same
models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from app.cases.schemas import BoroughCode, Input
from app.sara.partners import AgencyKind, PartnerRole
from app.sara.responses import Partner

AgencyName = Annotated[str, Field(min_length=2, max_length=200,
                                  description="The agency's name, unique in its force",
                                  examples=["Westminster City Council"])]
Notes = Annotated[str, Field(max_length=5000, description="What the force knows of working "
                                                          "with the agency")]
PersonName = Annotated[str, Field(min_length=2, max_length=120,
                                  description="The contact's name (personal data)")]
JobTitle = Annotated[str, Field(max_length=120, description="Their role or job title",
                                examples=["ASB caseworker"])]
Phone = Annotated[str, StringConstraints(max_length=40, pattern=r"^$|^\+?[0-9 ()-]{6,40}$"),
                  Field(description="A telephone number: digits, spaces, brackets, hyphens "
                                    "and a leading +", examples=["020 7641 6000"])]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"),
                  Field(description="An e-mail address", examples=["asb@westminster.gov.uk"])]
ItemId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class AgencyCreate(Input):
    name: AgencyName
    kind: AgencyKind = Field(description="council, housing, transport, school, business, "
                                         "health, youth-service or charity")
    force: str | None = Field(None, max_length=40, description="The force's police.uk id; "
                              "default: your own force (an account without a force must "
                              "name one)")
    borough: BoroughCode | None = Field(None, description="The local policing area it serves, "
                                                          "if one (an area of its force)")
    notes: Notes = ""


class AgencyUpdate(Input):
    version: int = Field(ge=1, description="The version last read: a stale one answers 409")
    name: AgencyName | None = None
    kind: AgencyKind | None = None
    borough: BoroughCode | None = Field(None, description="null to clear")
    notes: Notes | None = None
    retired: bool | None = Field(None, description="true retires the agency: it stays on the "
                                 "cases and actions that name it but is no longer offered; "
                                 "false brings it back")


class ContactCreate(Input):
    name: PersonName
    job_title: JobTitle = ""
    phone: Phone = ""
    email: Email = ""


class ContactUpdate(Input):
    version: int = Field(ge=1)
    name: PersonName | None = None
    job_title: JobTitle | None = None
    phone: Phone | None = None
    email: Email | None = None
    retired: bool | None = Field(None, description="true retires the contact. A contact on no "
                                 "open case then has their name, phone and e-mail erased "
                                 "(the record stays as \"Former contact\")")


class ContactRead(BaseModel):
    id: int
    name: str = Field(description="\"Former contact\" once erased")
    job_title: str
    phone: str
    email: str
    retired: bool
    erased: bool = Field(description="Personal fields erased on retirement")
    version: int


class AgencyRead(BaseModel):
    id: int
    force: str = Field(description="The force's police.uk id")
    name: str
    kind: AgencyKind
    kind_label: str
    partner: Partner = Field(description="The kind an action led by this agency takes in its "
                                         "`partner` field")
    borough: str | None
    borough_name: str | None
    notes: str
    retired: bool
    version: int
    contacts: list[ContactRead] | None = Field(
        description="The agency's contacts; null for readers who do not see contact details "
                    "(evaluators)")


class AgencyList(BaseModel):
    items: list[AgencyRead]
    total: int


class CasePartnerCreate(Input):
    agency: ItemId = Field(description="The agency's id, from the case's force's directory")
    contact: ItemId | None = Field(None, description="A contact of that agency (id)")
    role: PartnerRole = Field(PartnerRole.MEMBER, description="lead, member or informed")


class CasePartnerUpdate(Input):
    version: int = Field(ge=1)
    contact: ItemId | None = Field(None, description="A contact of the agency; null to clear")
    role: PartnerRole | None = None


class CasePartnerContact(BaseModel):
    id: int
    name: str
    job_title: str
    phone: str
    email: str


class CasePartnerRead(BaseModel):
    id: int
    agency: int
    agency_name: str
    kind: AgencyKind
    kind_label: str
    role: PartnerRole
    role_label: str
    contact: CasePartnerContact | None = Field(
        description="The named contact, shown to the case's officers and supervisors")
    contact_job_title: str | None = Field(
        description="The contact's role, for readers who do not see the person (analysts, "
                    "evaluators)")
    contact_withheld: bool = Field(description="A contact is named but its details are not "
                                               "shown to this reader")
    added_at: datetime
    version: int
