"""The case page's editable sections: what each edits, who may edit it, and its form values."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.auth.models import User
from app.auth.permissions import Perm, has
from app.cases.models import Action, Case, Hypothesis
from app.sara.cheers import CheersElement
from app.sara.stages import Stage
from app.sara.triangle import TriangleSide
from app.validation import Problems
from app.web import forms


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    stage: Stage
    perm: Perm
    # None: a collection, not one form; the form's own problems go to Problems
    payload: Callable[[forms.Form, Problems], dict[str, Any]] | None


SECTIONS: dict[str, Section] = {s.key: s for s in [
    Section("problem", "The problem", Stage.SCANNING, Perm.CASE_EDIT, forms.problem_payload),
    Section("area", "Target area", Stage.SCANNING, Perm.CASE_EDIT, forms.area_payload),
    Section("cheers", "CHEERS test", Stage.SCANNING, Perm.CASE_EDIT, forms.cheers_payload),
    Section("triangle", "Problem analysis triangle", Stage.ANALYSIS, Perm.ANALYSIS_EDIT,
            forms.triangle_payload),
    Section("hypotheses", "Hypotheses", Stage.ANALYSIS, Perm.ANALYSIS_EDIT, None),
    Section("picture", "Crime picture", Stage.ANALYSIS, Perm.ANALYSIS_EDIT, None),
    Section("comparison", "Comparison areas", Stage.ANALYSIS, Perm.ANALYSIS_EDIT,
            forms.comparison_payload),
    Section("analysis", "Analysis summary and baseline", Stage.ANALYSIS, Perm.ANALYSIS_EDIT,
            forms.analysis_payload),
    Section("response", "Response plan", Stage.RESPONSE, Perm.CASE_EDIT, forms.response_payload),
    Section("actions", "Actions", Stage.RESPONSE, Perm.CASE_EDIT, None),
    Section("patrols", "Hotspot patrols", Stage.RESPONSE, Perm.CASE_EDIT,
            forms.patrols_payload),
    Section("outputs", "Outputs", Stage.RESPONSE, Perm.PATROL_LOG, None),
    Section("community", "You said, we did", Stage.RESPONSE, Perm.CONCERN_RECORD, None),
    Section("impact", "Impact assessment", Stage.ASSESSMENT, Perm.ASSESSMENT_RUN, None),
    Section("assessment", "Assessment", Stage.ASSESSMENT, Perm.CASE_EDIT,
            forms.assessment_payload),
]}

_GATE_SECTIONS = {
    "problem_statement": "problem", "category": "problem", "target_area": "area",
    "cheers": "cheers", "triangle": "triangle", "hypotheses": "hypotheses",
    "analysis_summary": "analysis", "baseline": "analysis", "response_plan": "response",
    "actions": "actions", "process_evaluation": "assessment", "impact_evaluation": "impact",
    "outcome": "assessment", "lessons_learned": "assessment",
}


def section_for_gate_item(code: str) -> str:
    return _GATE_SECTIONS.get(code.split(".")[0], "problem")


# Sections edited as one form (``?edit=1`` opens it); the others hold their add form.
FORM_SECTIONS = frozenset(key for key, s in SECTIONS.items() if s.payload is not None)


def editable_sections(user: User, case: Case) -> dict[str, bool]:
    closed = case.stage is Stage.CLOSED
    return {key: not closed and has(user, s.perm) for key, s in SECTIONS.items()}


def section_values(case: Case, key: str) -> dict[str, Any]:
    """The form values of a section as stored, keyed by the form controls' ids."""
    if key == "problem":
        return {"title": case.title, "problem_statement": case.problem_statement,
                "category": case.category, "priority": case.priority.value,
                "source": case.source.value, "borough": case.borough_code,
                "ward": case.ward_code or "", "team": case.team,
                "owner": case.owner.username if case.owner else "",
                "operation": str(case.operation_id or "")}
    if key == "area":
        return _area_values("target_area", case.target_area_name, case.target_geometry,
                            case.target_radius_m)
    if key == "comparison":
        return _area_values("control_area", case.control_area_name or "",
                            case.control_geometry, case.control_radius_m) | {
            "buffer_width_m": case.buffer_width_m or ""}
    if key == "cheers":
        rows = {c.element: c for c in case.cheers}
        values: dict[str, Any] = {}
        for e in CheersElement:
            row = rows.get(e)
            met = row.met if row else None
            values[f"cheers-{e.value}-met"] = {True: "yes", False: "no", None: ""}[met]
            values[f"cheers-{e.value}-evidence"] = row.evidence if row else ""
        return values
    if key == "triangle":
        sides = {t.side: t for t in case.triangle}
        values = {}
        for side in TriangleSide:
            row = sides.get(side)
            values[f"triangle-{side.value}-who"] = row.who if row else ""
            values[f"triangle-{side.value}-known"] = row.known if row else ""
        return values
    if key == "analysis":
        return {"analysis_summary": case.analysis_summary,
                "baseline_start": case.baseline_start.isoformat() if case.baseline_start else "",
                "baseline_end": case.baseline_end.isoformat() if case.baseline_end else "",
                "crime_types": list(case.crime_types or [case.category])}
    if key == "response":
        return {"response_plan": case.response_plan}
    if key == "patrols":
        return {"planned_patrol_minutes": case.planned_patrol_minutes
                if case.planned_patrol_minutes is not None else ""}
    if key == "assessment":
        return {"process_evaluation": case.process_evaluation,
                "impact_evaluation": case.impact_evaluation,
                "impact_none_reason": case.impact_none_reason,
                "outcome": case.outcome.value if case.outcome else "",
                "lessons_learned": case.lessons_learned}
    return {}


def _area_values(prefix: str, name: str, geometry: dict[str, Any] | None,
                 radius_m: int | None) -> dict[str, Any]:
    values: dict[str, Any] = {f"{prefix}-name": name, f"{prefix}-kind": "point",
                              f"{prefix}-lat": "", f"{prefix}-lng": "",
                              f"{prefix}-radius_m": "", f"{prefix}-geojson": "",
                              f"{prefix}-boundary": ""}
    if geometry and geometry.get("type") == "Point":
        lng, lat = geometry["coordinates"][:2]
        values.update({f"{prefix}-lat": lat, f"{prefix}-lng": lng,
                       f"{prefix}-radius_m": radius_m})
    elif geometry:
        values.update({f"{prefix}-kind": "polygon",
                       f"{prefix}-geojson": json.dumps(geometry)})
    return values


def hypothesis_values(h: Hypothesis | None, prefix: str) -> dict[str, Any]:
    return {f"{prefix}-statement": h.statement if h else "",
            f"{prefix}-status": h.status.value if h else "open",
            f"{prefix}-evidence": h.evidence if h else ""}


def action_values(a: Action | None, prefix: str) -> dict[str, Any]:
    return {f"{prefix}-title": a.title if a else "",
            f"{prefix}-tactic": (a.tactic or "") if a else "",
            f"{prefix}-partner": a.partner.value if a else "police",
            f"{prefix}-owner": a.owner if a else "",
            f"{prefix}-due_date": a.due_date.isoformat() if a and a.due_date else "",
            f"{prefix}-status": a.status.value if a else "planned",
            f"{prefix}-notes": a.notes if a else "",
            f"{prefix}-assignee": a.assignee.username if a and a.assignee else "",
            f"{prefix}-partner_agency": str(a.partner_agency_id)
            if a and a.partner_agency_id else ""}
