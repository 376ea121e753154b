"""SARA stages: every move between the five stages, and every item of every gate.

Pure unit tests: no database, no HTTP. Gate tests start from facts that satisfy the gate and take
away exactly one thing, so each test names the single unmet item that must appear.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from itertools import product
from typing import Any

import pytest

from app.sara.cheers import CheersAssessment, CheersElement
from app.sara.responses import ActionStatus
from app.sara.stages import (
    GATES,
    STAGES,
    ActionFacts,
    CaseFacts,
    GateUnmet,
    Move,
    MoveKind,
    MoveRefused,
    Stage,
    Unmet,
    analysis_gate,
    assessment_gate,
    decide_move,
    gate_unmet,
    response_gate,
    scanning_gate,
)
from app.sara.triangle import SideDescription, TriangleSide

SCANNING, ANALYSIS, RESPONSE, ASSESSMENT, CLOSED = STAGES

# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------

CHEERS_LABELS = {
    CheersElement.COMMUNITY: "Community",
    CheersElement.HARM: "Harm",
    CheersElement.EXPECTATION: "Expectation",
    CheersElement.EVENTS: "Events",
    CheersElement.RECURRING: "Recurring",
    CheersElement.SIMILARITY: "Similarity",
}


def met_cheers() -> dict[CheersElement, CheersAssessment]:
    """All six CHEERS elements assessed as met, each with evidence."""
    return {
        element: CheersAssessment(met=True, evidence=f"Evidence for {element.value}")
        for element in CheersElement
    }


def inner_triangle() -> dict[TriangleSide, SideDescription]:
    """The three inner sides described; the outer (controller) sides left out on purpose."""
    return {
        TriangleSide.OFFENDER: SideDescription("Groups of youths from the estate", "Aged 15-19"),
        TriangleSide.VICTIM: SideDescription("Market traders and shoppers", "Phones snatched"),
        TriangleSide.PLACE: SideDescription("Church Street market", "Poor lighting by bins"),
    }


def action(title: str = "Fit gates to the alley", **changes: Any) -> ActionFacts:
    """A live action that satisfies every per-action rule (and is done)."""
    fields: dict[str, Any] = {
        "title": title,
        "owner": "PC Jones",
        "due_date": date(2026, 3, 1),
        "tactic": "target-harden",
        "status": ActionStatus.DONE,
    }
    fields.update(changes)
    return ActionFacts(**fields)


def ready_fields(stage: Stage) -> dict[str, Any]:
    """The facts that satisfy the gate of ``stage``, and nothing else."""
    if stage is SCANNING:
        return {
            "problem_statement": "Assaults and robberies on market days.",
            "category": "violent-crime",
            "has_target_area": True,
            "cheers": met_cheers(),
        }
    if stage is ANALYSIS:
        return {
            "triangle": inner_triangle(),
            "hypotheses": 1,
            "analysis_summary": "Offending clusters by the unlit service alley after 16:00.",
            "baseline_start": date(2025, 1, 1),
            "baseline_end": date(2025, 12, 31),
        }
    if stage is RESPONSE:
        return {
            "response_plan": "Gate the alley, relight it, and patrol the market close.",
            "actions": (action(),),
        }
    if stage is ASSESSMENT:
        return {
            "process_evaluation": "Gates fitted and lights replaced as planned.",
            "impact_assessed": True,
            "outcome": "fewer_incidents",
            "lessons_learned": "Involve the market operator from the start.",
        }
    return {}


def facts_for(*stages: Stage, **changes: Any) -> CaseFacts:
    """Facts that satisfy the gates of ``stages`` only, then ``changes`` applied."""
    fields: dict[str, Any] = {}
    for stage in stages:
        fields.update(ready_fields(stage))
    return replace(CaseFacts(**fields), **changes)


def scanning_facts(**changes: Any) -> CaseFacts:
    return facts_for(SCANNING, **changes)


def analysis_facts(**changes: Any) -> CaseFacts:
    return facts_for(ANALYSIS, **changes)


def response_facts(**changes: Any) -> CaseFacts:
    return facts_for(RESPONSE, **changes)


def assessment_facts(**changes: Any) -> CaseFacts:
    return facts_for(ASSESSMENT, **changes)


def complete_facts(**changes: Any) -> CaseFacts:
    """Facts that satisfy every gate."""
    return facts_for(*STAGES, **changes)


def without(mapping: dict[Any, Any], key: Any) -> dict[Any, Any]:
    return {k: v for k, v in mapping.items() if k != key}


def with_item(mapping: dict[Any, Any], key: Any, value: Any) -> dict[Any, Any]:
    return {**mapping, key: value}


# --------------------------------------------------------------------------------------------
# Stage basics
# --------------------------------------------------------------------------------------------


def test_stages_are_the_five_in_sara_order() -> None:
    assert STAGES == (Stage.SCANNING, Stage.ANALYSIS, Stage.RESPONSE, Stage.ASSESSMENT,
                      Stage.CLOSED)
    assert [s.value for s in STAGES] == ["scanning", "analysis", "response", "assessment",
                                         "closed"]
    assert [s.label for s in STAGES] == ["Scanning", "Analysis", "Response", "Assessment",
                                         "Closed"]
    assert [s.index for s in STAGES] == [0, 1, 2, 3, 4]


def test_next_and_earlier() -> None:
    assert [s.next for s in STAGES] == [ANALYSIS, RESPONSE, ASSESSMENT, CLOSED, None]
    assert SCANNING.earlier == []
    assert ANALYSIS.earlier == [SCANNING]
    assert CLOSED.earlier == [SCANNING, ANALYSIS, RESPONSE, ASSESSMENT]


def test_every_stage_but_closed_has_its_gate() -> None:
    assert dict(GATES) == {SCANNING: scanning_gate, ANALYSIS: analysis_gate,
                           RESPONSE: response_gate, ASSESSMENT: assessment_gate}


def test_closed_has_no_gate() -> None:
    assert gate_unmet(CLOSED, CaseFacts()) == []
    assert gate_unmet(CLOSED, complete_facts()) == []


@pytest.mark.parametrize("stage", [SCANNING, ANALYSIS, RESPONSE, ASSESSMENT])
def test_gate_unmet_dispatches_to_the_stage_gate(stage: Stage) -> None:
    facts = CaseFacts()
    assert gate_unmet(stage, facts) == GATES[stage](facts)
    assert gate_unmet(stage, facts)  # an empty case never passes a real gate
    assert gate_unmet(stage, complete_facts()) == []


# --------------------------------------------------------------------------------------------
# decide_move: every (current, target) pair
# --------------------------------------------------------------------------------------------

SAME, ADVANCE, SKIP, BACK, REOPEN = "same", "advance", "skip", "back", "reopen"

# What each of the 25 pairs is, written out by hand rather than derived from the code under test.
PAIRS: dict[tuple[Stage, Stage], str] = {
    (SCANNING, SCANNING): SAME,
    (SCANNING, ANALYSIS): ADVANCE,
    (SCANNING, RESPONSE): SKIP,
    (SCANNING, ASSESSMENT): SKIP,
    (SCANNING, CLOSED): SKIP,
    (ANALYSIS, SCANNING): BACK,
    (ANALYSIS, ANALYSIS): SAME,
    (ANALYSIS, RESPONSE): ADVANCE,
    (ANALYSIS, ASSESSMENT): SKIP,
    (ANALYSIS, CLOSED): SKIP,
    (RESPONSE, SCANNING): BACK,
    (RESPONSE, ANALYSIS): BACK,
    (RESPONSE, RESPONSE): SAME,
    (RESPONSE, ASSESSMENT): ADVANCE,
    (RESPONSE, CLOSED): SKIP,
    (ASSESSMENT, SCANNING): BACK,
    (ASSESSMENT, ANALYSIS): BACK,
    (ASSESSMENT, RESPONSE): BACK,
    (ASSESSMENT, ASSESSMENT): SAME,
    (ASSESSMENT, CLOSED): ADVANCE,
    (CLOSED, SCANNING): REOPEN,
    (CLOSED, ANALYSIS): REOPEN,
    (CLOSED, RESPONSE): REOPEN,
    (CLOSED, ASSESSMENT): REOPEN,
    (CLOSED, CLOSED): SAME,
}


def pairs(*kinds: str) -> list[Any]:
    return [
        pytest.param(current, target, id=f"{current}->{target}")
        for (current, target), kind in PAIRS.items()
        if kind in kinds
    ]


def test_the_table_covers_all_25_pairs() -> None:
    assert set(PAIRS) == set(product(STAGES, STAGES))
    assert len(PAIRS) == 25


@pytest.mark.parametrize(("current", "target"), pairs(SAME))
@pytest.mark.parametrize("override", [False, True])
def test_moving_to_the_same_stage_is_refused(current: Stage, target: Stage,
                                             override: bool) -> None:
    with pytest.raises(MoveRefused) as refused:
        decide_move(current, target, complete_facts(), reason="Because", override=override)
    assert refused.value.field == "to"
    assert refused.value.message == f"The case is already in {current.label}."
    assert str(refused.value) == refused.value.message


@pytest.mark.parametrize(("current", "target"), pairs(ADVANCE))
def test_advancing_one_stage_with_the_gate_met(current: Stage, target: Stage) -> None:
    move = decide_move(current, target, complete_facts())
    assert move == Move(current, target, MoveKind.ADVANCE, "", False, ())
    assert move.closes is (target is CLOSED)


@pytest.mark.parametrize(("current", "target"), pairs(ADVANCE))
def test_advancing_goes_through_the_gate_of_the_stage_being_left(current: Stage,
                                                                 target: Stage) -> None:
    # Facts that satisfy only the gate being left are enough...
    assert decide_move(current, target, facts_for(current)) == Move(
        current, target, MoveKind.ADVANCE, "", False, ()
    )
    # ...and facts that satisfy every other gate are not.
    others = [stage for stage in STAGES if stage is not current]
    with pytest.raises(GateUnmet) as unmet:
        decide_move(current, target, facts_for(*others))
    assert unmet.value.stage is current
    assert unmet.value.unmet == GATES[current](CaseFacts())


@pytest.mark.parametrize(("current", "target"), pairs(SKIP))
@pytest.mark.parametrize("override", [False, True])
def test_skipping_forward_is_refused(current: Stage, target: Stage, override: bool) -> None:
    with pytest.raises(MoveRefused) as refused:
        decide_move(current, target, complete_facts(), reason="In a hurry", override=override)
    assert refused.value.field == "to"
    assert refused.value.message == (
        f"A case moves forward one stage at a time: from {current.label} "
        f"the next stage is {current.next.label}."
    )


def test_skip_message_reads_naturally() -> None:
    with pytest.raises(MoveRefused) as refused:
        decide_move(SCANNING, CLOSED, complete_facts())
    assert refused.value.message == (
        "A case moves forward one stage at a time: from Scanning the next stage is Analysis."
    )


@pytest.mark.parametrize(("current", "target"), pairs(BACK, REOPEN))
@pytest.mark.parametrize("reason", ["", "   ", "\t\n "])
def test_moving_back_needs_a_reason(current: Stage, target: Stage, reason: str) -> None:
    with pytest.raises(MoveRefused) as refused:
        decide_move(current, target, complete_facts(), reason=reason)
    assert refused.value.field == "reason"
    assert refused.value.message == "Give a reason for moving the case back."


@pytest.mark.parametrize(("current", "target"), pairs(BACK))
def test_moving_back_with_a_reason(current: Stage, target: Stage) -> None:
    move = decide_move(current, target, CaseFacts(), reason="  New offending pattern. ")
    assert move == Move(current, target, MoveKind.BACK, "New offending pattern.", False, ())
    assert not move.closes


@pytest.mark.parametrize(("current", "target"), pairs(REOPEN))
def test_leaving_closed_is_a_reopen(current: Stage, target: Stage) -> None:
    move = decide_move(current, target, CaseFacts(), reason="Problem returned")
    assert move == Move(CLOSED, target, MoveKind.REOPEN, "Problem returned", False, ())
    assert not move.closes


@pytest.mark.parametrize(("current", "target"), pairs(BACK, REOPEN))
def test_moving_back_ignores_gates_and_override(current: Stage, target: Stage) -> None:
    # The empty case fails every gate, yet moving back is never a gate question.
    move = decide_move(current, target, CaseFacts(), reason="Rethink", override=True)
    assert move.overridden is False
    assert move.unmet == ()


# --------------------------------------------------------------------------------------------
# decide_move: gates and overrides
# --------------------------------------------------------------------------------------------

GATED = pairs(ADVANCE)  # the moves that go through a gate: (stage left, next stage)


@pytest.mark.parametrize(("stage", "target"), GATED)
def test_unmet_gate_without_override_raises_with_the_list(stage: Stage, target: Stage) -> None:
    facts = CaseFacts()
    with pytest.raises(GateUnmet) as raised:
        decide_move(stage, target, facts, reason="A reason alone is not an override")
    expected = GATES[stage](facts)
    assert raised.value.stage is stage
    assert raised.value.unmet == expected
    assert str(raised.value) == f"The {stage.label} gate is not met ({len(expected)} items)."


def test_gate_unmet_carries_the_exact_items() -> None:
    facts = complete_facts(lessons_learned=" ", outcome=None)
    with pytest.raises(GateUnmet) as raised:
        decide_move(ASSESSMENT, CLOSED, facts)
    assert raised.value.unmet == [
        Unmet("outcome", "Choose the outcome (one of Eck's five)."),
        Unmet("lessons_learned", "Record the lessons learned."),
    ]
    assert str(raised.value) == "The Assessment gate is not met (2 items)."


@pytest.mark.parametrize(("stage", "target"), GATED)
@pytest.mark.parametrize("reason", ["", "  \n"])
def test_override_of_an_unmet_gate_needs_a_reason(stage: Stage, target: Stage,
                                                  reason: str) -> None:
    with pytest.raises(MoveRefused) as refused:
        decide_move(stage, target, CaseFacts(), reason=reason, override=True)
    assert refused.value.field == "reason"
    assert refused.value.message == "Give a reason for overriding the gate."


@pytest.mark.parametrize(("stage", "target"), GATED)
def test_override_of_an_unmet_gate_records_what_was_unmet(stage: Stage, target: Stage) -> None:
    facts = CaseFacts()
    move = decide_move(stage, target, facts, reason=" Urgent ", override=True)
    assert move == Move(stage, target, MoveKind.ADVANCE, "Urgent", True,
                        tuple(GATES[stage](facts)))
    assert move.unmet  # something was indeed overridden


def test_override_records_the_single_unmet_item() -> None:
    move = decide_move(ANALYSIS, RESPONSE, complete_facts(hypotheses=0),
                       reason="Hypotheses are in the paper file", override=True)
    assert move.overridden is True
    assert move.unmet == (Unmet("hypotheses", "Record at least one hypothesis."),)


@pytest.mark.parametrize(("stage", "target"), GATED)
@pytest.mark.parametrize(("reason", "recorded"), [("", ""), ("  Belt and braces ",
                                                              "Belt and braces")])
def test_override_of_a_met_gate_is_not_an_override(stage: Stage, target: Stage, reason: str,
                                                   recorded: str) -> None:
    move = decide_move(stage, target, complete_facts(), reason=reason, override=True)
    assert move == Move(stage, target, MoveKind.ADVANCE, recorded, False, ())


def test_only_the_move_to_closed_closes() -> None:
    closing = decide_move(ASSESSMENT, CLOSED, complete_facts())
    assert closing.closes is True
    assert decide_move(RESPONSE, ASSESSMENT, complete_facts()).closes is False


# --------------------------------------------------------------------------------------------
# Scanning gate
# --------------------------------------------------------------------------------------------


def test_scanning_gate_met() -> None:
    assert scanning_gate(scanning_facts()) == []


def test_scanning_gate_on_an_empty_case() -> None:
    assert scanning_gate(CaseFacts()) == [
        Unmet("problem_statement", "Write the problem statement."),
        Unmet("category", "Choose the crime category of the problem."),
        Unmet("target_area", "Set the target area (a polygon, or a point and radius)."),
        Unmet("cheers.community", "CHEERS Community has not been assessed."),
        Unmet("cheers.harm", "CHEERS Harm has not been assessed."),
        Unmet("cheers.expectation", "CHEERS Expectation has not been assessed."),
        Unmet("cheers.events", "CHEERS Events has not been assessed."),
        Unmet("cheers.recurring", "CHEERS Recurring has not been assessed."),
        Unmet("cheers.similarity", "CHEERS Similarity has not been assessed."),
    ]


PROBLEM_STATEMENT = Unmet("problem_statement", "Write the problem statement.")
CATEGORY = Unmet("category", "Choose the crime category of the problem.")
TARGET_AREA = Unmet("target_area", "Set the target area (a polygon, or a point and radius).")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"problem_statement": ""}, PROBLEM_STATEMENT, id="statement-empty"),
        pytest.param({"problem_statement": " \n\t"}, PROBLEM_STATEMENT, id="statement-blank"),
        pytest.param({"category": None}, CATEGORY, id="category-none"),
        pytest.param({"category": ""}, CATEGORY, id="category-empty"),
        pytest.param({"has_target_area": False}, TARGET_AREA, id="no-target-area"),
    ],
)
def test_scanning_gate_item(changes: dict[str, Any], expected: Unmet) -> None:
    assert scanning_gate(scanning_facts(**changes)) == [expected]


ELEMENTS = [pytest.param(element, label, id=element.value)
            for element, label in CHEERS_LABELS.items()]


@pytest.mark.parametrize(("element", "label"), ELEMENTS)
@pytest.mark.parametrize(
    "cheers_change",
    [
        pytest.param(lambda cheers, e: without(cheers, e), id="missing"),
        pytest.param(lambda cheers, e: with_item(cheers, e, CheersAssessment()), id="default"),
        pytest.param(lambda cheers, e: with_item(cheers, e, CheersAssessment(None, "Notes")),
                     id="evidence-but-unassessed"),
    ],
)
def test_cheers_not_assessed(element: CheersElement, label: str, cheers_change: Any) -> None:
    facts = scanning_facts(cheers=cheers_change(met_cheers(), element))
    assert scanning_gate(facts) == [
        Unmet(f"cheers.{element.value}", f"CHEERS {label} has not been assessed.")
    ]


@pytest.mark.parametrize(("element", "label"), ELEMENTS)
@pytest.mark.parametrize("evidence", ["", "Only one report in a year"])
def test_cheers_not_met(element: CheersElement, label: str, evidence: str) -> None:
    cheers = with_item(met_cheers(), element, CheersAssessment(met=False, evidence=evidence))
    assert scanning_gate(scanning_facts(cheers=cheers)) == [
        Unmet(f"cheers.{element.value}", f"CHEERS {label} is assessed as not met.")
    ]


@pytest.mark.parametrize(("element", "label"), ELEMENTS)
@pytest.mark.parametrize("evidence", ["", "   ", "\n"])
def test_cheers_met_without_evidence(element: CheersElement, label: str, evidence: str) -> None:
    cheers = with_item(met_cheers(), element, CheersAssessment(met=True, evidence=evidence))
    assert scanning_gate(scanning_facts(cheers=cheers)) == [
        Unmet(f"cheers.{element.value}", f"CHEERS {label} is met but has no evidence.")
    ]


def test_cheers_items_come_in_element_order() -> None:
    cheers = {
        CheersElement.SIMILARITY: CheersAssessment(met=True),
        CheersElement.HARM: CheersAssessment(met=False),
    }
    assert [u.code for u in scanning_gate(scanning_facts(cheers=cheers))] == [
        "cheers.community", "cheers.harm", "cheers.expectation", "cheers.events",
        "cheers.recurring", "cheers.similarity",
    ]
    assert [u.message for u in scanning_gate(scanning_facts(cheers=cheers))][1::4] == [
        "CHEERS Harm is assessed as not met.",
        "CHEERS Similarity is met but has no evidence.",
    ]


# --------------------------------------------------------------------------------------------
# Analysis gate
# --------------------------------------------------------------------------------------------


def test_analysis_gate_met() -> None:
    assert analysis_gate(analysis_facts()) == []


def test_analysis_gate_on_an_empty_case() -> None:
    assert analysis_gate(CaseFacts()) == [
        Unmet("triangle.offender",
              "Describe the offender side of the problem analysis triangle."),
        Unmet("triangle.victim",
              "Describe the victim or target side of the problem analysis triangle."),
        Unmet("triangle.place", "Describe the place side of the problem analysis triangle."),
        Unmet("hypotheses", "Record at least one hypothesis."),
        Unmet("analysis_summary", "Write the analysis summary."),
        Unmet("baseline", "Set the baseline period (start and end)."),
    ]


INNER = [
    pytest.param(TriangleSide.OFFENDER,
                 "Describe the offender side of the problem analysis triangle.", id="offender"),
    pytest.param(TriangleSide.VICTIM,
                 "Describe the victim or target side of the problem analysis triangle.",
                 id="victim"),
    pytest.param(TriangleSide.PLACE,
                 "Describe the place side of the problem analysis triangle.", id="place"),
]


@pytest.mark.parametrize(("side", "message"), INNER)
@pytest.mark.parametrize(
    "description",
    [
        pytest.param(None, id="missing"),
        pytest.param(SideDescription(), id="empty"),
        pytest.param(SideDescription(who="  ", known="Lots is known"), id="who-blank"),
    ],
)
def test_inner_triangle_side_undescribed(side: TriangleSide, message: str,
                                         description: SideDescription | None) -> None:
    triangle = inner_triangle()
    triangle = (without(triangle, side) if description is None
                else with_item(triangle, side, description))
    assert analysis_gate(analysis_facts(triangle=triangle)) == [
        Unmet(f"triangle.{side.value}", message)
    ]


def test_a_side_needs_who_but_not_what_is_known() -> None:
    triangle = with_item(inner_triangle(), TriangleSide.PLACE, SideDescription(who="The alley"))
    assert analysis_gate(analysis_facts(triangle=triangle)) == []


@pytest.mark.parametrize("outer", [TriangleSide.HANDLER, TriangleSide.GUARDIAN,
                                   TriangleSide.MANAGER])
def test_outer_sides_are_never_required(outer: TriangleSide) -> None:
    assert outer not in inner_triangle()
    assert analysis_gate(analysis_facts()) == []
    # Describing an outer side does not stand in for a missing inner side either.
    triangle = with_item(without(inner_triangle(), TriangleSide.OFFENDER), outer,
                         SideDescription(who="Youth workers"))
    assert [u.code for u in analysis_gate(analysis_facts(triangle=triangle))] == [
        "triangle.offender"
    ]


def test_outer_sides_left_blank_are_fine() -> None:
    triangle = {**inner_triangle(), TriangleSide.HANDLER: SideDescription(),
                TriangleSide.GUARDIAN: SideDescription(), TriangleSide.MANAGER: SideDescription()}
    assert analysis_gate(analysis_facts(triangle=triangle)) == []


@pytest.mark.parametrize(("count", "met"), [(-1, False), (0, False), (1, True), (7, True)])
def test_hypotheses_count(count: int, met: bool) -> None:
    expected = [] if met else [Unmet("hypotheses", "Record at least one hypothesis.")]
    assert analysis_gate(analysis_facts(hypotheses=count)) == expected


BASELINE = Unmet("baseline", "Set the baseline period (start and end).")
SUMMARY = Unmet("analysis_summary", "Write the analysis summary.")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"analysis_summary": ""}, SUMMARY, id="summary-empty"),
        pytest.param({"analysis_summary": "  \n "}, SUMMARY, id="summary-blank"),
        pytest.param({"baseline_start": None}, BASELINE, id="baseline-no-start"),
        pytest.param({"baseline_end": None}, BASELINE, id="baseline-no-end"),
        pytest.param({"baseline_start": None, "baseline_end": None}, BASELINE,
                     id="baseline-neither"),
    ],
)
def test_analysis_gate_item(changes: dict[str, Any], expected: Unmet) -> None:
    assert analysis_gate(analysis_facts(**changes)) == [expected]


# --------------------------------------------------------------------------------------------
# Response gate
# --------------------------------------------------------------------------------------------

NO_ACTIONS = Unmet("actions", "Add at least one action to the response plan.")
NONE_DONE = Unmet("actions.completed", "Complete at least one action.")


def test_response_gate_met() -> None:
    assert response_gate(response_facts()) == []


def test_response_gate_on_an_empty_case() -> None:
    assert response_gate(CaseFacts()) == [
        Unmet("response_plan", "Write the response plan."), NO_ACTIONS,
    ]


@pytest.mark.parametrize("plan", ["", "   "])
def test_response_plan_required(plan: str) -> None:
    assert response_gate(response_facts(response_plan=plan)) == [
        Unmet("response_plan", "Write the response plan.")
    ]


@pytest.mark.parametrize(
    "actions",
    [
        pytest.param((), id="none"),
        pytest.param((action(status=ActionStatus.CANCELLED),), id="one-cancelled"),
        pytest.param((action("A", status=ActionStatus.CANCELLED),
                      action("B", owner="", status=ActionStatus.CANCELLED)), id="all-cancelled"),
    ],
)
def test_at_least_one_live_action(actions: tuple[ActionFacts, ...]) -> None:
    # Only "add an action": no complaint about completion or about cancelled actions' fields.
    assert response_gate(response_facts(actions=actions)) == [NO_ACTIONS]


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        pytest.param({"owner": ""}, "actions.1.owner",
                     "Action 1 (Fit gates to the alley) has no owner.", id="owner-empty"),
        pytest.param({"owner": "  "}, "actions.1.owner",
                     "Action 1 (Fit gates to the alley) has no owner.", id="owner-blank"),
        pytest.param({"due_date": None}, "actions.1.due_date",
                     "Action 1 (Fit gates to the alley) has no due date.", id="no-due-date"),
        pytest.param({"tactic": ""}, "actions.1.tactic",
                     "Action 1 (Fit gates to the alley) names no tactic.", id="tactic-empty"),
        pytest.param({"tactic": "Target harden"}, "actions.1.tactic",
                     "Action 1 (Fit gates to the alley) names no tactic.", id="tactic-label"),
        pytest.param({"tactic": "TARGET-HARDEN"}, "actions.1.tactic",
                     "Action 1 (Fit gates to the alley) names no tactic.", id="tactic-case"),
        pytest.param({"tactic": "lock-up-everyone"}, "actions.1.tactic",
                     "Action 1 (Fit gates to the alley) names no tactic.", id="tactic-unknown"),
    ],
)
def test_action_item(changes: dict[str, Any], code: str, message: str) -> None:
    facts = response_facts(actions=(action(**changes),))
    assert response_gate(facts) == [Unmet(code, message)]


@pytest.mark.parametrize("tactic", ["target-harden", "control-drugs-alcohol", "partnership",
                                    "hotspot-patrols"])
def test_any_catalogue_tactic_will_do(tactic: str) -> None:
    assert response_gate(response_facts(actions=(action(tactic=tactic),))) == []


@pytest.mark.parametrize("title", ["", "   "])
def test_untitled_action_is_named_untitled(title: str) -> None:
    facts = response_facts(actions=(action(title, owner=""),))
    assert response_gate(facts) == [Unmet("actions.1.owner", "Action 1 (untitled) has no owner.")]


def test_action_title_is_stripped_in_the_message() -> None:
    facts = response_facts(actions=(action("  Relight the alley  ", due_date=None),))
    assert response_gate(facts) == [
        Unmet("actions.1.due_date", "Action 1 (Relight the alley) has no due date.")
    ]


def test_actions_are_numbered_from_one_in_order() -> None:
    facts = response_facts(actions=(
        action("Fit gates"),
        action("Relight the alley", owner="", status=ActionStatus.PLANNED),
        action("Patrol the close", due_date=None, status=ActionStatus.IN_PROGRESS),
    ))
    assert response_gate(facts) == [
        Unmet("actions.2.owner", "Action 2 (Relight the alley) has no owner."),
        Unmet("actions.3.due_date", "Action 3 (Patrol the close) has no due date."),
    ]


def test_cancelled_actions_are_ignored_but_keep_their_place_in_the_numbering() -> None:
    # The case page numbers every action in order, cancelled ones included: the gate's
    # "Action 3" must be the page's third action.
    facts = response_facts(actions=(
        action("Abandoned idea", owner="", due_date=None, tactic="",
               status=ActionStatus.CANCELLED),
        action("Fit gates"),
        action("Relight the alley", owner="", status=ActionStatus.PLANNED),
    ))
    assert response_gate(facts) == [
        Unmet("actions.3.owner", "Action 3 (Relight the alley) has no owner."),
    ]


def test_every_missing_field_of_one_action_in_order() -> None:
    facts = response_facts(actions=(
        action("Gates", owner="", due_date=None, tactic="", status=ActionStatus.PLANNED),
    ))
    assert response_gate(facts) == [
        Unmet("actions.1.owner", "Action 1 (Gates) has no owner."),
        Unmet("actions.1.due_date", "Action 1 (Gates) has no due date."),
        Unmet("actions.1.tactic", "Action 1 (Gates) names no tactic."),
        NONE_DONE,
    ]


@pytest.mark.parametrize(
    "statuses",
    [
        pytest.param((ActionStatus.PLANNED,), id="planned"),
        pytest.param((ActionStatus.IN_PROGRESS,), id="in-progress"),
        pytest.param((ActionStatus.PLANNED, ActionStatus.IN_PROGRESS), id="planned+in-progress"),
        pytest.param((ActionStatus.CANCELLED, ActionStatus.PLANNED), id="cancelled+planned"),
    ],
)
def test_at_least_one_action_done(statuses: tuple[ActionStatus, ...]) -> None:
    actions = tuple(action(f"Action {i}", status=s) for i, s in enumerate(statuses))
    assert response_gate(response_facts(actions=actions)) == [NONE_DONE]


def test_one_done_action_among_open_ones_is_enough() -> None:
    actions = (action("A", status=ActionStatus.PLANNED), action("B"),
               action("C", status=ActionStatus.IN_PROGRESS),
               action("D", status=ActionStatus.CANCELLED))
    assert response_gate(response_facts(actions=actions)) == []


# --------------------------------------------------------------------------------------------
# Assessment gate
# --------------------------------------------------------------------------------------------

PROCESS = Unmet("process_evaluation",
                "Write the process evaluation (what was delivered against plan).")
IMPACT = Unmet("impact_evaluation", "Run and save the impact assessment, or state why no "
               "impact figures are possible.")
OUTCOME = Unmet("outcome", "Choose the outcome (one of Eck's five).")
LESSONS = Unmet("lessons_learned", "Record the lessons learned.")


def test_assessment_gate_met() -> None:
    assert assessment_gate(assessment_facts()) == []


def test_a_stated_reason_stands_in_for_an_impact_assessment() -> None:
    facts = assessment_facts(impact_assessed=False, impact_none_reason=(
        "No control area exists: the whole borough had the response."))
    assert assessment_gate(facts) == []


def test_assessment_gate_on_an_empty_case() -> None:
    assert assessment_gate(CaseFacts()) == [PROCESS, IMPACT, OUTCOME, LESSONS]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"process_evaluation": ""}, PROCESS, id="process-empty"),
        pytest.param({"process_evaluation": " \n"}, PROCESS, id="process-blank"),
        pytest.param({"impact_assessed": False}, IMPACT, id="impact-none"),
        pytest.param({"impact_assessed": False, "impact_none_reason": "\t"}, IMPACT,
                     id="impact-reason-blank"),
        pytest.param({"outcome": None}, OUTCOME, id="outcome-none"),
        pytest.param({"outcome": ""}, OUTCOME, id="outcome-empty"),
        pytest.param({"lessons_learned": ""}, LESSONS, id="lessons-empty"),
        pytest.param({"lessons_learned": "   "}, LESSONS, id="lessons-blank"),
    ],
)
def test_assessment_gate_item(changes: dict[str, Any], expected: Unmet) -> None:
    assert assessment_gate(assessment_facts(**changes)) == [expected]


# --------------------------------------------------------------------------------------------
# Gates look only at their own stage's facts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gate", "builder"),
    [
        pytest.param(scanning_gate, scanning_facts, id="scanning"),
        pytest.param(analysis_gate, analysis_facts, id="analysis"),
        pytest.param(response_gate, response_facts, id="response"),
        pytest.param(assessment_gate, assessment_facts, id="assessment"),
    ],
)
def test_each_gate_is_met_by_its_own_facts_alone(gate: Any, builder: Any) -> None:
    assert gate(builder()) == []
    assert gate(complete_facts()) == []
