"""Retention pages: the queue of closed cases awaiting a retention review, and a case's
retention review (its record, the exports made, and the form to retain or dispose)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.attachments.http import store_of
from app.auth.context import Actor
from app.cases.access import normalise_ref
from app.errors import Conflict, ValidationFailed
from app.reference.service import list_forces
from app.retention import service
from app.retention.schemas import QueueQuery, RetentionReviewCreate
from app.sara.retention import Due, RetentionDecision
from app.validation import Problems, validate
from app.web import forms
from app.web.deps import Db, Form, PageActor, Ref, csrf_protect, redirect
from app.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
DUE_OPTIONS = [(Due.OVERDUE.value, "Overdue"), (Due.SOON.value, "Due within 30 days"),
               (Due.ALL.value, "All closed cases awaiting review")]
DECISION_OPTIONS = [(d.value, d.label) for d in RetentionDecision]
REVIEW_FORM = ["decision", "reason", "next_review_on"]


@router.get("/retention")
def queue_page(request: Request, actor: PageActor, db: Db) -> Response:
    raw: dict[str, Any] = {key: request.query_params.get(key) or None
                           for key in ("force", "borough", "due")}
    raw = {k: v for k, v in raw.items() if v is not None}
    query, problems = forms.filters_from_address(QueueQuery, raw)
    try:
        queue = service.retention_queue(db, actor, query)
    except ValidationFailed as exc:
        db.rollback()
        problems += [e.message for e in exc.errors]
        query = QueueQuery.model_validate({"due": query.due})
        queue = service.retention_queue(db, actor, query)
    return render(request, "retention/queue.html", {
        "active_nav": "retention", "queue": queue, "query": query, "problems": problems,
        "due_options": DUE_OPTIONS,
        "forces": [(f.id, f.label) for f in list_forces(db)],
        "boroughs": forms.area_filter_options(db, actor.user)})


@router.get("/retention/{ref}")
def case_page(request: Request, actor: PageActor, db: Db, ref: Ref,
              flash: str = "") -> Response:
    return _case_page(request, db, actor, ref, flash=flash)


def _case_page(request: Request, db: Session, actor: Actor, ref: str, *,
               errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
               conflict: str = "", flash: str = "", status_code: int = 200) -> Response:
    record = service.view_case_retention(db, actor, ref)
    return render(request, "retention/case.html", {
        "active_nav": "retention", "record": record, "errors": errors or {},
        "values": values or {}, "conflict": conflict, "decision_options": DECISION_OPTIONS,
        "flash": {"retained": "The case is retained until its next review.",
                  "disposed": "The case's personal data is disposed of."}.get(flash, ""),
    }, status_code=status_code)


@router.post("/retention/{ref}/reviews")
def review(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref) -> Response:
    problems = Problems()
    payload = {"decision": forms.optional(form, "decision"),
               "reason": forms.text(form, "reason"),
               "next_review_on": forms.date_field(form, "next_review_on", problems,
                                                  label="the next review date")}
    if payload["decision"] == RetentionDecision.DISPOSE.value:
        payload["next_review_on"] = None  # the form's date belongs to "retain" only
        problems = Problems()
    try:
        done = service.review_case(db, actor, ref, validate(RetentionReviewCreate, payload,
                                                            problems), store_of(request))
    except ValidationFailed as exc:
        db.rollback()
        return _case_page(request, db, actor, ref, status_code=422, values=dict(form),
                          errors=forms.errors_by_field(exc.errors, REVIEW_FORM))
    except Conflict as exc:
        db.rollback()
        return _case_page(request, db, actor, ref, status_code=409, conflict=exc.message)
    flash = "disposed" if done.decision is RetentionDecision.DISPOSE else "retained"
    return redirect(f"/retention/{normalise_ref(ref)}?flash={flash}")
