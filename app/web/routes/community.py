"""Community concern pages: record a concern, the triage queue, triage one, and "you said,
we did" on the case page. Thin adapters over ``app.community.service``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth.context import Actor
from app.auth.permissions import Perm, has, require
from app.clock import today
from app.community import service
from app.community.schemas import ConcernAnswer, ConcernCreate, ConcernFilters, ConcernTriage
from app.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from app.reference.service import list_wards
from app.sara.community import Channel, RaisedBy, TriageOutcome
from app.validation import Problems, pydantic_errors, validate
from app.web import forms
from app.web.case_forms import save_item
from app.web.deps import Db, Form, ItemId, PageActor, Ref, csrf_protect, redirect
from app.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
ConcernId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PAGE_SIZE = 25
STATUS_OPTIONS = [("awaiting", "Awaiting triage"), ("unanswered", "On a case, not answered yet"),
                  ("answered", "Answered"), ("not_police", "Not a police matter"),
                  ("all", "All concerns")]
RAISED_BY_OPTIONS = [(r.value, r.label) for r in RaisedBy]
CHANNEL_OPTIONS = [(c.value, c.label) for c in Channel]
FIELDS = ("borough", "ward", "raised_on", "raised_by_kind", "raised_by", "contact", "channel",
          "place", "description")


@router.get("/concerns")
def queue(request: Request, actor: PageActor, db: Db) -> Response:
    params = request.query_params
    status = params.get("status") or "awaiting"
    page = int(params["page"]) if params.get("page", "").isdigit() and int(params["page"]) else 1
    raw = {"status": None if status == "all" else status, "borough": params.get("borough") or None,
           "limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE}
    problems: list[str] = []
    try:
        filters = ConcernFilters.model_validate(raw)
    except ValidationError as exc:
        problems = [e.message for e in pydantic_errors(exc.errors())]
        filters = ConcernFilters(limit=PAGE_SIZE)
        status = "awaiting" if not filters.status else status
    try:
        rows, total = service.list_concerns(db, actor, filters)
    except ValidationFailed as exc:
        db.rollback()
        problems += [e.message for e in exc.errors]
        filters = filters.model_copy(update={"borough": None})
        rows, total = service.list_concerns(db, actor, filters)
    return render(request, "community/queue.html", {
        "active_nav": "concerns", "rows": rows, "total": total, "status": status,
        "status_options": STATUS_OPTIONS, "filters": filters, "problems": problems,
        "boroughs": forms.area_filter_options(db, actor.user),
        "page": page, "pages": max(1, -(-total // PAGE_SIZE)),
        "flash": {"closed": "The concern is closed as not a police matter."}.get(
            params.get("flash", ""), ""),
    })


@router.get("/concerns/new")
def new_concern(request: Request, actor: PageActor, db: Db) -> Response:
    user = actor.user
    assert user is not None
    require(user, Perm.CONCERN_RECORD, "Only officers and supervisors record concerns.")
    values = {"borough": user.borough_code or "", "raised_on": today().isoformat(),
              "raised_by_kind": "resident", "channel": "ward_panel"}
    return _form_page(request, db, actor, values, {})


def _form_page(request: Request, db: Session, actor: Actor, values: dict[str, Any],
               errors: dict[str, str], status_code: int = 200) -> Response:
    user = actor.user
    assert user is not None
    boroughs = forms.area_options(db, user)
    borough = values.get("borough") or (boroughs[0][0] if len(boroughs) == 1 else None)
    return render(request, "community/new.html", {
        "active_nav": "concerns", "values": values, "errors": errors, "boroughs": boroughs,
        "wards": [(w.code, w.label) for w in list_wards(db, borough)] if borough else [],
        "raised_by_options": RAISED_BY_OPTIONS, "channel_options": CHANNEL_OPTIONS,
    }, status_code=status_code)


@router.post("/concerns")
def record_concern(request: Request, actor: PageActor, db: Db, form: Form) -> Response:
    payload: dict[str, Any] = {name: forms.text(form, name) for name in FIELDS}
    payload["ward"] = forms.optional(form, "ward")
    problems = Problems()
    payload["raised_on"] = forms.date_field(form, "raised_on", problems, required=True)
    try:
        concern = service.record_concern(db, actor, validate(ConcernCreate, payload, problems))
    except ValidationFailed as exc:
        db.rollback()
        return _form_page(request, db, actor, dict(form),
                          forms.errors_by_field(exc.errors, list(form)), status_code=422)
    return redirect(f"/concerns/{concern.id}?flash=recorded")


@router.get("/concerns/{concern_id}")
def concern_page(request: Request, actor: PageActor, db: Db, concern_id: ConcernId,
                 flash: str = "") -> Response:
    concern = service.view_concern(db, actor, concern_id)
    return _detail(request, db, actor, concern, {"outcome": ""}, {},
                   flash="Concern recorded: triage it now, or later from the queue."
                   if flash == "recorded" else "")


def _detail(request: Request, db: Session, actor: Actor, concern: Any, values: dict[str, Any],
            errors: dict[str, str], *, conflict: str = "", flash: str = "",
            status_code: int = 200) -> Response:
    user = actor.user
    assert user is not None
    return render(request, "community/detail.html", {
        "active_nav": "concerns", "concern": concern, "values": values, "errors": errors,
        "conflict": conflict, "flash": flash,
        "show_contact": has(user, Perm.CONCERN_RECORD),
        "can_triage": has(user, Perm.CONCERN_RECORD) and concern.triage_outcome is None,
        "outcome_options": [(o.value, o.label) for o in TriageOutcome],
    }, status_code=status_code)


@router.post("/concerns/{concern_id}/triage")
def triage(request: Request, actor: PageActor, db: Db, form: Form,
           concern_id: ConcernId) -> Response:
    outcome = forms.text(form, "outcome")
    payload: dict[str, Any] = {"version": forms.version(form), "outcome": outcome,
                               "reason": forms.text(form, "reason")}
    if outcome == "linked":
        payload["case"] = forms.optional(form, "case")
    elif outcome == "new_case":
        payload |= {"title": forms.optional(form, "title"),
                    "category": forms.optional(form, "category")}
    try:
        concern = service.triage_concern(db, actor, concern_id, validate(ConcernTriage, payload))
    except ValidationFailed as exc:
        return _triage_failed(request, db, actor, concern_id, form,
                              errors=forms.errors_by_field(exc.errors, list(form)), status_code=422)
    except (StaleVersion, Conflict) as exc:
        return _triage_failed(request, db, actor, concern_id, form, conflict=exc.message,
                              status_code=409)
    if concern.case is not None:
        flash = "opened-from-concern" if outcome == "new_case" else "concern-linked"
        return redirect(f"/cases/{concern.case.ref}?section=community&flash={flash}"
                        "#section-community")
    return redirect("/concerns?flash=closed")


def _triage_failed(request: Request, db: Session, actor: Actor, concern_id: int, form: Form,
                   *, status_code: int, errors: dict[str, str] | None = None,
                   conflict: str = "") -> Response:
    db.rollback()
    concern = service.concern_for(db, actor, concern_id)
    return _detail(request, db, actor, concern, dict(form), errors or {}, conflict=conflict,
                   status_code=status_code)


@router.post("/cases/{ref}/concerns/{item_id}/answer")
def answer(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref,
           item_id: ItemId) -> Response:
    prefix = f"concern{item_id}"
    return save_item(request, db, actor, ref, "community", prefix, form, lambda: (
        _answer_on_case(db, actor, ref, item_id, form, prefix)))


def _answer_on_case(db: Session, actor: Actor, ref: str, concern_id: int, form: Form,
                    prefix: str) -> None:
    concern = service.concern_for(db, actor, concern_id)
    if concern.case is None or concern.case.ref != ref.strip().upper():
        raise NotFound(f"{ref.upper()} has no concern {concern_id}.")
    service.answer_concern(db, actor, concern_id, validate(ConcernAnswer, {
        "version": forms.version(form), "we_did": forms.text(form, f"{prefix}-we_did")}))
