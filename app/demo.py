"""Demo data: one user per role and a handful of London cases spread across the SARA stages,
and a force outside London, North Wales Police, with two of its officers and cases.

Everything goes through the same services as the pages and the API, so the demo obeys every
rule (gates, permissions) and appears in the access log. Loading twice adds nothing: users are
matched by username and cases by title and borough.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.assessment.models import AssessmentSnapshot
from app.assessment.schemas import AssessmentRequest
from app.assessment.service import run_assessment
from app.audit.service import AuditAction, record
from app.auth.context import Actor, Channel
from app.auth.models import User
from app.auth.roles import Role
from app.auth.service import NewUser, create_user
from app.cases import content, moves, service
from app.cases.models import Action, Case, CaseEvent, EventKind
from app.cases.schemas import (
    ActionCreate,
    CaseCreate,
    CaseUpdate,
    HypothesisCreate,
    NoteCreate,
    TransitionRequest,
)
from app.clock import LONDON, london_day, today
from app.crime.boundaries import import_boundaries
from app.crime.importer import expand, import_sources
from app.crime.models import AreaKind, ImportBatch, ImportStatus
from app.db import utcnow
from app.demo_attachments import ensure_attachments
from app.demo_operation import ensure_operation, ensure_sentinel
from app.demo_partners import ensure_partners
from app.demo_reviews import ensure_reviews
from app.demo_trial import ensure_lantern
from app.retention.schedule import periods_of
from app.sara.responses import ActionStatus
from app.sara.retention import review_due
from app.sara.stages import Stage
from app.settings import Settings, get_settings

DEMO_PASSWORD = "demo-password"
WESTMINSTER, CAMDEN, CITY = "E09000033", "E09000007", "E09000001"
GWYNEDD, CONWY = "W06000002", "W06000003"
NORTH_WALES = "north-wales"

DEMO_USERS = [
    NewUser("pc.shah", Role.OFFICER, "PC Amira Shah", WESTMINSTER, DEMO_PASSWORD),
    NewUser("sgt.okafor", Role.SUPERVISOR, "Sgt Daniel Okafor", WESTMINSTER, DEMO_PASSWORD),
    # The other Westminster sergeant: their gate override waits for Sgt Okafor's review.
    NewUser("sgt.adeyemi", Role.SUPERVISOR, "Sgt Funmi Adeyemi", WESTMINSTER, DEMO_PASSWORD),
    NewUser("pc.clarke", Role.OFFICER, "PC Tom Clarke", CAMDEN, DEMO_PASSWORD),
    NewUser("sgt.byrne", Role.SUPERVISOR, "Sgt Niamh Byrne", CITY, DEMO_PASSWORD),
    # The City's other sergeant: Sgt Byrne owns the City's cases, so Sgt Quinn reviews them.
    NewUser("sgt.quinn", Role.SUPERVISOR, "Sgt Ola Quinn", CITY, DEMO_PASSWORD),
    NewUser("analyst.lee", Role.ANALYST, "Grace Lee (crime analyst)", None, DEMO_PASSWORD),
    NewUser("eval.morgan", Role.EVALUATOR, "Dr Rhys Morgan (evaluator)", None, DEMO_PASSWORD),
    NewUser("admin", Role.ADMIN, "System administrator", None, DEMO_PASSWORD),
]
# North Wales Police's officers: their local policing areas come from its boundary file.
NORTH_WALES_USERS = [
    NewUser("pc.jones", Role.OFFICER, "PC Carys Jones", GWYNEDD, DEMO_PASSWORD),
    NewUser("sgt.evans", Role.SUPERVISOR, "Sgt Dafydd Evans", CONWY, DEMO_PASSWORD),
]


DATA_DIR = Path(__file__).parent / "demo_data"
# (file, kind, the force whose local policing areas it sets up)
BOUNDARIES = (("london-boroughs.geojson", AreaKind.BOROUGH, None),
              ("london-wards-2022.geojson", AreaKind.WARD, None))
NORTH_WALES_BOUNDARIES = (("north-wales-local-authorities.geojson", AreaKind.BOROUGH,
                           NORTH_WALES),)
CRIME_FILES = ("city-of-london-street-2023-10-to-2025-12.zip",)
NORTH_WALES_CRIME_FILES = ("north-wales-street-2024-01-to-2024-04.zip",)


@dataclass
class DemoReport:
    users_added: int = 0
    users_present: int = 0
    cases_added: int = 0
    cases_present: int = 0
    files_imported: int = 0
    crimes_added: int = 0
    operations_added: int = 0
    reviews_added: int = 0
    partners_added: int = 0  # agencies (with their contacts), case partners, led actions
    attachments_added: int = 0
    users: list[User] = field(default_factory=list)


def point(lat: float, lng: float, radius: int, name: str) -> dict[str, Any]:
    return {"name": name, "geometry": {"type": "Point", "coordinates": [lng, lat]},
            "radius_m": radius}


CHEERS_CHURCH_STREET = {
    "community": {"met": True, "evidence": "Traders, shoppers and residents of the Church Street "
                  "estate are victims and witnesses; raised at three ward panels."},
    "harm": {"met": True, "evidence": "31 assaults (9 with injury) and 14 robberies in 12 "
             "months; traders report losing customers after dark."},
    "expectation": {"met": True, "evidence": "Ward panel priority since March; councillors "
                    "and the market traders' association have asked for police action."},
    "events": {"met": True, "evidence": "Discrete recorded assaults, robberies and public "
               "order offences, each with a CAD or crime reference."},
    "recurring": {"met": True, "evidence": "Every market day for over a year, peaking Friday "
                  "and Saturday between 14:00 and 20:00."},
    "similarity": {"met": True, "evidence": "Same place (market and the Penfold Street "
                   "walkway), same hours, overlapping groups of young men."},
}


def load_demo(db: Session, *, north_wales: bool = True, trial: bool = True,
              reviews: bool = True, partners: bool = True, attachments: bool = True,
              settings: Settings | None = None) -> DemoReport:
    """London's demo, North Wales Police's set up beside it (``north_wales``), the City's
    randomised hotspot trial, Operation Lantern (``trial``), supervisory reviews
    (``reviews``; without them, every open case is still due one cadence after it opened), the
    forces' partner agencies on a few cases (``partners``), and the Church Street photos
    (``attachments``, kept where ``settings`` say)."""
    report = DemoReport()
    _ensure_data(db, report, BOUNDARIES, CRIME_FILES)
    if north_wales:
        _ensure_data(db, report, NORTH_WALES_BOUNDARIES, NORTH_WALES_CRIME_FILES)
    users = _ensure_users(db, report, DEMO_USERS + (NORTH_WALES_USERS if north_wales else []))
    people = {"officer": users["pc.shah"], "supervisor": users["sgt.okafor"],
              "camden": users["pc.clarke"], "city": users["sgt.byrne"],
              "analyst": users["analyst.lee"]}
    builds = [_church_street, _lisson_green, _edgware_road, _marylebone, _camden_town,
              _camden_street_drinking, _liverpool_street, _broadgate]
    if north_wales:
        people |= {"gwynedd": users["pc.jones"], "conwy": users["sgt.evans"]}
        builds += [_bangor, _llandudno]
    for build in builds:
        title, borough, make = build()
        exists = db.scalar(select(Case.id).where(Case.title == title,
                                                 Case.borough_code == borough))
        if exists:
            report.cases_present += 1
            continue
        make(db, people)
        report.cases_added += 1
    report.operations_added = int(ensure_operation(db, users))
    opened = ensure_sentinel(db, users)
    report.operations_added += int(bool(opened))
    report.cases_added += opened
    if trial:
        opened = ensure_lantern(db, users)
        report.operations_added += int(bool(opened))
        report.cases_added += opened
    report.reviews_added = ensure_reviews(db, users, make=reviews)
    report.partners_added = ensure_partners(db, users) if partners else 0
    if attachments:
        report.attachments_added = ensure_attachments(db, users, settings or get_settings())
    if report.users_added or report.cases_added or report.files_imported \
            or report.operations_added or report.reviews_added or report.partners_added \
            or report.attachments_added:
        # A summary after the many use cases (each committed) that loaded the demo.
        record(db, Actor.cli(), AuditAction.DEMO_LOAD,
               details={"users": report.users_added, "cases": report.cases_added,
                        "files": report.files_imported,
                        "operations": report.operations_added,
                        "reviews": report.reviews_added,
                        "partners": report.partners_added,
                        "attachments": report.attachments_added})
        db.commit()
    return report


def _ensure_users(db: Session, report: DemoReport, wanted: list[NewUser]) -> dict[str, User]:
    users = {}
    for new in wanted:
        user = db.scalar(select(User).where(User.username == new.username))
        if user is None:
            user = create_user(db, Actor.cli(), new)
            report.users_added += 1
        else:
            report.users_present += 1
        users[new.username] = user
        report.users.append(user)
    return users


def _ensure_data(db: Session, report: DemoReport,
                 boundaries: tuple[tuple[str, AreaKind, str | None], ...],
                 crime_files: tuple[str, ...]) -> None:
    """Boundaries and real police.uk crime (a couple of years of the City of London's, four
    months of North Wales'), each file once."""
    done = set(db.scalars(select(ImportBatch.sha256).where(
        ImportBatch.status == ImportStatus.DONE)))
    for name, kind, force in boundaries:
        content = (DATA_DIR / name).read_bytes()
        if hashlib.sha256(content).hexdigest() not in done:
            import_boundaries(db, Actor.cli(), name, content, kind, force_id=force)
            report.files_imported += 1
    factory = sessionmaker(bind=db.get_bind(), expire_on_commit=False)
    for name in crime_files:
        sources = [s for s in expand([DATA_DIR / name]) if s.sha256() not in done]
        for result in import_sources(factory, Actor.cli(), sources):
            report.files_imported += 1
            report.crimes_added += result.added


def _as(user: User) -> Actor:
    return Actor(user, Channel.CLI, client_addr="local", operator="demo")


def _edit(db: Session, user: User, ref: str, **fields: Any) -> Case:
    case = db.scalar(select(Case).where(Case.ref == ref))
    assert case is not None
    return service.update_case(db, _as(user), ref,
                               CaseUpdate.model_validate({"version": case.version, **fields}))


def _move(db: Session, user: User, ref: str, to: str, reason: str = "",
          override: bool = False) -> None:
    moves.move_case(db, _as(user), ref, TransitionRequest(to=to, reason=reason,
                                                          override=override))


def _backdate(db: Session, ref: str, days: int) -> None:
    """Spread a demo case's history over the past ``days`` days, keeping the order of events."""
    case = _case(db, ref)
    events = _events(db, case)
    now = utcnow()
    step = timedelta(days=days) / max(len(events), 1)
    for index, event in enumerate(events):
        event.at = now - timedelta(days=days) + step * index + timedelta(hours=9)
    _settle(db, case)


def _on(db: Session, ref: str, moment: datetime) -> None:
    """Date the entries a demo case's timeline gained since the last dating at ``moment``, a
    minute apart in the order they were made. For a case whose story happened on given days:
    every step the story takes is later than the last, and all of them are in the past, so the
    entries still to date are those later than ``moment`` (made just now)."""
    case = _case(db, ref)
    fresh = [e for e in _events(db, case) if e.at > moment]
    for index, event in enumerate(fresh):
        event.at = moment + timedelta(minutes=index)
    db.flush()


def _settle(db: Session, case: Case) -> None:
    """Make every date derived from a re-dated timeline agree with it, as if the clock had
    shown the timeline's times: the case's own dates; an action recorded done on the day its
    entry says (not the day the demo was loaded); an assessment saved when its entry says."""
    events = _events(db, case)
    first, last = events[0].at, events[-1].at
    moved = [e.at for e in events if e.kind is EventKind.MOVED]
    entered = moved[-1] if moved else first
    retention: dict[str, Any] = {}
    if case.stage is Stage.CLOSED:  # its retention review counts from the day it closed
        months = periods_of(db, case.borough.force_id)[case.category]
        retention["retention_review_on"] = review_due(london_day(entered), months)
    db.execute(update(Case).where(Case.id == case.id).values(
        created_at=first, updated_at=last, last_activity_at=last, stage_entered_at=entered,
        **retention), execution_options={"synchronize_session": False})
    for action in db.scalars(select(Action).where(Action.case_id == case.id,
                                                  Action.status == ActionStatus.DONE)):
        recorded = [e.at for e in events if e.kind is EventKind.ACTION
                    and e.details.get("action") == action.id
                    and (e.summary.startswith("Added")
                         or "status" in e.details.get("fields", []))]
        if recorded:
            action.completed_on = min(action.completed_on or today(),
                                      london_day(max(recorded)))
    for snapshot in db.scalars(select(AssessmentSnapshot).where(
            AssessmentSnapshot.case_id == case.id)):
        saved = [e.at for e in events if e.kind is EventKind.ASSESSMENT
                 and e.details.get("snapshot") == snapshot.number]
        if saved:
            snapshot.created_at = saved[0]
    db.commit()


def _case(db: Session, ref: str) -> Case:
    case = db.scalar(select(Case).where(Case.ref == ref))
    assert case is not None
    return case


def _events(db: Session, case: Case) -> list[CaseEvent]:
    return list(db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                           .order_by(CaseEvent.id)))


def _days(n: int) -> date:
    return today() + timedelta(days=n)


# --- the cases ---------------------------------------------------------------------------------

def _church_street() -> tuple[str, str, Any]:
    title = "Street violence around Church Street market"

    def make(db: Session, u: dict[str, User]) -> None:
        case = service.create_case(db, _as(u["officer"]), CaseCreate(
            title=title, category="violent-crime", borough=WESTMINSTER, ward="E05013794",
            priority="high", source="community", team="Church Street Safer Neighbourhood Team",
            problem_statement="Assaults, robberies and fights between groups of young men "
            "around Church Street market and the Penfold Street walkway on market days, "
            "mostly 14:00 to 20:00. Traders are closing early and older residents avoid the "
            "market in the afternoon.",
            target_area=point(51.5227, -0.1707, 250, "Church Street market and Penfold Street "
                              "walkway")))
        ref = case.ref
        _edit(db, u["officer"], ref, cheers=CHEERS_CHURCH_STREET)
        _move(db, u["officer"], ref, "analysis")
        _edit(db, u["analyst"], ref, triangle={
            "offender": {"who": "Two overlapping groups of 16 to 24 year-olds from nearby "
                         "estates", "known": "Nine repeat suspects; disputes over drug-market "
                                             "territory spill into the market."},
            "victim": {"who": "Market traders, shoppers and the young men themselves",
                       "known": "Traders carry cash at pack-up time; 40% of victims are also "
                                "known suspects."},
            "place": {"who": "Church Street market, Penfold Street walkway and the estate "
                      "cut-throughs", "known": "Poor lighting on the walkway; stalls block "
                                               "sightlines at pack-up."},
            "handler": {"who": "Youth workers at the Church Street youth hub; families",
                        "known": "Hub closes at 18:00, before the peak."},
            "guardian": {"who": "Traders, market wardens, council CCTV",
                         "known": "One CCTV camera covers the walkway and it faces away."},
            "manager": {"who": "Westminster City Council markets team; CityWest Homes",
                        "known": "Council has budget for lighting this year."},
        }, analysis_summary="Violence concentrates at pack-up time (17:00-19:00) on Fridays "
           "and Saturdays around the walkway, where lighting and sightlines are poor and "
           "guardianship thin. A small group of repeat offenders is involved on both sides.",
           baseline_start="2025-10-01", baseline_end="2026-09-30")
        for statement, status in (
            ("Robberies peak at pack-up because traders carry the day's cash to their vans.",
             "supported"),
            ("Fights are driven by a dispute between two groups over the estate drug market.",
             "open"),
        ):
            content.add_hypothesis(db, _as(u["analyst"]), ref,
                                   HypothesisCreate(statement=statement, status=status))
        _move(db, u["officer"], ref, "response")
        _edit(db, u["officer"], ref, response_plan="Make the walkway and pack-up time harder "
              "and riskier for offenders: lighting and CCTV with the council, hotspot "
              "patrols at pack-up, a cash-collection service for traders, and diversion for "
              "the younger repeat suspects through the youth hub.")
        for action in (
            ActionCreate(title="Council to replace lighting on the Penfold Street walkway",
                         tactic="natural-surveillance", partner="council",
                         owner="Westminster markets team", due_date=_days(-20), status="done"),
            ActionCreate(title="High-visibility patrols at pack-up, Friday and Saturday 17:00 "
                         "to 19:00", tactic="hotspot-patrols", partner="police",
                         owner="PC Amira Shah", due_date=_days(30), status="in_progress"),
            ActionCreate(title="Re-site the walkway CCTV camera to face the pack-up area",
                         tactic="formal-surveillance", partner="council",
                         owner="Westminster CCTV team", due_date=_days(-6)),
            ActionCreate(title="Youth hub to stay open until 20:00 on market days",
                         tactic="diversion", partner="youth-service",
                         owner="Church Street youth hub manager", due_date=_days(14)),
        ):
            content.add_action(db, _as(u["officer"]), ref, action)
        content.add_note(db, _as(u["officer"]), ref, NoteCreate(
            body="Walked the walkway with the council lighting engineer: new LED columns "
                 "are in and working."))
        _backdate(db, ref, 84)

    return title, WESTMINSTER, make


def _lisson_green() -> tuple[str, str, Any]:
    title = "Drug dealing on the Lisson Green estate walkways"

    def make(db: Session, u: dict[str, User]) -> None:
        case = service.create_case(db, _as(u["officer"]), CaseCreate(
            title=title, category="drugs", borough=WESTMINSTER, ward="E05013794",
            priority="high", source="community", team="Church Street Safer Neighbourhood Team",
            problem_statement="Open street dealing of crack cocaine and heroin from the "
            "first-floor walkways of the Lisson Green estate, with users gathering in "
            "stairwells. Residents report needles, intimidation and noise at night.",
            target_area=point(51.5248, -0.1668, 200, "Lisson Green estate")))
        ref = case.ref
        cheers = {k: {"met": True, "evidence": v} for k, v in {
            "community": "Estate residents, including families with young children.",
            "harm": "Discarded needles, intimidation in stairwells, two assaults on residents.",
            "expectation": "Tenants' association petition to the borough commander.",
            "events": "Drug possession and supply offences, ASB calls.",
            "recurring": "Nightly for at least six months.",
            "similarity": "Same walkways and stairwells, same hours (21:00-02:00).",
        }.items()}
        _edit(db, u["officer"], ref, cheers=cheers)
        _move(db, u["officer"], ref, "analysis")
        _edit(db, u["analyst"], ref, triangle={
            "place": {"who": "First-floor walkways and stairwells of blocks C and D",
                      "known": "Doors to stairwells are propped open; entry system broken."},
            "offender": {"who": "A county-lines group using local young people as runners",
                         "known": ""},
        })
        content.add_hypothesis(db, _as(u["analyst"]), ref, HypothesisCreate(
            statement="Broken door entry systems let dealers use the stairwells as shelter."))
        _backdate(db, ref, 40)

    return title, WESTMINSTER, make


def _edgware_road() -> tuple[str, str, Any]:
    title = "Phone snatches by moped riders on Edgware Road"

    def make(db: Session, u: dict[str, User]) -> None:
        case = service.create_case(db, _as(u["officer"]), CaseCreate(
            title=title, category="theft-from-the-person", borough=WESTMINSTER,
            ward="E05013796", priority="medium", source="data",
            problem_statement="Mobile phones snatched from pedestrians by riders on mopeds "
            "and e-bikes along the southern end of Edgware Road, evenings."))
        _edit(db, u["officer"], case.ref, cheers={
            "community": {"met": True, "evidence": "Pedestrians, many of them visitors."},
            "harm": {"met": True, "evidence": "Loss of phones; two victims injured in falls."},
            "events": {"met": True, "evidence": "Recorded thefts from the person."},
        })
        _backdate(db, case.ref, 9)

    return title, WESTMINSTER, make


def _marylebone() -> tuple[str, str, Any]:
    title = "Anti-social behaviour at Marylebone station forecourt"

    def make(db: Session, u: dict[str, User]) -> None:
        case = service.create_case(db, _as(u["officer"]), CaseCreate(
            title=title, category="anti-social-behaviour", borough=WESTMINSTER,
            ward="E05013801", priority="low", source="partner",
            team="Marylebone Safer Neighbourhood Team",
            problem_statement="Street drinking, begging and aggressive behaviour on the "
            "station forecourt and Harewood Avenue in the evening peak.",
            target_area=point(51.5225, -0.1631, 150, "Marylebone station forecourt")))
        ref = case.ref
        _edit(db, u["officer"], ref, cheers={k: {"met": True, "evidence": v} for k, v in {
            "community": "Commuters and station staff.",
            "harm": "Fear and intimidation; staff assaulted twice.",
            "expectation": "Chiltern Railways and British Transport Police asked for joint work.",
            "events": "ASB reports and two assaults.",
            "recurring": "Most weekday evenings since January.",
            "similarity": "Same forecourt, same small group of street drinkers.",
        }.items()})
        _move(db, u["officer"], ref, "analysis")
        _edit(db, u["officer"], ref, triangle={
            "offender": {"who": "Six street drinkers, four with housing needs"},
            "victim": {"who": "Commuters and station staff"},
            "place": {"who": "Forecourt benches and the off-licence on Harewood Avenue"},
        }, analysis_summary="Drinking is supplied by one off-licence and sheltered by the "
           "forecourt benches; most of the group have unmet housing and health needs.",
           baseline_start="2025-09-01", baseline_end="2026-02-28")
        content.add_hypothesis(db, _as(u["officer"]), ref, HypothesisCreate(
            statement="Cheap high-strength cider from one shop fuels the drinking.",
            status="supported"))
        _move(db, u["officer"], ref, "response")
        _edit(db, u["officer"], ref, response_plan="Licensing, outreach and place changes "
              "with the council, Chiltern Railways and the outreach team.")
        for action in (
            ActionCreate(title="Licensing review of the Harewood Avenue off-licence",
                         tactic="control-drugs-alcohol", partner="council",
                         owner="Westminster licensing", due_date=_days(-60), status="done"),
            ActionCreate(title="Outreach team to offer housing assessments to the group",
                         tactic="diversion", partner="health", owner="Outreach lead",
                         due_date=_days(-45), status="done"),
        ):
            content.add_action(db, _as(u["officer"]), ref, action)
        _move(db, u["officer"], ref, "assessment")
        _edit(db, u["officer"], ref, process_evaluation="Both actions delivered on time; "
              "the shop agreed to stop selling high-strength cider.")
        _backdate(db, ref, 200)

    return title, WESTMINSTER, make


def _camden_town() -> tuple[str, str, Any]:
    title = "Knife carrying around Camden Town station"

    def make(db: Session, u: dict[str, User]) -> None:
        case = service.create_case(db, _as(u["camden"]), CaseCreate(
            title=title, category="possession-of-weapons", borough=CAMDEN, ward="E05013655",
            priority="high", source="officer", team="Camden Town Safer Neighbourhood Team",
            problem_statement="Young people carrying knives around Camden Town station and "
            "the market at weekends; four stabbings within 300 metres this year.",
            target_area=point(51.5392, -0.1426, 300, "Camden Town station and Buck Street "
                              "market")))
        _backdate(db, case.ref, 5)

    return title, CAMDEN, make


def _camden_street_drinking() -> tuple[str, str, Any]:
    title = "Street drinking on Inverness Street"

    def make(db: Session, u: dict[str, User]) -> None:
        # Opened from the shipped template: its hypotheses, first actions and review date.
        case = service.create_case(db, _as(u["camden"]), CaseCreate(
            title=title, template="street-drinking", borough=CAMDEN, ward="E05013655",
            source="community", team="Camden Town Safer Neighbourhood Team",
            problem_statement="A group drinking on the benches of Inverness Street from late "
            "morning, with arguments, urination in doorways and begging; traders say "
            "shoppers avoid the street.",
            target_area=point(51.5395, -0.1438, 120, "Inverness Street")))
        _backdate(db, case.ref, 2)

    return title, CAMDEN, make


def _at(day: date, hour: int = 9, minute: int = 30) -> datetime:
    return datetime.combine(day, time(hour, minute), LONDON)


# The closed case's story, on the days it happened. Its assessment counts real months of the
# City of London Police's data (October 2023 to December 2025), so its dates are fixed, not
# counted back from today: opened in the autumn of 2024, the locks exchanged in December 2024
# (the month left out of the assessment), a year before and a year after compared once the
# December 2025 figures were out, and closed in February 2026.
LIVERPOOL_STREET_OPENED = date(2024, 10, 14)
LIVERPOOL_STREET_RESPONSE = date(2024, 12, 2)
LIVERPOOL_STREET_ASSESSED = date(2026, 2, 3)


def _liverpool_street() -> tuple[str, str, Any]:
    title = "Bicycle theft from the Liverpool Street station racks"

    def make(db: Session, u: dict[str, User]) -> None:
        sgt = u["city"]
        polygon = {"name": "Liverpool Street station bike racks and Exchange Square",
                   "geometry": {"type": "Polygon", "coordinates": [[
                       [-0.0838, 51.5172], [-0.0803, 51.5172], [-0.0803, 51.5192],
                       [-0.0838, 51.5192], [-0.0838, 51.5172]]]}}
        case = service.create_case(db, _as(sgt), CaseCreate(
            title=title, category="bicycle-theft", borough=CITY, ward="E05009292",
            priority="medium", source="data", team="City of London Police cycle team",
            problem_statement="Commuters' bicycles stolen from the open racks by the station "
            "during the working day; cheap cable locks cut in seconds.",
            target_area=polygon))
        ref = case.ref
        _edit(db, sgt, ref, cheers={k: {"met": True, "evidence": v} for k, v in {
            "community": "Commuters who cycle to the City.",
            "harm": "Loss of bicycles (average value £650); people stop cycling.",
            "expectation": "Cycling groups and the station operator asked for action.",
            "events": "Recorded bicycle thefts.",
            "recurring": "Every few weeks, all year.",
            "similarity": "Same racks, working hours, cable locks cut.",
        }.items()})
        _on(db, ref, _at(LIVERPOOL_STREET_OPENED))
        _move(db, sgt, ref, "analysis")
        _on(db, ref, _at(date(2024, 10, 21)))
        _edit(db, sgt, ref, triangle={
            "offender": {"who": "A few prolific thieves selling on online marketplaces"},
            "victim": {"who": "Bicycles locked with cable locks"},
            "place": {"who": "Open racks with no CCTV coverage or staff"},
        }, analysis_summary="Thefts concentrate at racks with no natural surveillance, and "
           "most stolen bicycles had cable locks.", baseline_start="2023-10-01",
           baseline_end="2024-09-30")
        content.add_hypothesis(db, _as(sgt), ref, HypothesisCreate(
            statement="Cable locks and unwatched racks make theft quick and low risk.",
            status="supported"))
        _on(db, ref, _at(date(2024, 11, 18)))
        _move(db, sgt, ref, "response")
        _edit(db, sgt, ref, response_plan="Target hardening and surveillance: D-lock "
              "giveaway, racks moved into view of the station office, bike marking.")
        _on(db, ref, _at(LIVERPOOL_STREET_RESPONSE))
        for action, day in (
            (ActionCreate(title="D-lock exchange for cable locks at the racks",
                          tactic="target-harden", partner="business", owner="Cycle team",
                          due_date=date(2024, 12, 20), status="done"), date(2024, 12, 20)),
            (ActionCreate(title="Bike marking sessions every Tuesday",
                          tactic="identify-property", partner="police", owner="PC Grant",
                          due_date=date(2025, 1, 31), status="done"), date(2025, 1, 28)),
        ):
            content.add_action(db, _as(sgt), ref, action)
            _on(db, ref, _at(day, 17))
        _move(db, sgt, ref, "assessment")
        _edit(db, sgt, ref, buffer_width_m=150, control_area=point(
            51.5133, -0.0889, 250, "Bank and Cornhill (control)"))
        _on(db, ref, _at(date(2026, 2, 2)))
        run_assessment(db, _as(sgt), ref, AssessmentRequest(
            before_first="2023-12", before_last="2024-11", after_first="2025-01",
            after_last="2025-12", note="A year either side of the lock exchange, leaving out "
            "December 2024, the month it took."))
        _on(db, ref, _at(LIVERPOOL_STREET_ASSESSED))
        _edit(db, sgt, ref, process_evaluation="412 D-locks exchanged in December 2024; "
              "9 marking sessions, on Tuesdays in December and January.",
              impact_evaluation="Bicycle thefts at the racks fell from 8 to 4 (the year to "
              "November 2024 against 2025), but they fell in the control area too, from 21 to "
              "12: relative to it the racks did only a little better (odds ratio 1.14, 95% "
              "interval 0.28 to 4.61), and the 150 m ring around them fell less, from 18 to "
              "15. Fewer thefts at the racks, then, but not shown to be the response's doing, "
              "and no gain shown over the area as a whole.",
              outcome="fewer_incidents", lessons_learned="Lock exchanges worked best at the "
              "morning peak; marking reached too few people to matter. A place with a handful "
              "of thefts a year cannot show an effect in one year: evaluate such racks "
              "together, or over longer.")
        _on(db, ref, _at(date(2026, 2, 10)))
        _move(db, sgt, ref, "closed", reason="Assessment complete: fewer thefts at the racks, "
              "though not clearly more than in the control area.")
        _on(db, ref, _at(date(2026, 2, 17)))
        _settle(db, _case(db, ref))

    return title, CITY, make


def _broadgate() -> tuple[str, str, Any]:
    title = "Thefts from the person around Liverpool Street and Broadgate"

    def make(db: Session, u: dict[str, User]) -> None:
        sgt = u["city"]
        case = service.create_case(db, _as(sgt), CaseCreate(
            title=title, category="theft-from-the-person", borough=CITY, ward="E05009292",
            priority="high", source="data", team="City of London Police, Bishopsgate sector",
            problem_statement="Phones and bags taken from commuters and drinkers around "
            "Liverpool Street station, Broadgate and the Bishopsgate bars, mostly on weekday "
            "evenings. The hotspot finder ranks the station's cells first in the City.",
            target_area=point(51.5176, -0.0822, 300, "Liverpool Street station and Broadgate")))
        ref = case.ref
        _edit(db, sgt, ref, cheers={k: {"met": True, "evidence": v} for k, v in {
            "community": "Commuters, visitors and people at the bars around the station.",
            "harm": "Loss of phones and bags; fear reported in the City's surveys.",
            "expectation": "Network Rail, Broadgate estate and the BID asked for action.",
            "events": "Recorded thefts from the person (police.uk).",
            "recurring": "Every month of the last two years.",
            "similarity": "Same place, weekday evening peak, distraction thefts.",
        }.items()})
        _move(db, sgt, ref, "analysis")
        _edit(db, u["analyst"], ref, triangle={
            "offender": {"who": "Small groups working the station concourse and bar terraces"},
            "victim": {"who": "Commuters with phones out; drinkers with bags on chairs"},
            "place": {"who": "Station concourse, Broadgate Circle, Bishopsgate pavements"},
        }, crime_types=["theft-from-the-person", "other-theft"], buffer_width_m=300,
           baseline_start="2024-01-01", baseline_end="2024-12-31")
        _backdate(db, ref, 30)

    return title, CITY, make


def _bangor() -> tuple[str, str, Any]:
    title = "Night-time disorder on Bangor High Street"

    def make(db: Session, u: dict[str, User]) -> None:
        officer = u["gwynedd"]
        case = service.create_case(db, _as(officer), CaseCreate(
            title=title, category="anti-social-behaviour", borough=GWYNEDD, priority="medium",
            source="community", team="Bangor Neighbourhood Policing Team",
            problem_statement="Shouting, fights and damage along the lower High Street and by "
            "the clock tower late on Friday and Saturday nights, when the bars close; "
            "residents and traders raised it at the PACT meeting.",
            target_area=point(53.2282, -4.1285, 300, "Lower High Street and the clock tower")))
        ref = case.ref
        _edit(db, officer, ref, cheers={k: {"met": True, "evidence": v} for k, v in {
            "community": "Residents above the shops, traders and students.",
            "harm": "Assaults, damage to shop fronts and fear in the town centre at night.",
            "expectation": "Raised at the PACT meeting; the city council asked for action.",
            "events": "Recorded anti-social behaviour, public order and violence (police.uk).",
            "recurring": "Every weekend of the last four months.",
            "similarity": "Same streets, closing time, the same few bars.",
        }.items()})
        _move(db, officer, ref, "analysis")
        _edit(db, u["analyst"], ref, crime_types=["anti-social-behaviour", "public-order",
                                                   "violent-crime"], buffer_width_m=200)
        _backdate(db, ref, 21)

    return title, GWYNEDD, make


def _llandudno() -> tuple[str, str, Any]:
    title = "Shoplifting from the Mostyn Street shops, Llandudno"

    def make(db: Session, u: dict[str, User]) -> None:
        case = service.create_case(db, _as(u["conwy"]), CaseCreate(
            title=title, category="shoplifting", borough=CONWY, priority="medium",
            source="data", team="Llandudno Neighbourhood Policing Team",
            problem_statement="Repeat thefts from the chain stores and pharmacies of Mostyn "
            "Street and the Victoria Centre; police.uk shows shoplifting as the street's "
            "commonest crime.",
            target_area=point(53.3226, -3.8276, 350, "Mostyn Street and the Victoria Centre")))
        _backdate(db, case.ref, 8)

    return title, CONWY, make
