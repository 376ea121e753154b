"""SARA stages, the moves between them, and the gate each stage must pass before a case leaves it.

Forward moves go one stage at a time through the gate of the stage being left; a failed gate can
be overridden only with a written reason. Backward moves (to any earlier stage) need a reason:
SARA is a loop. A closed case is reopened to an earlier stage, also with a reason. Who may
override, close or reopen is a permission question answered outside this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from app.sara.cheers import CheersAssessment, CheersElement
from app.sara.responses import TACTICS, ActionStatus
from app.sara.triangle import INNER_SIDES, SideDescription, TriangleSide


class Stage(StrEnum):
    SCANNING = "scanning"
    ANALYSIS = "analysis"
    RESPONSE = "response"
    ASSESSMENT = "assessment"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def index(self) -> int:  # type: ignore[override]  # shadows str.index, unused on stages
        return STAGES.index(self)

    @property
    def next(self) -> Stage | None:
        return STAGES[self.index + 1] if self is not Stage.CLOSED else None

    @property
    def earlier(self) -> list[Stage]:
        return list(STAGES[: self.index])


STAGES: tuple[Stage, ...] = tuple(Stage)


class MoveKind(StrEnum):
    ADVANCE = "advance"
    BACK = "back"
    REOPEN = "reopen"


@dataclass(frozen=True)
class Unmet:
    """One thing still missing before a stage can be left."""

    code: str
    message: str


@dataclass(frozen=True)
class ActionFacts:
    title: str
    owner: str
    due_date: date | None
    tactic: str
    status: ActionStatus


@dataclass(frozen=True)
class CaseFacts:
    """What the gates look at, read from a case without any database."""

    problem_statement: str = ""
    category: str | None = None
    has_target_area: bool = False
    cheers: Mapping[CheersElement, CheersAssessment] = field(default_factory=dict)
    triangle: Mapping[TriangleSide, SideDescription] = field(default_factory=dict)
    hypotheses: int = 0
    analysis_summary: str = ""
    baseline_start: date | None = None
    baseline_end: date | None = None
    response_plan: str = ""
    actions: Sequence[ActionFacts] = ()
    process_evaluation: str = ""
    impact_assessed: bool = False  # an impact assessment is saved on the case
    impact_none_reason: str = ""  # or why no impact figures are possible
    outcome: str | None = None
    lessons_learned: str = ""


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def scanning_gate(facts: CaseFacts) -> list[Unmet]:
    unmet: list[Unmet] = []
    if _blank(facts.problem_statement):
        unmet.append(Unmet("problem_statement", "Write the problem statement."))
    if not facts.category:
        unmet.append(Unmet("category", "Choose the crime category of the problem."))
    if not facts.has_target_area:
        unmet.append(Unmet("target_area",
                           "Set the target area (a polygon, or a point and radius)."))
    for element in CheersElement:
        assessed = facts.cheers.get(element, CheersAssessment())
        code = f"cheers.{element.value}"
        if assessed.met is None:
            unmet.append(Unmet(code, f"CHEERS {element.label} has not been assessed."))
        elif not assessed.met:
            unmet.append(Unmet(code, f"CHEERS {element.label} is assessed as not met."))
        elif _blank(assessed.evidence):
            unmet.append(Unmet(code, f"CHEERS {element.label} is met but has no evidence."))
    return unmet


def analysis_gate(facts: CaseFacts) -> list[Unmet]:
    unmet: list[Unmet] = []
    for side in INNER_SIDES:
        if not facts.triangle.get(side, SideDescription()).is_described:
            unmet.append(
                Unmet(f"triangle.{side.value}", f"Describe the {side.label.lower()} side "
                      "of the problem analysis triangle.")
            )
    if facts.hypotheses < 1:
        unmet.append(Unmet("hypotheses", "Record at least one hypothesis."))
    if _blank(facts.analysis_summary):
        unmet.append(Unmet("analysis_summary", "Write the analysis summary."))
    if facts.baseline_start is None or facts.baseline_end is None:
        unmet.append(Unmet("baseline", "Set the baseline period (start and end)."))
    return unmet


def response_gate(facts: CaseFacts) -> list[Unmet]:
    unmet: list[Unmet] = []
    live = [a for a in facts.actions if a.status is not ActionStatus.CANCELLED]
    if _blank(facts.response_plan):
        unmet.append(Unmet("response_plan", "Write the response plan."))
    if not live:
        unmet.append(Unmet("actions", "Add at least one action to the response plan."))
    # Numbered by position among all actions, as the case page lists them.
    for number, action in enumerate(facts.actions, start=1):
        if action.status is ActionStatus.CANCELLED:
            continue
        name = f"Action {number} ({action.title.strip() or 'untitled'})"
        if _blank(action.owner):
            unmet.append(Unmet(f"actions.{number}.owner", f"{name} has no owner."))
        if action.due_date is None:
            unmet.append(Unmet(f"actions.{number}.due_date", f"{name} has no due date."))
        if action.tactic not in TACTICS:
            unmet.append(Unmet(f"actions.{number}.tactic", f"{name} names no tactic."))
    if live and not any(a.status is ActionStatus.DONE for a in live):
        unmet.append(Unmet("actions.completed", "Complete at least one action."))
    return unmet


def assessment_gate(facts: CaseFacts) -> list[Unmet]:
    unmet: list[Unmet] = []
    if _blank(facts.process_evaluation):
        unmet.append(Unmet("process_evaluation",
                           "Write the process evaluation (what was delivered against plan)."))
    if not facts.impact_assessed and _blank(facts.impact_none_reason):
        unmet.append(Unmet("impact_evaluation", "Run and save the impact assessment, or state "
                           "why no impact figures are possible."))
    if not facts.outcome:
        unmet.append(Unmet("outcome", "Choose the outcome (one of Eck's five)."))
    if _blank(facts.lessons_learned):
        unmet.append(Unmet("lessons_learned", "Record the lessons learned."))
    return unmet


GATES: dict[Stage, Callable[[CaseFacts], list[Unmet]]] = {
    Stage.SCANNING: scanning_gate,
    Stage.ANALYSIS: analysis_gate,
    Stage.RESPONSE: response_gate,
    Stage.ASSESSMENT: assessment_gate,
}


def gate_unmet(stage: Stage, facts: CaseFacts) -> list[Unmet]:
    """What is still missing before a case can leave ``stage`` (nothing for a closed case)."""
    gate = GATES.get(stage)
    return gate(facts) if gate else []


class MoveRefused(Exception):
    """The move is not allowed at all (not a gate question)."""

    def __init__(self, message: str, *, field: str = "to") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class GateUnmet(Exception):
    """The stage being left has unmet gate items and no override was asked for."""

    def __init__(self, stage: Stage, unmet: list[Unmet]) -> None:
        super().__init__(f"The {stage.label} gate is not met ({len(unmet)} items).")
        self.stage = stage
        self.unmet = unmet


@dataclass(frozen=True)
class Move:
    """A move that the rules allow: what to record."""

    from_stage: Stage
    to_stage: Stage
    kind: MoveKind
    reason: str
    overridden: bool
    unmet: tuple[Unmet, ...]

    @property
    def closes(self) -> bool:
        return self.to_stage is Stage.CLOSED


def decide_move(
    current: Stage, target: Stage, facts: CaseFacts, *, reason: str = "", override: bool = False
) -> Move:
    """Check a requested move against the SARA rules; raise MoveRefused or GateUnmet."""
    reason = (reason or "").strip()
    if target is current:
        raise MoveRefused(f"The case is already in {current.label}.")
    if target.index < current.index:
        if not reason:
            raise MoveRefused("Give a reason for moving the case back.", field="reason")
        kind = MoveKind.REOPEN if current is Stage.CLOSED else MoveKind.BACK
        return Move(current, target, kind, reason, False, ())
    if target is not current.next:
        raise MoveRefused(
            f"A case moves forward one stage at a time: from {current.label} "
            f"the next stage is {current.next.label if current.next else 'none'}."
        )
    unmet = gate_unmet(current, facts)
    if unmet and not override:
        raise GateUnmet(current, unmet)
    if unmet and not reason:
        raise MoveRefused("Give a reason for overriding the gate.", field="reason")
    return Move(current, target, MoveKind.ADVANCE, reason, bool(unmet), tuple(unmet))
