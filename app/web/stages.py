"""The case page's stages: the current one open, the others folded to one line that says
where each stands, opened in place on demand (htmx, or a plain link)."""

from __future__ import annotations

from typing import Any

from app.cases.models import Case
from app.sara.analysis import HypothesisStatus
from app.sara.patrols import describe_counts
from app.sara.responses import ActionStatus
from app.sara.stages import Stage

STAGE_GROUPS = (Stage.SCANNING, Stage.ANALYSIS, Stage.RESPONSE, Stage.ASSESSMENT)


def _counted(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def scanning_line(case: Case) -> str:
    met = sum(1 for c in case.cheers if c.met)
    area = case.target_area_name or ("target area set" if case.target_geometry
                                     else "no target area")
    return f"{area} · CHEERS: {met} of 6 met"


def analysis_line(case: Case) -> str:
    supported = sum(1 for h in case.hypotheses if h.status is HypothesisStatus.SUPPORTED)
    parts = [_counted(len(case.hypotheses), "hypothesis", "hypotheses")
             + (f" ({supported} supported)" if supported else "")]
    if case.baseline_start and case.baseline_end:
        parts.append(f"baseline {case.baseline_start:%b %Y} to {case.baseline_end:%b %Y}")
    else:
        parts.append("no baseline")
    parts.append("summary written" if case.analysis_summary else "no summary yet")
    return " · ".join(parts)


def response_line(case: Case, visits: int, totals: dict[Any, int], overdue: int) -> str:
    done = sum(1 for a in case.actions if a.status is ActionStatus.DONE)
    actions = _counted(len(case.actions), "action", "actions")
    if case.actions:
        actions += f" ({done} done{f', {overdue} overdue' if overdue else ''})"
    counted = [(kind, n) for kind, n in totals.items() if n]
    return " · ".join([
        "plan written" if case.response_plan else "no plan yet", actions,
        _counted(visits, "patrol visit", "patrol visits"),
        describe_counts(counted) if counted else "no outputs"])


def assessment_line(case: Case, saved: int) -> str:
    parts = [f"Outcome: {case.outcome.label}" if case.outcome else "no outcome yet"]
    if saved:
        parts.append(_counted(saved, "impact assessment saved", "impact assessments saved"))
    return " · ".join(parts)


def stage_lines(case: Case, context: dict[str, Any]) -> dict[Stage, str]:
    """One line per stage, for its folded heading."""
    log = context.get("patrol_log")
    return {
        Stage.SCANNING: scanning_line(case),
        Stage.ANALYSIS: analysis_line(case),
        Stage.RESPONSE: response_line(case, len(log.patrols) if log else 0,
                                      context.get("output_totals") or {},
                                      context.get("overdue_count", 0)),
        Stage.ASSESSMENT: assessment_line(case, len(context.get("saved") or [])),
    }


def is_open(stage: Stage, case: Case, open_stage: Stage | None) -> bool:
    """The current stage is open (Assessment, once closed), and any stage asked for."""
    current = Stage.ASSESSMENT if case.stage is Stage.CLOSED else case.stage
    return stage is current or stage is open_stage
