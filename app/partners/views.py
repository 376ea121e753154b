"""Read models of partner agencies and of a case's partners, with contact details only for
those who may see them (``app.partners.access``)."""

from __future__ import annotations

from app.auth.models import User
from app.partners.access import sees_case_contacts, sees_directory_contacts
from app.partners.models import CasePartner, PartnerAgency, PartnerContact
from app.partners.schemas import AgencyRead, CasePartnerContact, CasePartnerRead, ContactRead


def contact_read(contact: PartnerContact) -> ContactRead:
    return ContactRead(id=contact.id, name=contact.name, job_title=contact.job_title,
                       phone=contact.phone, email=contact.email,
                       retired=contact.retired_at is not None,
                       erased=contact.erased_at is not None, version=contact.version)


def agency_read(agency: PartnerAgency, user: User) -> AgencyRead:
    contacts = [contact_read(c) for c in agency.contacts] \
        if sees_directory_contacts(user) else None
    return AgencyRead(
        id=agency.id, force=agency.force_id, name=agency.name, kind=agency.kind,
        kind_label=agency.kind.label, partner=agency.kind.partner,
        borough=agency.borough_code, borough_name=agency.borough.name if agency.borough else None,
        notes=agency.notes, retired=agency.retired_at is not None, version=agency.version,
        contacts=contacts)


def case_partner_read(partner: CasePartner, user: User) -> CasePartnerRead:
    contact, shown = partner.contact, sees_case_contacts(user)
    return CasePartnerRead(
        id=partner.id, agency=partner.agency_id, agency_name=partner.agency.name,
        kind=partner.agency.kind, kind_label=partner.agency.kind.label, role=partner.role,
        role_label=partner.role.label,
        contact=CasePartnerContact(id=contact.id, name=contact.name,
                                   job_title=contact.job_title, phone=contact.phone,
                                   email=contact.email) if contact and shown else None,
        contact_job_title=contact.job_title if contact else None,
        contact_withheld=contact is not None and not shown,
        added_at=partner.added_at, version=partner.version)
