"""An operation's randomised allocation: the form that makes it (once), and the page that shows
it with its balance, the patrols that broke it, and the groups compared."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import AuditAction, record_read
from app.auth.context import Actor, acting_user
from app.auth.permissions import covers_borough, visible_cases
from app.cases.models import Case
from app.clock import today
from app.crime import hotspots, picture
from app.crime.models import Area, AreaKind
from app.crime.queries import data_months
from app.errors import Conflict, ValidationFailed
from app.harm import service as harm_tables
from app.operations import allocation as service
from app.operations.models import Operation
from app.operations.schemas import AllocationCreate, CellCandidatesCreate
from app.operations.service import get_operation, may_change, require_change
from app.reference.service import list_boroughs
from app.sara.allocation import MIN_HOTSPOTS, Method
from app.sara.problem import CATEGORIES
from app.sara.stages import Stage
from app.validation import validate
from app.web import forms
from app.web.deps import Db, Form, PageActor, csrf_protect, redirect
from app.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
OperationId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_CELLS = 50  # as CellCandidatesCreate.top allows
METHOD_OPTIONS = [(Method.PAIRS.value, "Matched pairs: the two hotspots of most alike crime "
                                       "face each other"),
                  (Method.BLOCKS.value, "Blocks of several hotspots of alike crime, half of "
                                        "each to patrols")]


@router.get("/operations/{operation_id}/allocation")
def allocation_page(request: Request, actor: PageActor, db: Db, operation_id: OperationId,
                    flash: str = "") -> Response:
    operation = get_operation(db, actor, operation_id)
    record_read(db, actor, AuditAction.ALLOCATION_VIEW, object_type="operation",
                object_ref=str(operation.id))
    return _page(request, db, actor, operation, flash=flash)


@router.post("/operations/{operation_id}/allocation")
def make_allocation(request: Request, actor: PageActor, db: Db, form: Form,
                    operation_id: OperationId) -> Response:
    operation = get_operation(db, actor, operation_id)
    require_change(acting_user(actor), operation)
    payload: dict[str, Any] = {
        "cases": [str(v) for v in form.getlist("cases") if v],
        "method": forms.text(form, "method") or Method.PAIRS.value,
        "block_size": forms.optional(form, "block_size")
        if forms.text(form, "method") == Method.BLOCKS.value else None,
        "starts": forms.optional(form, "starts"), "seed": forms.optional(form, "seed"),
        "note": forms.text(form, "note")}
    if not payload["cases"]:
        errors = {"cases": f"Choose at least {MIN_HOTSPOTS} hotspots to randomise."}
        return _page(request, db, actor, operation, errors=errors, values=dict(form),
                     chosen=[], status_code=422)
    try:
        service.make_allocation(db, actor, operation.id, validate(AllocationCreate, payload))
    except ValidationFailed as exc:
        db.rollback()
        return _page(request, db, actor, operation, errors=forms.errors_by_field(exc.errors),
                     values=dict(form), chosen=payload["cases"], status_code=422)
    except Conflict:
        db.rollback()  # made meanwhile, by someone else: show it
        return redirect(f"/operations/{operation.id}/allocation?flash=taken")
    return redirect(f"/operations/{operation.id}/allocation?flash=made")


@router.post("/operations/{operation_id}/allocation/cells")
def open_cell_candidates(request: Request, actor: PageActor, db: Db, form: Form,
                         operation_id: OperationId) -> Response:
    """A hotspot search's top cells opened as the operation's cases, then shown (ticked) among
    the candidates."""
    operation = get_operation(db, actor, operation_id)
    require_change(acting_user(actor), operation)
    category = forms.text(form, "category")
    payload: dict[str, Any] = {
        "borough": forms.optional(form, "borough"), "first": forms.text(form, "first"),
        "last": forms.text(form, "last"), "categories": [category] if category else [],
        "cell_m": forms.optional(form, "cell_m") or 250,
        "rank_by": forms.text(form, "rank_by") or "crimes", "top": forms.optional(form, "top")}
    top = forms.text(form, "top")
    if not (top.isdigit() and 1 <= int(top) <= MAX_CELLS):
        return _page(request, db, actor, operation, cells=dict(form), status_code=422, errors={
            "top": f"Enter how many cells to open as cases, a whole number from 1 to "
                   f"{MAX_CELLS}."})
    try:
        opened, skipped = service.open_cell_candidates(
            db, actor, operation.id, validate(CellCandidatesCreate, payload))
    except ValidationFailed as exc:
        db.rollback()
        return _page(request, db, actor, operation, errors=forms.errors_by_field(exc.errors),
                     cells=dict(form), status_code=422)
    except Conflict:
        db.rollback()
        return redirect(f"/operations/{operation.id}/allocation?flash=taken")
    return redirect(f"/operations/{operation.id}/allocation?flash=cells&opened={len(opened)}"
                    f"&skipped={skipped}")


def _cell_search(db: Session, actor: Actor, operation: Operation,
                 values: dict[str, Any]) -> dict[str, Any]:
    """The choices of the cell search: the areas the actor works in of the operation's owner
    (its area, or its force's), the
    months of its data (the last twelve by default), the sizes and the rankings."""
    user = actor.user
    assert user is not None
    bounded = set(db.scalars(select(Area.code).where(Area.kind == AreaKind.BOROUGH)))
    areas = [(b.code, b.label) for b in list_boroughs(db, operation.force_id)
             if b.code in bounded and covers_borough(user, b)
             and operation.borough_code in (None, b.code)]
    span = data_months(db, operation.force_id)
    months = [(f"{m:%Y-%m}", f"{m:%b %Y}") for m in span.months()] if span else []
    table = harm_tables.in_use(db, operation.force_id)
    return {
        "areas": areas, "months": months,
        "first": values.get("first") or (months[-12:][0][0] if months else ""),
        "last": values.get("last") or (months[-1][0] if months else ""),
        "borough": values.get("borough") or (areas[0][0] if len(areas) == 1 else ""),
        "category": values.get("category", ""), "cell_m": values.get("cell_m", "250"),
        "top": values.get("top", "8"), "rank_by": values.get("rank_by", "crimes"),
        "sizes": [(str(size), f"{size} m") for size in hotspots.CELL_SIZES],
        "categories": list(CATEGORIES.items()),
        "rankings": [("crimes", "Crimes")] + ([("harm", f"Harm ({table.label})")] if table
                                              else []),
        "open": bool(values)}


def _page(request: Request, db: Session, actor: Actor, operation: Operation, *,
          flash: str = "", errors: dict[str, str] | None = None,
          values: dict[str, Any] | None = None, chosen: list[str] | None = None,
          cells: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    made = service.allocation_read(db, actor, operation)
    candidates = _candidates(db, actor, operation) if made is None else []
    may_allocate = may_change(actor.user, operation)
    query = request.query_params
    opened = (f"{_cells(query.get('opened'))} opened as cases of the operation, ticked below"
              + (f"; {_cells(query.get('skipped'))} passed over, already its cases"
                 if query.get("skipped", "0") != "0" else "") + ".")
    return render(request, "operations/allocation.html", {
        "active_nav": "operations", "operation": operation, "allocation": made,
        "candidates": candidates, "errors": errors or {}, "values": values or {},
        "chosen": set(chosen if chosen is not None else
                      [c.ref for c, reason in candidates if not reason]),
        "categories": categories_of([c for c, reason in candidates if not reason]),
        "method_options": METHOD_OPTIONS,
        "next_month_hint": f"{_next_month():%Y-%m}",
        "may_allocate": may_allocate,
        "cell_search": _cell_search(db, actor, operation, cells or {})
        if made is None and may_allocate else None,
        "flash": {"made": "The hotspots are randomised. This allocation is final.",
                  "cells": opened,
                  "taken": "Someone else randomised this operation's hotspots at the same "
                           "moment: this is their allocation."}.get(flash, "")},
        status_code=status_code)


def _candidates(db: Session, actor: Actor, operation: Operation) -> list[tuple[Case, str]]:
    """The operation's cases the actor may see, each with why it cannot be a candidate (empty
    when it can)."""
    user = actor.user
    assert user is not None
    found = []
    for case in db.scalars(select(Case).where(
            Case.operation_id == operation.id, visible_cases(user, Case.borough_code))
            .order_by(Case.ref)):
        reason = ("no target area yet" if case.target_geometry is None
                  else "closed" if case.stage is Stage.CLOSED else "")
        found.append((case, reason))
    return found


def _next_month() -> date:
    this = today().replace(day=1)
    return (this + timedelta(days=32)).replace(day=1)


def categories_of(cases: list[Case]) -> list[str]:
    return sorted({c for case in cases for c in picture.case_categories(case)})


def _cells(count: str | None) -> str:
    number = int(count) if count and count.isdigit() else 0
    return f"{number} cell" + ("" if number == 1 else "s")
