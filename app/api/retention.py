"""Retention under MoPI over JSON: a force's retention periods, the retention queue, and the
retention review of a closed case (retain or dispose)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES, ConflictBody
from app.attachments.http import store_of
from app.cases.access import normalise_ref
from app.retention import service
from app.retention.schemas import (
    CaseRetentionRead,
    PeriodsChange,
    PeriodsRead,
    QueueQuery,
    QueueRead,
    RetentionReviewCreate,
    RetentionReviewRead,
)
from app.sara.retention import Due
from app.validation import validate

router = APIRouter(tags=["retention"], responses=ERROR_RESPONSES)
ForceIdPath = Annotated[str, Path(max_length=40, pattern=r"^[a-z0-9-]+$",
                                  examples=["north-wales"], description="police.uk id")]
Ref = Annotated[str, Path(min_length=3, max_length=20, examples=["WM-2026-0001"])]


@router.get("/forces/{force_id}/retention-periods", response_model=PeriodsRead,
            summary="A force's retention periods: months after closing, by category")
def read_periods(actor: ApiActor, db: Db, force_id: ForceIdPath) -> PeriodsRead:
    return service.read_periods(db, actor, force_id)


@router.put("/forces/{force_id}/retention-periods", response_model=PeriodsRead,
            summary="Set a force's retention periods (its administrators)")
def change_periods(actor: ApiActor, db: Db, force_id: ForceIdPath,
                   data: PeriodsChange) -> PeriodsRead:
    """Categories left out keep their period. Closed cases keep their review dates."""
    return service.change_periods(db, actor, force_id, data)


@router.get("/retention/queue", response_model=QueueRead,
            summary="Closed cases awaiting a retention review, the most overdue first")
def retention_queue(
    actor: ApiActor, db: Db,
    force: Annotated[str | None, Query(max_length=40, description="police.uk id")] = None,
    borough: Annotated[str | None, Query(max_length=9, description="ONS code")] = None,
    due: Annotated[Due, Query(description="overdue; soon (within 30 days, overdue "
                                          "included); all")] = Due.SOON,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> QueueRead:
    """For supervisors (their area) and administrators (their force)."""
    return service.retention_queue(db, actor, validate(QueueQuery, {
        "force": force, "borough": borough, "due": due, "limit": limit, "offset": offset}))


@router.get("/cases/{ref}/retention", response_model=CaseRetentionRead,
            summary="A case's retention record: review date, reviews, exports made")
def case_retention(actor: ApiActor, db: Db, ref: Ref) -> CaseRetentionRead:
    return service.view_case_retention(db, actor, ref)


@router.post("/cases/{ref}/retention/reviews", response_model=RetentionReviewRead,
             status_code=201, summary="Review a closed case: retain or dispose",
             responses={409: {"model": ConflictBody,
                              "description": "The case is open, or already disposed of"}})
def review_case(request: Request, actor: ApiActor, db: Db, ref: Ref,
                data: RetentionReviewCreate) -> RetentionReviewRead:
    """``retain`` with a reason and ``next_review_on`` (after today); ``dispose`` with a
    reason erases the case's personal data (concern reporters and contacts, names in its text
    by the redaction rules, attachments' originals), keeps its figures, and writes the disposal
    record and its access-log entry."""
    review = service.review_case(db, actor, ref, data, store_of(request))
    return service.review_read(review, normalise_ref(ref))
