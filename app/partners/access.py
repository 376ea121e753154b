"""Who reads and manages a force's partner directory, and who sees a contact's details."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.permissions import CASE_OWNER_ROLES, Perm, covers_force, has, require
from app.errors import Forbidden, NotFound
from app.partners.models import PartnerAgency, PartnerContact


def may_read_directory(user: User, force_id: str) -> bool:
    """Everyone of the force who reads cases reads its agencies' names; its directory managers
    (admins among them, who read no cases) too."""
    return (has(user, Perm.CASE_READ) or has(user, Perm.PARTNER_MANAGE)) \
        and covers_force(user, force_id)


def may_manage(user: User, force_id: str) -> bool:
    """Supervisors, analysts and admins of the force (of every force, without one)."""
    return has(user, Perm.PARTNER_MANAGE) and covers_force(user, force_id)


def sees_directory_contacts(user: User) -> bool:
    """Contacts are personal data: in the directory they are shown to those who manage it and
    to the officers and supervisors who name them on cases; evaluators see agencies only."""
    return has(user, Perm.PARTNER_MANAGE) or (user.role in CASE_OWNER_ROLES
                                               and has(user, Perm.CASE_READ))


def sees_case_contacts(user: User) -> bool:
    """On a case the user may read: the people who work it (its owner, the officers and
    supervisors of its area or force) see a contact's name, phone and e-mail; analysts and
    evaluators see the agency and the contact's job title only."""
    return user.role in CASE_OWNER_ROLES and has(user, Perm.CASE_READ)


def agency_for(db: Session, user: User, agency_id: int, *, manage: bool = False) -> PartnerAgency:
    """The agency if the user may read it (else NotFound: another force's agency does not
    exist for them); with ``manage``, Forbidden unless they may change it."""
    agency = db.get(PartnerAgency, agency_id)
    if agency is None or not may_read_directory(user, agency.force_id):
        raise NotFound(f"There is no partner agency {agency_id}.")
    if manage:
        require(user, Perm.PARTNER_MANAGE)
        if not may_manage(user, agency.force_id):
            raise Forbidden("Only the force's supervisors, analysts and admins change its "
                            "partner directory.")
    return agency


def contact_of(db: Session, agency: PartnerAgency, contact_id: int) -> PartnerContact:
    contact = db.scalar(select(PartnerContact).where(PartnerContact.id == contact_id,
                                                     PartnerContact.agency_id == agency.id))
    if contact is None:
        raise NotFound(f"{agency.name} has no contact {contact_id}.")
    return contact
