"""Demo data for partner agencies: each demo force's directory (Westminster City Council, a
housing association, Transport for London, a school, the City of London Corporation, Gwynedd
Council...), with contacts, and partners on a few open demo cases, the council leading Church
Street's lighting action. Made through the partner services as the forces' sergeants and the
cases' officers, so the rules, timelines and access log apply; loading again adds nothing.
The people are invented, and their e-mail addresses use example domains."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.context import Actor, Channel
from app.auth.models import User
from app.cases import content
from app.cases.models import Action, Case
from app.cases.schemas import ActionUpdate
from app.partners import directory, on_cases
from app.partners.models import CasePartner, PartnerAgency
from app.partners.schemas import AgencyCreate, CasePartnerCreate, ContactCreate
from app.sara.partners import AgencyKind, PartnerRole
from app.sara.stages import Stage

WESTMINSTER, CAMDEN, CITY = "E09000033", "E09000007", "E09000001"
GWYNEDD, CONWY = "W06000002", "W06000003"


@dataclass(frozen=True)
class DemoAgency:
    force: str
    manager: str  # the sergeant who adds it to the directory
    name: str
    kind: AgencyKind
    borough: str | None
    notes: str
    contacts: tuple[tuple[str, str, str, str], ...] = ()  # name, job title, phone, e-mail


AGENCIES = (
    DemoAgency("metropolitan", "sgt.okafor", "Westminster City Council", AgencyKind.COUNCIL,
               WESTMINSTER, "Community safety and markets teams; the ASB panel meets on the "
               "first Tuesday of the month.",
               (("Mark Ellison", "Markets team manager", "020 7641 1000",
                 "m.ellison@westminster.example"),
                ("Priya Natarajan", "ASB caseworker", "020 7641 6000",
                 "p.natarajan@westminster.example"))),
    DemoAgency("metropolitan", "sgt.okafor", "Westminster Community Homes", AgencyKind.HOUSING,
               WESTMINSTER, "Housing association for the Church Street and Lisson Green "
               "estates: door entry, lighting and tenancy enforcement.",
               (("Dawn Achebe", "Estate services manager", "020 7946 0321",
                 "dawn.achebe@wch.example"),)),
    DemoAgency("metropolitan", "sgt.okafor", "Transport for London", AgencyKind.TRANSPORT,
               None, "Bus stations, stops and the Underground: ask the community safety "
               "partnership team.",
               (("Kwame Mensah", "Community safety partnership manager", "020 7222 1234",
                 "kwame.mensah@tfl.example"),)),
    DemoAgency("metropolitan", "sgt.okafor", "Church Street youth hub",
               AgencyKind.YOUTH_SERVICE, WESTMINSTER, "Open until 18:00 on weekdays.",
               (("Leon Carter", "Hub manager", "020 7946 0555", "leon.carter@hub.example"),)),
    DemoAgency("metropolitan", "sgt.okafor", "Edgware Road Academy", AgencyKind.SCHOOL,
               WESTMINSTER, "Secondary school; the safer schools officer visits weekly."),
    DemoAgency("metropolitan", "sgt.okafor", "Camden Council", AgencyKind.COUNCIL, CAMDEN,
               "Licensing and the controlled drinking zone on Inverness Street."),
    DemoAgency("city-of-london", "sgt.byrne", "City of London Corporation", AgencyKind.COUNCIL,
               CITY, "Highways, street lighting and the cycle racks around the stations.",
               (("Helen Marsh", "Community safety officer", "020 7332 1000",
                 "helen.marsh@cityoflondon.example"),)),
    DemoAgency("north-wales", "sgt.evans", "Gwynedd Council", AgencyKind.COUNCIL, GWYNEDD,
               "Licensing and the night-time economy group in Bangor.",
               (("Siân Roberts", "Community safety partnership officer", "01286 672255",
                 "sian.roberts@gwynedd.example"),)),
    DemoAgency("north-wales", "sgt.evans", "Conwy County Borough Council", AgencyKind.COUNCIL,
               CONWY, "Town centre management in Llandudno."),
)

# Case title, its agency, contact (by name) or none, role; and who of the case adds it.
CASE_PARTNERS = (
    ("Street violence around Church Street market", "Westminster City Council", "Mark Ellison",
     PartnerRole.LEAD, "pc.shah"),
    ("Street violence around Church Street market", "Church Street youth hub", "Leon Carter",
     PartnerRole.MEMBER, "pc.shah"),
    ("Street violence around Church Street market", "Westminster Community Homes", None,
     PartnerRole.INFORMED, "pc.shah"),
    ("Drug dealing on the Lisson Green estate walkways", "Westminster Community Homes",
     "Dawn Achebe", PartnerRole.LEAD, "sgt.okafor"),
    ("Phone snatches by moped riders on Edgware Road", "Transport for London", "Kwame Mensah",
     PartnerRole.MEMBER, "sgt.okafor"),
    ("Night-time disorder on Bangor High Street", "Gwynedd Council", "Siân Roberts",
     PartnerRole.MEMBER, "pc.jones"),
)
# Actions that a directory agency leads: (case title, action title, agency).
LED_ACTIONS = (
    ("Street violence around Church Street market",
     "Council to replace lighting on the Penfold Street walkway", "Westminster City Council"),
    ("Street violence around Church Street market",
     "Youth hub to stay open until 20:00 on market days", "Church Street youth hub"),
)


def _as(user: User) -> Actor:
    return Actor(user, Channel.CLI, client_addr="local", operator="demo")


def ensure_partners(db: Session, users: dict[str, User]) -> int:
    """Agencies, contacts, case partners and led actions not there yet; how many were added."""
    added = 0
    agencies: dict[str, PartnerAgency] = {}
    for demo in AGENCIES:
        if demo.manager not in users:  # a force the demo was loaded without
            continue
        agency = db.scalar(select(PartnerAgency).where(PartnerAgency.force_id == demo.force,
                                                       PartnerAgency.name == demo.name))
        if agency is None:
            actor = _as(users[demo.manager])
            agency = directory.create_agency(db, actor, AgencyCreate(
                name=demo.name, kind=demo.kind, force=demo.force, borough=demo.borough,
                notes=demo.notes))
            for name, job_title, phone, email in demo.contacts:
                directory.add_contact(db, actor, agency.id, ContactCreate(
                    name=name, job_title=job_title, phone=phone, email=email))
            added += 1
        agencies[demo.name] = agency
    return added + _case_partners(db, users, agencies) + _led_actions(db, users, agencies)


def _open_case(db: Session, title: str) -> Case | None:
    case = db.scalar(select(Case).where(Case.title == title))
    return case if case is not None and case.stage is not Stage.CLOSED else None


def _case_partners(db: Session, users: dict[str, User],
                   agencies: dict[str, PartnerAgency]) -> int:
    added = 0
    for title, name, contact_name, role, username in CASE_PARTNERS:
        case, agency = _open_case(db, title), agencies.get(name)
        if case is None or agency is None or username not in users or db.scalar(
                select(CasePartner.id).where(CasePartner.case_id == case.id,
                                             CasePartner.agency_id == agency.id)):
            continue
        contact = next((c.id for c in agency.contacts if c.name == contact_name), None)
        on_cases.add_case_partner(db, _as(users[username]), case.ref, CasePartnerCreate(
            agency=agency.id, contact=contact, role=role))
        added += 1
    return added


def _led_actions(db: Session, users: dict[str, User],
                 agencies: dict[str, PartnerAgency]) -> int:
    added = 0
    for title, action_title, name in LED_ACTIONS:
        case, agency = _open_case(db, title), agencies.get(name)
        action = db.scalar(select(Action).where(Action.title == action_title)) \
            if case is not None else None
        if case is None or agency is None or action is None \
                or action.partner_agency_id is not None:
            continue
        content.update_action(db, _as(users["pc.shah"]), case.ref, action.id, ActionUpdate(
            version=action.version, partner_agency=agency.id))
        added += 1
    return added
