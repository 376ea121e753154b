"""Demo data for the strongest design: Operation Lantern, eight City of London hotspots
randomised in matched pairs to patrols or comparison, over the demo's real police.uk data.

The allocation is made as it would be on the day (20 March 2025, patrols from April), through
the services, with a fixed seed so that every demo is the same; its record carries that day.
No such trial took place: the crime is real, the patrols are the demo's, so the comparison
should show no effect, and an evaluator can see the method at work on real months. One patrol
was logged on a comparison hotspot, as happens, and is flagged.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.context import Actor, Channel
from app.auth.models import User
from app.cases import content, moves, service
from app.cases.models import Action, Case, CaseEvent, EventKind
from app.cases.schemas import (
    ActionCreate,
    ActionUpdate,
    CaseCreate,
    CaseUpdate,
    HypothesisCreate,
    TransitionRequest,
)
from app.clock import LONDON
from app.operations.allocation import make_allocation
from app.operations.models import Operation
from app.operations.schemas import AllocationCreate, OperationCreate
from app.operations.service import create_operation
from app.patrols import service as patrols
from app.patrols.schemas import PatrolCreate
from app.sara.allocation import Group
from app.sara.stages import Stage

LANTERN = "Lantern"
CITY = "E09000001"
OPENED = date(2025, 2, 3)
ALLOCATED = datetime(2025, 3, 20, 10, 30, tzinfo=UTC)
PATROLS_FROM, PATROLS_TO = date(2025, 4, 1), date(2025, 12, 31)
ASSESSED = date(2026, 1, 12)  # the cases moved to Assessment when the patrols ended
SEED = 20250320
CRIME = ["violent-crime", "robbery", "theft-from-the-person"]
# The places of the City with the most of that crime within 100 m in the baseline year (April
# 2024 to March 2025), at least 250 m apart and clear of the demo's other areas: police.uk's
# anonymised map points, named as its files name them.
HOTSPOTS = (
    ("Botolph Lane", 51.510316, -0.084559), ("Bell Inn Yard", 51.512588, -0.08491),
    ("Allhallows Lane", 51.509722, -0.090578), ("Holborn", 51.51809, -0.11035),
    ("Cock Lane", 51.517308, -0.102585), ("Cloth Street", 51.519689, -0.098017),
    ("New London Street", 51.511196, -0.079521), ("High Timber Street", 51.510967, -0.09583),
)


def _as(user: User) -> Actor:
    return Actor(user, Channel.CLI, client_addr="local", operator="demo")


def ensure_lantern(db: Session, users: dict[str, User]) -> int:
    """Operation Lantern, its eight cases, the allocation and the patrols; the number of
    cases opened (none when the operation exists)."""
    if db.scalar(select(Operation.id).where(Operation.name == LANTERN)):
        return 0
    sgt, analyst = users["sgt.byrne"], users["analyst.lee"]
    operation = create_operation(db, _as(analyst), OperationCreate(
        name=LANTERN, unit="City of London Police, hotspot patrol trial (demo)",
        force="city-of-london", borough=CITY, start_date=PATROLS_FROM, end_date=PATROLS_TO,
        description="A randomised trial of hotspot patrols: eight street corners with the "
                    "most violence, robbery and theft from the person, matched in pairs by "
                    "their crime in the year before and split at random between patrols and "
                    "comparison (no extra patrols). Demo: the crime is real police.uk data, "
                    "the trial is not, so no effect is expected."))
    refs = [_hotspot(db, sgt, analyst, name, lat, lng, operation.id)
            for name, lat, lng in HOTSPOTS]
    allocation = make_allocation(db, _as(analyst), operation.id, AllocationCreate(
        cases=refs, method="pairs", seed=SEED, starts=f"{PATROLS_FROM:%Y-%m}",
        note="Made at the tasking meeting before patrols began; the teams were told which "
             "corners get no extra patrols."), now=ALLOCATED)
    rng = random.Random(SEED)
    comparison = []
    for unit in allocation.units:
        if unit.group is Group.PATROLLED:
            _into_response(db, sgt, unit.case.ref)
            _patrols(db, sgt, unit.case, rng)
            _patrols_done(db, sgt, unit.case)
        else:
            _update(db, sgt, unit.case.ref, analysis_summary=(
                "Violence, robbery and theft from the person concentrate on this corner at the "
                "evening peak. A comparison corner of Operation Lantern's trial: no extra "
                "patrols from April to December 2025."))
            comparison.append(unit.case)
    _stray_patrol(db, sgt, comparison[0])
    for ref in refs:
        _date_history(db, ref)
    return len(refs)


def _hotspot(db: Session, sgt: User, analyst: User, name: str, lat: float, lng: float,
             operation_id: int) -> str:
    """A case through Scanning and Analysis (its gates met), in the operation before the
    allocation, and into Response when the patrols began."""
    case = service.create_case(db, _as(sgt), CaseCreate(
        title=f"Violence and theft at {name}", category="violent-crime", borough=CITY,
        priority="high", source="data", team="City of London Police, hotspot patrol trial",
        problem_statement=f"{name}: one of the City's eight corners with the most violence, "
                          "robbery and theft from the person in the police.uk data of 2024.",
        target_area={"name": name, "radius_m": 100,
                     "geometry": {"type": "Point", "coordinates": [lng, lat]}}))
    _update(db, sgt, case.ref, crime_types=CRIME, cheers={k: {"met": True, "evidence": v}
                                                          for k, v in CHEERS.items()})
    moves.move_case(db, _as(sgt), case.ref, TransitionRequest(to="analysis"))
    _update(db, analyst, case.ref, operation=operation_id, triangle={
        "offender": {"who": "Offenders drawn by crowds at the evening peak"},
        "victim": {"who": "Commuters and drinkers"},
        "place": {"who": "A busy corner with thin guardianship after dark"},
    }, analysis_summary="Violence, robbery and theft from the person concentrate on this "
       "corner at the evening peak.", baseline_start="2024-04-01", baseline_end="2025-03-31")
    content.add_hypothesis(db, _as(sgt), case.ref, HypothesisCreate(
        statement="A visible patrol at the evening peak deters offenders at this corner."))
    return case.ref


def _into_response(db: Session, sgt: User, ref: str) -> None:
    """A patrolled corner: its plan and patrol action, into Response on the day patrols began,
    and into Assessment when they ended. (A comparison corner stays in Analysis: no response
    there until the trial is over.)"""
    _update(db, sgt, ref, response_plan="High-visibility patrols of 10 to 15 minutes, about "
            "twice a week at the evening peak, from April to December 2025.",
            planned_patrol_minutes=30)
    moves.move_case(db, _as(sgt), ref, TransitionRequest(to="response"))
    content.add_action(db, _as(sgt), ref, ActionCreate(
        title="High-visibility patrols at the evening peak", tactic="hotspot-patrols",
        partner="police", owner="Patrol team", due_date=PATROLS_TO, status="in_progress"))


def _patrols_done(db: Session, sgt: User, case: Case) -> None:
    """The patrol action done on the trial's last day, and the case into Assessment."""
    action = db.scalar(select(Action).where(Action.case_id == case.id))
    assert action is not None
    content.update_action(db, _as(sgt), case.ref, action.id, ActionUpdate(
        version=action.version, status="done"))
    db.execute(update(Action).where(Action.id == action.id).values(completed_on=PATROLS_TO))
    db.commit()
    _stamp(db, case, datetime.combine(PATROLS_TO, time(18, 0), LONDON))
    moves.move_case(db, _as(sgt), case.ref, TransitionRequest(
        to="assessment", reason="The trial's patrols ended on 31 December 2025."))


CHEERS = {
    "community": "Commuters, workers and visitors at a City street corner.",
    "harm": "Assaults, robberies and phones taken.",
    "expectation": "Businesses and the City's residents ask for a visible police presence.",
    "events": "Recorded crimes in the police.uk data.",
    "recurring": "Every month of 2024.",
    "similarity": "The same corner and the evening peak.",
}


def _update(db: Session, user: User, ref: str, **fields: Any) -> None:
    version = db.scalar(select(Case.version).where(Case.ref == ref))
    service.update_case(db, _as(user), ref, CaseUpdate.model_validate(
        {"version": version, **fields}))


def _patrols(db: Session, sgt: User, case: Case, rng: random.Random) -> None:
    """About two visits a week from April to December 2025, mostly 10 to 15 minutes."""
    day = PATROLS_FROM
    while day <= PATROLS_TO:
        if rng.random() < 2 / 7:
            start = datetime.combine(day, time(rng.choice([16, 17, 18, 19, 21]),
                                               rng.choice([0, 10, 25, 40])), LONDON)
            patrol = patrols.add_patrol(db, _as(sgt), case.ref, PatrolCreate(
                started_at=start, ended_at=start + timedelta(minutes=max(5, round(
                    rng.gauss(13, 4)))), kind="high_visibility",
                officers="City of London Police patrol team", place=case.target_area_name))
            _stamp(db, case, patrol.ended_at or patrol.started_at)
        day += timedelta(days=1)


def _stray_patrol(db: Session, sgt: User, case: Case) -> None:
    start = datetime.combine(date(2025, 6, 14), time(22, 15), LONDON)
    patrol = patrols.add_patrol(db, _as(sgt), case.ref, PatrolCreate(
        started_at=start, ended_at=start + timedelta(minutes=12), kind="foot",
        officers="City of London Police patrol team", place=case.target_area_name,
        notes="Called to a disturbance; logged here before anyone noticed it is a comparison "
              "corner."))
    _stamp(db, case, patrol.ended_at or start)


def _stamp(db: Session, case: Case, at: datetime) -> None:
    """Put the case's newest timeline entry at the time the work happened."""
    newest = db.scalar(select(CaseEvent.id).where(CaseEvent.case_id == case.id)
                       .order_by(CaseEvent.id.desc()).limit(1))
    db.execute(update(CaseEvent).where(CaseEvent.id == newest).values(at=at))
    db.commit()


def _date_history(db: Session, ref: str) -> None:
    """The case's history dated as it happened: Scanning and Analysis in February and March
    2025 (the operation joined before the allocation), the allocation on its day, Response
    from 1 April, the patrols on their days, Assessment when they ended."""
    case = db.scalar(select(Case).where(Case.ref == ref))
    assert case is not None
    opened = datetime.combine(OPENED, time(9, 0), LONDON)
    began = datetime.combine(PATROLS_FROM, time(9, 0), LONDON)
    events = list(db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                             .order_by(CaseEvent.id)))
    response = next((i for i, e in enumerate(events) if e.to_stage is Stage.RESPONSE), None)
    early = [e for i, e in enumerate(events) if (response is None or i < response - 1)
             and not (e.details or {}).get("allocation") and e.kind is not EventKind.PATROL]
    span = ALLOCATED.astimezone(LONDON) - timedelta(days=2) - opened
    for index, event in enumerate(early):
        event.at = opened + span * index / max(len(early) - 1, 1)
    for index, event in enumerate(events):
        if (event.details or {}).get("allocation"):
            event.at = ALLOCATED
        elif response is not None and response - 1 <= index <= response + 1:
            event.at = began + timedelta(minutes=index - response + 1)  # plan, move, action
        elif event.to_stage is Stage.ASSESSMENT:
            event.at = datetime.combine(ASSESSED, time(9, 0), LONDON)
    last = max(e.at for e in events)
    db.execute(update(Case).where(Case.id == case.id).values(
        created_at=opened, updated_at=last, last_activity_at=last,
        stage_entered_at=max(e.at for e in events if e.kind is EventKind.MOVED)),
        execution_options={"synchronize_session": False})
    db.commit()


def _as_sergeant(db: Session) -> Actor:
    user = db.scalar(select(User).where(User.username == "sgt.byrne"))
    assert user is not None
    return _as(user)
