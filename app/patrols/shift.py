"""An officer's shift on one screen: the patrol running, the cases to patrol from, today's
outputs, each case's next and overdue actions, and the concerns waiting for triage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case as when_then
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.auth.permissions import Perm, has, home_area, require, visible
from app.cases.access import acting_user
from app.cases.models import Action, Case
from app.clock import today
from app.community.models import Concern
from app.patrols.models import OutputEntry, Patrol
from app.patrols.service import running_patrol_of
from app.sara.responses import ActionStatus
from app.sara.stages import Stage

# Cases of the officer's area that others own, shown to patrol from: the ones most recently
# worked. The case list has them all.
AREA_CASES = 8
CONCERNS_SHOWN = 5
PATROL_STAGES = (Stage.RESPONSE, Stage.ASSESSMENT)  # the patrol panel's stages too


@dataclass(frozen=True)
class ShiftCase:
    case: Case
    mine: bool
    next_action: Action | None  # the open action due soonest
    overdue: int

    @property
    def patrollable(self) -> bool:
        return self.case.stage in PATROL_STAGES


@dataclass(frozen=True)
class Shift:
    running: Patrol | None
    running_case: Case | None
    cases: list[ShiftCase]
    outputs_today: list[tuple[OutputEntry, str]]  # by the officer today, newest first
    concerns: list[Concern]  # awaiting triage in the officer's area, oldest first
    concerns_waiting: int
    can_patrol: bool
    can_triage: bool


def shift_of(db: Session, actor: Actor) -> Shift:
    user = acting_user(actor)
    require(user, Perm.CASE_READ)
    running = running_patrol_of(db, user.id)
    running_case = db.scalar(select(Case).where(Case.ref == running[1])) if running else None
    cases = _cases(db, actor)
    concerns, waiting = _concerns(db, actor)
    record_read(db, actor, AuditAction.SHIFT_VIEW, object_type="case",
                details={"cases": [c.case.ref for c in cases], "concerns_waiting": waiting})
    return Shift(
        running=running[0] if running else None, running_case=running_case, cases=cases,
        outputs_today=_outputs_today(db, user.id), concerns=concerns, concerns_waiting=waiting,
        can_patrol=has(user, Perm.PATROL_LOG), can_triage=has(user, Perm.CONCERN_RECORD))


def _cases(db: Session, actor: Actor) -> list[ShiftCase]:
    """The officer's own open cases, then the area's cases in Response or Assessment that
    others own (to patrol from), most recently worked first."""
    user = acting_user(actor)
    readable = visible(user, Perm.CASE_READ, Case.borough_code)
    mine = list(db.scalars(
        select(Case).where(readable, Case.owner_id == user.id, Case.stage != Stage.CLOSED)
        .order_by(when_then((Case.stage.in_(PATROL_STAGES), 0), else_=1),
                  Case.last_activity_at.desc())))
    others: list[Case] = []
    if has(user, Perm.PATROL_LOG) and home_area(user):
        others = list(db.scalars(
            select(Case).where(readable, Case.stage.in_(PATROL_STAGES),
                               or_(Case.owner_id.is_(None), Case.owner_id != user.id))
            .order_by(Case.last_activity_at.desc()).limit(AREA_CASES)))
    actions = _open_actions(db, [c.id for c in mine + others])
    day = today()
    return [ShiftCase(case=c, mine=c in mine, next_action=_next_due(actions.get(c.id, [])),
                      overdue=sum(1 for a in actions.get(c.id, []) if _overdue(a, day)))
            for c in mine + others]


def _open_actions(db: Session, case_ids: list[int]) -> dict[int, list[Action]]:
    found: dict[int, list[Action]] = {}
    if not case_ids:
        return found
    for action in db.scalars(select(Action).where(
            Action.case_id.in_(case_ids),
            Action.status.in_([ActionStatus.PLANNED, ActionStatus.IN_PROGRESS]))):
        found.setdefault(action.case_id, []).append(action)
    return found


def _next_due(actions: list[Action]) -> Action | None:
    dated = [a for a in actions if a.due_date is not None]
    return min(dated, key=lambda a: (a.due_date, a.id)) if dated else None


def _overdue(action: Action, day: date) -> bool:
    return action.due_date is not None and action.due_date < day


def _outputs_today(db: Session, user_id: int) -> list[tuple[OutputEntry, str]]:
    """Entries in force, with their case's reference: a corrected entry gives way to its
    correction."""
    newer = aliased(OutputEntry)
    corrected = select(newer.id).where(newer.corrects_id == OutputEntry.id).exists()
    rows = db.execute(
        select(OutputEntry, Case.ref).join(Case, Case.id == OutputEntry.case_id)
        .where(OutputEntry.recorded_by_id == user_id, OutputEntry.on_date == today(),
               ~corrected)
        .order_by(OutputEntry.recorded_at.desc(), OutputEntry.id.desc()))
    return [(entry, ref) for entry, ref in rows]


def _concerns(db: Session, actor: Actor) -> tuple[list[Concern], int]:
    user = acting_user(actor)
    if not has(user, Perm.CONCERN_RECORD):
        return [], 0
    awaiting = (visible(user, Perm.CONCERN_READ, Concern.borough_code),
                Concern.triage_outcome.is_(None))
    rows = list(db.scalars(select(Concern).where(*awaiting)
                           .order_by(Concern.raised_on, Concern.id).limit(CONCERNS_SHOWN)))
    return rows, db.scalar(select(func.count(Concern.id)).where(*awaiting)) or 0


def running_patrol(db: Session, actor: Actor) -> tuple[Patrol, str] | None:
    """The patrol the officer started and has not ended, with its case's reference."""
    user = acting_user(actor)
    require(user, Perm.PATROL_LOG)
    return running_patrol_of(db, user.id)
