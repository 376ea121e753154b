"""Problem template pages: the list, one template with its history, the forms for a new template
and a new version, retiring with a confirmation, and copying to the user's force."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.auth.context import Actor
from app.auth.permissions import Perm, has, require
from app.errors import FieldError, StaleVersion, ValidationFailed
from app.problem_templates import service
from app.problem_templates.models import CaseTemplate, CaseTemplateVersion
from app.problem_templates.schemas import (
    TemplateCopy,
    TemplateCreate,
    TemplateVersionCreate,
)
from app.sara.cheers import CheersElement
from app.sara.problem import Priority
from app.sara.responses import Partner, tactic_groups
from app.validation import validate
from app.web import forms
from app.web.deps import Db, Form, PageActor, csrf_protect, redirect
from app.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
Slug = Annotated[str, Path(min_length=1, max_length=60)]
# Blank rows offered under the filled ones, for adding responses and actions without scripts
# (a new template starts with MIN_ROWS of each).
SPARE_ROWS, MIN_ROWS = 2, 4
MAX_RESPONSE_ROWS, MAX_ACTION_ROWS = 25, 20
PRIORITY_OPTIONS = [(p.value, p.label) for p in Priority]
PARTNER_OPTIONS = [(p.value, p.label) for p in Partner]
TACTIC_OPTIONS = [(group, [(t.key, t.label) for t in tactics]) for group, tactics in
                  tactic_groups()]
FLASH = {"created": "The template is created.", "versioned": "The new version is saved.",
         "retired": "The template is retired: it can no longer be chosen for a new case.",
         "restored": "The template can be chosen again.",
         "copied": "The copy is made: change it here for your force."}


# --- list and one template ---------------------------------------------------------------------

@router.get("/templates")
def template_list(request: Request, actor: PageActor, db: Db,
                  retired: Annotated[str, Query(max_length=3)] = "") -> Response:
    found = service.list_templates(db, actor, include_retired=retired == "yes")
    return render(request, "problem_templates/list.html", {
        "active_nav": "templates", "templates": found, "show_retired": retired == "yes"})


@router.get("/templates/new")
def new_template_form(request: Request, actor: PageActor, db: Db) -> Response:
    assert actor.user is not None
    require(actor.user, Perm.TEMPLATE_MANAGE)
    return _form_page(request, actor, None, {"priority": "medium"}, {})


@router.post("/templates")
def create_template(request: Request, actor: PageActor, db: Db, form: Form) -> Response:
    payload, rows = content_payload(form)
    payload["slug"] = forms.text(form, "slug")
    try:
        template = service.create_template(db, actor, validate(TemplateCreate, payload))
    except ValidationFailed as exc:
        db.rollback()
        return _form_page(request, actor, None, dict(form), _errors(exc.errors, rows, form),
                          status_code=422)
    return redirect(f"/templates/{template.slug}?flash=created")


@router.get("/templates/{slug}")
def template_page(request: Request, actor: PageActor, db: Db, slug: Slug,
                  version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                  flash: Annotated[str, Query(max_length=20)] = "") -> Response:
    template = service.view_template(db, actor, slug)
    return _template_page(request, db, actor, template, version, flash=FLASH.get(flash, ""))


def _template_page(request: Request, db: Session, actor: Actor, template: CaseTemplate,
                   number: int | None = None, *, status_code: int = 200,
                   **extra: Any) -> Response:
    user = actor.user
    assert user is not None
    shown = next((v for v in template.versions if v.version == number), template.current)
    context = {
        "active_nav": "templates", "template": template, "shown": shown,
        "may_manage": service.may_manage(user, template),
        "may_copy": has(user, Perm.TEMPLATE_MANAGE) and user.force_id is not None
        and template.force_id != user.force_id,
        "may_open": has(user, Perm.CASE_CREATE) and not template.retired,
        "copy_example": f"{user.force_id or 'local'}-{template.slug}"[:60],
        "copy_errors": {}, "copy_values": {}, "flash": "", **extra,
    }
    return render(request, "problem_templates/detail.html", context, status_code=status_code)


# --- a new version -----------------------------------------------------------------------------

@router.get("/templates/{slug}/edit")
def new_version_form(request: Request, actor: PageActor, db: Db, slug: Slug) -> Response:
    template = service.managed_template(db, actor, slug)
    values = version_values(template.current) | {"version": str(template.current_version)}
    return _form_page(request, actor, template, values, {})


@router.post("/templates/{slug}")
def add_version(request: Request, actor: PageActor, db: Db, form: Form,
                slug: Slug) -> Response:
    payload, rows = content_payload(form)
    payload |= {"version": forms.version(form), "change_note": forms.text(form, "change_note")}
    try:
        template = service.add_version(db, actor, slug, validate(TemplateVersionCreate, payload))
    except ValidationFailed as exc:
        db.rollback()
        template = service.managed_template(db, actor, slug)
        return _form_page(request, actor, template, dict(form),
                          _errors(exc.errors, rows, form), status_code=422)
    except StaleVersion as exc:
        db.rollback()
        template = service.managed_template(db, actor, slug)
        return _form_page(request, actor, template, dict(form) | {
            "version": str(exc.current_version)}, {}, status_code=409, conflict=exc.message)
    return redirect(f"/templates/{template.slug}?flash=versioned")


def _form_page(request: Request, actor: Actor, template: CaseTemplate | None,
               values: dict[str, Any], errors: dict[str, str], *, status_code: int = 200,
               conflict: str = "") -> Response:
    return render(request, "problem_templates/form.html", {
        "active_nav": "templates", "template": template, "values": values, "errors": errors,
        "conflict": conflict, "priority_options": PRIORITY_OPTIONS,
        "partner_options": PARTNER_OPTIONS, "tactic_options": TACTIC_OPTIONS,
        "response_rows": _row_count(values, "responses", MAX_RESPONSE_ROWS),
        "action_rows": _row_count(values, "actions", MAX_ACTION_ROWS),
    }, status_code=status_code)


# --- retire, bring back, copy ------------------------------------------------------------------

@router.get("/templates/{slug}/retire")
def retire_confirmation(request: Request, actor: PageActor, db: Db, slug: Slug) -> Response:
    template = service.managed_template(db, actor, slug)
    return render(request, "problem_templates/retire.html",
                  {"active_nav": "templates", "template": template})


@router.post("/templates/{slug}/retirement")
def retire(request: Request, actor: PageActor, db: Db, form: Form, slug: Slug) -> Response:
    retired = forms.text(form, "retired") != "no"
    template = service.set_retired(db, actor, slug, retired)
    return redirect(f"/templates/{template.slug}?flash={'retired' if retired else 'restored'}")


@router.post("/templates/{slug}/copies")
def copy_template(request: Request, actor: PageActor, db: Db, form: Form,
                  slug: Slug) -> Response:
    payload = {"slug": forms.text(form, "copy_slug"), "name": forms.optional(form, "copy_name")}
    try:
        copy = service.copy_to_force(db, actor, slug, validate(TemplateCopy, payload))
    except ValidationFailed as exc:
        db.rollback()
        template = service.view_template(db, actor, slug)
        errors = {f"copy_{e.field}": e.message for e in exc.errors}
        return _template_page(request, db, actor, template, status_code=422,
                              copy_errors=errors, copy_values=dict(form))
    return redirect(f"/templates/{copy.slug}?flash=copied")


# --- the form's fields -------------------------------------------------------------------------

def content_payload(form: forms.Form) -> tuple[dict[str, Any], dict[str, str]]:
    """A template form as the schema's payload. Response and action rows left blank are
    skipped; the second value maps the payload's row fields (``actions.0``) back to the form's
    rows (``actions.2``) so that messages land beside the right boxes."""
    payload: dict[str, Any] = {name: forms.text(form, name)
                               for name in ("name", "category", "priority", "summary")}
    payload["cheers_prompts"] = {e.value: forms.text(form, f"cheers_prompts-{e.value}")
                                 for e in CheersElement}
    payload["hypotheses"] = [line.strip() for line in forms.text(form, "hypotheses").splitlines()
                             if line.strip()]
    payload["review_every_days"] = forms.optional(form, "review_every_days")
    rows: dict[str, str] = {}
    payload["responses"] = _rows(form, "responses", ("technique", "why"), MAX_RESPONSE_ROWS,
                                 rows)
    payload["actions"] = _rows(form, "actions", ("title", "tactic", "partner", "due_in_days"),
                               MAX_ACTION_ROWS, rows, optional=("tactic",),
                               quiet=("partner",))
    return payload, rows


def _rows(form: forms.Form, name: str, fields: tuple[str, ...], most: int,
          rows: dict[str, str], optional: tuple[str, ...] = (),
          quiet: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The filled rows of a repeatable group; ``quiet`` fields (a select with a default) do
    not make a row filled on their own."""
    found: list[dict[str, Any]] = []
    for i in range(most):
        row: dict[str, str | None] = {f: forms.text(form, f"{name}-{i}-{f}") for f in fields}
        if not any(v for f, v in row.items() if f not in quiet):
            continue
        for f in optional:
            row[f] = row[f] or None
        rows[f"{name}.{len(found)}"] = f"{name}.{i}"
        found.append(row)
    return found


def _errors(errors: list[FieldError], rows: dict[str, str], form: forms.Form) -> dict[str, str]:
    """Messages by form control, in the form's order: row fields back on their own rows, a
    hypothesis's message on the one box that holds them all."""
    placed: list[FieldError] = []
    for error in errors:
        field = error.field
        head = ".".join(field.split(".")[:2])
        if head in rows:
            field = rows[head] + field[len(head):]
        elif field.startswith("hypotheses."):
            number = int(field.split(".")[1]) + 1
            error = FieldError("hypotheses", f"Hypothesis {number}: {error.message}")
            field = "hypotheses"
        if not any(p.field == field for p in placed):
            placed.append(FieldError(field, error.message))
    return forms.errors_by_field(placed, list(form))


def _row_count(values: dict[str, Any], name: str, most: int) -> int:
    used = [int(key.split("-")[1]) for key in values
            if key.startswith(f"{name}-") and key.count("-") >= 2
            and key.split("-")[1].isdigit() and values[key]]
    return min(most, max(MIN_ROWS, (max(used) + 1 if used else 0) + SPARE_ROWS))


def version_values(version: CaseTemplateVersion) -> dict[str, Any]:
    """A version's content as the form's values, to start the next version from."""
    values: dict[str, Any] = {
        "name": version.name, "category": version.category, "priority": version.priority.value,
        "summary": version.summary, "hypotheses": "\n".join(version.hypotheses),
        "review_every_days": str(version.review_every_days or ""),
    }
    for element in CheersElement:
        values[f"cheers_prompts-{element.value}"] = version.cheers_prompts.get(element.value, "")
    for i, response in enumerate(version.responses):
        values |= {f"responses-{i}-technique": response["technique"],
                   f"responses-{i}-why": response["why"]}
    for i, action in enumerate(version.actions):
        values |= {f"actions-{i}-title": action["title"],
                   f"actions-{i}-tactic": action.get("tactic") or "",
                   f"actions-{i}-partner": action.get("partner") or "police",
                   f"actions-{i}-due_in_days": str(action["due_in_days"])}
    return values

