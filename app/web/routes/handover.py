"""The "Hand over work" pages: a person's open work, who takes it (one person, or case by
case), a summary to confirm, and the result. Plain forms; the same service as the API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from app.auth.context import Actor
from app.auth.permissions import home_area
from app.auth.service import eligible_owners
from app.errors import ValidationFailed
from app.handover import service
from app.handover.schemas import HandoverRequest, HandoverResult, OpenWork
from app.validation import validate
from app.web import forms
from app.web.deps import Db, Form, PageActor, csrf_protect
from app.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
Username = Annotated[str, Path(min_length=1, max_length=64)]
CASE_FIELD = "cases-"  # a per-case recipient select: cases-<REF>


def _recipients(db: Db, actor: Actor) -> list[tuple[str, str]]:
    """Who may take work here: the supervisor's area's officers and supervisors."""
    user = actor.user
    assert user is not None
    return eligible_owners(db, home_area(user), user.force_id)


def _request_from(form: Form, confirmed: bool = False) -> dict[str, Any]:
    cases = {name[len(CASE_FIELD):]: value.strip() for name, value in form.items()
             if name.startswith(CASE_FIELD) and isinstance(value, str) and value.strip()}
    return {"to": forms.optional(form, "to"), "cases": cases, "dry_run": not confirmed}


def _page(request: Request, db: Db, actor: Actor, work: OpenWork, *, values: dict[str, Any],
          errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    return render(request, "handover/form.html", {
        "active_nav": "queue", "work": work, "recipients": _recipients(db, actor),
        "values": values, "errors": errors or {}}, status_code=status_code)


@router.get("/people/{username}/handover")
def handover_form(request: Request, actor: PageActor, db: Db, username: Username) -> Response:
    work = service.open_work(db, actor, username)
    return _page(request, db, actor, work, values={"to": "", "cases": {}})


@router.post("/people/{username}/handover")
def handover_step(request: Request, actor: PageActor, db: Db, form: Form,
                  username: Username) -> Response:
    """Without ``confirm``: check everything and show the summary; with it: hand over."""
    confirmed = forms.text(form, "confirm") == "yes"
    raw = _request_from(form, confirmed)
    try:
        result = service.hand_over(db, actor, username, validate(HandoverRequest, raw))
    except ValidationFailed as exc:
        db.rollback()
        work = service.open_work(db, actor, username)
        return _page(request, db, actor, work, values=raw, status_code=422,
                     errors=forms.errors_by_field(exc.errors))
    template = "handover/done.html" if confirmed else "handover/confirm.html"
    return render(request, template, {"active_nav": "queue", "result": result,
                                      "values": raw, "case_field": CASE_FIELD,
                                      "totals": _totals(result)})


def _totals(result: HandoverResult) -> str:
    parts = [f"{result.cases} {'case' if result.cases == 1 else 'cases'}"] if result.cases \
        else []
    if result.actions:
        parts.append(f"{result.actions} {'action' if result.actions == 1 else 'actions'}")
    return " and ".join(parts)
