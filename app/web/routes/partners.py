"""Partner pages: the force's directory (list, add, change, retire, contacts) and the case
page's partner section. Thin adapters over ``app.partners``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.auth.models import User
from app.auth.permissions import Perm, has, require
from app.cases.access import acting_user, case_for
from app.errors import Conflict, StaleVersion, ValidationFailed
from app.partners import directory, on_cases
from app.partners.access import agency_for, contact_of, may_manage, sees_directory_contacts
from app.partners.models import PartnerAgency, PartnerContact
from app.partners.schemas import (
    AgencyCreate,
    AgencyUpdate,
    CasePartnerCreate,
    CasePartnerUpdate,
    ContactCreate,
    ContactUpdate,
)
from app.reference.models import Borough
from app.reference.service import forces_with_areas
from app.sara.partners import AgencyKind
from app.validation import Problems, validate
from app.web import forms
from app.web.case_page import render_case
from app.web.deps import Db, Form, PageActor, csrf_protect, redirect
from app.web.templating import is_htmx, render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Ref = Annotated[str, Path(min_length=3, max_length=20)]
KIND_OPTIONS = [(k.value, k.label) for k in AgencyKind]
AGENCY_FIELDS = ("name", "kind", "borough", "notes")
CONTACT_FIELDS = ("name", "job_title", "phone", "email")
FLASH = {"created": "The agency is in the directory.", "saved": "Your changes are saved.",
         "retired": "The agency is retired: it stays on the cases and actions that name it, "
                    "but is no longer offered.",
         "restored": "The agency is offered again.", "contact": "The contact is added.",
         "contact-saved": "The contact is saved.",
         "contact-retired": "The contact is retired. They are on an open case, so their "
                            "details are kept until that case no longer names them.",
         "contact-erased": "The contact is retired and their name, phone and e-mail are "
                           "erased: the record says \"Former contact\"."}


# --- the directory -----------------------------------------------------------------------------

@router.get("/partners")
def agency_list(request: Request, actor: PageActor, db: Db,
                kind: Annotated[str, Query(max_length=20)] = "",
                q: Annotated[str, Query(max_length=200)] = "",
                retired: Annotated[str, Query(max_length=3)] = "") -> Response:
    chosen = kind if kind in AgencyKind._value2member_map_ else ""
    found = directory.list_agencies(db, actor, kind=AgencyKind(chosen) if chosen else None,
                                    q=q, include_retired=retired == "yes")
    user = acting_user(actor)
    return render(request, "partners/list.html", {
        "active_nav": "partners", "agencies": found, "kind": chosen, "q": q,
        "show_retired": retired == "yes", "kind_options": KIND_OPTIONS,
        "may_add": has(user, Perm.PARTNER_MANAGE), "across_forces": user.force_id is None})


@router.get("/partners/new")
def new_agency_form(request: Request, actor: PageActor, db: Db) -> Response:
    require(acting_user(actor), Perm.PARTNER_MANAGE)
    return _agency_form(request, db, actor, None, {}, {})


@router.post("/partners")
def create_agency(request: Request, actor: PageActor, db: Db, form: Form) -> Response:
    payload = _agency_payload(form) | {"force": forms.optional(form, "force")}
    try:
        agency = directory.create_agency(db, actor, validate(AgencyCreate, payload,
                                                             _kind_chosen(payload)))
    except ValidationFailed as exc:
        db.rollback()
        return _agency_form(request, db, actor, None, dict(form),
                            forms.errors_by_field(exc.errors, list(form)), status_code=422)
    return redirect(f"/partners/{agency.id}?flash=created")


def _agency_payload(form: FormData) -> dict[str, Any]:
    return {"name": forms.text(form, "name"), "kind": forms.text(form, "kind"),
            "borough": forms.optional(form, "borough"), "notes": forms.text(form, "notes")}


def _kind_chosen(payload: dict[str, Any]) -> Problems:
    problems = Problems()
    if not payload["kind"]:
        problems.add("kind", "Choose the kind of agency.")
    return problems


def _agency_form(request: Request, db: Session, actor: Actor, agency: PartnerAgency | None,
                 values: dict[str, Any], errors: dict[str, str], *, status_code: int = 200,
                 conflict: str = "") -> Response:
    user = acting_user(actor)
    return render(request, "partners/form.html", {
        "active_nav": "partners", "agency": agency, "values": values, "errors": errors,
        "conflict": conflict, "kind_options": KIND_OPTIONS,
        "area_options": _areas(db, user),
        # An account without a force names the force whose directory the agency joins.
        "force_options": [(f.id, f.label) for f, _n in forces_with_areas(db)]
        if agency is None and user.force_id is None else []},
        status_code=status_code)


def _areas(db: Session, user: User) -> forms.Options:
    """The directory is the force's: every area of it, not only a supervisor's own."""
    if user.force_id is None:
        return forms.area_options(db, user)
    return [(b.code, b.label) for b in db.scalars(
        select(Borough).where(Borough.force_id == user.force_id).order_by(Borough.name))]


@router.get("/partners/{agency_id}")
def agency_page(request: Request, actor: PageActor, db: Db, agency_id: ItemId,
                flash: Annotated[str, Query(max_length=20)] = "") -> Response:
    agency = directory.view_agency(db, actor, agency_id)
    return _agency_page(request, actor, agency, flash=FLASH.get(flash, ""))


def _agency_page(request: Request, actor: Actor, agency: PartnerAgency, *,
                 status_code: int = 200, **extra: Any) -> Response:
    user = acting_user(actor)
    return render(request, "partners/detail.html", {
        "active_nav": "partners", "agency": agency,
        "may_manage": may_manage(user, agency.force_id),
        "sees_contacts": sees_directory_contacts(user),
        "contact_values": {}, "contact_errors": {}, "flash": "", **extra},
        status_code=status_code)


@router.get("/partners/{agency_id}/edit")
def edit_agency_form(request: Request, actor: PageActor, db: Db, agency_id: ItemId) -> Response:
    agency = agency_for(db, acting_user(actor), agency_id, manage=True)
    record_read(db, actor, AuditAction.PARTNER_VIEW, object_type="partner",
                object_ref=str(agency.id), details={"form": "edit"})
    values = {"name": agency.name, "kind": agency.kind.value,
              "borough": agency.borough_code or "", "notes": agency.notes,
              "version": str(agency.version)}
    return _agency_form(request, db, actor, agency, values, {})


@router.post("/partners/{agency_id}")
def update_agency(request: Request, actor: PageActor, db: Db, form: Form,
                  agency_id: ItemId) -> Response:
    payload = _agency_payload(form) | {"version": forms.version(form)}
    try:
        directory.update_agency(db, actor, agency_id, validate(AgencyUpdate, payload,
                                                               _kind_chosen(payload)))
    except ValidationFailed as exc:
        db.rollback()
        agency = agency_for(db, acting_user(actor), agency_id, manage=True)
        return _agency_form(request, db, actor, agency, dict(form),
                            forms.errors_by_field(exc.errors, list(form)), status_code=422)
    except StaleVersion as exc:
        db.rollback()
        agency = agency_for(db, acting_user(actor), agency_id, manage=True)
        return _agency_form(request, db, actor, agency,
                            dict(form) | {"version": str(exc.current_version)}, {},
                            status_code=409, conflict=exc.message)
    return redirect(f"/partners/{agency_id}?flash=saved")


@router.post("/partners/{agency_id}/retirement")
def retire_agency(request: Request, actor: PageActor, db: Db, form: Form,
                  agency_id: ItemId) -> Response:
    retire = forms.text(form, "retired") != "no"
    try:
        directory.update_agency(db, actor, agency_id, validate(AgencyUpdate, {
            "version": forms.version(form), "retired": retire}))
    except (ValidationFailed, StaleVersion) as exc:
        db.rollback()
        agency = agency_for(db, acting_user(actor), agency_id)
        message = exc.message if isinstance(exc, StaleVersion) else \
            "The agency could not be changed: reload the page and try again."
        return _agency_page(request, actor, agency, status_code=409, conflict=message)
    return redirect(f"/partners/{agency_id}?flash={'retired' if retire else 'restored'}")


# --- contacts ----------------------------------------------------------------------------------

def _contact_payload(form: FormData, prefix: str) -> dict[str, Any]:
    return {name: forms.text(form, f"{prefix}-{name}") for name in CONTACT_FIELDS}


@router.post("/partners/{agency_id}/contacts")
def add_contact(request: Request, actor: PageActor, db: Db, form: Form,
                agency_id: ItemId) -> Response:
    try:
        directory.add_contact(db, actor, agency_id,
                              validate(ContactCreate, _contact_payload(form, "contact")))
    except ValidationFailed as exc:
        db.rollback()
        agency = agency_for(db, acting_user(actor), agency_id)
        return _agency_page(request, actor, agency, status_code=422,
                            contact_values=dict(form),
                            contact_errors=forms.prefixed(exc.errors, "contact", list(form)))
    return redirect(f"/partners/{agency_id}?flash=contact#contacts")


@router.get("/partners/{agency_id}/contacts/{contact_id}/edit")
def edit_contact_form(request: Request, actor: PageActor, db: Db, agency_id: ItemId,
                      contact_id: ItemId) -> Response:
    agency = agency_for(db, acting_user(actor), agency_id, manage=True)
    contact = contact_of(db, agency, contact_id)
    record_read(db, actor, AuditAction.PARTNER_VIEW, object_type="partner",
                object_ref=str(agency.id), details={"form": "contact", "contact": contact.id})
    values = {f"contact-{name}": getattr(contact, name) for name in CONTACT_FIELDS}
    return _contact_form(request, agency, contact, values | {"version": str(contact.version)},
                         {})


def _contact_form(request: Request, agency: PartnerAgency, contact: PartnerContact,
                  values: dict[str, Any], errors: dict[str, str], *, status_code: int = 200,
                  conflict: str = "") -> Response:
    return render(request, "partners/contact.html", {
        "active_nav": "partners", "agency": agency, "contact": contact, "values": values,
        "errors": errors, "conflict": conflict}, status_code=status_code)


@router.post("/partners/{agency_id}/contacts/{contact_id}")
def update_contact(request: Request, actor: PageActor, db: Db, form: Form, agency_id: ItemId,
                   contact_id: ItemId) -> Response:
    retire = forms.text(form, "retired") == "yes"
    payload: dict[str, Any] = {"version": forms.version(form)}
    payload |= {"retired": True} if retire else _contact_payload(form, "contact")
    try:
        contact = directory.update_contact(db, actor, agency_id, contact_id,
                                           validate(ContactUpdate, payload))
    except (ValidationFailed, StaleVersion) as exc:
        db.rollback()
        agency = agency_for(db, acting_user(actor), agency_id, manage=True)
        found = contact_of(db, agency, contact_id)
        stale = isinstance(exc, StaleVersion)
        errors = (forms.prefixed(exc.errors, "contact", list(form))
                  if isinstance(exc, ValidationFailed) else {})
        return _contact_form(request, agency, found, dict(form) | (
            {"version": str(found.version)} if stale else {}), errors,
            status_code=409 if stale else 422, conflict=exc.message if stale else "")
    flash = "contact-saved" if not retire else \
        "contact-erased" if contact.erased_at else "contact-retired"
    return redirect(f"/partners/{agency_id}?flash={flash}#contacts")


# --- the case page's section -------------------------------------------------------------------

@router.post("/cases/{ref}/partners")
def add_case_partner(request: Request, actor: PageActor, db: Db, form: Form,
                     ref: Ref) -> Response:
    payload = {"agency": forms.optional(form, "partner-agency"),
               "contact": forms.optional(form, "partner-contact"),
               "role": forms.text(form, "partner-role") or "member"}
    problems = Problems()
    if payload["agency"] is None:
        problems.add("agency", "Choose an agency from the directory.")
    return _save(request, db, actor, ref, "partner", form, lambda: on_cases.add_case_partner(
        db, actor, ref, validate(CasePartnerCreate, payload, problems)))


@router.post("/cases/{ref}/partners/{partner_id}")
def update_case_partner(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref,
                        partner_id: ItemId) -> Response:
    prefix = f"partner{partner_id}"
    payload: dict[str, Any] = {"version": forms.version(form),
                               "role": forms.text(form, f"{prefix}-role") or None}
    if f"{prefix}-contact" in form:  # only those who see contacts are offered the choice
        payload["contact"] = forms.optional(form, f"{prefix}-contact")
    return _save(request, db, actor, ref, prefix, form, lambda: on_cases.update_case_partner(
        db, actor, ref, partner_id, validate(CasePartnerUpdate, payload)))


@router.post("/cases/{ref}/partners/{partner_id}/removal")
def remove_case_partner(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref,
                        partner_id: ItemId) -> Response:
    return _save(request, db, actor, ref, f"partner{partner_id}", form,
                 lambda: on_cases.remove_case_partner(db, actor, ref, partner_id))


def _save(request: Request, db: Session, actor: Actor, ref: str, prefix: str, form: FormData,
          save: Any) -> Response:
    """htmx gets the section back with the timeline; a plain post is redirected to it. A
    refused change re-renders the section (or the page) with its messages."""
    try:
        save()
    except ValidationFailed as exc:
        return _failed(request, db, actor, ref, 422, partner_form=prefix,
                       partner_values=dict(form),
                       partner_errors=forms.prefixed(exc.errors, prefix, list(form)))
    except Conflict as exc:
        return _failed(request, db, actor, ref, 409, partner_form=prefix,
                       partner_conflict=exc.message)
    if not is_htmx(request):
        return redirect(f"/cases/{ref.upper()}#section-partners")
    case = case_for(db, actor, ref)
    return render_case(request, db, actor, case, ["section_partners", "refresh_partials"],
                       partners_open=True)


def _failed(request: Request, db: Session, actor: Actor, ref: str, status_code: int,
            **overrides: Any) -> Response:
    db.rollback()
    case = case_for(db, actor, ref)
    return render_case(request, db, actor, case,
                       ["section_partners"] if is_htmx(request) else None,
                       status_code=status_code, **overrides)
