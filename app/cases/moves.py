"""The one guarded transition: every stage move of every case goes through ``move_case``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.audit.service import AuditAction
from app.auth.context import Actor
from app.auth.permissions import Perm, require
from app.cases.access import acting_user, case_for, stale_guard
from app.cases.models import Case, EventKind
from app.cases.schemas import TransitionRequest
from app.cases.views import case_facts
from app.db import utcnow
from app.errors import Conflict
from app.retention.schedule import schedule_closed, unschedule_reopened
from app.reviews.schedule import schedule_reopened, unschedule
from app.sara.stages import Move, MoveKind, Stage, decide_move
from app.usecase import use_case


def move_case(db: Session, actor: Actor, ref: str, request: TransitionRequest) -> Case:
    """Move a case between stages. Raises MoveRefused or GateUnmet (from the SARA rules),
    Forbidden when the role may not make this move, NotFound outside the user's scope."""
    user = acting_user(actor)
    case = case_for(db, actor, ref, Perm.CASE_MOVE)
    if case.stage is Stage.CLOSED:
        require(user, Perm.CASE_REOPEN, "Only a supervisor can reopen a closed case.")
        if case.disposed_at is not None:
            raise Conflict(f"{case.ref}'s personal data was disposed of under the retention "
                           "rules: it stays closed. Open a new case if the problem is back.")
    if request.to is Stage.CLOSED:
        require(user, Perm.CASE_CLOSE, "Only a supervisor can close a case.")
    move = decide_move(case.stage, request.to, case_facts(case), reason=request.reason,
                       override=request.override)
    if move.overridden:
        require(user, Perm.GATE_OVERRIDE, "Only a supervisor can override a gate.")
    with use_case(db, actor, AuditAction.CASE_MOVE, case=case,
                  justification=move.reason) as done:
        now = utcnow()
        case.stage, case.stage_entered_at, case.updated_at = move.to_stage, now, now
        if move.closes:
            unschedule(case)
            schedule_closed(db, case)
        elif move.kind is MoveKind.REOPEN:
            schedule_reopened(db, case)
            unschedule_reopened(case)
        with stale_guard(db, case):
            db.flush()
        done.event(
            EventKind.MOVED, _summary(move), body=move.reason,
            from_stage=move.from_stage, to_stage=move.to_stage, overridden=move.overridden,
            details={"kind": move.kind.value,
                     "unmet": [{"code": u.code, "message": u.message} for u in move.unmet]},
        )
        done.details = {"from": move.from_stage.value, "to": move.to_stage.value,
                        "kind": move.kind.value, "override": move.overridden,
                        "unmet": [u.code for u in move.unmet]}
    return case


def _summary(move: Move) -> str:
    if move.kind is MoveKind.REOPEN:
        return f"Reopened into {move.to_stage.label}"
    if move.kind is MoveKind.BACK:
        return f"Sent back from {move.from_stage.label} to {move.to_stage.label}"
    if move.closes:
        verb = "Closed with the Assessment gate overridden" if move.overridden else "Closed"
        return verb
    suffix = " (gate overridden)" if move.overridden else ""
    return f"Moved from {move.from_stage.label} to {move.to_stage.label}{suffix}"
