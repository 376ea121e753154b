"""The notification pages: a person's own list (read marks, paged) and their e-mail settings.
The same services as the API; the header's unread count comes with the signed-in user."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.auth.context import Actor
from app.errors import StaleVersion, ValidationFailed
from app.notifications import service
from app.notifications.models import Delivery, NotificationKind
from app.notifications.schemas import PAGE_SIZE, NotificationQuery, PreferencesUpdate
from app.validation import validate
from app.web import forms
from app.web.deps import Db, Form, PageActor, csrf_protect, redirect
from app.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
NotificationId = Annotated[int, Path(ge=1, le=2**31 - 1)]
DELIVERY_OPTIONS = [(d.value, d.label) for d in Delivery]
FLASHES = {"read": "The notification is marked as read.",
           "all-read": "All your notifications are marked as read.",
           "saved": "Your notification settings are saved."}


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return max(1, min(int(raw), 100_000)) if raw.isdigit() else 1


def _list_address(page: int, unread: bool, flash: str = "") -> str:
    params = {key: value for key, value in (
        ("unread", "1" if unread else ""), ("page", str(page) if page > 1 else ""),
        ("flash", flash)) if value}
    return "/notifications" + (f"?{urlencode(params)}" if params else "")


@router.get("/notifications")
def notification_list(request: Request, actor: PageActor, db: Db) -> Response:
    page = _page_number(request)
    unread = request.query_params.get("unread") == "1"
    result = service.list_notifications(db, actor, NotificationQuery(
        unread=unread, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE))
    pages = max(1, -(-result.total // PAGE_SIZE))
    return render(request, "notifications/list.html", {
        "active_nav": "notifications", "result": result, "page": page, "pages": pages,
        "unread_only": unread, "flash": FLASHES.get(request.query_params.get("flash", ""), ""),
        "previous_page": _list_address(page - 1, unread) if page > 1 else "",
        "next_page": _list_address(page + 1, unread) if page < pages else "",
        "here": _list_address(page, unread)})


@router.post("/notifications/read-all")
def read_all(actor: PageActor, db: Db) -> Response:
    service.mark_all_read(db, actor)
    return redirect(_list_address(1, False, "all-read"))


@router.post("/notifications/{notification_id}/read")
def read_one(actor: PageActor, db: Db, form: Form, notification_id: NotificationId) -> Response:
    service.mark_read(db, actor, notification_id)
    page = forms.text(form, "page")
    return redirect(_list_address(int(page) if page.isdigit() else 1,
                                  forms.text(form, "unread") == "1", "read"))


# --- settings ----------------------------------------------------------------------------------

@router.get("/notifications/settings")
def settings_page(request: Request, actor: PageActor, db: Db) -> Response:
    current = service.get_preferences(db, actor)
    values = {"email": current.email or "", "version": current.version,
              **{f"delivery-{kind.value}": delivery.value
                 for kind, delivery in current.delivery.items()}}
    return _settings(request, db, actor, values, {})


def _settings(request: Request, db: Session, actor: Actor, values: dict[str, Any],
              errors: dict[str, str], conflict: str = "", status_code: int = 200) -> Response:
    return render(request, "notifications/settings.html", {
        "active_nav": "notifications", "values": values, "errors": errors,
        "conflict": conflict, "kinds": list(NotificationKind),
        "delivery_options": DELIVERY_OPTIONS,
        "flash": FLASHES["saved"] if request.query_params.get("flash") == "saved" else ""},
        status_code=status_code)


@router.post("/notifications/settings")
def save_settings(request: Request, actor: PageActor, db: Db, form: Form) -> Response:
    values: dict[str, Any] = dict(form)
    chosen = {kind.value: forms.text(form, f"delivery-{kind.value}") or Delivery.OFF.value
              for kind in NotificationKind}
    errors: dict[str, str] = {}
    bad = [kind for kind, value in chosen.items() if value not in Delivery._value2member_map_]
    for kind in bad:
        errors[f"delivery-{kind}"] = "Choose how this comes by e-mail."
    wants_mail = any(value != Delivery.OFF.value for value in chosen.values())
    email = forms.text(form, "email")
    if wants_mail and not email and not bad:
        errors["email"] = "Enter your e-mail address, or choose no e-mail for every kind."
    if errors:
        return _settings(request, db, actor, values, errors, status_code=422)
    try:
        service.set_preferences(db, actor, validate(PreferencesUpdate, {
            "version": forms.version(form), "email": email or None, "delivery": chosen}))
    except ValidationFailed as exc:
        db.rollback()
        return _settings(request, db, actor, values, forms.errors_by_field(exc.errors),
                         status_code=422)
    except StaleVersion as exc:
        db.rollback()
        values["version"] = exc.current_version
        return _settings(request, db, actor, values, {}, conflict=exc.message,
                         status_code=409)
    return redirect("/notifications/settings?flash=saved")
