"""A case's patrol log and operational outputs over JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from app.api.cases import CONFLICT, ItemId, Ref
from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES
from app.cases import service as cases
from app.clock import today
from app.operations.allocation import comparison_of
from app.patrols import service
from app.patrols.models import Patrol
from app.patrols.schemas import (
    OutputCorrection,
    OutputRead,
    OutputsCreate,
    OutputsRead,
    PatrolCreate,
    PatrolLog,
    PatrolRead,
    PatrolStart,
    PatrolUpdate,
)
from app.patrols.views import output_read, patrol_log, patrol_read, totals_of

router = APIRouter(prefix="/cases/{ref}", tags=["patrols and outputs"],
                   responses=ERROR_RESPONSES)
PatrolId = Annotated[int, Path(ge=1, le=2**31 - 1)]
RUNNING: dict[int | str, dict[str, Any]] = {409: {
    "description": "The case is closed, you already have a patrol running, or "
                   "the patrol has already ended"}}


def _read(db: Db, patrol: Patrol) -> PatrolRead:
    return patrol_read(patrol, comparison_of(db, patrol.case_id))


@router.get("/patrols", response_model=PatrolLog,
            summary="The patrol log: dosage by week against plan, visits against the band")
def read_patrols(actor: ApiActor, db: Db, ref: Ref) -> PatrolLog:
    """Weeks run Monday to Sunday (London time), newest first, from the first patrol's week.
    Hotspot-patrol research finds deterrence best for visits of 10 to 15 minutes."""
    case = cases.view_case(db, actor, ref)
    return patrol_log(service.case_patrols(db, case), case.planned_patrol_minutes, today(),
                      comparison_of(db, case.id))


@router.post("/patrols/start", response_model=PatrolRead, status_code=201,
             summary="Start a patrol now", responses=RUNNING)
def start_patrol(actor: ApiActor, db: Db, ref: Ref, data: PatrolStart) -> PatrolRead:
    return _read(db, service.start_patrol(db, actor, ref, data))


@router.post("/patrols/{patrol_id}/end", response_model=PatrolRead,
             summary="End a running patrol now", responses=RUNNING)
def end_patrol(actor: ApiActor, db: Db, ref: Ref, patrol_id: PatrolId) -> PatrolRead:
    return _read(db, service.end_patrol(db, actor, ref, patrol_id))


@router.delete("/patrols/{patrol_id}", status_code=204, responses=RUNNING,
               summary="Discard a running patrol started by mistake")
def discard_patrol(actor: ApiActor, db: Db, ref: Ref, patrol_id: PatrolId) -> Response:
    service.discard_patrol(db, actor, ref, patrol_id)
    return Response(status_code=204)


@router.post("/patrols", response_model=PatrolRead, status_code=201, responses=CONFLICT,
             summary="Record a patrol afterwards, with its times")
def add_patrol(actor: ApiActor, db: Db, ref: Ref, data: PatrolCreate) -> PatrolRead:
    """Times without a zone are London time; they are kept to the minute."""
    return _read(db, service.add_patrol(db, actor, ref, data))


@router.patch("/patrols/{patrol_id}", response_model=PatrolRead, responses=CONFLICT,
              summary="Correct a patrol (with the version last read)")
def correct_patrol(actor: ApiActor, db: Db, ref: Ref, patrol_id: PatrolId,
                   data: PatrolUpdate) -> PatrolRead:
    return _read(db, service.correct_patrol(db, actor, ref, patrol_id, data))


@router.get("/outputs", response_model=OutputsRead,
            summary="Outputs recorded on the case, with totals")
def read_outputs(actor: ApiActor, db: Db, ref: Ref) -> OutputsRead:
    """Every entry, newest first. A corrected entry stays listed (with `corrected_by`) and
    counts in no total."""
    case = cases.view_case(db, actor, ref)
    entries = service.case_outputs(db, case)
    return OutputsRead(totals=totals_of(entries),
                       entries=[output_read(e, by) for e, by in entries])


@router.post("/outputs", response_model=list[OutputRead], status_code=201, responses=CONFLICT,
             summary="Record outputs for a day (one entry per kind)")
def record_outputs(actor: ApiActor, db: Db, ref: Ref, data: OutputsCreate) -> list[OutputRead]:
    """Counts are whole numbers from 0 to 1,000; kinds counted 0 are left out, and at least
    one count must be above 0."""
    return [output_read(e, None) for e in service.record_outputs(db, actor, ref, data)]


@router.post("/outputs/{output_id}/corrections", response_model=OutputRead, status_code=201,
             responses=CONFLICT, summary="Correct an output entry (a new entry replaces it)")
def correct_output(actor: ApiActor, db: Db, ref: Ref, output_id: ItemId,
                   data: OutputCorrection) -> OutputRead:
    return output_read(service.correct_output(db, actor, ref, output_id, data), None)
