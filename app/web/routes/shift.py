"""My shift: an officer's home on a phone. Start or end the patrol in one tap, record outputs
for the running patrol, and see the cases' next and overdue actions and the concerns waiting
for triage. Thin adapters over ``app.patrols.shift`` and ``app.patrols.service``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.auth.context import Actor
from app.clock import today
from app.errors import Conflict, DomainError, ValidationFailed
from app.patrols import service
from app.patrols.schemas import OutputsCreate, PatrolStart
from app.patrols.shift import running_patrol, shift_of
from app.sara.patrols import KOPER_MAX_MINUTES, KOPER_MIN_MINUTES, describe_counts
from app.validation import validate
from app.web import forms
from app.web.deps import Db, Form, PageActor, csrf_protect, redirect
from app.web.templating import is_htmx, render
from app.web.work import OUTPUT_KINDS, PATROL_KIND_OPTIONS

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
OUTPUT_NAMES = [k.value for k in OUTPUT_KINDS]

_FLASH = {"started": "Patrol started.", "ended": "Patrol ended.",
          "discarded": "The patrol was discarded.", "outputs": "Outputs recorded."}


@router.get("/shift")
def shift_page(request: Request, actor: PageActor, db: Db, flash: str = "") -> Response:
    return _render(request, db, actor, message=_FLASH.get(flash, ""))


def _render(request: Request, db: Session, actor: Actor, *, status_code: int = 200,
            **overrides: Any) -> Response:
    """The page, or for htmx only its body (what every action on it changes)."""
    context: dict[str, Any] = {
        "shift": shift_of(db, actor), "active_nav": "shift", "message": "", "problem": "",
        "errors": {}, "values": {}, "output_kinds": OUTPUT_KINDS,
        "patrol_kind_options": PATROL_KIND_OPTIONS, "band": (KOPER_MIN_MINUTES,
                                                             KOPER_MAX_MINUTES),
        **overrides,
    }
    return render(request, "shift/page.html", context, status_code=status_code,
                  block="shift_body" if is_htmx(request) else None)


def _done(request: Request, db: Session, actor: Actor, flash: str, message: str) -> Response:
    if not is_htmx(request):
        return redirect(f"/shift?flash={flash}")
    return _render(request, db, actor, message=message)


def _failed(request: Request, db: Session, actor: Actor, exc: DomainError,
            values: dict[str, Any] | None = None) -> Response:
    """A start or end that could not be done says why above the buttons; outputs come back
    with their messages beside the fields and what was typed."""
    db.rollback()
    overrides: dict[str, Any] = {"values": values or {}}
    if isinstance(exc, ValidationFailed) and values is not None:
        overrides["errors"] = forms.prefixed(exc.errors, "outputs")
    elif isinstance(exc, ValidationFailed):
        overrides["problem"] = " ".join(e.message for e in exc.errors)
    else:
        overrides["problem"] = exc.message
    status = 422 if isinstance(exc, ValidationFailed) else 409
    return _render(request, db, actor, status_code=status, **overrides)


@router.post("/shift/patrols/start")
def start_patrol(request: Request, actor: PageActor, db: Db, form: Form) -> Response:
    ref = forms.text(form, "case")
    try:
        if not ref:
            raise ValidationFailed.one("case", "Choose the case to patrol for.")
        service.start_patrol(db, actor, ref, validate(PatrolStart, {
            "kind": forms.text(form, "patrol-kind") or "foot"}))
    except (ValidationFailed, Conflict) as exc:
        return _failed(request, db, actor, exc)
    return _done(request, db, actor, "started", f"Patrol started on {ref.upper()}.")


@router.post("/shift/patrols/end")
def end_patrol(request: Request, actor: PageActor, db: Db) -> Response:
    running = running_patrol(db, actor)
    try:
        if running is None:
            raise Conflict("You have no patrol running: it may have been ended on another "
                           "device.")
        service.end_patrol(db, actor, running[1], running[0].id)
    except (ValidationFailed, Conflict) as exc:
        return _failed(request, db, actor, exc)
    return _done(request, db, actor, "ended", "Patrol ended.")


@router.post("/shift/patrols/discard")
def discard_patrol(request: Request, actor: PageActor, db: Db) -> Response:
    running = running_patrol(db, actor)
    try:
        if running is None:
            raise Conflict("You have no patrol running.")
        service.discard_patrol(db, actor, running[1], running[0].id)
    except Conflict as exc:
        return _failed(request, db, actor, exc)
    return _done(request, db, actor, "discarded", "The patrol was discarded.")


@router.post("/shift/outputs")
def record_outputs(request: Request, actor: PageActor, db: Db, form: Form) -> Response:
    """Outputs of the running patrol, counted today."""
    running = running_patrol(db, actor)
    try:
        if running is None:
            raise Conflict("You have no patrol running: record outputs on the case page.")
        counts = {kind: forms.signed_number(form, f"outputs-counts-{kind}")
                  for kind in OUTPUT_NAMES}
        payload = {"on": today().isoformat(), "patrol_id": running[0].id,
                   "counts": {kind: n for kind, n in counts.items() if n is not None}}
        entries = service.record_outputs(db, actor, running[1], validate(OutputsCreate, payload))
    except Conflict as exc:
        return _failed(request, db, actor, exc)
    except ValidationFailed as exc:
        return _failed(request, db, actor, exc, dict(form))
    recorded = describe_counts([(e.kind, e.count) for e in entries])
    if not is_htmx(request):
        return redirect("/shift?flash=outputs")
    return _render(request, db, actor, message=f"Recorded {recorded}.")
