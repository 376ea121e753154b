"""Read models of a case: the facts the SARA gates check, and the API's answers."""

from __future__ import annotations

from datetime import date

from sqlalchemy import exists, select
from sqlalchemy.orm import object_session

from app.assessment.models import AssessmentSnapshot
from app.cases.models import Action, Case, CaseEvent
from app.cases.schemas import (
    ActionRead,
    CaseRead,
    CaseTemplateRef,
    CheersInput,
    Gate,
    GateItem,
    HypothesisRead,
    PersonRead,
    SideInput,
    StageOverride,
    TargetArea,
    TimelineEntry,
)
from app.sara.cheers import CheersAssessment, CheersElement
from app.sara.responses import TACTICS, is_overdue
from app.sara.reviews import days_overdue, is_review_overdue
from app.sara.stages import ActionFacts, CaseFacts, Stage, Unmet, gate_unmet
from app.sara.triangle import SideDescription, TriangleSide


def case_facts(case: Case) -> CaseFacts:
    return CaseFacts(
        problem_statement=case.problem_statement,
        category=case.category,
        has_target_area=case.target_geometry is not None,
        cheers={c.element: CheersAssessment(c.met, c.evidence) for c in case.cheers},
        triangle={t.side: SideDescription(t.who, t.known) for t in case.triangle},
        hypotheses=len(case.hypotheses),
        analysis_summary=case.analysis_summary,
        baseline_start=case.baseline_start,
        baseline_end=case.baseline_end,
        response_plan=case.response_plan,
        actions=[ActionFacts(a.title, a.owner, a.due_date, a.tactic or "", a.status)
                 for a in case.actions],
        process_evaluation=case.process_evaluation,
        impact_assessed=has_impact_assessment(case),
        impact_none_reason=case.impact_none_reason,
        outcome=case.outcome.value if case.outcome else None,
        lessons_learned=case.lessons_learned,
    )


def has_impact_assessment(case: Case) -> bool:
    """Whether the case has a saved impact assessment (its Assessment gate asks)."""
    db = object_session(case)
    return bool(db and db.scalar(select(exists().where(
        AssessmentSnapshot.case_id == case.id))))


def current_gate(case: Case) -> list[Unmet]:
    return gate_unmet(case.stage, case_facts(case))


def gate_read(case: Case) -> Gate:
    unmet = current_gate(case)
    return Gate(stage=case.stage, next_stage=case.stage.next, met=not unmet,
                unmet=[GateItem(code=u.code, message=u.message) for u in unmet])


def target_area_read(case: Case) -> TargetArea | None:
    if case.target_geometry is None:
        return None
    return TargetArea.model_construct(name=case.target_area_name, geometry=case.target_geometry,
                                      radius_m=case.target_radius_m)


def control_area_read(case: Case) -> TargetArea | None:
    if case.control_geometry is None:
        return None
    return TargetArea.model_construct(name=case.control_area_name or "",
                                      geometry=case.control_geometry,
                                      radius_m=case.control_radius_m)


def action_read(action: Action, today: date) -> ActionRead:
    tactic = TACTICS.get(action.tactic or "")
    return ActionRead(
        id=action.id, title=action.title, tactic=action.tactic,
        tactic_label=tactic.label if tactic else None, partner=action.partner,
        owner=action.owner, due_date=action.due_date, status=action.status,
        completed_on=action.completed_on, notes=action.notes,
        assignee=PersonRead(username=action.assignee.username,
                            display_name=action.assignee.display_name)
        if action.assignee else None,
        partner_agency=action.partner_agency_id,
        partner_agency_name=action.partner_agency.name if action.partner_agency else None,
        overdue=is_overdue(action.status, action.due_date, today), version=action.version,
    )


def case_template_ref(case: Case) -> CaseTemplateRef | None:
    """The template version a case was opened from, as the case (and its case file) names it."""
    version = case.template_version
    if version is None:
        return None
    return CaseTemplateRef(slug=version.template.slug, name=version.name,
                           version=version.version)


def case_read(case: Case, today: date) -> CaseRead:
    cheers = {c.element: c for c in case.cheers}
    sides = {t.side: t for t in case.triangle}
    return CaseRead(
        ref=case.ref, title=case.title, problem_statement=case.problem_statement,
        category=case.category, priority=case.priority, source=case.source, stage=case.stage,
        stage_entered_at=case.stage_entered_at, borough=case.borough_code,
        borough_name=case.borough.name, force=case.borough.force_id, ward=case.ward_code,
        ward_name=case.ward.name if case.ward else None, team=case.team,
        operation=case.operation_id,
        operation_name=case.operation.name if case.operation else None,
        owner=case.owner.username if case.owner else None,
        owner_name=case.owner.display_name if case.owner else None,
        target_area=target_area_read(case), buffer_width_m=case.buffer_width_m,
        control_area=control_area_read(case),
        crime_types=list(case.crime_types or [case.category]),
        cheers={
            e: CheersInput(met=cheers[e].met if e in cheers else None,
                           evidence=cheers[e].evidence if e in cheers else "")
            for e in CheersElement
        },
        triangle={
            s: SideInput(who=sides[s].who if s in sides else "",
                         known=sides[s].known if s in sides else "")
            for s in TriangleSide
        },
        hypotheses=[HypothesisRead(id=h.id, statement=h.statement, status=h.status,
                                   evidence=h.evidence, created_at=h.created_at,
                                   version=h.version) for h in case.hypotheses],
        analysis_summary=case.analysis_summary, baseline_start=case.baseline_start,
        baseline_end=case.baseline_end, response_plan=case.response_plan,
        planned_patrol_minutes=case.planned_patrol_minutes,
        actions=[action_read(a, today) for a in case.actions],
        process_evaluation=case.process_evaluation, impact_evaluation=case.impact_evaluation,
        impact_none_reason=case.impact_none_reason,
        outcome=case.outcome, lessons_learned=case.lessons_learned, gate=gate_read(case),
        overrides=[override_read(e) for e in case.moves if e.overridden],
        overridden_stages=list(overridden_stages(case)),
        template=case_template_ref(case),
        next_review_on=case.next_review_on,
        review_overdue=is_review_overdue(case.next_review_on, today),
        review_days_overdue=days_overdue(case.next_review_on, today),
        created_at=case.created_at, updated_at=case.updated_at, version=case.version,
    )


def overridden_stages(case: Case, moves: list[CaseEvent] | None = None
                      ) -> dict[Stage, CaseEvent]:
    """Each stage the case last left with its gate overridden, with that move: the latest move
    on from a stage decides (a stage reopened and then passed through its gate is not
    marked). ``moves``, oldest first, when the caller has them already (else read)."""
    last_exit: dict[Stage, CaseEvent] = {}
    for event in case.moves if moves is None else moves:
        if event.from_stage and event.to_stage and event.to_stage.index > event.from_stage.index:
            last_exit[event.from_stage] = event
    return {stage: event for stage, event in sorted(last_exit.items(), key=lambda i: i[0].index)
            if event.overridden}


def override_read(event: CaseEvent) -> StageOverride:
    assert event.from_stage is not None and event.to_stage is not None
    return StageOverride(
        from_stage=event.from_stage, to_stage=event.to_stage, at=event.at,
        by=event.actor.username if event.actor else None,
        by_name=event.actor.display_name if event.actor else None, reason=event.body,
        unmet=[u.get("message", "") for u in (event.details or {}).get("unmet", [])],
        reviewed_at=event.reviewed_at,
        reviewed_by=event.reviewed_by.username if event.reviewed_by else None)


def timeline_entry(event: CaseEvent) -> TimelineEntry:
    return TimelineEntry(
        at=event.at, kind=event.kind.value, actor=event.actor.username if event.actor else None,
        actor_name=event.actor.display_name if event.actor else None, summary=event.summary,
        body=event.body, from_stage=event.from_stage, to_stage=event.to_stage,
        overridden=event.overridden, details=event.details or {},
    )
