"""The process evaluation's facts, filled from the record: what was planned and delivered."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.clock import london_day, today
from app.oversight.schemas import ConcernFigures, PatrolFigures
from app.oversight.service import concern_figures, output_figures, patrol_figures
from app.sara.patrols import OutputKind, describe_counts
from app.sara.responses import ActionStatus, is_overdue
from app.sara.stages import Stage


class ActionFigures(BaseModel):
    planned: int = Field(description="Actions in the plan, cancelled ones excepted")
    done: int
    overdue: int
    cancelled: int


class ProcessRecord(BaseModel):
    first: date = Field(description="The case opened")
    last: date = Field(description="Today, or the day the case closed")
    actions: ActionFigures
    patrols: PatrolFigures
    outputs: dict[OutputKind, int]
    concerns: ConcernFigures
    text: str = Field(description="The same, as a paragraph for the process evaluation")


def process_record(db: Session, case: Case) -> ProcessRecord:
    """The caller has read the case through ``case_for``."""
    day = today()
    first = london_day(case.created_at)
    last = london_day(case.stage_entered_at) if case.stage is Stage.CLOSED else day
    live = [a for a in case.actions if a.status is not ActionStatus.CANCELLED]
    actions = ActionFigures(
        planned=len(live), done=sum(1 for a in live if a.status is ActionStatus.DONE),
        overdue=sum(1 for a in live if is_overdue(a.status, a.due_date, day)),
        cancelled=len(case.actions) - len(live))
    this_case = Case.id == case.id
    patrols = patrol_figures(db, this_case, first, last)
    outputs = output_figures(db, this_case, first, last).totals
    concerns = concern_figures(db, this_case, first, last)
    return ProcessRecord(first=first, last=last, actions=actions, patrols=patrols,
                         outputs=outputs, concerns=concerns,
                         text=_paragraph(first, last, actions, patrols, outputs, concerns))


def _paragraph(first: date, last: date, actions: ActionFigures, patrols: PatrolFigures,
               outputs: dict[OutputKind, int], concerns: ConcernFigures) -> str:
    parts = [f"From the record, {first:%-d %B %Y} to {last:%-d %B %Y}: "
             f"{actions.planned} {'action' if actions.planned == 1 else 'actions'} planned, "
             f"{actions.done} done, {actions.overdue} overdue"
             + (f", {actions.cancelled} cancelled" if actions.cancelled else "")]
    if patrols.visits or patrols.planned_minutes:
        plan = (f" against {patrols.planned_hours:.1f} planned ({patrols.percent_of_plan}%)"
                if patrols.percent_of_plan is not None else " (no dosage was planned)")
        parts.append(f"hotspot patrols: {patrols.visits} visits, {patrols.delivered_hours:.1f} "
                     f"hours{plan}, {patrols.in_band} of them of 10 to 15 minutes")
    counted = [(kind, count) for kind, count in outputs.items() if count]
    parts.append("outputs: " + describe_counts(counted) if counted else "no outputs recorded")
    if concerns.received:
        parts.append(f"community concerns: {concerns.received} received, "
                     f"{concerns.answered} answered")
    return "; ".join(parts) + "."
