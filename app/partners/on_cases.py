"""A case's partners (agency, contact, role) and an action's lead agency. Each public call is
one transaction with its timeline event and access-log entry."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.auth.permissions import Perm
from app.cases.access import case_for, ensure_open
from app.cases.models import Case, EventKind
from app.errors import NotFound, StaleVersion, ValidationFailed
from app.partners.models import CasePartner, PartnerAgency, PartnerContact
from app.partners.schemas import CasePartnerCreate, CasePartnerUpdate
from app.usecase import use_case


def case_partners(db: Session, case: Case) -> list[CasePartner]:
    """Leads first, then by agency name. The caller has read the case through ``case_for``."""
    rows = db.scalars(select(CasePartner).where(CasePartner.case_id == case.id))
    order = {"lead": 0, "member": 1, "informed": 2}
    return sorted(rows, key=lambda p: (order[p.role.value], p.agency.name.lower(), p.id))


def view_case_partners(db: Session, actor: Actor, ref: str) -> tuple[Case, list[CasePartner]]:
    case = case_for(db, actor, ref)
    partners = case_partners(db, case)
    record_read(db, actor, AuditAction.CASE_PARTNERS_VIEW, object_type="case",
                object_ref=case.ref)
    return case, partners


def add_case_partner(db: Session, actor: Actor, ref: str, data: CasePartnerCreate) -> CasePartner:
    case = case_for(db, actor, ref, Perm.CASE_EDIT)
    ensure_open(case)
    agency = directory_agency(db, case, data.agency, "agency")
    if db.scalar(select(CasePartner.id).where(CasePartner.case_id == case.id,
                                              CasePartner.agency_id == agency.id)):
        raise ValidationFailed.one("agency", f"{agency.name} is already a partner on "
                                             f"{case.ref}: change its role or contact there.")
    contact = _contact(db, agency, data.contact)
    with use_case(db, actor, AuditAction.CASE_PARTNER_ADD, case=case) as done:
        partner = CasePartner(case_id=case.id, agency=agency, contact=contact, role=data.role,
                              added_by_id=actor.user.id if actor.user else None)
        db.add(partner)
        done.flush()
        done.event(EventKind.PARTNER,
                   f"Added partner: {agency.name} ({data.role.label.lower()})",
                   details={"partner": partner.id, "agency": agency.id})
    return partner


def update_case_partner(db: Session, actor: Actor, ref: str, partner_id: int,
                        data: CasePartnerUpdate) -> CasePartner:
    case = case_for(db, actor, ref, Perm.CASE_EDIT)
    ensure_open(case)
    partner = _partner(db, case, partner_id)
    if partner.version != data.version:
        raise StaleVersion(f"This partner on {case.ref} has changed since you opened it.",
                           current_version=partner.version)
    with use_case(db, actor, AuditAction.CASE_PARTNER_UPDATE, case=case) as done:
        changed = []
        if data.role is not None and data.role != partner.role:
            partner.role = data.role
            changed.append("role")
        if "contact" in data.model_fields_set and data.contact != partner.contact_id:
            partner.contact = _contact(db, partner.agency, data.contact)
            changed.append("contact")
        if not changed:
            done.unchanged()
            return partner
        done.event(EventKind.PARTNER,
                   f"Changed partner: {partner.agency.name} ({partner.role.label.lower()})",
                   details={"partner": partner.id, "fields": changed})
    return partner


def remove_case_partner(db: Session, actor: Actor, ref: str, partner_id: int) -> None:
    case = case_for(db, actor, ref, Perm.CASE_EDIT)
    ensure_open(case)
    partner = _partner(db, case, partner_id)
    name, agency_id = partner.agency.name, partner.agency_id
    with use_case(db, actor, AuditAction.CASE_PARTNER_REMOVE, case=case) as done:
        db.delete(partner)
        done.event(EventKind.PARTNER, f"Removed partner: {name}",
                   details={"partner": partner_id, "agency": agency_id})


def _partner(db: Session, case: Case, partner_id: int) -> CasePartner:
    partner = db.scalar(select(CasePartner).where(CasePartner.id == partner_id,
                                                  CasePartner.case_id == case.id))
    if partner is None:
        raise NotFound(f"{case.ref} has no partner {partner_id}.")
    return partner


def directory_agency(db: Session, case: Case, agency_id: int, field: str) -> PartnerAgency:
    """An agency of the case's force's directory, still in use (a 422 on ``field`` else: the
    id came in a body, so it is a wrong value rather than a missing page)."""
    agency = db.get(PartnerAgency, agency_id)
    if agency is None or agency.force_id != case.borough.force_id:
        raise ValidationFailed.one(field, f"There is no partner agency {agency_id} in "
                                          f"{case.borough.force.label}'s directory.")
    if agency.retired_at is not None:
        raise ValidationFailed.one(field, f"{agency.name} is retired from the directory.")
    return agency


def _contact(db: Session, agency: PartnerAgency, contact_id: int | None) -> PartnerContact | None:
    if contact_id is None:
        return None
    contact = db.get(PartnerContact, contact_id)
    if contact is None or contact.agency_id != agency.id:
        raise ValidationFailed.one("contact", f"{agency.name} has no contact {contact_id}.")
    if contact.retired_at is not None:
        raise ValidationFailed.one("contact", "That contact is retired from the directory.")
    return contact
