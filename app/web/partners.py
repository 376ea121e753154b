"""What the case page shows of partner agencies: the case's partners (contact details only for
the people who work the case), and the choices for adding one or naming an action's lead."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.context import Actor
from app.auth.permissions import Perm, has
from app.cases.holdings import Holdings
from app.cases.models import Case
from app.partners.access import sees_case_contacts
from app.partners.models import PartnerAgency
from app.partners.on_cases import case_partners
from app.partners.views import case_partner_read
from app.sara.partners import PartnerRole
from app.sara.stages import Stage

ROLE_OPTIONS = [(r.value, r.label) for r in PartnerRole]


def force_agencies(db: Session, case: Case) -> list[PartnerAgency]:
    """The agencies of the case's force's directory still in use, by name."""
    return list(db.scalars(select(PartnerAgency).where(
        PartnerAgency.force_id == case.borough.force_id, PartnerAgency.retired_at.is_(None))
        .order_by(func.lower(PartnerAgency.name), PartnerAgency.id)))


def agency_options(db: Session, case: Case,
                   agencies: list[PartnerAgency] | None = None) -> list[tuple[str, str]]:
    """For an action's lead partner: the directory (``agencies`` when the caller has read it),
    and any retired agency an action still names (so that opening its form does not silently
    drop it)."""
    if agencies is None:
        agencies = force_agencies(db, case)
    options = [(str(a.id), f"{a.name} ({a.kind.label})") for a in agencies]
    listed = {value for value, _label in options}
    for action in case.actions:
        agency = action.partner_agency
        if agency is not None and str(agency.id) not in listed:
            listed.add(str(agency.id))
            options.append((str(agency.id), f"{agency.name} (retired)"))
    return options


def partners_context(db: Session, actor: Actor, case: Case,
                     held: Holdings | None = None) -> dict[str, Any]:
    """``held``: which of the case's collections hold anything (None: read them all)."""
    user = actor.user
    assert user is not None
    partners = case_partners(db, case) if held is None or held.partners else []
    agencies = force_agencies(db, case)
    on_case = {p.agency_id for p in partners}
    shown = sees_case_contacts(user)
    contacts = {a.id: [(str(c.id), f"{c.name}{' (' + c.job_title + ')' if c.job_title else ''}")
                       for c in a.contacts if c.retired_at is None] if shown else []
                for a in agencies}
    return {
        "partner_rows": [case_partner_read(p, user) for p in partners],
        "partner_agency_choices": [(str(a.id), f"{a.name} ({a.kind.label})")
                                   for a in agencies if a.id not in on_case],
        "partner_contact_choices": [(a.name, contacts[a.id]) for a in agencies
                                    if contacts[a.id] and a.id not in on_case],
        "partner_contacts_of": contacts,
        "partner_role_options": ROLE_OPTIONS,
        "may_change_partners": has(user, Perm.CASE_EDIT) and case.stage is not Stage.CLOSED,
        "sees_contacts": shown,
        "lead_agency_options": agency_options(db, case, agencies),
        "partner_values": {}, "partner_errors": {}, "partner_form": "", "partner_conflict": "",
    }
