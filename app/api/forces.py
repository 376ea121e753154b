"""Forces, their local policing areas and wards over JSON (reference data, for any signed-in
script); a force's data coverage and its crime
counted by area; an admin's change of an area's reference prefix.

API v1 calls a local policing area a "borough": the ONS code of any local authority a force
covers (a London borough E09, a unitary authority E06, a district E07, a metropolitan district
E08, a Welsh principal area W06)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES
from app.auth.permissions import Perm, require
from app.cases.access import acting_user
from app.cases.schemas import Input
from app.crime import counts
from app.crime.models import ImportKind
from app.crime.queries import Period, month_value, present_months
from app.errors import NotFound
from app.reference import service
from app.reference.codes import LOCAL_AUTHORITY_PATTERN
from app.reference.models import Borough, Force
from app.reviews import service as reviews
from app.reviews.schemas import CadenceChange, CadenceRead

router = APIRouter(tags=["forces and areas"], responses=ERROR_RESPONSES)
ForceIdPath = Annotated[str, Path(max_length=40, pattern=r"^[a-z0-9-]+$",
                                  examples=["north-wales"], description="police.uk id")]
AreaCode = Annotated[str, Path(pattern=LOCAL_AUTHORITY_PATTERN,
                               examples=["E09000033", "W06000002"],
                               description="A local policing area's ONS code")]


class ForceRead(BaseModel):
    id: str = Field(description="police.uk id, as in its file names")
    name: str = Field(description="As the force's own files write it (\"Falls within\"), "
                                  "once one was imported; else the force area's name")
    area_name: str = Field(description="The ONS police force area")
    area_code: str | None
    local_areas: int = Field(description="Local policing areas set up here")


class AreaRead(BaseModel):
    code: str
    name: str
    name_welsh: str
    kind: str = Field(description="London borough, unitary authority, district, "
                                  "metropolitan district or principal area")
    force: str
    ref_prefix: str = Field(description="Case references of the area: PREFIX-YEAR-NUMBER")


class Coverage(BaseModel):
    """The months of each kind of the force's police.uk data imported here."""

    street: list[str]
    stop_and_search: list[str]
    outcomes: list[str]


class ForceDetail(ForceRead):
    areas: list[AreaRead]
    coverage: Coverage


class WardRead(BaseModel):
    code: str
    name: str
    name_welsh: str
    borough: str


class PrefixChange(Input):
    ref_prefix: str = Field(min_length=2, max_length=4, examples=["GW"],
                            description="2 to 4 capital letters")


def _force(force: Force, areas: int) -> ForceRead:
    return ForceRead(id=force.id, name=force.label, area_name=force.area_name,
                     area_code=force.area_code, local_areas=areas)


def _area(area: Borough) -> AreaRead:
    return AreaRead(code=area.code, name=area.name, name_welsh=area.name_welsh,
                    kind=area.kind_label, force=area.force_id, ref_prefix=area.ref_prefix)


@router.get("/forces", response_model=list[ForceRead],
            summary="The police forces of England and Wales")
def list_forces(actor: ApiActor, db: Db) -> list[ForceRead]:
    areas = dict((f.id, n) for f, n in service.forces_with_areas(db))
    return [_force(f, areas.get(f.id, 0)) for f in service.list_forces(db)]


@router.get("/forces/{force_id}", response_model=ForceDetail,
            summary="A force: its local policing areas and the data imported for it")
def read_force(actor: ApiActor, db: Db, force_id: ForceIdPath) -> ForceDetail:
    force = service.get_force(db, force_id)
    areas = service.list_boroughs(db, force.id)

    def months(kind: ImportKind) -> list[str]:
        return [f"{m:%Y-%m}" for m in sorted(present_months(db, force.id, kind))]

    return ForceDetail(**_force(force, len(areas)).model_dump(),
                       areas=[_area(a) for a in areas],
                       coverage=Coverage(street=months(ImportKind.STREET),
                                         stop_and_search=months(ImportKind.STOP_SEARCH),
                                         outcomes=months(ImportKind.OUTCOMES)))


class AreaCountRead(BaseModel):
    code: str = Field(description="Empty for the rows outside every area")
    name: str
    total: int = Field(description="Over the months with data (a month without is in no total)")
    monthly: list[int | None] = Field(description="One a month of the period; null when none "
                                                  "of the force's data for it is imported")


class ForceCountsRead(BaseModel):
    force: str
    first: date
    last: date
    categories: list[str]
    months: list[date]
    months_missing: list[date]
    no_data_reason: str | None = Field(
        description="Which months have none of the force's street-level crime imported: "
                    "null in every ``monthly``, left out of every total; null when none",
        examples=["No street-level crime of North Wales Police is imported for May 2024."])
    areas: list[AreaCountRead]
    areas_without_boundary: list[str]
    outside_areas: AreaCountRead
    without_location: int
    rows: int = Field(description="Every row of the force in the period: the areas, the rows "
                                  "outside them and those without a location add up to it")


@router.get("/forces/{force_id}/crime-counts", response_model=ForceCountsRead,
            summary="A force's street-level crime counted by local policing area")
def crime_counts(
    actor: ApiActor, db: Db, force_id: ForceIdPath,
    first: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", examples=["2024-01"])] = None,
    last: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", examples=["2024-04"])] = None,
    category: Annotated[list[str] | None, Query(description="Repeat for several")] = None,
) -> ForceCountsRead:
    """Each located crime of the force counted in the local policing area whose boundary holds
    it; rows the force published outside its areas, and rows without a location, beside them.
    The period defaults to every month of the force's data; a period with none of it is
    refused (422), as its counts would all be no data."""
    period = Period(month_value(first, "first"), month_value(last, "last")) \
        if first and last else None
    found = counts.force_counts(db, actor, force_id, period, category)

    def read(area: counts.AreaCounts) -> AreaCountRead:
        return AreaCountRead(code=area.code, name=area.name, total=area.total,
                             monthly=area.monthly)

    return ForceCountsRead(
        force=found.force.id, first=found.period.first, last=found.period.last,
        categories=found.categories, months=found.months, months_missing=found.months_missing,
        no_data_reason=found.no_data_reason,
        areas=[read(a) for a in found.areas], areas_without_boundary=found.unbounded,
        outside_areas=read(found.outside), without_location=found.without_location,
        rows=found.rows)


@router.get("/forces/{force_id}/review-cadence", response_model=CadenceRead,
            summary="Days between supervisory reviews, by case priority")
def read_review_cadence(actor: ApiActor, db: Db, force_id: ForceIdPath) -> CadenceRead:
    """The force's own table, or the defaults (high 14, medium 28, low 56 days) where it has
    set none."""
    return reviews.read_cadence(db, actor, force_id)


@router.put("/forces/{force_id}/review-cadence", response_model=CadenceRead,
            summary="Set the force's review cadence (admin)")
def change_review_cadence(actor: ApiActor, db: Db, force_id: ForceIdPath,
                          data: CadenceChange) -> CadenceRead:
    """Each value from 1 to 365 days. An admin of another force is refused (403). Open cases
    keep the dates they have: the new cadence counts from their next review, reopening or
    change of priority."""
    return reviews.change_cadence(db, actor, force_id, data)


@router.get("/boroughs", response_model=list[AreaRead],
            summary="Local policing areas (API v1: boroughs)")
def list_areas(actor: ApiActor, db: Db,
               force: Annotated[str | None, Query(max_length=40,
                                                  description="Only this force's")] = None
               ) -> list[AreaRead]:
    return [_area(a) for a in service.list_boroughs(db, force)]


@router.patch("/boroughs/{code}", response_model=AreaRead,
              summary="Change an area's case reference prefix (admin)")
def change_prefix(actor: ApiActor, db: Db, code: AreaCode, data: PrefixChange) -> AreaRead:
    """New cases of the area take the new prefix; existing references never change."""
    require(acting_user(actor), Perm.FORCE_MANAGE)
    return _area(service.change_prefix(db, actor, code, data.ref_prefix))


@router.get("/boroughs/{code}/wards", response_model=list[WardRead],
            summary="The wards of a local policing area")
def wards(actor: ApiActor, db: Db, code: AreaCode) -> list[WardRead]:
    if service.get_borough(db, code) is None:
        raise NotFound(f"There is no local policing area {code}.")
    return [WardRead(code=w.code, name=w.name, name_welsh=w.name_welsh,
                     borough=w.borough_code) for w in service.list_wards(db, code)]
