"""What a case section's form post answers: the section again after a save (or a redirect
back to it, for a plain form), or the case page with the form and its errors, re-rendered
for the section it came from. Shared by the case, community and patrol pages."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.auth.context import Actor
from app.cases.access import case_for
from app.errors import Conflict, StaleVersion, ValidationFailed
from app.web import forms
from app.web.case_page import render_case
from app.web.deps import redirect
from app.web.sections import SECTIONS
from app.web.templating import is_htmx


def saved(request: Request, db: Session, actor: Actor, ref: str, section: str) -> Response:
    """After a successful save: htmx gets the section plus fresh gate, header and timeline;
    a plain form post is redirected back to the section (post/redirect/get)."""
    if not is_htmx(request):
        return redirect(f"/cases/{ref}?section={section}#section-{section}")
    case = case_for(db, actor, ref)
    return render_case(request, db, actor, case, [f"section_{section}", "refresh_partials"])


def form_failed(request: Request, db: Session, actor: Actor, ref: str, section: str,
                 status_code: int, **overrides: Any) -> Response:
    db.rollback()
    case = case_for(db, actor, ref)
    return render_case(request, db, actor, case,
                       [f"section_{section}"] if is_htmx(request) else None,
                       status_code=status_code, open_stage=SECTIONS[section].stage, **overrides)


def save_item(request: Request, db: Session, actor: Actor, ref: str, section: str,
               prefix: str, form: FormData, save: Any) -> Response:
    try:
        save()
    except ValidationFailed as exc:
        return form_failed(request, db, actor, ref, section, 422, editing=prefix,
                            item_values=dict(form),
                            item_errors=forms.prefixed(exc.errors, prefix, list(form)),
                            form_version=forms.version(form))
    except StaleVersion as exc:
        return form_failed(request, db, actor, ref, section, 409, editing=prefix,
                            item_values=dict(form), conflict=exc.message,
                            form_version=exc.current_version)
    except Conflict as exc:
        return form_failed(request, db, actor, ref, section, 409, editing=prefix,
                            item_values=dict(form), conflict=exc.message)
    return saved(request, db, actor, ref, section)
