"""Administration page: identity-provider groups and the role and scope each gives."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from app.auth.context import Actor
from app.auth.roles import Role
from app.auth.signin_groups import NewSignInGroup, add_group, list_groups, remove_group
from app.errors import FieldError, ValidationFailed
from app.settings import oidc_enabled
from app.web import forms
from app.web.deps import Db, PageActor, csrf_protect
from app.web.routes.admin import ROLE_OPTIONS, Form, scope_choices
from app.web.templating import render

router = APIRouter(prefix="/admin/sign-in-groups", dependencies=[Depends(csrf_protect)],
                   include_in_schema=False)
GroupId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("")
def groups_page(request: Request, actor: PageActor, db: Db) -> Response:
    return _page(request, db, actor, {}, {})


def _page(request: Request, db: Session, actor: Actor, values: dict[str, Any],
          errors: dict[str, str], status_code: int = 200) -> Response:
    settings = request.app.state.settings
    return render(request, "admin/signin_groups.html", {
        "active_nav": "users", "groups": list_groups(db, actor), "values": values,
        "errors": errors, "role_options": ROLE_OPTIONS, **scope_choices(db),
        "provider": oidc_enabled(settings), "claim": settings.oidc_groups_claim,
    }, status_code=status_code)


@router.post("")
def add_submit(request: Request, actor: PageActor, db: Db, form: Form) -> Response:
    role = forms.text(form, "role")
    known = role in Role._value2member_map_
    earlier = [] if known else [FieldError("role", "Choose the role this group gives.")]
    try:
        add_group(db, actor, NewSignInGroup(
            group=forms.text(form, "group"), role=Role(role) if known else Role.OFFICER,
            borough_code=forms.optional(form, "borough"),
            force_id=forms.optional(form, "force")), earlier)
    except ValidationFailed as exc:
        db.rollback()
        return _page(request, db, actor, dict(form),
                     forms.errors_by_field(exc.errors, order=list(form)), status_code=422)
    return RedirectResponse("/admin/sign-in-groups", status_code=303)


@router.post("/{group_id}/delete")
def remove_submit(actor: PageActor, db: Db, group_id: GroupId) -> Response:
    remove_group(db, actor, group_id)
    return RedirectResponse("/admin/sign-in-groups", status_code=303)
