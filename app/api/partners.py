"""Partner agencies over JSON: the force's directory (read by its case readers, changed by its
supervisors, analysts and admins) and the partners of a case."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES, ConflictBody
from app.cases.access import acting_user
from app.errors import Forbidden
from app.partners import directory, on_cases
from app.partners.schemas import (
    AgencyCreate,
    AgencyList,
    AgencyRead,
    AgencyUpdate,
    CasePartnerCreate,
    CasePartnerRead,
    CasePartnerUpdate,
    ContactCreate,
    ContactRead,
    ContactUpdate,
)
from app.partners.views import agency_read, case_partner_read, contact_read
from app.sara.partners import AgencyKind

router = APIRouter(prefix="/partners", tags=["partners"], responses=ERROR_RESPONSES)
case_router = APIRouter(prefix="/cases", tags=["partners"], responses=ERROR_RESPONSES)

ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Ref = Annotated[str, Path(min_length=3, max_length=20, examples=["WM-2026-0001"],
                          description="The case reference, e.g. WM-2026-0001")]
STALE: dict[int | str, dict[str, Any]] = {409: {"model": ConflictBody,
               "description": "The version given is stale, or the case is closed"}}


@router.get("", response_model=AgencyList, summary="List the partner directory")
def list_agencies(
    actor: ApiActor, db: Db,
    force: Annotated[str | None, Query(max_length=40, description="A force's police.uk id "
                                       "(only your own, unless your account has none)")] = None,
    kind: Annotated[AgencyKind | None, Query(description="Only agencies of this kind")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Words in the name")] = None,
    include_retired: Annotated[bool, Query(description="Also retired agencies")] = False,
) -> AgencyList:
    """The agencies of your force, by name. Contacts are listed for those who may see them
    (everyone but evaluators)."""
    user = acting_user(actor)
    found = directory.list_agencies(db, actor, force=force, kind=kind, q=q,
                                    include_retired=include_retired)
    return AgencyList(items=[agency_read(a, user) for a in found], total=len(found))


@router.post("", response_model=AgencyRead, status_code=status.HTTP_201_CREATED,
             summary="Add an agency to the directory")
def create_agency(actor: ApiActor, db: Db, data: AgencyCreate, response: Response) -> AgencyRead:
    agency = directory.create_agency(db, actor, data)
    response.headers["Location"] = f"/api/v1/partners/{agency.id}"
    return agency_read(agency, acting_user(actor))


@router.get("/{agency_id}", response_model=AgencyRead, summary="Read an agency")
def read_agency(actor: ApiActor, db: Db, agency_id: ItemId) -> AgencyRead:
    return agency_read(directory.view_agency(db, actor, agency_id), acting_user(actor))


@router.patch("/{agency_id}", response_model=AgencyRead, responses=STALE,
              summary="Change or retire an agency")
def update_agency(actor: ApiActor, db: Db, agency_id: ItemId, data: AgencyUpdate) -> AgencyRead:
    return agency_read(directory.update_agency(db, actor, agency_id, data), acting_user(actor))


@router.get("/{agency_id}/contacts", response_model=list[ContactRead],
            summary="An agency's contacts")
def list_contacts(actor: ApiActor, db: Db, agency_id: ItemId) -> list[ContactRead]:
    """Personal data: evaluators, who see agencies only, are refused (403)."""
    read = agency_read(directory.view_agency(db, actor, agency_id), acting_user(actor))
    if read.contacts is None:
        raise Forbidden("Your role does not see partner contacts' details.")
    return read.contacts


@router.post("/{agency_id}/contacts", response_model=ContactRead, status_code=201,
             summary="Add a contact to an agency")
def add_contact(actor: ApiActor, db: Db, agency_id: ItemId, data: ContactCreate) -> ContactRead:
    return contact_read(directory.add_contact(db, actor, agency_id, data))


@router.patch("/{agency_id}/contacts/{contact_id}", response_model=ContactRead,
              responses=STALE, summary="Change or retire a contact")
def update_contact(actor: ApiActor, db: Db, agency_id: ItemId, contact_id: ItemId,
                   data: ContactUpdate) -> ContactRead:
    """Retiring a contact who is on no open case erases their name, phone and e-mail."""
    return contact_read(directory.update_contact(db, actor, agency_id, contact_id, data))


@case_router.get("/{ref}/partners", response_model=list[CasePartnerRead],
                 summary="The case's partner agencies, leads first")
def list_case_partners(actor: ApiActor, db: Db, ref: Ref) -> list[CasePartnerRead]:
    """Contact details are shown to the case's officers and supervisors; analysts and
    evaluators see the agency, its role and the contact's job title."""
    _case, found = on_cases.view_case_partners(db, actor, ref)
    user = acting_user(actor)
    return [case_partner_read(p, user) for p in found]


@case_router.post("/{ref}/partners", response_model=CasePartnerRead, status_code=201,
                  responses=STALE, summary="Add a partner agency to the case")
def add_case_partner(actor: ApiActor, db: Db, ref: Ref,
                     data: CasePartnerCreate) -> CasePartnerRead:
    return case_partner_read(on_cases.add_case_partner(db, actor, ref, data), acting_user(actor))


@case_router.patch("/{ref}/partners/{partner_id}", response_model=CasePartnerRead,
                   responses=STALE, summary="Change a partner's role or contact")
def update_case_partner(actor: ApiActor, db: Db, ref: Ref, partner_id: ItemId,
                        data: CasePartnerUpdate) -> CasePartnerRead:
    partner = on_cases.update_case_partner(db, actor, ref, partner_id, data)
    return case_partner_read(partner, acting_user(actor))


@case_router.delete("/{ref}/partners/{partner_id}", status_code=204, responses=STALE,
                    summary="Remove a partner agency from the case")
def remove_case_partner(actor: ApiActor, db: Db, ref: Ref, partner_id: ItemId) -> Response:
    on_cases.remove_case_partner(db, actor, ref, partner_id)
    return Response(status_code=204)
