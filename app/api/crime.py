"""Crime data over JSON: import batches, areas, the hotspot finder and a case's crime picture."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from app.api.cases import Ref
from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES
from app.audit.service import AuditAction, record_read
from app.auth.permissions import Perm, require
from app.cases.access import acting_user
from app.crime import hotspots, picture
from app.crime.models import Area, AreaKind, ImportBatch, ImportKind
from app.crime.queries import Period, batches_seen_by, month_value, no_data_reason
from app.errors import NotFound
from app.reference.codes import LOCAL_AUTHORITY_PATTERN

router = APIRouter(tags=["crime data"], responses=ERROR_RESPONSES)
Month = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", examples=["2024-01"],
                             description="A month, YYYY-MM")]


class ImportBatchRead(BaseModel):
    id: int
    kind: str | None
    force: str | None = Field(description="The force that published the file (police.uk id): "
                                          "its rows count for that force alone")
    months: list[str] = Field(description="The months the file holds rows of (YYYY-MM): "
                                          "present, for its force")
    source: str
    status: str
    message: str
    rows_read: int
    added: int
    already_present: int
    without_location: int
    rejected: int
    problems: list[dict[str, Any]]
    first_month: date | None
    last_month: date | None
    bytes_total: int
    bytes_done: int
    started_at: datetime
    finished_at: datetime | None
    actor: str


class ImportBatchList(BaseModel):
    items: list[ImportBatchRead]
    total: int


@router.get("/imports", response_model=ImportBatchList, summary="Import batches, newest first")
def list_imports(actor: ApiActor, db: Db, limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> ImportBatchList:
    user = acting_user(actor)
    require(user, Perm.CASE_READ)
    seen = batches_seen_by(user)
    total = db.scalar(select(func.count()).select_from(ImportBatch).where(seen)) or 0
    batches = db.scalars(select(ImportBatch).where(seen).order_by(ImportBatch.id.desc())
                         .limit(limit).offset(offset))
    return ImportBatchList(items=[_batch(b) for b in batches], total=total)


@router.get("/imports/{batch_id}", response_model=ImportBatchRead,
            summary="One import's report (and progress while it runs)")
def read_import(actor: ApiActor, db: Db,
                batch_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> ImportBatchRead:
    user = acting_user(actor)
    require(user, Perm.CASE_READ)
    batch = db.scalar(select(ImportBatch).where(ImportBatch.id == batch_id,
                                                batches_seen_by(user)))
    if batch is None:
        raise NotFound(f"There is no import {batch_id}.")
    return _batch(batch)


def _batch(batch: ImportBatch) -> ImportBatchRead:
    return ImportBatchRead.model_validate({
        **{c: getattr(batch, c) for c in ImportBatchRead.model_fields if c != "force"},
        "force": batch.force_id, "kind": batch.kind.value if batch.kind else None,
        "status": batch.status.value})


class AreaSummary(BaseModel):
    id: int
    kind: AreaKind = Field(description="borough (a local authority), ward, lsoa, force (a "
                                       "police force area) or other")
    code: str
    name: str
    name_welsh: str
    borough: str | None = Field(description="The local authority it lies in")
    force: str | None = Field(description="The force whose crime counts in it, where known")
    area_m2: float


class AreaRead(AreaSummary):
    geometry: dict[str, Any]


@router.get("/areas", response_model=list[AreaSummary], summary="Imported boundaries")
def list_areas(actor: ApiActor, db: Db, kind: AreaKind | None = None,
               borough: Annotated[str | None, Query(pattern=LOCAL_AUTHORITY_PATTERN)] = None,
               force: Annotated[str | None, Query(max_length=40)] = None,
               q: Annotated[str | None, Query(max_length=100)] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[AreaSummary]:
    require(acting_user(actor), Perm.CASE_READ)
    record_read(db, actor, AuditAction.AREA_LIST, object_type="area", details={
        "kind": kind.value if kind else None, "borough": borough, "force": force, "q": q})
    query = select(Area)
    if kind:
        query = query.where(Area.kind == kind)
    if borough:
        query = query.where(Area.borough_code == borough)
    if force:
        query = query.where(Area.force_id == force)
    if q:
        query = query.where(func.lower(Area.name).contains(q.strip().lower(), autoescape=True))
    return [_area_summary(a) for a in db.scalars(query.order_by(Area.name).limit(limit))]


@router.get("/areas/{area_id}", response_model=AreaRead, summary="One boundary, as GeoJSON")
def read_area(actor: ApiActor, db: Db,
              area_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> AreaRead:
    require(acting_user(actor), Perm.CASE_READ)
    area = db.get(Area, area_id)
    if area is None:
        raise NotFound(f"There is no area {area_id}.")
    record_read(db, actor, AuditAction.AREA_VIEW, object_type="area", object_ref=area.code)
    return AreaRead(**_area_summary(area).model_dump(), geometry=area.geometry)


def _area_summary(area: Area) -> AreaSummary:
    return AreaSummary(id=area.id, kind=area.kind, code=area.code, name=area.name,
                       name_welsh=area.name_welsh, borough=area.borough_code,
                       force=area.force_id, area_m2=area.area_m2)


class HotspotCellRead(BaseModel):
    rank: int
    col: int
    row: int
    count: int
    share: float | None
    z: float | None = Field(description="Gi* z-score of what the cells are ranked by (crimes, "
                                        "or harm)")
    p: float | None
    harm: float | None = Field(None, description="Ranked by harm: the cell's crimes weighed "
                                                 "by the table (sum of weight x crimes)")
    geometry: dict[str, Any]
    place: str | None = Field(
        None, description="The cell named by its crimes' police.uk locations: the most "
                          "frequent, with the next two (ties alphabetical), e.g. 'On or near "
                          "Cheapside, with Poultry and Bank'; 'Near LAT, LON' (its centre) when "
                          "none has a location. Given for the first max(20, top_k) cells, null "
                          "beyond them", examples=["On or near Cheapside, with Poultry and Bank"])


class HarmTableUsed(BaseModel):
    id: int
    name: str
    version: str
    source: str
    weights: dict[str, float] = Field(description="Weight per police.uk category")


class HotspotHarmRead(BaseModel):
    table: HarmTableUsed = Field(description="The force's harm-weight table in use, which the "
                                             "cells were ranked by")
    total: float = Field(description="The harm of every crime in the area")
    share_in_top: float | None = Field(description="Share of that harm in the top_k cells by "
                                                   "harm")
    pai: float | None = Field(description="That share over the top cells' share of the area "
                                          "(a harm PAI); withheld (null) with the crime PAI")


class HotspotWarning(BaseModel):
    code: str = Field(description="months_missing, no_crimes, few_crimes, pai_withheld, "
                                  "small_cells")
    message: str


class HotspotsRead(BaseModel):
    study_area: str
    study_code: str
    force: str = Field(description="The force whose crime was counted (police.uk id)")
    force_name: str
    first: date
    last: date
    categories: list[str]
    cell_m: int
    top_k: int
    study_cells: int
    study_area_m2: float
    crimes_total: int
    without_location: int = Field(description="The force's crimes of the period published "
                                              "without a location (in no area)")
    months_missing: list[date] = Field(description="Months of the period with none of the "
                                                   "force's data imported")
    share_in_top: float | None
    area_share_of_top: float | None
    pai: float | None = Field(description="null when not defined, or withheld under 20 "
                                          "located crimes (then a pai_withheld warning says "
                                          "so)")
    ranked_by: str = Field(description="crimes, or harm")
    harm: HotspotHarmRead | None = Field(description="Ranked by harm: the table used and the "
                                                     "harm the top cells hold; else null")
    cells: list[HotspotCellRead]
    warnings: list[HotspotWarning] = Field(description="What the numbers are too small (or "
                                                       "the data too incomplete) to support")


@router.get("/hotspots", response_model=HotspotsRead, summary="Find hotspots",
            description="Crimes counted on a square grid (British National Grid) over a "
                        "local policing area (`borough`) or an imported area (`area`), "
                        "counting only the crime of the force whose area it is, ranked, with "
                        "Getis-Ord Gi* z-scores "
                        "(binary queen weights, the cell included) and two-sided p-values, "
                        "the share of crime in the top cells and their Predictive Accuracy "
                        "Index, PAI = (n/N)/(a/A). Figures that cannot be computed are null. "
                        "Small numbers are said in `warnings` ({code, message}): fewer than 20 "
                        "located crimes (the PAI is then withheld), top cells with fewer than "
                        "5 crimes, months without the force's data. With `rank_by=harm` the "
                        "cells are ranked by harm, each crime weighed by the force's "
                        "harm-weight table in use (refused when it has none); the crime "
                        "figures (share_in_top, pai) stay those of the top cells by crime.")
def find_hotspots(
    actor: ApiActor, db: Db, first: Month, last: Month,
    borough: Annotated[str | None, Query(pattern=LOCAL_AUTHORITY_PATTERN,
                                         description="A local policing area's ONS code")] = None,
    area: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="An area id")] = None,
    force: Annotated[str | None, Query(max_length=40, description="The force whose crime to "
                                       "count, for an area in no force's local policing "
                                       "areas")] = None,
    category: Annotated[list[str] | None, Query(description="Repeat for several")] = None,
    cell_m: Annotated[int, Query(description="Cell size: 50, 100, 150, 200, 250, 300, "
                                             "400 or 500 metres")] = 250,
    top_k: Annotated[int, Query(ge=1, le=100)] = 10,
    rank_by: Annotated[Literal["crimes", "harm"], Query(
        description="Rank the cells by their crimes, or by harm (the force's harm-weight "
                    "table)")] = "crimes",
) -> HotspotsRead:
    query = hotspots.HotspotQuery(
        first=month_value(first, "first"), last=month_value(last, "last"), borough=borough,
        area_id=area, force=force,
        categories=tuple(category or ()), cell_m=cell_m, top_k=top_k, rank_by=rank_by)
    answer = hotspots.find(db, actor, query)
    return HotspotsRead(
        study_area=answer.study_name, study_code=answer.study_code, force=answer.force_id,
        force_name=answer.force_name, first=query.first,
        last=query.last, categories=list(query.categories), cell_m=query.cell_m,
        top_k=query.top_k, study_cells=answer.study_cells, study_area_m2=answer.study_area_m2,
        crimes_total=answer.crimes_total, without_location=answer.without_location,
        months_missing=answer.months_missing, share_in_top=answer.concentration_share,
        area_share_of_top=answer.top_area_share, pai=answer.pai, ranked_by=query.rank_by,
        harm=None if answer.harm is None else HotspotHarmRead(
            table=HarmTableUsed.model_validate(answer.harm.table), total=answer.harm.total,
            share_in_top=answer.harm.share, pai=answer.harm.pai),
        cells=[HotspotCellRead(**vars(c)) for c in answer.cells],
        warnings=[HotspotWarning(code=w.code, message=w.message) for w in answer.warnings])


class MonthCount(BaseModel):
    month: date
    count: int | None = Field(description="null when none of the force's data for the month "
                                          "is imported (no data is not zero crimes)")
    no_data_reason: str | None = Field(
        default=None, description="Why ``count`` is null (which data of which force is not "
                                  "imported for the month); null when it is not",
        examples=["No street-level crime of City of London Police is imported for Mar 2024."])


class LabelCount(BaseModel):
    label: str
    count: int


class CrimePictureRead(BaseModel):
    ref: str
    area_name: str
    area_m2: float
    force: str = Field(description="The force whose crime is counted: the case area's")
    first: date
    last: date
    categories: list[str]
    total: int
    monthly: list[MonthCount]
    by_category: list[LabelCount]
    by_outcome: list[LabelCount]
    stop_search_total: int | None = Field(description="null when none of the period's months "
                                                      "has the force's stop-and-search data")
    stop_search_months_missing: list[date]
    stop_search_no_data_reason: str | None = Field(
        description="Which months have none of the force's stop-and-search data imported (so "
                    "count in no stop-and-search figure); null when every month has it")
    stop_search_monthly: list[MonthCount] = Field(
        description="Searches in the area a month; null for a month without the force's "
                    "stop-and-search data")
    stop_search_by_object: list[LabelCount]
    stop_search_by_outcome: list[LabelCount]
    without_location: int
    months_missing: list[date]
    no_data_reason: str | None = Field(
        description="Which months of the period have none of the force's street-level crime "
                    "imported (null in ``monthly``, left out of every total); null when none")
    summary: str


@router.get("/cases/{ref}/crime-picture", response_model=CrimePictureRead | None,
            summary="Crime in a case's target area (null when no data is imported)",
            description="A figure without data behind it is null, never 0, with a "
                        "``no_data_reason`` beside it saying which data is not imported. A "
                        "period with none of the force's street-level crime is refused (422, "
                        "naming the months that have it); the whole answer is null while none "
                        "of the force's street-level crime is imported at all.")
def crime_picture(actor: ApiActor, db: Db, ref: Ref, first: Month | None = None,
                  last: Month | None = None,
                  category: Annotated[list[str] | None, Query()] = None
                  ) -> CrimePictureRead | None:
    period = (Period(month_value(first, "first"), month_value(last, "last"))
              if first and last else None)
    found = picture.crime_picture(db, actor, ref, period, category)
    if found is None:
        return None
    return CrimePictureRead(
        ref=found.ref, area_name=found.area_name, area_m2=found.area_m2, force=found.force_id,
        first=found.period.first, last=found.period.last, categories=found.categories,
        total=found.total, monthly=_months(found.monthly, found.force_name, ImportKind.STREET),
        by_category=[LabelCount(label=label, count=n) for _s, label, n in found.by_category],
        by_outcome=[LabelCount(label=label, count=n) for label, n in found.by_outcome],
        stop_search_total=found.stop_search.total,
        stop_search_months_missing=found.stop_search.months_missing,
        stop_search_no_data_reason=found.stop_search_no_data_reason,
        stop_search_monthly=_months(found.stop_search.monthly, found.force_name,
                                    ImportKind.STOP_SEARCH),
        stop_search_by_object=[LabelCount(label=label, count=n)
                               for label, n in found.stop_search.by_object],
        stop_search_by_outcome=[LabelCount(label=label, count=n)
                                for label, n in found.stop_search.by_outcome],
        without_location=found.without_location, months_missing=found.months_missing,
        no_data_reason=found.no_data_reason, summary=found.summary_text())


def _months(monthly: list[tuple[date, int | None]], force_name: str,
            kind: ImportKind) -> list[MonthCount]:
    return [MonthCount(month=month, count=count,
                       no_data_reason=no_data_reason(force_name, [month], kind)
                       if count is None else None) for month, count in monthly]

