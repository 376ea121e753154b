"""The supervisors' work queue and gate-override reviews over JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES
from app.oversight import service
from app.oversight.schemas import OverrideReview, QueueQuery, ReviewRead, WorkQueue
from app.validation import validate

router = APIRouter(tags=["operations and oversight"], responses=ERROR_RESPONSES)


@router.get("/queue", response_model=WorkQueue, summary="A local policing area's work queue")
def work_queue(
    actor: ApiActor, db: Db,
    borough: Annotated[str | None, Query(description="A local policing area's ONS code; "
                                                     "default: the token user's home area "
                                                     "(every area they see, without one)")]
    = None,
    operation: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    idle_days: Annotated[int, Query(ge=1, le=3650, description="No activity for this many "
                                                               "days")] = 28,
    stuck_days: Annotated[int, Query(ge=1, le=3650, description="In the same stage for this "
                                                                "many days")] = 60,
) -> WorkQueue:
    """Overdue supervisory reviews (first: they lead the queue), reviews due within 7 days,
    overdue actions, cases with no activity, cases stuck in a stage, and gate overrides
    not yet reviewed. Each list holds at most 200 items; `total` is exact."""
    return service.work_queue(db, actor, validate(QueueQuery, {
        "borough": borough, "operation": operation, "idle_days": idle_days,
        "stuck_days": stuck_days}))


@router.post("/overrides/{event_id}/review", response_model=ReviewRead,
             summary="Mark a gate override as reviewed",
             responses={409: {"description": "Already reviewed"}})
def review_override(actor: ApiActor, db: Db,
                    event_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                    data: OverrideReview) -> ReviewRead:
    event = service.review_override(db, actor, event_id, data)
    assert event.reviewed_at is not None and event.reviewed_by is not None
    return ReviewRead(event_id=event.id, ref=event.case.ref, reviewed_at=event.reviewed_at,
                      reviewed_by=event.reviewed_by.username, note=event.review_note)
