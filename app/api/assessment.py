"""Impact assessments of a case, its process record, and an operation's evaluation over JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.api.cases import CONFLICT, Ref
from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES
from app.assessment import service
from app.assessment.process import ProcessRecord, process_record
from app.assessment.schemas import (
    AssessmentProposal,
    AssessmentRequest,
    OperationEvaluation,
    SnapshotRead,
)
from app.assessment.views import evaluate_operation, snapshot_read
from app.cases import service as cases
from app.errors import NotFound

router = APIRouter(tags=["assessment"], responses=ERROR_RESPONSES)
Number = Annotated[int, Path(ge=1, le=2**31 - 1, description="The snapshot's number")]


@router.get("/cases/{ref}/assessments", response_model=list[SnapshotRead],
            summary="The case's saved impact assessments, newest first")
def list_assessments(actor: ApiActor, db: Db, ref: Ref) -> list[SnapshotRead]:
    case = cases.view_case(db, actor, ref)
    saved = service.snapshots(db, case)
    return [snapshot_read(s, saved[i + 1] if i + 1 < len(saved) else None)
            for i, s in enumerate(saved)]


@router.get("/cases/{ref}/assessments/proposal", response_model=AssessmentProposal,
            summary="Periods and areas to assess with, proposed from the response's start")
def propose(actor: ApiActor, db: Db, ref: Ref) -> AssessmentProposal:
    return service.propose(db, actor, ref)


@router.post("/cases/{ref}/assessments", response_model=SnapshotRead, status_code=201,
             responses=CONFLICT, summary="Compute the impact assessment and save it")
def run_assessment(actor: ApiActor, db: Db, ref: Ref, data: AssessmentRequest,
                   response: Response) -> SnapshotRead:
    """Counts the crimes of the chosen types in the target, buffer and control areas in each
    period, from the imported police.uk data, and saves every figure with its parameters and
    the import batches counted: later imports never change it."""
    snapshot = service.run_assessment(db, actor, ref, data)
    case = cases.view_case(db, actor, ref)
    saved = service.snapshots(db, case)
    response.headers["Location"] = f"/api/v1/cases/{case.ref}/assessments/{snapshot.number}"
    return snapshot_read(snapshot, saved[1] if len(saved) > 1 else None)


@router.get("/cases/{ref}/assessments/{number}", response_model=SnapshotRead,
            summary="One saved impact assessment")
def read_assessment(actor: ApiActor, db: Db, ref: Ref, number: Number) -> SnapshotRead:
    case = cases.view_case(db, actor, ref)
    saved = service.snapshots(db, case)
    for index, snapshot in enumerate(saved):
        if snapshot.number == number:
            return snapshot_read(snapshot, saved[index + 1] if index + 1 < len(saved) else None)
    raise NotFound(f"{case.ref} has no assessment {number}.")


@router.get("/cases/{ref}/process", response_model=ProcessRecord,
            summary="The process evaluation's facts: actions, patrols, outputs, concerns")
def read_process(actor: ApiActor, db: Db, ref: Ref) -> ProcessRecord:
    return process_record(db, cases.view_case(db, actor, ref))


@router.get("/operations/{operation_id}/evaluation", response_model=OperationEvaluation,
            tags=["operations and oversight"],
            summary="One row per hotspot case, and the pooled effect")
def operation_evaluation(actor: ApiActor, db: Db,
                         operation_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
                         ) -> OperationEvaluation:
    """Each of the operation's cases (that the token's user may read) with its latest saved
    assessment; the pooled effect (fixed and random effects); the design's level on the
    Maryland scale; and, when the operation's hotspots were randomised, the allocation and the
    patrolled against the comparison hotspots."""
    return evaluate_operation(db, actor, operation_id)
