"""Oversight pages: operations and their dashboards, the figures of any set of cases, and the
borough's work queue. The figures are the same ``Summary`` the API answers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams

from app.audit.service import AuditAction, record_read
from app.auth.context import Actor, acting_user
from app.auth.permissions import Perm, home_area, require
from app.cases import service as cases
from app.cases.access import case_for
from app.cases.schemas import CaseFilters, CaseUpdate
from app.charts import monthly_bars
from app.errors import DomainError, StaleVersion, ValidationFailed
from app.operations import service as operations
from app.operations.allocation import allocation_of
from app.operations.models import Operation
from app.operations.schemas import OperationCreate, OperationFilters, OperationUpdate
from app.oversight import service
from app.oversight.schemas import OverrideReview, QueueQuery, StatsQuery, Summary
from app.reference.service import forces_with_areas, scope_label
from app.sara.patrols import OutputKind
from app.sara.stages import STAGES
from app.validation import Problems, validate
from app.web import forms
from app.web.deps import Db, Form, PageActor, csrf_protect, redirect
from app.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
OperationId = Annotated[int, Path(ge=1, le=2**31 - 1)]
EventId = Annotated[int, Path(ge=1, le=2**31 - 1)]
STAGE_OPTIONS = [(s.value, s.label) for s in STAGES]
OPERATION_FIELDS = ("name", "description", "unit", "start_date", "end_date")


def _borough_options(db: Session, actor: Actor) -> forms.Options:
    return forms.area_filter_options(db, actor.user)


# --- figures -----------------------------------------------------------------------------------

def _stats_query(params: QueryParams, operation_id: int | None) -> tuple[StatsQuery, list[str]]:
    """The dashboard's filters from the address; values that are not valid are dropped and
    reported, as on the case list."""
    raw: dict[str, Any] = {"operation": operation_id or params.get("operation") or None,
                           "borough": params.get("borough") or None,
                           "stage": [s for s in params.getlist("stage") if s],
                           "from": params.get("from") or None, "to": params.get("to") or None}
    return forms.filters_from_address(StatsQuery, raw)


def _figures(db: Session, actor: Actor, query: StatsQuery,
             problems: list[str]) -> tuple[Summary, StatsQuery, list[str]]:
    try:
        return service.summary(db, actor, query), query, problems
    except ValidationFailed as exc:
        db.rollback()
        names = {"from": "first", "to": "last"}
        dropped = {names.get(e.field, e.field): None for e in exc.errors}
        if "first" in dropped or "last" in dropped:
            dropped |= {"first": None, "last": None}
        query = query.model_copy(update=dropped)
        return service.summary(db, actor, query), query, problems + [
            e.message for e in exc.errors]


def _figures_context(db: Session, actor: Actor, summary: Summary, query: StatsQuery,
                     problems: list[str]) -> dict[str, Any]:
    series = [(date.fromisoformat(f"{m.month}-01"), m.total) for m in summary.outputs.by_month]
    chart = monthly_bars(series, chart_id="outputs-chart", title="Outputs recorded a month") \
        if len(series) > 1 else None
    return {"summary": summary, "query": query, "problems": problems, "chart": chart,
            "scope_name": scope_label(db, summary.scope),
            "output_kinds": list(OutputKind), "stage_options": STAGE_OPTIONS,
            "boroughs": _borough_options(db, actor), "headline": [
                OutputKind.ARRESTS, OutputKind.KNIVES, OutputKind.FIREARMS,
                OutputKind.OTHER_WEAPONS]}


@router.get("/dashboard")
def dashboard(request: Request, actor: PageActor, db: Db) -> Response:
    query, problems = _stats_query(request.query_params, None)
    summary, query, problems = _figures(db, actor, query, problems)
    context = _figures_context(db, actor, summary, query, problems)
    context |= {"active_nav": "dashboard", "operations": [
        (str(o.id), o.name) for o, _n in operations.list_operations(db, actor)]}
    return render(request, "oversight/dashboard.html", context)


# --- operations --------------------------------------------------------------------------------

@router.get("/operations")
def operation_list(request: Request, actor: PageActor, db: Db) -> Response:
    """The operations the user may read; those who read several areas filter by the one that
    runs them (or the force, for force-wide ones)."""
    chosen = request.query_params.get("borough") or ""
    problems: list[str] = []
    try:
        query = validate(OperationFilters, {"borough": chosen or None})
        rows = operations.list_operations(db, actor, borough=query.borough)
    except ValidationFailed as exc:
        db.rollback()
        problems, chosen = [e.message for e in exc.errors], ""
        rows = operations.list_operations(db, actor)
    record_read(db, actor, AuditAction.OPERATION_LIST, object_type="operations",
                details={"borough": chosen or None, "count": len(rows)})
    return render(request, "operations/list.html", {
        "active_nav": "operations", "rows": rows, "chosen": chosen, "problems": problems,
        "boroughs": _borough_options(db, actor),
        "changeable": {o.id for o, _n in rows if operations.may_change(actor.user, o)}})


@router.get("/operations/new")
def new_operation(request: Request, actor: PageActor, db: Db) -> Response:
    require(acting_user(actor), Perm.OPERATION_MANAGE,
            "Only supervisors and analysts set up operations.")
    user = actor.user
    return render(request, "operations/form.html", {
        "active_nav": "operations", "operation": None, "errors": {},
        "values": {"borough": (home_area(user) or "") if user else ""},
        "force_options": _force_options(db, actor), **_owner_choices(db, actor)})


def _force_options(db: Session, actor: Actor) -> forms.Options:
    """The forces an operation may be set up for: none to choose for a user of one force."""
    user = actor.user
    if user is None or user.force_id is not None:
        return []
    return [(force.id, force.label) for force, _n in forces_with_areas(db)]


def _owner_choices(db: Session, actor: Actor) -> dict[str, Any]:
    """Who may run the operation: the user's own area for one who works in an area; the
    force as a whole (the blank choice) or any of its areas for one who works across it."""
    user = actor.user
    if user is None:
        return {"owner_options": [], "owner_blank": None}
    return {"owner_options": forms.area_options(db, user),
            "owner_blank": None if home_area(user) else "The whole force (force-wide)"}


def _operation_dates(form: forms.Form, problems: Problems) -> dict[str, Any]:
    start = forms.date_field(form, "start_date", problems, required=True,
                             label="the date the operation starts")
    end = forms.date_field(form, "end_date", problems, label="the date the operation ends")
    if start and end and end < start:  # ISO dates compare as dates
        # Beside the end date (the schema says it of the whole form, which has no field).
        problems.add("end_date", "The operation must end on or after the day it starts.",
                     hides=["body"])
    return {"start_date": start, "end_date": end}


@router.post("/operations")
def create_operation(request: Request, actor: PageActor, db: Db, form: Form) -> Response:
    payload: dict[str, Any] = {name: forms.text(form, name) for name in OPERATION_FIELDS}
    problems = Problems()
    payload |= _operation_dates(form, problems)
    payload["force"] = forms.optional(form, "force")
    if "borough" in form:
        payload["borough"] = forms.optional(form, "borough")
    try:
        operation = operations.create_operation(db, actor, validate(OperationCreate, payload,
                                                                    problems))
    except ValidationFailed as exc:
        db.rollback()
        return render(request, "operations/form.html", {
            "active_nav": "operations", "operation": None, "values": dict(form),
            "errors": forms.errors_by_field(exc.errors, list(form)),
            "force_options": _force_options(db, actor), **_owner_choices(db, actor)},
            status_code=422)
    return redirect(f"/operations/{operation.id}?flash=created")


@router.get("/operations/{operation_id}")
def operation_page(request: Request, actor: PageActor, db: Db, operation_id: OperationId,
                   flash: str = "") -> Response:
    operation = operations.get_operation(db, actor, operation_id)
    return _operation_page(request, db, actor, operation, flash=flash)


def _operation_page(request: Request, db: Session, actor: Actor, operation: Operation, *,
                    flash: str = "", add_errors: dict[str, str] | None = None,
                    add_value: str = "", status_code: int = 200) -> Response:
    query, problems = _stats_query(request.query_params, operation.id)
    summary, query, problems = _figures(db, actor, query, problems)
    rows, total = cases.list_cases(db, actor, CaseFilters(operation=operation.id, limit=200,
                                                          sort="ref"), log=False)
    context = _figures_context(db, actor, summary, query, problems) | {
        "active_nav": "operations", "operation": operation, "case_rows": rows,
        "case_total": total, "add_errors": add_errors or {}, "add_value": add_value,
        "allocated": allocation_of(db, operation) is not None,
        "may_change": operations.may_change(actor.user, operation),
        "flash": {"created": f"Operation {operation.name} is set up: add its hotspot cases.",
                  "saved": "Saved.", "added": "The case is added to the operation."}.get(
            flash, "")}
    return render(request, "operations/detail.html", context, status_code=status_code)


@router.get("/operations/{operation_id}/edit")
def edit_operation(request: Request, actor: PageActor, db: Db,
                   operation_id: OperationId) -> Response:
    # Out of one's reading scope it is not found (as a case is); read but not one's own:
    # forbidden.
    operation = operations.get_operation(db, actor, operation_id)
    operations.require_change(acting_user(actor), operation)
    record_read(db, actor, AuditAction.OPERATION_VIEW, object_type="operation",
                object_ref=str(operation.id), details={"form": "edit"})
    values = {name: getattr(operation, name) or "" for name in OPERATION_FIELDS}
    values["borough"] = operation.borough_code or ""
    return _edit_form(request, db, actor, operation, values)


def _edit_form(request: Request, db: Session, actor: Actor, operation: Operation,
               values: dict[str, Any], errors: dict[str, str] | None = None,
               conflict: str = "", status_code: int = 200) -> Response:
    return render(request, "operations/form.html", {
        "active_nav": "operations", "operation": operation, "values": values,
        "errors": errors or {}, "conflict": conflict, "form_version": operation.version,
        **_owner_choices(db, actor)}, status_code=status_code)


@router.post("/operations/{operation_id}")
def update_operation(request: Request, actor: PageActor, db: Db, form: Form,
                     operation_id: OperationId) -> Response:
    payload: dict[str, Any] = {name: forms.text(form, name) for name in OPERATION_FIELDS}
    problems = Problems()
    payload |= _operation_dates(form, problems)
    payload["version"] = forms.version(form)
    if "borough" in form:
        payload["borough"] = forms.optional(form, "borough")
    try:
        operations.update_operation(db, actor, operation_id, validate(OperationUpdate, payload,
                                                                      problems))
    except (ValidationFailed, StaleVersion) as exc:
        db.rollback()
        operation = operations.get_operation(db, actor, operation_id)
        errors = forms.errors_by_field(exc.errors, list(form)) \
            if isinstance(exc, ValidationFailed) else {}
        return _edit_form(request, db, actor, operation, dict(form), errors,
                          exc.message if isinstance(exc, StaleVersion) else "",
                          status_code=422 if errors else 409)
    return redirect(f"/operations/{operation_id}?flash=saved")


@router.post("/operations/{operation_id}/cases")
def add_case(request: Request, actor: PageActor, db: Db, form: Form,
             operation_id: OperationId) -> Response:
    """Put a case (by its reference) into the operation: the case update, as on the case
    page, so it is on the case's timeline."""
    operation = operations.get_operation(db, actor, operation_id)
    operations.require_change(acting_user(actor), operation)
    ref = forms.text(form, "ref").upper()
    try:
        if not ref:
            raise ValidationFailed.one("ref", "Enter a case reference, e.g. WM-2026-0001.")
        try:
            case = case_for(db, actor, ref)
        except DomainError:
            raise ValidationFailed.one("ref", f"There is no case {ref} that you can see.") \
                from None
        cases.update_case(db, actor, case.ref, CaseUpdate(version=case.version,
                                                          operation=operation.id))
    except ValidationFailed as exc:
        db.rollback()
        return _operation_page(request, db, actor, operation, add_value=ref, status_code=422,
                               add_errors={"ref": " ".join(e.message for e in exc.errors)})
    return redirect(f"/operations/{operation_id}?flash=added#cases")


# --- the work queue ----------------------------------------------------------------------------

@router.get("/queue")
def work_queue(request: Request, actor: PageActor, db: Db, flash: str = "") -> Response:
    params = request.query_params
    raw: dict[str, Any] = {"borough": params.get("borough") or None,
                           "idle_days": params.get("idle_days") or 28,
                           "stuck_days": params.get("stuck_days") or 60}
    query, problems = forms.filters_from_address(QueueQuery, raw)
    try:
        queue = service.work_queue(db, actor, query)
    except ValidationFailed as exc:
        db.rollback()
        problems += [e.message for e in exc.errors]
        query = query.model_copy(update={"borough": None})
        queue = service.work_queue(db, actor, query)
    user = actor.user
    return render(request, "oversight/queue.html", {
        "active_nav": "queue", "queue": queue, "query": query, "problems": problems,
        "borough_name": scope_label(db, queue.borough or (user.force_id if user else None)
                                    or "all") or "All areas",
        "boroughs": _borough_options(db, actor),
        "flash": "The override is marked as reviewed." if flash == "reviewed" else "",
        "review_errors": {}})


@router.post("/queue/overrides/{event_id}/review")
def review(request: Request, actor: PageActor, db: Db, form: Form,
           event_id: EventId) -> Response:
    service.review_override(db, actor, event_id, validate(OverrideReview, {
        "note": forms.text(form, "note")}))
    borough = forms.text(form, "borough")
    return redirect("/queue?" + urlencode({"flash": "reviewed", **(
        {"borough": borough} if borough else {})}))
