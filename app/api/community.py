"""Community concerns over JSON: record, the triage queue, triage, "you said, we did"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.api.cases import CONFLICT
from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES
from app.cases.access import acting_user
from app.community import service
from app.community.schemas import (
    ConcernAnswer,
    ConcernCreate,
    ConcernFilters,
    ConcernList,
    ConcernRead,
    ConcernStatus,
    ConcernTriage,
)
from app.community.views import concern_read
from app.validation import validate

router = APIRouter(prefix="/concerns", tags=["community"], responses=ERROR_RESPONSES)
ConcernId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("", response_model=ConcernList, summary="Community concerns and the triage queue")
def list_concerns(
    actor: ApiActor, db: Db,
    borough: Annotated[str | None, Query(description="A local policing area's ONS code, e.g. "
                                                     "E09000033 or W06000002")] = None,
    status_: Annotated[ConcernStatus | None, Query(
        alias="status", description="`awaiting` (the triage queue, oldest first), `linked`, "
                                    "`new_case`, `not_police`, `answered` or `unanswered`")
    ] = None,
    case: Annotated[str | None, Query(description="A case's reference")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ConcernList:
    filters = validate(ConcernFilters, {"borough": borough, "status": status_, "case": case,
                                        "limit": limit, "offset": offset})
    rows, total = service.list_concerns(db, actor, filters)
    user = acting_user(actor)
    return ConcernList(items=[concern_read(c, user) for c in rows], total=total, limit=limit,
                       offset=offset)


@router.post("", response_model=ConcernRead, status_code=status.HTTP_201_CREATED,
             summary="Record a community concern")
def record_concern(actor: ApiActor, db: Db, data: ConcernCreate,
                   response: Response) -> ConcernRead:
    concern = service.record_concern(db, actor, data)
    response.headers["Location"] = f"/api/v1/concerns/{concern.id}"
    return concern_read(concern, acting_user(actor))


@router.get("/{concern_id}", response_model=ConcernRead, summary="Read a concern")
def read_concern(actor: ApiActor, db: Db, concern_id: ConcernId) -> ConcernRead:
    return concern_read(service.view_concern(db, actor, concern_id), acting_user(actor))


@router.post("/{concern_id}/triage", response_model=ConcernRead, responses=CONFLICT,
             summary="Triage a concern: link it, open a case from it, or close it")
def triage_concern(actor: ApiActor, db: Db, concern_id: ConcernId,
                   data: ConcernTriage) -> ConcernRead:
    """A concern is triaged once. `new_case` opens a Scanning case in the concern's area and
    ward, with the concern as its problem statement."""
    concern = service.triage_concern(db, actor, concern_id, data)
    return concern_read(concern, acting_user(actor))


@router.put("/{concern_id}/answer", response_model=ConcernRead, responses=CONFLICT,
            summary="Say what was done about it (\"you said, we did\")")
def answer_concern(actor: ApiActor, db: Db, concern_id: ConcernId,
                   data: ConcernAnswer) -> ConcernRead:
    return concern_read(service.answer_concern(db, actor, concern_id, data),
                        acting_user(actor))
