"""Operations over JSON: set them up, read them, and their figures."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.api.cases import CONFLICT
from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES
from app.assessment.schemas import AllocationRead
from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.errors import NotFound
from app.operations import allocation, service
from app.operations.models import Operation
from app.operations.schemas import (
    AllocationCreate,
    CellCandidatesCreate,
    CellCandidatesRead,
    OperationCreate,
    OperationFilters,
    OperationRead,
    OperationUpdate,
)
from app.oversight import service as oversight
from app.oversight.schemas import StatsQuery, Summary
from app.sara.stages import Stage
from app.validation import validate

router = APIRouter(tags=["operations and oversight"], responses=ERROR_RESPONSES)
OperationId = Annotated[int, Path(ge=1, le=2**31 - 1)]
BoroughFilter = Annotated[str | None, Query(description="A local policing area's ONS code, "
                                                       "e.g. E09000033 or W06000002")]
ForceFilter = Annotated[str | None, Query(description="Only this force's (police.uk id, e.g. "
                                                      "north-wales)")]
StageFilter = Annotated[list[Stage] | None, Query(description="Repeat for several stages")]
From = Annotated[date | None, Query(alias="from", description="First day of the period "
                                    "(default: the operation's start, or 1 April)")]
To = Annotated[date | None, Query(alias="to", description="Last day of the period (default: "
                                  "today)")]


def operation_read(operation: Operation, cases: int, actor: Actor) -> OperationRead:
    return OperationRead(
        id=operation.id, name=operation.name, description=operation.description,
        unit=operation.unit, force=operation.force_id, force_name=operation.force.label,
        borough=operation.borough_code,
        borough_name=operation.borough.label if operation.borough else None,
        can_change=service.may_change(actor.user, operation),
        start_date=operation.start_date, end_date=operation.end_date,
        cases=cases, created_at=operation.created_at, updated_at=operation.updated_at,
        version=operation.version)


@router.get("/operations", response_model=list[OperationRead], summary="Operations")
def list_operations(actor: ApiActor, db: Db,
                    borough: Annotated[str | None, Query(
                        description="Only the operations this local policing area runs (ONS "
                                    "code)")] = None,
                    force: ForceFilter = None) -> list[OperationRead]:
    """The operations the token's user may read: those of the areas whose cases they read,
    and their force's force-wide ones."""
    query = validate(OperationFilters, {"borough": borough, "force": force})
    rows = service.list_operations(db, actor, borough=query.borough, force=query.force)
    found = [operation_read(o, n, actor) for o, n in rows]
    record_read(db, actor, AuditAction.OPERATION_LIST, object_type="operations",
                details={"borough": query.borough, "force": query.force, "count": len(found)})
    return found


@router.post("/operations", response_model=OperationRead, status_code=status.HTTP_201_CREATED,
             summary="Set up an operation")
def create_operation(actor: ApiActor, db: Db, data: OperationCreate,
                     response: Response) -> OperationRead:
    """Cases join it with `PATCH /api/v1/cases/{ref}` and `{"operation": ID}`."""
    operation = service.create_operation(db, actor, data)
    response.headers["Location"] = f"/api/v1/operations/{operation.id}"
    return operation_read(operation, 0, actor)


@router.get("/operations/{operation_id}", response_model=OperationRead,
            summary="Read an operation")
def read_operation(actor: ApiActor, db: Db, operation_id: OperationId) -> OperationRead:
    operation = service.get_operation(db, actor, operation_id)
    found = operation_read(operation, service.visible_case_count(db, actor, operation), actor)
    record_read(db, actor, AuditAction.OPERATION_VIEW, object_type="operation",
                object_ref=str(operation.id))
    return found


@router.patch("/operations/{operation_id}", response_model=OperationRead, responses=CONFLICT,
              summary="Change an operation (with the version last read)")
def update_operation(actor: ApiActor, db: Db, operation_id: OperationId,
                     data: OperationUpdate) -> OperationRead:
    operation = service.update_operation(db, actor, operation_id, data)
    return operation_read(operation, service.visible_case_count(db, actor, operation),
                          actor)


@router.get("/operations/{operation_id}/summary", response_model=Summary,
            summary="An operation's figures, as on its dashboard page")
def operation_summary(actor: ApiActor, db: Db, operation_id: OperationId,
                      borough: BoroughFilter = None, stage: StageFilter = None,
                      first: From = None, last: To = None) -> Summary:
    """Cases by stage and local policing area, every output since the start (and by month),
    patrol hours against plan, community concerns received and answered: over the operation's
    cases that the token's user may see."""
    return oversight.summary(db, actor, validate(StatsQuery, {
        "operation": operation_id, "borough": borough, "stage": stage or [], "from": first,
        "to": last}))


@router.get("/stats", response_model=Summary, summary="Figures over any set of cases")
def stats(actor: ApiActor, db: Db, borough: BoroughFilter = None, force: ForceFilter = None,
          stage: StageFilter = None, first: From = None, last: To = None,
          operation: Annotated[int | None, Query(ge=1, le=2**31 - 1,
                                                 description="An operation's id")] = None
          ) -> Summary:
    """The same figures as the dashboard page for the same filters, over the cases the
    token's user may see."""
    return oversight.summary(db, actor, validate(StatsQuery, {
        "operation": operation, "borough": borough, "force": force, "stage": stage or [],
        "from": first, "to": last}))


@router.post("/operations/{operation_id}/allocation", response_model=AllocationRead,
             status_code=status.HTTP_201_CREATED, responses=CONFLICT,
             summary="Randomise the operation's hotspots to patrols or comparison")
def make_allocation(actor: ApiActor, db: Db, operation_id: OperationId,
                    data: AllocationCreate, response: Response) -> AllocationRead:
    """The candidate cases are sorted by their crime in the baseline months, cut into matched
    pairs (or blocks), and each pair or block is split at random between patrols and
    comparison ("no extra patrols"). The seed, the method and who ran it are recorded. An
    allocation is made once: a second one is refused (409), and nothing changes it."""
    operation = service.get_operation(db, actor, operation_id)
    allocation.make_allocation(db, actor, operation_id, data)
    response.headers["Location"] = f"/api/v1/operations/{operation_id}/allocation"
    made = allocation.allocation_read(db, actor, operation)
    assert made is not None
    return made


@router.post("/operations/{operation_id}/allocation/cells", response_model=CellCandidatesRead,
             status_code=status.HTTP_201_CREATED, responses=CONFLICT,
             summary="Open a hotspot search's top cells as the operation's candidate hotspots")
def open_cell_candidates(actor: ApiActor, db: Db, operation_id: OperationId,
                         data: CellCandidatesCreate) -> CellCandidatesRead:
    """Cells as candidates for the randomised allocation: the search (as `GET /hotspots`)
    over an area of the operation's force, and its `top` cells, best first, each opened as a
    Scanning case of the operation the way "Open a case here" opens one (the category
    searched for when one, else the cell's commonest; the cell's crimes as evidence). Cells
    already a case of the operation are passed over. All the cases or none; refused (409)
    once the operation is randomised."""
    opened, skipped = allocation.open_cell_candidates(db, actor, operation_id, data)
    return CellCandidatesRead(cases=[case.ref for case in opened], skipped=skipped)


@router.get("/operations/{operation_id}/allocation", response_model=AllocationRead,
            summary="The operation's randomised allocation, and the groups compared")
def read_allocation(actor: ApiActor, db: Db, operation_id: OperationId) -> AllocationRead:
    operation = service.get_operation(db, actor, operation_id)
    found = allocation.allocation_read(db, actor, operation)
    if found is None:
        raise NotFound(f"{operation.name}'s hotspots have not been randomised.")
    record_read(db, actor, AuditAction.ALLOCATION_VIEW, object_type="operation",
                object_ref=str(operation.id))
    return found
