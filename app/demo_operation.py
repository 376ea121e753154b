"""Demo data for operations: Operation Nightingale over three demo hotspots, with weeks of
patrols and outputs, community concerns in each state of triage, and a gate override waiting
for review, so that the dashboards are alive on the first ``make run``.

Everything goes through the services (as the demo's officers), so every rule applies. The
operation is created once: loading the demo again adds nothing.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.assessment.schemas import AssessmentRequest
from app.assessment.service import response_start, run_assessment
from app.auth.context import Actor, Channel
from app.auth.models import User
from app.cases import content, moves, service
from app.cases.models import Action, Case, CaseEvent, Hypothesis
from app.cases.schemas import (
    ActionCreate,
    CaseCreate,
    CaseUpdate,
    HypothesisCreate,
    TransitionRequest,
)
from app.clock import LONDON, london_day, today
from app.community import service as community
from app.community.schemas import ConcernAnswer, ConcernCreate, ConcernTriage
from app.db import utcnow
from app.operations.models import Operation
from app.operations.schemas import OperationCreate
from app.operations.service import create_operation
from app.patrols import service as patrols
from app.patrols.schemas import OutputCorrection, OutputsCreate, PatrolCreate
from app.sara.responses import ActionStatus
from app.sara.stages import Stage

OPERATION = "Nightingale"
WESTMINSTER, CAMDEN = "E09000033", "E09000007"
# (case title, planned minutes a week, visits a week, the officer who patrols)
HOTSPOTS = (
    ("Street violence around Church Street market", 60, 4, "pc.shah"),
    ("Drug dealing on the Lisson Green estate walkways", 45, 3, "pc.shah"),
    ("Knife carrying around Camden Town station", 45, 3, "pc.clarke"),
)
PLACES = {
    "pc.shah": ["Penfold Street walkway", "Church Street market", "Lisson Green stairwells"],
    "pc.clarke": ["Camden Town station forecourt", "Buck Street market", "Kentish Town Road"],
}


def ensure_operation(db: Session, users: dict[str, User]) -> bool:
    """Create Operation Nightingale and its activity, unless it exists. True if created."""
    if db.scalar(select(Operation.id).where(Operation.name == OPERATION)):
        return False
    cases = {title: db.scalar(select(Case).where(Case.title == title))
             for title, *_ in HOTSPOTS}
    if any(case is None for case in cases.values()):
        return False  # the demo cases are not there (someone removed them): leave it
    analyst = _as(users["analyst.lee"])
    operation = create_operation(db, analyst, OperationCreate(
        name=OPERATION, unit="Met Operations: Violence Suppression Unit (demo)",
        force="metropolitan",
        description="Hotspot policing of the places with the most violence, chosen centrally "
                    "from the crime data and worked by the neighbourhood teams with patrols "
                    "and community-led work. Every hotspot is evaluated at the end.",
        start_date=today() - timedelta(days=120)))
    rng = random.Random(20260401)
    for title, planned, per_week, officer in HOTSPOTS:
        case = cases[title]
        assert case is not None
        person = users[officer]
        service.update_case(db, analyst, case.ref, CaseUpdate(version=case.version,
                                                              operation=operation.id))
        _update(db, person, case.ref, planned_patrol_minutes=planned)
        _patrols_and_outputs(db, person, case, per_week, rng)
    _override_lisson_green(db, users)
    _concerns(db, users, cases)
    return True


def _as(user: User) -> Actor:
    return Actor(user, Channel.CLI, client_addr="local", operator="demo")


def _update(db: Session, user: User, ref: str, **fields: Any) -> None:
    version = db.scalar(select(Case.version).where(Case.ref == ref))
    service.update_case(db, _as(user), ref, CaseUpdate.model_validate(
        {"version": version, **fields}))


def _stamp(db: Session, case: Case, at: datetime) -> None:
    """Put the case's newest timeline entry at the time the work happened."""
    newest = db.scalar(select(CaseEvent.id).where(CaseEvent.case_id == case.id)
                       .order_by(CaseEvent.id.desc()).limit(1))
    db.execute(update(CaseEvent).where(CaseEvent.id == newest).values(at=at))
    db.commit()


def _patrols_and_outputs(db: Session, user: User, case: Case, per_week: int,
                         rng: random.Random) -> None:
    """Visits from the day after the case opened to yesterday, mostly near the 10 to 15
    minute band, and the outputs some of them produced."""
    actor, first = _as(user), london_day(case.created_at) + timedelta(days=1)
    day, yesterday = first, today() - timedelta(days=1)
    while day <= yesterday:
        if rng.random() < per_week / 7:
            start = datetime.combine(day, time(rng.choice([11, 14, 16, 17, 18, 20]),
                                               rng.choice([0, 5, 10, 20, 35, 45])), LONDON)
            minutes = max(4, round(rng.gauss(14, 6)))
            patrol = patrols.add_patrol(db, actor, case.ref, PatrolCreate(
                started_at=start, ended_at=start + timedelta(minutes=minutes),
                kind=rng.choice(["foot", "foot", "high_visibility", "vehicle"]),
                officers=user.display_name, place=rng.choice(PLACES[user.username])))
            _stamp(db, case, patrol.ended_at or utcnow())
            counts = _outputs(rng)
            if counts:
                patrols.record_outputs(db, actor, case.ref, OutputsCreate(
                    on=day, counts=counts, patrol_id=patrol.id))
                _stamp(db, case, (patrol.ended_at or utcnow()) + timedelta(minutes=20))
        day += timedelta(days=1)


def _outputs(rng: random.Random) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind, chance, most in (("arrests", 0.25, 2), ("stop_searches", 0.35, 3),
                               ("knives", 0.08, 1), ("other_weapons", 0.05, 1),
                               ("drug_seizures", 0.15, 2), ("community_engagements", 0.4, 4),
                               ("intelligence_submissions", 0.3, 2), ("firearms", 0.01, 1)):
        if rng.random() < chance:
            counts[kind] = rng.randint(1, most)
    return counts


def _override_lisson_green(db: Session, users: dict[str, User]) -> None:
    """The late turn's sergeant starts the response before the analysis is complete: an
    override in the work queue, waiting for the other Westminster sergeant's review (nobody
    reviews their own). One action, so the response is under way."""
    ref = db.scalar(select(Case.ref).where(Case.title == HOTSPOTS[1][0]))
    assert ref is not None
    moves.move_case(db, _as(users["sgt.adeyemi"]), ref, TransitionRequest(
        to="response", override=True,
        reason="Dealing is escalating after two assaults on residents: start patrols and "
               "the door-entry repairs now while the analysis is finished."))
    content.add_action(db, _as(users["pc.shah"]), ref, ActionCreate(
        title="Housing provider to repair the door entry systems of blocks C and D",
        tactic="control-access", partner="housing", owner="CityWest Homes repairs team",
        due_date=today() + timedelta(days=10)))
    # A correction, as happens: one arrest counted twice.
    case = db.scalar(select(Case).where(Case.ref == ref))
    assert case is not None
    entries = [e for e, corrected in patrols.case_outputs(db, case)
               if corrected is None and e.kind.value == "arrests" and e.count > 1]
    if entries:
        patrols.correct_output(db, _as(users["pc.shah"]), ref, entries[0].id, OutputCorrection(
            count=entries[0].count - 1, reason="One arrest was counted twice (same custody "
                                               "record)."))


def _concerns(db: Session, users: dict[str, User], cases: dict[str, Case | None]) -> None:
    shah, clarke = _as(users["pc.shah"]), _as(users["pc.clarke"])
    market, estate = cases[HOTSPOTS[0][0]], cases[HOTSPOTS[1][0]]
    assert market is not None and estate is not None

    def raised(actor: Actor, days: int, **fields: Any) -> Any:
        return community.record_concern(db, actor, ConcernCreate.model_validate(
            {"raised_on": today() - timedelta(days=days), **fields}))

    traders = raised(shah, 30, borough=WESTMINSTER, ward="E05013794", raised_by_kind="business",
                     raised_by="Church Street market traders' association", channel="ward_panel",
                     place="Penfold Street walkway", description="Groups of young men gather "
                     "on the walkway at pack-up time and intimidate traders carrying cash.")
    traders = community.triage_concern(db, shah, traders.id, ConcernTriage(
        version=traders.version, outcome="linked", case=market.ref))
    # The demo's dates count back from today: name the month its response really began.
    began = response_start(db, market) or today()
    community.answer_concern(db, shah, traders.id, ConcernAnswer(
        version=traders.version, we_did="High-visibility patrols at pack-up on Fridays and "
        f"Saturdays since {began:%B}, and the council replaced the walkway lighting."))
    needles = raised(shah, 12, borough=WESTMINSTER, ward="E05013794",
                     raised_by_kind="resident", raised_by="Tenant of block D",
                     contact="Via the tenants' association", channel="street_briefing",
                     place="Lisson Green, block D stairwell",
                     description="Needles left in the stairwell most mornings; children use "
                                 "these stairs to get to school.")
    community.triage_concern(db, shah, needles.id, ConcernTriage(
        version=needles.version, outcome="linked", case=estate.ref))
    bins = raised(shah, 8, borough=WESTMINSTER, raised_by_kind="resident", channel="online",
                  place="Bell Street", description="Overflowing commercial bins behind the "
                                                   "shops attract rough sleepers and rats.")
    community.triage_concern(db, shah, bins.id, ConcernTriage(
        version=bins.version, outcome="not_police",
        reason="Passed to Westminster City Council's commercial waste team (ref CW-4471)."))
    raised(shah, 2, borough=WESTMINSTER, ward="E05013801", raised_by_kind="councillor",
           raised_by="Cllr for Marylebone", channel="councillor_referral",
           place="Harewood Avenue", description="Residents report cyclists snatching phones "
                                                "on Harewood Avenue in the evenings.")
    raised(clarke, 3, borough=CAMDEN, raised_by_kind="school", raised_by="Head of year 10",
           channel="phone_or_email", place="Camden High Street",
           description="Pupils say older boys carry knives near the station after school.")


# --- Operation Sentinel: City of London hotspots, assessable on the demo's real data ---------

SENTINEL = "Sentinel"
CITY = "E09000001"
RESPONSE_BEGAN = date(2024, 12, 1)  # inside the demo's police.uk data (Oct 2023 to Dec 2025)


def _point(lat: float, lng: float, radius: int, name: str) -> dict[str, Any]:
    return {"name": name, "geometry": {"type": "Point", "coordinates": [lng, lat]},
            "radius_m": radius}


# (title, category, target, control, assessed by the demo)
CITY_HOTSPOTS = (
    ("Phone snatches around Moorgate and London Wall", "theft-from-the-person",
     _point(51.5180, -0.0890, 250, "Moorgate and London Wall"),
     _point(51.5138, -0.1040, 250, "St Paul's and Ludgate (control)"), True),
    ("Violence around the Bishopsgate bars at night", "violent-crime",
     _point(51.5190, -0.0790, 200, "Bishopsgate and Spital Square"),
     _point(51.5140, -0.1070, 250, "Fleet Street (control)"), True),
    ("Shoplifting on Cheapside and at One New Change", "shoplifting",
     _point(51.5141, -0.0946, 200, "Cheapside and One New Change"),
     _point(51.5138, -0.0754, 250, "Aldgate (control)"), False),
)


def ensure_sentinel(db: Session, users: dict[str, User]) -> int:
    """A City of London Police operation over three hotspot cases with real police.uk data,
    their responses begun in December 2024: two assessed, one left for the demo's user to
    assess. The number of cases it opened (none when the operation exists)."""
    if db.scalar(select(Operation.id).where(Operation.name == SENTINEL)):
        return 0
    sgt, analyst = users["sgt.byrne"], users["analyst.lee"]
    operation = create_operation(db, _as(sgt), OperationCreate(
        name=SENTINEL, unit="City of London Police, Bishopsgate sector (demo)",
        description="Hotspot policing of the City's theft, violence and shoplifting hotspots, "
                    "chosen from the police.uk data. Each hotspot is assessed against a "
                    "control area of the City, with a buffer ring for displacement.",
        start_date=RESPONSE_BEGAN))
    for title, category, target, control, assess in CITY_HOTSPOTS:
        case = db.scalar(select(Case).where(Case.title == title))
        if case is None:
            case = service.create_case(db, _as(sgt), CaseCreate(
                title=title, category=category, borough=CITY, priority="high", source="data",
                team="City of London Police, Bishopsgate sector", target_area=target,
                problem_statement=f"{title}: one of the City's hotspots in the police.uk "
                                  "data for 2023 and 2024."))
        _through_to_response(db, sgt, analyst, case.ref, control, operation.id)
        if assess:
            run_assessment(db, _as(analyst), case.ref, AssessmentRequest(
                before_first="2023-12", before_last="2024-11", after_first="2024-12",
                after_last="2025-11", note="A year either side of the response's start."))
    return len(CITY_HOTSPOTS)


def _through_to_response(db: Session, sgt: User, analyst: User, ref: str,
                         control: dict[str, Any] | None, operation_id: int) -> None:
    """Scanning and Analysis met, the response begun on RESPONSE_BEGAN."""
    case = db.scalar(select(Case).where(Case.ref == ref))
    assert case is not None
    actor = _as(sgt)
    if case.stage is Stage.SCANNING:
        _update(db, sgt, ref, cheers={k: {"met": True, "evidence": v} for k, v in {
            "community": "Commuters, workers and visitors in the City.",
            "harm": "Loss, injury and fear; businesses report staff leaving early.",
            "expectation": "The City's businesses and the BID asked for action.",
            "events": "Recorded crimes in the police.uk data.",
            "recurring": "Every month of 2023 and 2024.",
            "similarity": "The same streets and hours, month after month.",
        }.items()})
        moves.move_case(db, actor, ref, TransitionRequest(to="analysis"))
    _update(db, analyst, ref, triangle={
        "offender": {"who": "Offenders drawn by crowds and cash at the busy hours"},
        "victim": {"who": "Commuters, drinkers and shop staff"},
        "place": {"who": "Station concourses, bar terraces and shop fronts"},
    }, analysis_summary="Crime concentrates at the busiest hours in a few streets, where "
       "guardianship is thin.", baseline_start="2023-12-01", baseline_end="2024-11-30",
       buffer_width_m=200, control_area=control)
    if not db.scalar(select(func.count()).select_from(Hypothesis).where(
            Hypothesis.case_id == case.id)):
        content.add_hypothesis(db, actor, ref, HypothesisCreate(
            statement="Crowds at the busiest hours give offenders cover and targets."))
    service.update_case(db, _as(analyst), ref, CaseUpdate(
        version=db.scalar(select(Case.version).where(Case.ref == ref)) or 1,
        operation=operation_id))
    moves.move_case(db, actor, ref, TransitionRequest(to="response"))
    _update(db, sgt, ref, response_plan="High-visibility patrols at the peak hours, with "
            "the businesses' security staff and CCTV, from December 2024.")
    content.add_action(db, actor, ref, ActionCreate(
        title="High-visibility patrols at the peak hours", tactic="hotspot-patrols",
        partner="police", owner="Bishopsgate sector", due_date=RESPONSE_BEGAN,
        status="done"))
    _dated_before_the_response(db, case)


def _dated_before_the_response(db: Session, case: Case) -> None:
    """The case opened in the autumn before, its Scanning and Analysis spread over the weeks
    that followed, and its move into Response on the day the response began."""
    began = datetime.combine(RESPONSE_BEGAN, time(9, 0), LONDON)
    opened = began - timedelta(days=80)
    events = list(db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                             .order_by(CaseEvent.id)))
    moved = max(i for i, e in enumerate(events) if e.to_stage is Stage.RESPONSE)
    for index, event in enumerate(events):
        event.at = (opened + (began - opened) * index / max(moved, 1) if index <= moved
                    else began + timedelta(hours=index - moved))
    db.execute(update(Case).where(Case.id == case.id).values(
        created_at=opened, stage_entered_at=began, updated_at=events[-1].at,
        last_activity_at=events[-1].at), execution_options={"synchronize_session": False})
    # The patrols were recorded done when they began, not on the day the demo was loaded.
    db.execute(update(Action).where(Action.case_id == case.id,
                                    Action.status == ActionStatus.DONE)
               .values(completed_on=RESPONSE_BEGAN),
               execution_options={"synchronize_session": False})
    db.commit()
