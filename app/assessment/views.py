"""Read models of snapshots and of an operation's evaluation, for the API, the pages and the
CSV alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.assessment.models import AssessmentSnapshot
from app.assessment.schemas import (
    AllocationRead,
    AreaFigures,
    BatchUsed,
    Caution,
    DisplacementRead,
    EvaluationRow,
    HarmRead,
    ModelRead,
    MonthlySeries,
    NetEffectRead,
    OddsRatioRead,
    OperationEvaluation,
    PooledRead,
    RandomPooledRead,
    RateRatioRead,
    SnapshotRead,
)
from app.assessment.service import changes, effects, latest_snapshots
from app.auth.context import Actor
from app.cases.models import Case
from app.operations.allocation import allocation_read
from app.operations.models import Operation
from app.operations.service import get_operation
from app.sara import impact

POOLED_METHOD = ("Fixed effect: the inverse-variance weighted mean of the hotspots' log odds "
                 "ratios, with its 95% interval; Cochran's Q and I² show how much the hotspots "
                 "differ. Random effects: DerSimonian–Laird, allowing each hotspot's true "
                 "effect to differ by tau², with the Hartung–Knapp 95% interval (t on k − 1 "
                 "degrees of freedom) and the 95% prediction interval for a new hotspot (t on "
                 "k − 2).")


def snapshot_read(snapshot: AssessmentSnapshot,
                  previous: AssessmentSnapshot | None = None) -> SnapshotRead:
    results = snapshot.results
    areas = results["areas"]
    start = results.get("response_start")
    return SnapshotRead(
        number=snapshot.number, created_at=snapshot.created_at,
        created_by=snapshot.created_by.username if snapshot.created_by else None,
        before_first=snapshot.before_first, before_last=snapshot.before_last,
        after_first=snapshot.after_first, after_last=snapshot.after_last,
        months=(snapshot.before_last.year - snapshot.before_first.year) * 12
        + snapshot.before_last.month - snapshot.before_first.month + 1,
        categories=list(snapshot.categories),
        response_start=date.fromisoformat(start) if start else None,
        target=AreaFigures(**areas["target"]),
        buffer=AreaFigures(**areas["buffer"]) if areas.get("buffer") else None,
        control=AreaFigures(**areas["control"]) if areas.get("control") else None,
        odds_ratio=OddsRatioRead(**results["odds_ratio"]),
        rirr=RateRatioRead(**results["rirr"]) if "rirr" in results else None,
        model=ModelRead(**results["model"]) if "model" in results else None,
        displacement=DisplacementRead(**results["displacement"]),
        total_net_effect=NetEffectRead(**results["total_net_effect"]),
        design=results.get("design"), sms_level=results.get("sms_level"),
        warnings=[Caution(**w) for w in results.get("warnings", [])] if "design" in results
        else [Caution(code="older_snapshot", message="Saved before popcase worked out the "
                      "rate ratio, the count model and its warnings: compute the assessment "
                      "again for them.")],
        harm=HarmRead(**results["harm"]) if results.get("harm") else None,
        monthly=MonthlySeries(**results["monthly"]),
        areas=snapshot.areas,
        batches=[BatchUsed(**b) for b in snapshot.batches], note=snapshot.note,
        changes_since_previous=changes(previous, snapshot))


def evaluation_row(case: Case, snapshot: AssessmentSnapshot | None) -> EvaluationRow:
    empty: dict[str, Any] = {}
    results = snapshot.results if snapshot else empty
    target = (results.get("areas") or empty).get("target") or empty
    ratio = results.get("odds_ratio") or empty
    moved = results.get("displacement") or empty
    net = results.get("total_net_effect") or empty
    return EvaluationRow(
        ref=case.ref, title=case.title, borough=case.borough.name, stage=case.stage,
        outcome=case.outcome, snapshot=snapshot.number if snapshot else None,
        saved_at=snapshot.created_at if snapshot else None,
        before_first=snapshot.before_first if snapshot else None,
        after_last=snapshot.after_last if snapshot else None,
        target_before=target.get("before"), target_after=target.get("after"),
        target_percent_change=target.get("percent_change"),
        odds_ratio=ratio.get("value"), odds_ratio_low=ratio.get("low"),
        odds_ratio_high=ratio.get("high"), wdq=moved.get("wdq"),
        total_net_effect=net.get("value"),
        reading=ratio.get("reading") or "No impact assessment saved yet.")


def evaluate_operation(db: Session, actor: Actor, operation_id: int) -> OperationEvaluation:
    """The operation's evaluation as its reader may see it: each hotspot's latest snapshot,
    the pooled effects, and the randomised groups compared (if it was randomised)."""
    operation = get_operation(db, actor, operation_id)
    rows = latest_snapshots(db, actor, operation_id)
    return evaluation(operation, rows, allocation_read(db, actor, operation))


def evaluation(operation: Operation, rows: list[tuple[Case, AssessmentSnapshot | None]],
               allocation: AllocationRead | None = None) -> OperationEvaluation:
    found = effects(rows)
    if allocation is not None:
        design, level = allocation.design, allocation.sms_level
    else:
        assessed = [s for _c, s in rows if s is not None]
        with_control = sum(1 for s in assessed if (s.areas or {}).get("control"))
        design, level = impact.operation_design(with_control, len(assessed) - with_control)
    pooled, spread = impact.pooled_effect(found), impact.random_effects(found)
    return OperationEvaluation(
        operation=operation.id, name=operation.name,
        rows=[evaluation_row(case, snapshot) for case, snapshot in rows],
        pooled=PooledRead(hotspots=pooled.hotspots, odds_ratio=pooled.value, low=pooled.low,
                          high=pooled.high, log=pooled.log,
                          standard_error=pooled.standard_error, q=pooled.q,
                          i_squared=pooled.i_squared, reading=impact.read_pooled(pooled)),
        pooled_random=RandomPooledRead(
            hotspots=spread.hotspots, odds_ratio=spread.value, low=spread.low,
            high=spread.high, tau_squared=spread.tau_squared,
            prediction_low=spread.prediction_low, prediction_high=spread.prediction_high,
            q_p=spread.q_p, reading=impact.read_random_effects(spread, pooled)),
        allocation=allocation, design=design, sms_level=level, method=POOLED_METHOD)


CSV_COLUMNS = ["ref", "title", "borough", "stage", "outcome", "snapshot", "saved_at",
               "before_first", "after_last", "target_before", "target_after",
               "target_percent_change", "odds_ratio", "odds_ratio_low", "odds_ratio_high",
               "wdq", "total_net_effect"]


def evaluation_csv(result: OperationEvaluation) -> Iterator[list[Any]]:
    """The rows under ``CSV_COLUMNS``: one per hotspot, then the pooled effect; values, not
    text (``app.csvfile`` writes numbers as numbers at full precision), None when undefined."""
    for row in result.rows:
        values = row.model_dump(mode="json")
        yield [values[name] for name in CSV_COLUMNS]
    pooled, spread = result.pooled, result.pooled_random
    yield ["pooled", f"Pooled effect of {pooled.hotspots} hotspots (fixed effect)", "", "", "",
           "", "", "", "", "", "", "", pooled.odds_ratio, pooled.low, pooled.high, "", ""]
    yield ["pooled_random", f"Pooled effect of {spread.hotspots} hotspots (random effects, "
           f"tau² {_cell(spread.tau_squared)}; prediction interval "
           f"{_cell(spread.prediction_low)} to {_cell(spread.prediction_high)})", "", "", "",
           "", "", "", "", "", "", "", spread.odds_ratio, spread.low, spread.high, "", ""]
    if result.allocation is not None:
        yield _randomised_row(result.allocation)


def _randomised_row(allocation: AllocationRead) -> list[Any]:
    """The groups compared, on the odds ratio's scale (1 / the rate ratio: above 1 favours the
    patrols) so that the column means one thing; the rate ratio is in the title."""
    group = allocation.evaluation
    inverse = [1 / v if v else None for v in (group.rirr, group.high, group.low)]
    title = (f"Randomised: {allocation.balance.patrolled.hotspots} patrolled against "
             f"{allocation.balance.comparison.hotspots} comparison hotspots ("
             + (f"rate ratio {_cell(group.rirr)}, 95% interval {_cell(group.low)} to "
                f"{_cell(group.high)}; {group.method}" if group.rirr is not None
                else group.reading) + ")")
    return ["randomised", title, "", "", "", "", "", group.before_first, group.after_last,
            "", "", "", *inverse, "", ""]


def _cell(value: Any) -> str:
    """A figure inside a sentence (a row's title)."""
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)
