"""The case page's patrol panel and sections: start and end a patrol with one tap, record
outputs, enter or correct a patrol afterwards, correct an output. Thin adapters over
``app.patrols.service``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.auth.context import Actor
from app.cases.access import case_for
from app.errors import Conflict, DomainError, ValidationFailed
from app.patrols import service
from app.patrols.schemas import (
    OutputCorrection,
    OutputsCreate,
    PatrolCreate,
    PatrolStart,
    PatrolUpdate,
)
from app.sara.patrols import describe_counts
from app.validation import Problems, validate
from app.web import forms
from app.web.case_forms import save_item
from app.web.case_page import render_case
from app.web.deps import Db, Form, ItemId, PageActor, Ref, csrf_protect, redirect
from app.web.templating import is_htmx
from app.web.work import OUTPUT_KINDS

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
OUTPUT_NAMES = [k.value for k in OUTPUT_KINDS]


def _panel_saved(request: Request, db: Any, actor: Actor, ref: str, flash: str,
                 message: str = "") -> Response:
    """htmx: the panel, with the patrol and output sections and the timeline refreshed;
    a plain form: back to the case page (post/redirect/get)."""
    if not is_htmx(request):
        return redirect(f"/cases/{ref.upper()}?flash={flash}#patrol-panel")
    case = case_for(db, actor, ref)
    return render_case(request, db, actor, case, ["patrol_panel", "work_partials"],
                       panel_message=message or _MESSAGES[flash])


_MESSAGES = {"patrol-started": "Patrol started.", "patrol-ended": "Patrol ended.",
             "patrol-discarded": "The patrol was discarded.", "outputs": "Outputs recorded."}


def _panel_failed(request: Request, db: Any, actor: Actor, ref: str, exc: DomainError,
                  values: dict[str, Any] | None = None) -> Response:
    """The panel again: the outputs form with its messages beside the fields (``values``
    given), or what stopped a start, end or discard above the buttons."""
    db.rollback()
    case = case_for(db, actor, ref)
    overrides: dict[str, Any] = {"panel_values": values or {}}
    status_code = 422 if isinstance(exc, ValidationFailed) else 409
    if isinstance(exc, ValidationFailed) and values is not None:
        overrides["panel_errors"] = forms.prefixed(exc.errors, "outputs", list(values))
    elif isinstance(exc, ValidationFailed):
        overrides["panel_conflict"] = " ".join(e.message for e in exc.errors)
    else:
        overrides["panel_conflict"] = exc.message
    return render_case(request, db, actor, case, ["patrol_panel"] if is_htmx(request) else None,
                       status_code=status_code, **overrides)


@router.post("/cases/{ref}/patrols/start")
def start_patrol(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref) -> Response:
    try:
        service.start_patrol(db, actor, ref, validate(PatrolStart, {
            "kind": forms.text(form, "patrol-kind") or "foot"}))
    except (ValidationFailed, Conflict) as exc:
        return _panel_failed(request, db, actor, ref, exc)
    return _panel_saved(request, db, actor, ref, "patrol-started")


@router.post("/cases/{ref}/patrols/{item_id}/end")
def end_patrol(request: Request, actor: PageActor, db: Db, ref: Ref,
               item_id: ItemId) -> Response:
    try:
        service.end_patrol(db, actor, ref, item_id)
    except (ValidationFailed, Conflict) as exc:
        return _panel_failed(request, db, actor, ref, exc)
    return _panel_saved(request, db, actor, ref, "patrol-ended")


@router.post("/cases/{ref}/patrols/{item_id}/discard")
def discard_patrol(request: Request, actor: PageActor, db: Db, ref: Ref,
                   item_id: ItemId) -> Response:
    try:
        service.discard_patrol(db, actor, ref, item_id)
    except Conflict as exc:
        return _panel_failed(request, db, actor, ref, exc)
    return _panel_saved(request, db, actor, ref, "patrol-discarded")


@router.post("/cases/{ref}/outputs")
def record_outputs(request: Request, actor: PageActor, db: Db, form: Form,
                   ref: Ref) -> Response:
    try:
        problems = Problems()
        entries = service.record_outputs(db, actor, ref, validate(
            OutputsCreate, forms.outputs_payload(form, "outputs", OUTPUT_NAMES, problems),
            problems))
    except (ValidationFailed, Conflict) as exc:
        return _panel_failed(request, db, actor, ref, exc, dict(form))
    recorded = describe_counts([(e.kind, e.count) for e in entries])
    return _panel_saved(request, db, actor, ref, "outputs", f"Recorded {recorded}.")


@router.post("/cases/{ref}/patrols")
def add_patrol(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref) -> Response:
    prefix, problems = "newpatrol", Problems()
    return save_item(request, db, actor, ref, "patrols", prefix, form, lambda: (
        service.add_patrol(db, actor, ref, validate(
            PatrolCreate, forms.patrol_times(form, prefix, problems)
            | forms.patrol_details(form, prefix), problems))))


@router.post("/cases/{ref}/patrols/{item_id}")
def correct_patrol(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref,
                   item_id: ItemId) -> Response:
    prefix = f"patrol{item_id}"

    def save() -> None:
        problems = Problems()
        times = forms.patrol_times(form, prefix, problems, end_required=False)
        if times.get("ended_at", "") is None:
            del times["ended_at"]  # a running patrol stays running
        service.correct_patrol(db, actor, ref, item_id, validate(PatrolUpdate, {
            **times, **forms.patrol_details(form, prefix), "version": forms.version(form),
            "reason": forms.text(form, f"{prefix}-reason")}, problems))

    return save_item(request, db, actor, ref, "patrols", prefix, form, save)


@router.post("/cases/{ref}/outputs/{item_id}/correct")
def correct_output(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref,
                   item_id: ItemId) -> Response:
    prefix = f"output{item_id}"
    return save_item(request, db, actor, ref, "outputs", prefix, form, lambda: (
        service.correct_output(db, actor, ref, item_id, validate(OutputCorrection, {
            "count": forms.signed_number(form, f"{prefix}-count"),
            "reason": forms.text(form, f"{prefix}-reason")}))))

