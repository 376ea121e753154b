"""Administration pages: users, API tokens, the access log and sign-in throttling."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.api.admin import csv_response
from app.audit import service as audit
from app.auth.context import Actor, acting_user
from app.auth.permissions import Perm, home_area, require
from app.auth.roles import Role
from app.auth.service import (
    NewUser,
    UserChanges,
    create_token,
    create_user,
    get_user,
    list_tokens,
    list_users,
    revoke_token,
    update_user,
)
from app.auth.throttle import throttling_report
from app.deps import get_db
from app.errors import FieldError, NotFound, StaleVersion, ValidationFailed
from app.handover.service import left_behind
from app.reference.models import Borough
from app.reference.service import grouped_by_force, list_boroughs, list_forces
from app.web import forms
from app.web.deps import PageActor, csrf_protect
from app.web.templating import render

router = APIRouter(prefix="/admin", dependencies=[Depends(csrf_protect)],
                   include_in_schema=False)
Db = Annotated[Session, Depends(get_db)]
Username = Annotated[str, Path(min_length=1, max_length=64)]
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ROLE_OPTIONS = [(r.value, r.label) for r in Role]
AUDIT_PAGE_SIZE = 50


async def form_data(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


def scope_choices(db: Session) -> dict[str, Any]:
    """The force and home-area choices of a user's scope, and a user's scope in words."""
    areas = list_boroughs(db)
    forces = list_forces(db)
    area_names = {a.code: a.label for a in areas}
    force_names = {f.id: f.label for f in forces}

    def scope(user: Any) -> str:  # as scope_name, from the names read once for the list
        home = home_area(user)
        if home:
            return area_names.get(home, home)
        if user.force_id:
            return f"{force_names.get(user.force_id, user.force_id)} (every area)"
        return "Every force"

    return {"boroughs": [(force.label, [(a.code, f"{a.label} ({a.code})") for a in items])
                         for force, items in grouped_by_force(db, areas)],
            "forces": [(f.id, f.label) for f in forces], "scope": scope}


def _scope_changes(form: FormData) -> dict[str, Any]:
    """The scope fields of a user form: a home area, else a force, else every force."""
    borough, force = forms.optional(form, "borough"), forms.optional(form, "force")
    return {"borough_code": borough, "force_id": force}


# --- users -------------------------------------------------------------------------------------

@router.get("/users")
def users_page(request: Request, actor: PageActor, db: Db, saved: str = "") -> Response:
    return _users_page(request, db, actor, {}, {}, saved=saved)


def _users_page(request: Request, db: Session, actor: Actor, values: dict[str, Any],
                errors: dict[str, str], status_code: int = 200, saved: str = "") -> Response:
    users = list_users(db, actor)
    flash = f"Saved {saved}." if any(u.username == saved for u in users) else ""
    return render(request, "admin/users.html", {
        "active_nav": "users", "users": users, "values": values, "errors": errors,
        "role_options": ROLE_OPTIONS, **scope_choices(db), "flash": flash,
    }, status_code=status_code)


@router.post("/users")
def create_user_submit(request: Request, actor: PageActor, db: Db, form: Form) -> Response:
    require(acting_user(actor), Perm.USER_MANAGE)
    values: dict[str, Any] = dict(form)
    role = forms.text(form, "role")
    earlier = []  # reported with the account's own checks: every wrong field at once
    if role not in Role._value2member_map_:
        earlier.append(FieldError("role", "Choose a role."))
    password = str(form.get("password") or "")
    if not password:
        earlier.append(FieldError(
            "password", "Set a first password (the user can be given a new one later)."))
    try:
        user = create_user(db, actor, NewUser(
            username=forms.text(form, "username"),
            role=Role(role) if role in Role._value2member_map_ else Role.OFFICER,
            display_name=forms.text(form, "display_name"), password=password or None,
            **_scope_changes(form)), earlier)
    except ValidationFailed as exc:
        db.rollback()
        return _users_page(request, db, actor, values,
                           forms.errors_by_field(exc.errors, order=list(form)),
                           status_code=422)
    return RedirectResponse(f"/admin/users?saved={user.username}", status_code=303)


@router.get("/users/{username}")
def edit_user_page(request: Request, actor: PageActor, db: Db, username: Username) -> Response:
    require(acting_user(actor), Perm.USER_MANAGE)
    user = get_user(db, username)
    values = {"display_name": user.display_name, "role": user.role.value,
              "borough": user.borough_code or "", "force": user.force_id or "",
              "active": "yes" if user.active else "no", "email": user.email or "",
              "version": user.version}
    return _edit_user(request, db, user.username, values, {},
                      deactivated=request.query_params.get("deactivated") == "1")


def _edit_user(request: Request, db: Session, username: str, values: dict[str, Any],
               errors: dict[str, str], conflict: str = "", status_code: int = 200,
               deactivated: bool = False) -> Response:
    person = get_user(db, username)
    return render(request, "admin/user_edit.html", {
        "active_nav": "users", "username": username, "values": values, "errors": errors,
        "conflict": conflict, "role_options": ROLE_OPTIONS, **scope_choices(db),
        "person": person, "left": left_behind(db, person), "deactivated": deactivated,
    }, status_code=status_code)


@router.post("/users/{username}")
def edit_user_submit(request: Request, actor: PageActor, db: Db, form: Form,
                     username: Username) -> Response:
    require(acting_user(actor), Perm.USER_MANAGE)
    values: dict[str, Any] = dict(form)
    role = forms.text(form, "role")
    version = forms.version(form)
    if role not in Role._value2member_map_ or not isinstance(version, int):
        return _edit_user(request, db, username, values, {"role": "Choose a role."},
                          status_code=422)
    scope = _scope_changes(form)
    was_active = get_user(db, username).active
    try:
        user = update_user(db, actor, username, UserChanges(
            version=version, display_name=forms.text(form, "display_name"), role=Role(role),
            **scope, all_boroughs=scope["borough_code"] is None,
            every_force=scope["borough_code"] is None and scope["force_id"] is None,
            active=forms.text(form, "active") != "no", email=forms.text(form, "email"),
            password=str(form.get("password") or "") or None))
    except ValidationFailed as exc:
        db.rollback()
        return _edit_user(request, db, username, values, forms.errors_by_field(exc.errors),
                          status_code=422)
    except StaleVersion as exc:
        db.rollback()
        values["version"] = exc.current_version
        return _edit_user(request, db, username, values, {}, conflict=exc.message,
                          status_code=409)
    if was_active and not user.active and left_behind(db, user).any:
        # Say at once what the person leaves open, and where it will be handed over.
        return RedirectResponse(f"/admin/users/{user.username}?deactivated=1", status_code=303)
    return RedirectResponse(f"/admin/users?saved={user.username}", status_code=303)


# --- tokens ------------------------------------------------------------------------------------

@router.get("/tokens")
def tokens_page(request: Request, actor: PageActor, db: Db) -> Response:
    return _tokens_page(request, db, actor)


def _tokens_page(request: Request, db: Session, actor: Actor, *, new_secret: str = "",
                 new_name: str = "", errors: dict[str, str] | None = None,
                 values: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    return render(request, "admin/tokens.html", {
        "active_nav": "tokens", "tokens": list_tokens(db, actor),
        "user_options": [(u.username, f"{u.display_name} ({u.username}, {u.role.label})")
                         for u in list_users(db, actor) if u.active],
        "new_secret": new_secret,
        "new_name": new_name, "errors": errors or {}, "values": values or {},
    }, status_code=status_code)


@router.post("/tokens")
def issue_token(request: Request, actor: PageActor, db: Db, form: Form) -> Response:
    require(acting_user(actor), Perm.TOKEN_MANAGE)
    try:
        user = get_user(db, forms.text(form, "user"))
        token, secret = create_token(db, actor, user, forms.text(form, "name"))
    except NotFound:
        return _tokens_page(request, db, actor, errors={"user": "Choose a user."},
                            values=dict(form), status_code=422)
    except ValidationFailed as exc:
        db.rollback()
        return _tokens_page(request, db, actor, errors=forms.errors_by_field(exc.errors),
                            values=dict(form), status_code=422)
    # Shown once, on this answer only (never stored, never in a redirect's URL).
    return _tokens_page(request, db, actor, new_secret=secret, new_name=token.name)


@router.post("/tokens/{token_id}/revoke")
def revoke(request: Request, actor: PageActor, db: Db, token_id: TokenId) -> Response:
    revoke_token(db, actor, token_id)
    return RedirectResponse("/admin/tokens", status_code=303)


# --- access log --------------------------------------------------------------------------------

def _audit_query(request: Request) -> tuple[audit.AuditQuery, dict[str, str]]:
    params = request.query_params
    errors: dict[str, str] = {}
    dates: dict[str, date | None] = {}
    for name, label in (("date_from", "from"), ("date_to", "to")):
        raw = (params.get(name) or "").strip()
        try:
            dates[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors[name] = f"Enter the '{label}' date as a real date, YYYY-MM-DD."
            dates[name] = None
    query = audit.AuditQuery(
        actor=(params.get("user") or "").strip()[:64] or None,
        action=(params.get("action") or "").strip()[:40] or None,
        object_ref=(params.get("object_ref") or "").strip()[:64] or None, **dates)
    return query, errors


@router.get("/audit")
def audit_page(request: Request, actor: PageActor, db: Db) -> Response:
    query, errors = _audit_query(request)
    page_param = request.query_params.get("page", "1")
    page = int(page_param) if page_param.isdigit() and int(page_param) > 0 else 1
    entries, total = audit.search_log(db, actor, query, limit=AUDIT_PAGE_SIZE,
                                      offset=(page - 1) * AUDIT_PAGE_SIZE)
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page" and v]
    return render(request, "admin/audit.html", {
        "active_nav": "audit", "entries": entries, "total": total, "query": query,
        "errors": errors, "page": page, "pages": max(1, -(-total // AUDIT_PAGE_SIZE)),
        "action_options": [(a.value, a.value) for a in audit.AuditAction],
        "page_url": lambda p: "/admin/audit?" + urlencode([*params, ("page", str(p))]),
        "csv_url": "/admin/audit.csv?" + urlencode(params),
        "area_names": _area_names(db, {e.object_ref for e in entries if e.object_ref}),
    }, status_code=422 if errors else 200)


def _area_names(db: Session, refs: set[str]) -> dict[str, str]:
    """The names of the local policing areas among the records (views of an area's queue or
    hotspots are logged under its code), so that the log reads "Westminster (E09000033)"."""
    return {b.code: b.label for b in db.scalars(select(Borough).where(Borough.code.in_(refs)))}


@router.get("/sign-in-throttling")
def throttling_page(request: Request, actor: PageActor, db: Db) -> Response:
    report = throttling_report(db, actor)
    return render(request, "admin/throttling.html", {
        "active_nav": "audit", "report": report, "settings": request.app.state.settings})


@router.get("/audit.csv")
def audit_csv(request: Request, actor: PageActor, db: Db) -> Response:
    query, _errors = _audit_query(request)
    audit.start_export(db, actor, query)
    return csv_response(request, query)
