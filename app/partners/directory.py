"""Directory use cases: list, read, add and change a force's partner agencies and their
contacts. Each call is one transaction with its access-log entry."""

from __future__ import annotations

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.auth.models import User
from app.auth.permissions import Perm, has, require
from app.cases.access import acting_user
from app.cases.models import Case
from app.db import utcnow
from app.errors import Forbidden, NotFound, StaleVersion, ValidationFailed
from app.partners.access import agency_for, contact_of, may_manage
from app.partners.models import CasePartner, PartnerAgency, PartnerContact
from app.partners.schemas import AgencyCreate, AgencyUpdate, ContactCreate, ContactUpdate
from app.reference.models import Borough, Force
from app.sara.partners import FORMER_CONTACT, AgencyKind
from app.sara.stages import Stage
from app.usecase import use_case

# --- read --------------------------------------------------------------------------------------


def list_agencies(db: Session, actor: Actor, *, force: str | None = None,
                  kind: AgencyKind | None = None, q: str | None = None,
                  include_retired: bool = False) -> list[PartnerAgency]:
    """The agencies of the forces the user covers, by name; another force's filter finds
    none."""
    user = acting_user(actor)
    if not (has(user, Perm.CASE_READ) or has(user, Perm.PARTNER_MANAGE)):
        raise Forbidden(f"Your role ({user.role.label}) does not read the partner directory.")
    query = select(PartnerAgency).order_by(func.lower(PartnerAgency.name), PartnerAgency.id)
    if user.force_id is not None:
        query = query.where(PartnerAgency.force_id == user.force_id)
    # Browsers never send NUL; a crafted request's are dropped (PostgreSQL refuses them).
    force, q = (force or "").replace("\x00", "").strip().lower(), (q or "").replace("\x00", "")
    if force:
        query = query.where(PartnerAgency.force_id == force)
    if kind is not None:
        query = query.where(PartnerAgency.kind == kind)
    if q.strip():
        query = query.where(func.lower(PartnerAgency.name).contains(q.strip().lower(),
                                                                    autoescape=True))
    if not include_retired:
        query = query.where(PartnerAgency.retired_at.is_(None))
    agencies = list(db.scalars(query))
    record_read(db, actor, AuditAction.PARTNER_LIST, object_type="partners",
                object_ref=force or user.force_id or "all", details={"count": len(agencies)})
    return agencies


def view_agency(db: Session, actor: Actor, agency_id: int) -> PartnerAgency:
    agency = agency_for(db, acting_user(actor), agency_id)
    record_read(db, actor, AuditAction.PARTNER_VIEW, object_type="partner",
                object_ref=str(agency.id))
    return agency


# --- agencies ----------------------------------------------------------------------------------

def create_agency(db: Session, actor: Actor, data: AgencyCreate) -> PartnerAgency:
    user = acting_user(actor)
    require(user, Perm.PARTNER_MANAGE)
    force_id = _force_of_new_agency(db, user, data.force)
    with use_case(db, actor, AuditAction.PARTNER_CREATE, object_type="partner") as done:
        agency = PartnerAgency(force_id=force_id, name=data.name, kind=data.kind,
                               borough_code=_area(db, force_id, data.borough), notes=data.notes)
        db.add(agency)
        _flush_unique_name(db, agency.name)
        done.object_ref = str(agency.id)
        done.details = {"force": force_id, "kind": agency.kind.value}
    return agency


def _force_of_new_agency(db: Session, user: User, given: str | None) -> str:
    force_id = (given or user.force_id or "").strip().lower()
    if not force_id:
        raise ValidationFailed.one("force", "Name the force whose directory the agency joins.")
    if db.get(Force, force_id) is None:
        raise ValidationFailed.one("force", f"There is no police force {force_id}.")
    if not may_manage(user, force_id):
        raise ValidationFailed.one("force", "You manage your own force's partner directory "
                                            "only.")
    return force_id


def _area(db: Session, force_id: str, code: str | None) -> str | None:
    """The local policing area an agency serves must be one of its force's."""
    if code is None:
        return None
    borough = db.get(Borough, code)
    if borough is None or borough.force_id != force_id:
        raise ValidationFailed.one("borough", f"{code} is not a local policing area of "
                                              "the agency's force.")
    return code


def _flush_unique_name(db: Session, name: str) -> None:
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise ValidationFailed.one(
            "name", f"The directory already has an agency called {name}.") from exc


def update_agency(db: Session, actor: Actor, agency_id: int,
                  data: AgencyUpdate) -> PartnerAgency:
    agency = agency_for(db, acting_user(actor), agency_id, manage=True)
    _check_version(agency.version, data.version, agency.name)
    with use_case(db, actor, AuditAction.PARTNER_UPDATE, object_type="partner",
                  object_ref=str(agency.id)) as done:
        changed: list[str] = []
        fields = data.model_fields_set
        for name in ("name", "kind", "notes"):
            value = getattr(data, name)
            if name in fields and value is not None and value != getattr(agency, name):
                setattr(agency, name, value)
                changed.append(name)
        if "borough" in fields and data.borough != agency.borough_code:
            agency.borough_code = _area(db, agency.force_id, data.borough)
            changed.append("borough")
        if data.retired is not None and data.retired != (agency.retired_at is not None):
            agency.retired_at = utcnow() if data.retired else None
            changed.append("retired")
        if not changed:
            done.unchanged()
            return agency
        _flush_unique_name(db, agency.name)
        done.details = {"fields": changed}
    return agency


# --- contacts ----------------------------------------------------------------------------------

def add_contact(db: Session, actor: Actor, agency_id: int, data: ContactCreate) -> PartnerContact:
    agency = agency_for(db, acting_user(actor), agency_id, manage=True)
    if agency.retired_at is not None:
        raise ValidationFailed.one("name", f"{agency.name} is retired: bring it back before "
                                           "adding contacts.")
    with use_case(db, actor, AuditAction.CONTACT_ADD, object_type="partner",
                  object_ref=str(agency.id)) as done:
        contact = PartnerContact(agency_id=agency.id, **data.model_dump())
        db.add(contact)
        done.flush()
        done.details = {"contact": contact.id}
    return contact


def update_contact(db: Session, actor: Actor, agency_id: int, contact_id: int,
                   data: ContactUpdate) -> PartnerContact:
    agency = agency_for(db, acting_user(actor), agency_id, manage=True)
    contact = contact_of(db, agency, contact_id)
    _check_version(contact.version, data.version, "This contact")
    if contact.erased_at is not None:
        raise NotFound(f"{agency.name} has no contact {contact_id}: it was erased.")
    with use_case(db, actor, AuditAction.CONTACT_UPDATE, object_type="partner",
                  object_ref=str(agency.id)) as done:
        changed: list[str] = []
        for name in ("name", "job_title", "phone", "email"):
            value = getattr(data, name)
            if name in data.model_fields_set and value is not None \
                    and value != getattr(contact, name):
                setattr(contact, name, value)
                changed.append(name)
        if data.retired is not None and data.retired != (contact.retired_at is not None):
            contact.retired_at = utcnow() if data.retired else None
            changed.append("retired")
        # Retired again once no open case names them (their case closed, or let them go):
        # erased.
        erased = data.retired is True and not on_open_case(db, contact.id)
        if not changed and not erased:
            done.unchanged()
            return contact
        if erased:
            erase_contact(contact)
            done.action = AuditAction.CONTACT_ERASE
        done.details = {"contact": contact.id, "fields": changed}
    return contact


def on_open_case(db: Session, contact_id: int) -> bool:
    return bool(db.scalar(select(exists().where(
        CasePartner.contact_id == contact_id, CasePartner.case_id == Case.id,
        Case.stage != Stage.CLOSED))))


def erase_contact(contact: PartnerContact) -> None:
    """Retention until MoPI's (issue 20): a retired contact on no open case keeps only the
    record that someone was a contact, and their job title."""
    contact.name, contact.phone, contact.email = FORMER_CONTACT, "", ""
    contact.erased_at = utcnow()


def _check_version(current: int, given: int, what: str) -> None:
    if current != given:
        raise StaleVersion(f"{what} has changed since you opened it.", current_version=current)
