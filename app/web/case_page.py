"""The case page's context, built from small parts: the whole page takes every part, an htmx
fragment (one section, one stage, the timeline, the review...) only the parts its partial
template shows, so that answering a fragment reads no more than the fragment needs.

Each part is one function of the case (and the reader); ``FRAGMENT_PARTS`` says which parts
each partial template in ``templates/cases/parts/`` uses. tests/web/test_case_fragments.py
renders every fragment from its own parts and from the whole page's context and checks the
HTML is the same."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.attachments.models import Attachment
from app.auth.context import Actor
from app.auth.permissions import Perm, has
from app.auth.service import eligible_owners
from app.cases import service
from app.cases.holdings import case_holdings
from app.cases.models import Case, CaseEvent, EventKind
from app.cases.views import action_read, current_gate, overridden_stages
from app.charts import monthly_bars
from app.clock import today
from app.crime import picture
from app.crime.models import Area, AreaKind
from app.crime.queries import data_months
from app.operations.service import holds, list_operations, may_change
from app.reference.service import list_wards
from app.sara.analysis import HypothesisStatus
from app.sara.assessment import Outcome
from app.sara.cheers import CheersElement
from app.sara.problem import Priority, ProblemSource
from app.sara.responses import ActionStatus, Partner, tactic_groups
from app.sara.stages import Stage
from app.sara.triangle import TriangleSide
from app.web import forms
from app.web.attachments import attachment_context
from app.web.partners import agency_options, partners_context
from app.web.reviews import review_context
from app.web.sections import FORM_SECTIONS, editable_sections, section_for_gate_item
from app.web.stages import STAGE_GROUPS, is_open, stage_lines
from app.web.templating import render, render_parts
from app.web.work import work_context

# Static option lists for selects and radios.
PRIORITY_OPTIONS = [(p.value, p.label) for p in Priority]
SOURCE_OPTIONS = [(s.value, s.label) for s in ProblemSource]
PARTNER_OPTIONS = [(p.value, p.label) for p in Partner]
ACTION_STATUS_OPTIONS = [(s.value, s.label) for s in ActionStatus]
HYPOTHESIS_STATUS_OPTIONS = [(s.value, s.label) for s in HypothesisStatus]
OUTCOME_OPTIONS = [(o.value, o.label) for o in Outcome]
TACTIC_OPTIONS = [(group, [(t.key, t.label) for t in tactics]) for group, tactics in
                  tactic_groups()]
TIMELINE_SHOWN = 3  # the latest entries; the rest one tap away


def form_defaults() -> dict[str, Any]:
    """What every part of the page shows when nothing was posted: empty forms, no messages
    (new dicts each time: a route may fill them in)."""
    return {
        "editing": None, "values": {}, "errors": {}, "conflict": "", "item_values": {},
        "item_errors": {}, "gate_errors": {}, "gate_conflict": "", "open_form": "",
        "form_values": {}, "note_value": "", "note_errors": {}, "open_stage": None,
        "timeline_all": False, "timeline_shown": TIMELINE_SHOWN, "flash": "",
        "active_nav": "cases", "panels": {}, "boundaries": [], "suggestion_options": [],
        "operation_options": [], "panel_errors": {}, "panel_values": {}, "panel_message": "",
        "proposal": None, "snapshot": None, "saved": [], "impact_errors": {}, "impact_values": {},
        "impact_months": [], "impact_chart": None, "process": None, "export_errors": {},
        "export_values": {},
    }


def core_part(db: Session, actor: Actor, case: Case) -> dict[str, Any]:
    """What every part may show: the case, who may edit what, its rows, the choice lists. No
    query beyond the case and the collections read with it."""
    user = actor.user
    assert user is not None
    actions = [action_read(a, today()) for a in case.actions]
    cheers = {c.element: c for c in case.cheers}
    sides = {t.side: t for t in case.triangle}
    geometry = case.target_geometry or {}
    return {
        "case": case, "editable": editable_sections(user, case), "action_rows": actions,
        "overdue_count": sum(1 for a in actions if a.overdue),
        "cheers_rows": [cheers[e] for e in CheersElement if e in cheers],
        "triangle_rows": [sides[s] for s in TriangleSide if s in sides],
        "polygon_points": _count_points(geometry.get("coordinates")) if geometry else 0,
        "gate_section": section_for_gate_item, "form_sections": FORM_SECTIONS,
        "earlier_stages": [(s.value, s.label) for s in case.stage.earlier],
        "priority_options": PRIORITY_OPTIONS, "source_options": SOURCE_OPTIONS,
        "partner_options": PARTNER_OPTIONS, "action_status_options": ACTION_STATUS_OPTIONS,
        "hypothesis_status_options": HYPOTHESIS_STATUS_OPTIONS,
        "outcome_options": OUTCOME_OPTIONS, "tactic_options": TACTIC_OPTIONS,
        "form_version": case.version, **form_defaults(),
    }


def timeline_part(db: Session, actor: Actor, case: Case) -> dict[str, Any]:
    return {"events": service.timeline(db, case)}


def gate_part(db: Session, actor: Actor, case: Case, events: list[CaseEvent] | None
              ) -> dict[str, Any]:
    """The gate and the tracker: what the stage still needs, and the stage moves (taken from
    the timeline when it is read anyway, rather than read again)."""
    moves = ([e for e in reversed(events) if e.kind is EventKind.MOVED]
             if events is not None else list(case.moves))
    return {
        "unmet": current_gate(case), "overridden": overridden_stages(case, moves),
        "closing": next((e for e in reversed(moves) if e.to_stage is Stage.CLOSED), None)
        if case.stage is Stage.CLOSED else None,
    }


def attachment_count_part(db: Session, actor: Actor, case: Case) -> dict[str, Any]:
    """The header's "photos and documents" link: a count, not the attachments."""
    user = actor.user
    assert user is not None
    return {"attachment_count": db.scalar(select(func.count(Attachment.id)).where(
        Attachment.case_id == case.id)) or 0,
        "can_attach": has(user, Perm.ATTACHMENT_ADD) and case.stage is not Stage.CLOSED,
        "attachment_form": ""}


def assignee_options(db: Session, case: Case) -> list[tuple[str, str]]:
    """Who may carry the case's actions, and anyone already carrying one (so that opening an
    action's form does not silently drop an assignee who has since moved on)."""
    options = eligible_owners(db, case.borough_code)
    listed = {username for username, _name in options}
    for action in case.actions:
        if action.assignee and action.assignee.username not in listed:
            listed.add(action.assignee.username)
            options.append((action.assignee.username, action.assignee.display_name))
    return options


def picture_part(db: Session, case: Case, panels: dict[str, Any]) -> dict[str, Any]:
    """The crime picture's month choices and chart, once its panel has been worked out."""
    found = panels.get("picture")
    if not found or found == "no-data":
        return {}
    span = data_months(db, picture.case_force(case))
    return {
        "month_options": [(f"{m:%Y-%m}", f"{m:%b %Y}") for m in (span.months() if span else [])],
        "pic_chart": monthly_bars(
            found.monthly, chart_id="crime-picture-chart",
            title=f"Crimes a month in {found.area_name or 'the target area'}",
            highlight=(case.baseline_start.replace(day=1), case.baseline_end)
            if case.baseline_start and case.baseline_end else None,
            missing=set(found.months_missing)),
    }


def editing_part(db: Session, actor: Actor, case: Case,
                 overrides: dict[str, Any]) -> dict[str, Any]:
    """The extra choices of a section form opened for editing."""
    user = actor.user
    assert user is not None
    editing = overrides.get("editing")
    extra: dict[str, Any] = {}
    if editing in ("area", "comparison"):
        extra["boundaries"] = _boundary_options(db, case)
    if editing == "comparison" and case.target_geometry:
        found = picture.comparison_of_case(db, case)
        extra["suggestion_options"] = [
            (str(s.area_id), f"{s.name}: {s.count} crimes")
            for s in (found.suggestions if found else []) if s.area_id]
    if editing == "problem":
        extra["boroughs"] = forms.area_options(db, user)
        borough = (overrides.get("values") or {}).get("borough") or case.borough_code
        extra["wards"] = [(w.code, w.label) for w in list_wards(db, borough)]
        extra["owners"] = eligible_owners(db, case.borough_code)
        # The operations the case may join: its area's (or force's) that the user runs.
        extra["operation_options"] = [
            (str(o.id), o.name) for o, _n in list_operations(db, actor)
            if o.id == case.operation_id or (may_change(user, o) and not holds(o, case.borough))]
    return extra


# The parts a fragment may ask for. Some are built from others: the gate reads the timeline's
# moves, the stages' folded lines the patrol log and outputs, the attachments' link choices the
# patrol log's patrols, the action form's lead agencies the partners' directory.
ALL_PARTS = frozenset({"timeline", "gate", "work", "stage_lines", "review", "partners",
                       "attachments", "attachment_count", "action_choices"})

_SECTION_PARTS: dict[str, frozenset[str]] = {
    "actions": frozenset({"attachments", "action_choices"}),
    "patrols": frozenset({"work"}), "outputs": frozenset({"work"}),
    "community": frozenset({"work"}), "partners": frozenset({"partners"}),
}
_STAGE_SECTIONS = {
    Stage.SCANNING: ("problem", "area", "cheers"),
    Stage.ANALYSIS: ("picture", "triangle", "hypotheses", "analysis", "comparison"),
    Stage.RESPONSE: ("response", "actions", "patrols", "outputs", "community"),
    Stage.ASSESSMENT: ("impact", "assessment"),
}
# The parts each partial template (cases/parts/<name>.html) shows, besides the core.
FRAGMENT_PARTS: dict[str, frozenset[str]] = {
    **{f"section_{key}": parts for key, parts in _SECTION_PARTS.items()},
    **{f"stage_{stage.value}": frozenset({"stage_lines"}).union(
        *(_SECTION_PARTS.get(key, frozenset()) for key in keys))
        for stage, keys in _STAGE_SECTIONS.items()},
    "timeline": frozenset({"timeline"}),
    "review": frozenset({"review"}),
    "case_header": frozenset({"attachment_count"}),
    "gate": frozenset({"gate"}),
    "refresh_partials": frozenset({"attachment_count", "gate", "timeline"}),
    "patrol_panel": frozenset({"work"}),
    "work_partials": frozenset({"work", "timeline"}),
}


def parts_for(fragments: Iterable[str]) -> frozenset[str]:
    return frozenset().union(*(FRAGMENT_PARTS.get(name, frozenset()) for name in fragments))


def case_context(db: Session, actor: Actor, case: Case, parts: Iterable[str],
                 **overrides: Any) -> dict[str, Any]:
    """The core, then each part asked for, then what the caller sets (form values, errors,
    the stage to open...)."""
    wanted = set(parts)
    context = core_part(db, actor, case)
    if "timeline" in wanted:
        context |= timeline_part(db, actor, case)
    if "gate" in wanted:
        context |= gate_part(db, actor, case, context.get("events"))
    work = "work" in wanted or "stage_lines" in wanted
    # With the patrol log's four collections to read, first one round trip for which of the
    # case's collections hold anything: the empty ones are then not read at all.
    held = case_holdings(db, case) if work else None
    if work:
        context |= work_context(db, actor, case, held)
    if "review" in wanted:
        context |= review_context(db, actor, case, held)
    if "partners" in wanted:
        context |= partners_context(db, actor, case, held)
    if "attachments" in wanted:
        log = context.get("patrol_log")
        context |= attachment_context(db, actor, case,
                                      list(reversed(log.patrols)) if log else None, held)
    elif "attachment_count" in wanted:
        context |= attachment_count_part(db, actor, case)
    if "action_choices" in wanted:
        context["assignee_options"] = assignee_options(db, case)
        if "lead_agency_options" not in context:  # the partners part has them already
            context["lead_agency_options"] = agency_options(db, case)
    if overrides.get("editing"):
        context |= editing_part(db, actor, case, overrides)
    context |= picture_part(db, case, overrides.get("panels") or {})
    context.update(overrides)
    if "stage_lines" in wanted:
        context["stage_lines"] = stage_lines(case, context)
        context["stage_is_open"] = partial(is_open, case=case,
                                           open_stage=context["open_stage"])
    return context


def page_context(db: Session, actor: Actor, case: Case, **overrides: Any) -> dict[str, Any]:
    """The whole page's context: every part."""
    return case_context(db, actor, case, ALL_PARTS, **overrides)


def fragment_context(db: Session, actor: Actor, case: Case, fragments: list[str],
                     **overrides: Any) -> dict[str, Any]:
    return case_context(db, actor, case, parts_for(fragments), **overrides)


def render_case(request: Request, db: Session, actor: Actor, case: Case,
                fragments: list[str] | None = None, *, status_code: int = 200,
                **overrides: Any) -> Response:
    """The case page, or (htmx) only the fragments named, each from its partial template and
    built from only the parts it shows."""
    if fragments is None:
        return render(request, "cases/detail.html", page_context(db, actor, case, **overrides),
                      status_code=status_code)
    return render_parts(request, [f"cases/parts/{name}.html" for name in fragments],
                        fragment_context(db, actor, case, fragments, **overrides),
                        status_code=status_code)


def stage_fragment(stage: Stage) -> str:
    return f"stage_{stage.value}"


STAGE_FRAGMENTS = {stage.value: stage_fragment(stage) for stage in STAGE_GROUPS}


def _boundary_options(db: Session, case: Case) -> list[tuple[str, list[tuple[str, str]]]]:
    """Wards and LSOAs of the case's borough, grouped, for choosing an area."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for area in db.scalars(select(Area).where(
            Area.borough_code == case.borough_code,
            Area.kind.in_([AreaKind.WARD, AreaKind.LSOA])).order_by(Area.kind, Area.name)):
        groups.setdefault(f"{area.kind.label}s", []).append((str(area.id), area.name))
    return list(groups.items())


def _count_points(coordinates: Any) -> int:
    if isinstance(coordinates, list) and coordinates and isinstance(coordinates[0], int | float):
        return 1
    return sum(_count_points(c) for c in coordinates) if isinstance(coordinates, list) else 0
