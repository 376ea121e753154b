"""Cases over JSON: the supervisors' and analysts' interface to the same services as the pages."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response, status

from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES, ConflictBody, GateUnmetBody
from app.cases import content, moves, service
from app.cases.access import normalise_ref
from app.cases.schemas import (
    ActionCreate,
    ActionRead,
    ActionUpdate,
    CaseCreate,
    CaseFilters,
    CaseList,
    CaseRead,
    CaseSummary,
    CaseUpdate,
    CategorySlug,
    Gate,
    HypothesisCreate,
    HypothesisRead,
    HypothesisUpdate,
    NoteCreate,
    SortKey,
    TimelineEntry,
    TransitionRequest,
)
from app.cases.service import CaseRow
from app.cases.views import action_read, case_read, gate_read, timeline_entry
from app.clock import today
from app.reviews import service as reviews
from app.reviews.schemas import ReviewCreate, ReviewRead
from app.sara.reviews import is_review_overdue
from app.sara.stages import Stage
from app.validation import validate

router = APIRouter(prefix="/cases", tags=["cases"], responses=ERROR_RESPONSES)

Ref = Annotated[str, Path(min_length=3, max_length=20, examples=["WM-2026-0001"],
                          description="The case reference, e.g. WM-2026-0001")]
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": ConflictBody,
                  "description": "The case is closed, or the version given is stale"}}


def summary(row: CaseRow) -> CaseSummary:
    case = row.case
    return CaseSummary(
        ref=case.ref, title=case.title, stage=case.stage, category=case.category,
        priority=case.priority, borough=case.borough_code, borough_name=case.borough.name,
        force=case.borough.force_id, ward=case.ward_code,
        ward_name=case.ward.name if case.ward else None,
        operation=case.operation_id,
        operation_name=case.operation.name if case.operation else None,
        owner=case.owner.username if case.owner else None,
        owner_name=case.owner.display_name if case.owner else None,
        overdue_actions=row.overdue_actions, next_review_on=case.next_review_on,
        review_overdue=is_review_overdue(case.next_review_on, today()),
        created_at=case.created_at,
        updated_at=case.updated_at, version=case.version,
        match=str(row.match) if row.match is not None else None,
    )


@router.get("", response_model=CaseList, summary="List and filter cases")
def list_cases(
    actor: ApiActor, db: Db,
    stage: Annotated[list[Stage] | None, Query(description="Repeat for several stages")] = None,
    borough: Annotated[str | None, Query(description="A local policing area's ONS code, e.g. "
                                                     "E09000033 or W06000002")] = None,
    force: Annotated[str | None, Query(description="Only the cases of this force's areas "
                                                   "(police.uk id, e.g. north-wales)")] = None,
    ward: Annotated[str | None, Query(description="ONS ward code, e.g. E05013794")] = None,
    owner: Annotated[str | None, Query(description="Owner's username")] = None,
    category: Annotated[CategorySlug | None,
                        Query(description="police.uk category slug")] = None,
    overdue: Annotated[bool | None, Query(description="Only cases with (true) or without "
                                                      "(false) overdue actions")] = None,
    review: Annotated[Literal["overdue", "due"] | None,
                      Query(description="overdue: cases whose supervisory review is overdue; "
                                        "due: due within the next 7 days")] = None,
    operation: Annotated[int | None, Query(ge=1, le=2**31 - 1,
                                           description="Only the cases of this operation "
                                                       "(its id)")] = None,
    q: Annotated[str | None, Query(description="Words to find in a case's title, problem "
                                               "statement, notes, hypotheses, actions, CHEERS "
                                               "evidence, analysis triangle and concerns "
                                               "answered, or its reference (full-text: "
                                               "stemmed English words, all of them must "
                                               "match)")] = None,
    sort: Annotated[SortKey | None, Query(
        description="relevance (the best match first; the default with q), updated (the "
                    "default without q), created, ref, priority, stage or title; prefix '-' "
                    "for descending")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> CaseList:
    """Only cases the token's user may read are ever listed. Ordering is stable: ties on the
    sort key are broken by creation order."""
    filters = validate(CaseFilters, {
        "stage": stage or [], "borough": borough, "force": force, "ward": ward, "owner": owner,
        "category": category, "overdue": overdue, "review": review, "operation": operation,
        "q": q, "sort": sort, "limit": limit, "offset": offset,
    })
    rows, total = service.list_cases(db, actor, filters)
    return CaseList(items=[summary(r) for r in rows], total=total, limit=limit, offset=offset)


@router.post("", response_model=CaseRead, status_code=status.HTTP_201_CREATED,
             summary="Open a case in Scanning")
def create_case(actor: ApiActor, db: Db, data: CaseCreate, response: Response) -> CaseRead:
    case = service.create_case(db, actor, data)
    response.headers["Location"] = f"/api/v1/cases/{case.ref}"
    return case_read(case, today())


@router.get("/{ref}", response_model=CaseRead, summary="Read a case")
def read_case(actor: ApiActor, db: Db, ref: Ref) -> CaseRead:
    return case_read(service.view_case(db, actor, ref), today())


@router.patch("/{ref}", response_model=CaseRead, responses=CONFLICT,
              summary="Change a case (partial update with the version last read)")
def update_case(actor: ApiActor, db: Db, ref: Ref, data: CaseUpdate) -> CaseRead:
    """Only the fields present change. A `version` other than the case's current one answers
    409: read the case again, merge, and send the new version."""
    return case_read(service.update_case(db, actor, ref, data), today())


@router.get("/{ref}/gate", response_model=Gate, summary="What is missing to leave the stage")
def read_gate(actor: ApiActor, db: Db, ref: Ref) -> Gate:
    return gate_read(service.view_case(db, actor, ref))


@router.post(
    "/{ref}/transitions", response_model=CaseRead, summary="Move a case to another stage",
    responses={409: {"model": GateUnmetBody | ConflictBody,
                     "description": "The gate of the stage being left is not met "
                                    "(`gate_unmet`: `unmet` lists what is missing), or the "
                                    "move is not allowed (`move_refused`)"}},
)
def transition(actor: ApiActor, db: Db, ref: Ref, data: TransitionRequest) -> CaseRead:
    """Forward one stage at a time through the gate of the stage being left; back to any
    earlier stage with a `reason`. A supervisor may `override` a failed gate with a `reason`,
    close a case (to `closed`) and reopen a closed one."""
    return case_read(moves.move_case(db, actor, ref, data), today())


@router.get("/{ref}/timeline", response_model=list[TimelineEntry],
            summary="Notes, significant edits and stage moves, newest first")
def read_timeline(actor: ApiActor, db: Db, ref: Ref) -> list[TimelineEntry]:
    case = service.view_case(db, actor, ref)
    return [timeline_entry(e) for e in service.timeline(db, case)]


@router.post("/{ref}/notes", response_model=TimelineEntry, status_code=201,
             summary="Add a note to the timeline")
def add_note(actor: ApiActor, db: Db, ref: Ref, data: NoteCreate) -> TimelineEntry:
    return timeline_entry(content.add_note(db, actor, ref, data))


@router.post("/{ref}/hypotheses", response_model=HypothesisRead, status_code=201,
             summary="Add a hypothesis", responses=CONFLICT)
def add_hypothesis(actor: ApiActor, db: Db, ref: Ref, data: HypothesisCreate) -> HypothesisRead:
    return HypothesisRead.model_validate(content.add_hypothesis(db, actor, ref, data),
                                         from_attributes=True)


@router.patch("/{ref}/hypotheses/{hypothesis_id}", response_model=HypothesisRead,
              responses=CONFLICT, summary="Change a hypothesis")
def update_hypothesis(actor: ApiActor, db: Db, ref: Ref, hypothesis_id: ItemId,
                      data: HypothesisUpdate) -> HypothesisRead:
    hypothesis = content.update_hypothesis(db, actor, ref, hypothesis_id, data)
    return HypothesisRead.model_validate(hypothesis, from_attributes=True)


@router.post("/{ref}/actions", response_model=ActionRead, status_code=201,
             summary="Add an action to the response plan", responses=CONFLICT)
def add_action(actor: ApiActor, db: Db, ref: Ref, data: ActionCreate) -> ActionRead:
    return action_read(content.add_action(db, actor, ref, data), today())


@router.patch("/{ref}/actions/{action_id}", response_model=ActionRead, responses=CONFLICT,
              summary="Change an action (status, owner, due date, ...)")
def update_action(actor: ApiActor, db: Db, ref: Ref, action_id: ItemId,
                  data: ActionUpdate) -> ActionRead:
    return action_read(content.update_action(db, actor, ref, action_id, data), today())


@router.post("/{ref}/reviews", response_model=ReviewRead, status_code=201,
             summary="Record a supervisory review of the case",
             responses={409: {"model": ConflictBody, "description": "The case is closed"}})
def record_review(actor: ApiActor, db: Db, ref: Ref, data: ReviewCreate) -> ReviewRead:
    """A supervisor of the case's area (not its owner) records what they found, their
    decision and the next review date (default: today plus the cadence of the case's
    priority; after today; more than twice the cadence ahead only with
    `reason_for_later`)."""
    review = reviews.record_review(db, actor, ref, data)
    return reviews.review_read(review, normalise_ref(ref))


@router.get("/{ref}/reviews", response_model=list[ReviewRead],
            summary="The case's supervisory reviews, newest first")
def list_reviews(actor: ApiActor, db: Db, ref: Ref) -> list[ReviewRead]:
    case, found = reviews.view_reviews(db, actor, ref)
    return [reviews.review_read(r, case.ref) for r in found]
