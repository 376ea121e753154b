"""Case pages: thin adapters from HTML forms and htmx requests to the case services."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from shapely.geometry import box as bng_box
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.audit.service import AuditAction, record_read
from app.auth.context import Actor, acting_user
from app.auth.permissions import Perm, has, home_area, require
from app.auth.roles import Role
from app.auth.service import eligible_owners
from app.cases import content, moves, service
from app.cases.access import case_for, ensure_open, ensure_version, normalise_ref
from app.cases.models import Case
from app.cases.schemas import (
    ActionCreate,
    ActionUpdate,
    CaseCreate,
    CaseFilters,
    CaseUpdate,
    HypothesisCreate,
    HypothesisUpdate,
    NoteCreate,
    TransitionRequest,
)
from app.clock import today
from app.crime import picture, streets
from app.crime.geometry import area_shape, bounds, geojson_wgs84
from app.crime.models import Area
from app.crime.queries import Period, cell_counts, month_value
from app.errors import Conflict, StaleVersion, ValidationFailed
from app.operations.service import list_operations
from app.problem_templates.service import list_templates
from app.reference.service import get_ward, list_wards
from app.reviews import service as reviews
from app.reviews.schemas import ReviewCreate
from app.sara.problem import Priority, ProblemSource
from app.sara.stages import STAGES, GateUnmet, MoveRefused, Stage
from app.validation import Problems, validate
from app.web import forms
from app.web.case_forms import form_failed, save_item, saved
from app.web.case_page import STAGE_FRAGMENTS, render_case
from app.web.deps import Db, Form, ItemId, PageActor, Ref, csrf_protect, redirect
from app.web.impact import impact_context
from app.web.sections import (
    SECTIONS,
    action_values,
    editable_sections,
    hypothesis_values,
    section_values,
)
from app.web.stages import STAGE_GROUPS
from app.web.templating import is_htmx, render
from app.web.work import work_edit_values

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

PAGE_SIZE = 25

# Static option lists for selects and radios.
PRIORITY_OPTIONS = [(p.value, p.label) for p in Priority]
SOURCE_OPTIONS = [(s.value, s.label) for s in ProblemSource]
STAGE_OPTIONS = [(s.value, s.label) for s in STAGES]
# The blank choice (no sort in the URL) is the best match when searching, else the newest.
SORT_OPTIONS = [("-updated", "Recently updated"), ("-created", "Newest first"),
                ("created", "Oldest first"), ("-priority", "Highest priority"),
                ("stage", "Stage (Scanning first)"), ("ref", "Reference"), ("title", "Title")]


# --- list --------------------------------------------------------------------------------------

@router.get("/")
def home(actor: PageActor) -> Response:
    user = actor.user
    if user and user.role is Role.OFFICER:
        return redirect("/shift")  # an officer's home: the patrol, outputs and own cases
    if user and has(user, Perm.CASE_READ):
        return redirect("/cases")
    return redirect("/admin/users" if user and has(user, Perm.USER_MANAGE) else "/docs")


@router.get("/cases")
def case_list(request: Request, actor: PageActor, db: Db) -> Response:
    filters, problems = _filters_from_query(request)
    if filters.ward and filters.borough:
        ward = get_ward(db, filters.ward)
        if ward and ward.borough_code != filters.borough:
            # The borough was just changed: the ward chosen before no longer applies.
            filters = filters.model_copy(update={"ward": None})
    try:
        rows, total = service.list_cases(db, actor, filters)
    except ValidationFailed as exc:  # an unknown borough or ward: drop it and say so
        db.rollback()
        problems += [e.message for e in exc.errors]
        filters = filters.model_copy(update={e.field: None for e in exc.errors})
        rows, total = service.list_cases(db, actor, filters)
    user = actor.user
    assert user is not None
    boroughs = forms.area_options(db, user)
    ward_borough = filters.borough or home_area(user)
    page = filters.offset // PAGE_SIZE + 1
    pages = max(1, -(-total // PAGE_SIZE))
    context = {
        "active_nav": "cases", "filters": filters, "rows": rows, "total": total,
        "filter_errors": problems, "boroughs": boroughs,
        "wards": [(w.code, w.label) for w in list_wards(db, ward_borough)] if ward_borough else [],
        "owners": eligible_owners(db, ward_borough, user.force_id),
        "stage_options": STAGE_OPTIONS, "sort_options": SORT_OPTIONS,
        "operation_options": [(str(o.id), o.name) for o, _n in list_operations(db, actor)],
        "active_filters": sum(1 for name in ("stage", "borough", "ward", "owner", "category",
                                             "operation", "review")
                              if getattr(filters, name)) + (filters.overdue is not None),
        "filters_open": any(getattr(filters, n) for n in ("stage", "ward", "owner", "category",
                                                          "operation", "review"))
        or filters.overdue is not None,
        "today": today(),
        "page": page, "pages": pages, "page_numbers": _page_numbers(page, pages),
        "page_url": lambda p: _page_url(request, p),
    }
    if is_htmx(request):
        # The ward and owner choices follow the borough chosen.
        return render(request, "cases/list.html", context, blocks=["results", "choices"])
    return render(request, "cases/list.html", context)


def _filters_from_query(request: Request) -> tuple[CaseFilters, list[str]]:
    """Read the list's filters from the URL; drop (and report) any that are not valid."""
    params = request.query_params
    raw: dict[str, Any] = {
        name: params.get(name) or None
        for name in ("borough", "ward", "owner", "category", "overdue", "review", "operation",
                     "q")
    }
    raw["stage"] = [s for s in params.getlist("stage") if s]
    raw["sort"] = params.get("sort") or None  # the best match when searching, else newest
    page = params.get("page", "1")
    raw["offset"] = (int(page) - 1) * PAGE_SIZE if page.isdigit() and int(page) > 0 else 0
    raw["limit"] = PAGE_SIZE
    return forms.filters_from_address(CaseFilters, raw)


def _page_numbers(page: int, pages: int) -> list[int | None]:
    wanted = sorted({1, pages, page - 1, page, page + 1} & set(range(1, pages + 1)))
    numbers: list[int | None] = []
    for number in wanted:
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def _page_url(request: Request, page: int) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page" and v]
    return "/cases?" + urlencode([*params, ("page", str(page))])


# --- open a case -------------------------------------------------------------------------------

@router.get("/cases/new")
def new_case_form(request: Request, actor: PageActor, db: Db) -> Response:
    user = actor.user
    assert user is not None
    require(user, Perm.CASE_CREATE)
    values = {"borough": user.borough_code or "", "priority": "", "source": "officer",
              "template": request.query_params.get("template", "")[:60]}
    return _new_case_page(request, db, actor, values, {})


@router.post("/cases")
def create_case(request: Request, actor: PageActor, db: Db, form: Form) -> Response:
    payload: dict[str, Any] = {name: forms.text(form, name) for name in
                               ("title", "problem_statement", "borough", "source", "team")}
    for name in ("ward", "category", "template", "owner"):
        payload[name] = forms.optional(form, name)
    if forms.text(form, "priority"):  # left blank: the template's, else medium
        payload["priority"] = forms.text(form, "priority")
    try:
        case = service.create_case(db, actor, validate(CaseCreate, payload))
    except ValidationFailed as exc:
        db.rollback()
        return _new_case_page(request, db, actor, dict(form),
                              forms.errors_by_field(exc.errors, list(form)), status_code=422)
    return redirect(f"/cases/{case.ref}?flash=opened")


def _new_case_page(request: Request, db: Session, actor: Actor, values: dict[str, Any],
                   errors: dict[str, str], status_code: int = 200) -> Response:
    user = actor.user
    assert user is not None
    boroughs = forms.area_options(db, user)
    borough = values.get("borough") or (boroughs[0][0] if len(boroughs) == 1 else None)
    context = {
        "active_nav": "new", "values": values, "errors": errors, "boroughs": boroughs,
        "wards": [(w.code, w.label) for w in list_wards(db, borough)] if borough else [],
        "priority_options": [("", "As the template sets (medium without one)"),
                             *PRIORITY_OPTIONS],
        "source_options": SOURCE_OPTIONS,
        "templates": list_templates(db, actor) if has(user, Perm.CASE_READ) else [],
        # A supervisor may open a case for one of their officers (whose case it then is).
        "owners": eligible_owners(db, borough) if borough and has(user, Perm.CASE_ASSIGN)
        else [],
    }
    return render(request, "cases/new.html", context, status_code=status_code)


@router.get("/wards")
def ward_options(request: Request, actor: PageActor, db: Db, borough: str = "",
                 blank: str = "No particular ward") -> Response:
    """The ward choices of a borough, as <option>s for a dependent select."""
    wards = [(w.code, w.label) for w in list_wards(db, borough.strip().upper())] \
        if borough else []
    return render(request, "cases/ward_options.html",
                  {"wards": wards, "selected": "", "blank": blank[:40]})


# --- the case page -----------------------------------------------------------------------------

@router.get("/cases/{ref}")
def case_page(request: Request, actor: PageActor, db: Db, ref: Ref, section: str = "",
              edit: str = "", flash: str = "", first: str = "", last: str = "",
              snapshot: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
              stage: str = "", fold: str = "", timeline: str = "",
              attach: str = "") -> Response:
    case = service.view_case(db, actor, ref)
    if case.ref != ref:
        return redirect(f"/cases/{case.ref}")
    section = section if section in SECTIONS else ""
    editing = None
    if section and edit and editable_sections(acting_user(actor), case).get(section):
        editing = section if edit == "1" else edit
    group = next((g for g in STAGE_GROUPS if g.value == stage), None)
    open_stage = SECTIONS[section].stage if section else (None if fold else group)
    overrides: dict[str, Any] = {"editing": editing, "open_stage": open_stage,
                                 "flash": _flash(flash, case), "timeline_all": timeline == "all",
                                 "review_history_open": flash == "reviewed",
                                 # "Add photo" in the header opens the form (see attachments)
                                 "attachment_form": "photo" if attach == "photo" else ""}
    fragments = None  # the whole page
    if is_htmx(request) and timeline == "all":
        fragments = ["timeline"]
    elif is_htmx(request) and (section or group):
        # One section, or one stage opened or folded in place.
        fragments = [f"section_{section}" if section else STAGE_FRAGMENTS[stage]]
    if editing:
        overrides.update(_edit_values(db, case, editing))
    overrides["panels"] = _panels(db, actor, case, section, first, last)
    shows_impact = fragments is None or fragments[0] in ("section_impact", "stage_assessment")
    if shows_impact and (section == "impact" or case.stage in (Stage.ASSESSMENT, Stage.CLOSED)
                         or snapshot):
        overrides |= impact_context(db, case, snapshot)
    return render_case(request, db, actor, case, fragments, **overrides)


def _flash(flash: str, case: Case) -> str:
    return {
        "opened": f"Case {case.ref} is open in Scanning.",
        "assessed": "The impact assessment is saved.",
        "process": "The figures are added to the process evaluation.",
        "patrol-started": "Patrol started.", "patrol-ended": "Patrol ended.",
        "patrol-discarded": "The patrol was discarded.", "outputs": "Outputs recorded.",
        "concern-linked": "The concern is linked to this case: say what was done about it "
                          "under \"You said, we did\".",
        "opened-from-concern": f"Case {case.ref} is open in Scanning, made from the concern.",
        "moved": f"{case.ref} is closed." if case.stage is Stage.CLOSED
        else f"{case.ref} is now in {case.stage.label}.",
        "baseline": "The baseline period is set.",
        "pinned": "The figures are added to the analysis summary.",
        "attached": "The attachment is added.",
        "reviewed": "The review is recorded."
        + (f" The next is due {case.next_review_on:%-d %B %Y}." if case.next_review_on else ""),
    }.get(flash, "")


PANELS = ("picture", "comparison")


def _panels(db: Session, actor: Actor, case: Case, section: str, first: str,
            last: str) -> dict[str, Any]:
    """The crime picture and the comparison areas are worked out from the crime data when
    their section is asked for. The case page itself only holds a placeholder that loads them
    (at once in Analysis, their stage; elsewhere when they scroll into view; by a link without
    JavaScript), so that the page comes quickly however much crime data there is."""
    panels: dict[str, Any] = {"picture": None, "comparison": None, "errors": {},
                              "first": first, "last": last}
    if case.target_geometry is None:
        return panels
    wanted = {section} & set(PANELS)
    period = None
    if first and last:
        try:
            period = Period(month_value(first, "first"), month_value(last, "last"))
        except ValidationFailed as exc:
            panels["errors"] = forms.errors_by_field(exc.errors)
    if "picture" in wanted:
        try:
            found = picture.picture_of(db, actor, case, period)
        except ValidationFailed as exc:  # months with none of its data: say so, show its own
            db.rollback()
            panels["errors"] = forms.errors_by_field(exc.errors)
            found = picture.picture_of(db, actor, case)
        panels["picture"] = found or "no-data"
    if "comparison" in wanted:
        panels["comparison"] = picture.comparison_of_case(db, case) or "no-data"
    return panels


def _edit_values(db: Session, case: Case, editing: str) -> dict[str, Any]:
    """Form values and version for a section or item opened for editing."""
    for prefix, values_of in work_edit_values.items():
        if editing.startswith(prefix) and editing[len(prefix):].isdigit():
            return values_of(db, case, int(editing[len(prefix):]))
    if editing.startswith("hypothesis") and editing[10:].isdigit():
        item = next((h for h in case.hypotheses if h.id == int(editing[10:])), None)
        return {"item_values": hypothesis_values(item, editing),
                "form_version": item.version if item else 0}
    if editing.startswith("action") and editing[6:].isdigit():
        action = next((a for a in case.actions if a.id == int(editing[6:])), None)
        return {"item_values": action_values(action, editing),
                "form_version": action.version if action else 0}
    return {"values": section_values(case, editing), "form_version": case.version}


@router.post("/cases/{ref}/sections/{section}")
def save_section(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref,
                 section: str) -> Response:
    spec = SECTIONS.get(section)
    if spec is None or spec.payload is None:
        return render(request, "errors/error.html", {"heading": "Page not found",
                      "message": "There is no such section."}, status_code=404)
    values: dict[str, Any] = dict(form)
    values["crime_types"] = form.getlist("crime_types")
    try:
        problems = Problems()
        payload = _with_boundaries(db, spec.payload(form, problems)) | {
            "version": forms.version(form)}
        service.update_case(db, actor, ref, validate(CaseUpdate, payload, problems))
    except ValidationFailed as exc:
        return form_failed(request, db, actor, ref, section, 422, editing=section,
                            values=values, errors=forms.errors_by_field(exc.errors, list(form)),
                            form_version=forms.version(form))
    except StaleVersion as exc:
        return form_failed(request, db, actor, ref, section, 409, editing=section,
                            values=values, conflict=exc.message,
                            form_version=exc.current_version)
    except Conflict as exc:
        return form_failed(request, db, actor, ref, section, 409, editing=section,
                            values=values, conflict=exc.message)
    return saved(request, db, actor, ref, section)


def _with_boundaries(db: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """A boundary chosen from a list becomes a copy of its geometry: the case keeps the shape
    it was analysed with, whatever later boundary imports change."""
    for field in ("target_area", "control_area"):
        chosen = payload.get(field)
        if isinstance(chosen, dict) and "area_id" in chosen:
            area = db.get(Area, chosen["area_id"])
            if area is None:
                raise ValidationFailed.one(f"{field}.boundary", "Choose an area from the list.")
            payload[field] = {"name": chosen.get("name") or f"{area.name} ({area.kind.label})",
                              "geometry": area.geometry}
    return payload


# --- crime data on the case page ---------------------------------------------------------------

BIN_M = 50  # crimes binned in 50 m squares on the case's map: many points, one square each


@router.get("/cases/{ref}/map.geojson")
def case_map(request: Request, actor: PageActor, db: Db, ref: Ref, suggestions: int = 0,
             bins: int = 0, first: str = "", last: str = "") -> JSONResponse:
    """The case's areas as a map layer: target, buffer ring, control (and suggested controls),
    and where its crimes fall (counted in squares, as police.uk points are snapped anyway).
    Without a street map (no tile server set), its local policing area's outline and the street
    names of the crime data around the target area come too."""
    case = case_for(db, actor, ref)
    features = []
    for role, name, geometry, radius in (
            ("target", case.target_area_name or "Target area", case.target_geometry,
             case.target_radius_m),
            ("control", case.control_area_name or "Control area", case.control_geometry,
             case.control_radius_m)):
        if geometry:
            features.append({"type": "Feature", "geometry": geometry,
                             "properties": {"role": role, "label": name, "radius_m": radius}})
    ring = picture.buffer_shape(case) if case.target_geometry else None
    if ring is not None:
        features.append({"type": "Feature", "geometry": geojson_wgs84(ring), "properties": {
            "role": "buffer", "label": f"{case.buffer_width_m} m buffer"}})
    if suggestions and case.target_geometry:
        found = picture.comparison_of_case(db, case)
        for candidate in found.suggestions if found else []:
            features.append({"type": "Feature", "geometry": candidate.geometry, "properties": {
                "role": "candidate",
                "label": f"{candidate.name}: {candidate.count} crimes"}})
    if bins and case.target_geometry:
        features += _crime_bins(db, case, first, last)
    if not request.app.state.settings.map_tiles_url:
        features += _plain_map_features(db, case)
    record_read(db, actor, AuditAction.CASE_MAP, object_type="case", object_ref=case.ref,
                details={"suggestions": bool(suggestions), "crimes": bool(bins)})
    return JSONResponse({"type": "FeatureCollection", "features": features})


def _plain_map_features(db: Session, case: Case) -> list[dict[str, Any]]:
    """The case's local policing area outline, and street names around its target area (over
    the whole area while it has no target area: that is what its map shows then)."""
    outline = streets.outline_feature(db, case.borough_code)
    if case.target_geometry:
        around, margin = picture.target_shape(case), streets.AROUND_M
    elif outline:
        around, margin = area_shape(outline["geometry"]), 0
    else:
        return []
    force = picture.case_force(case)
    labels = streets.street_features(db, force, around, picture.default_period(db, force),
                                     around_m=margin)
    return ([outline] if outline else []) + labels


def _crime_bins(db: Session, case: Case, first: str, last: str) -> list[dict[str, Any]]:
    period = (Period(month_value(first, "first"), month_value(last, "last"))
              if first and last else picture.default_period(db, picture.case_force(case)))
    if period is None:
        return []
    around = picture.target_shape(case).buffer(max(case.buffer_width_m or 0, 200))
    box = bounds(around)
    features = []
    for col, row, count in cell_counts(db, picture.case_force(case), box, BIN_M, period,
                                       picture.case_categories(case)):
        square = bng_box(col * BIN_M, row * BIN_M, (col + 1) * BIN_M, (row + 1) * BIN_M)
        features.append({"type": "Feature", "geometry": geojson_wgs84(square), "properties": {
            "role": "bin", "count": count,
            "label": f"{count} {'crime' if count == 1 else 'crimes'}, {period.label}"}})
    return features


@router.post("/cases/{ref}/baseline")
def set_baseline(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref) -> Response:
    """The baseline chosen from the crime picture's months (whole months)."""
    try:
        first = month_value(forms.text(form, "baseline_first"), "baseline_first")
        last = month_value(forms.text(form, "baseline_last"), "baseline_last")
        if last < first:
            raise ValidationFailed.one("baseline_last", "The baseline must end after it starts.")
        end = date(last.year + last.month // 12, last.month % 12 + 1, 1) - timedelta(days=1)
        service.update_case(db, actor, ref, validate(CaseUpdate, {
            "version": forms.version(form), "baseline_start": first.isoformat(),
            "baseline_end": end.isoformat()}))
    except (StaleVersion, ValidationFailed) as exc:
        return _picture_failed(request, db, actor, ref, exc)
    return redirect(f"/cases/{ref.upper()}?section=picture&flash=baseline#section-picture")


@router.post("/cases/{ref}/pin-picture")
def pin_picture(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref) -> Response:
    """Add the crime picture's figures, as a paragraph, to the analysis summary."""
    try:
        period = Period(month_value(forms.text(form, "first"), "first"),
                        month_value(forms.text(form, "last"), "last"))
        case = case_for(db, actor, ref, Perm.ANALYSIS_EDIT)
        ensure_open(case)
        ensure_version(case, validate(CaseUpdate, {"version": forms.version(form)}).version)
        found = picture.picture_of(db, actor, case, period)
        if found is None:
            raise ValidationFailed.one("first", "No crime data has been imported yet.")
        summary = "\n\n".join(p for p in (case.analysis_summary, found.summary_text()) if p)
        service.update_case(db, actor, ref, validate(CaseUpdate, {
            "version": case.version, "analysis_summary": summary}))
    except (StaleVersion, ValidationFailed, Conflict) as exc:
        return _picture_failed(request, db, actor, ref, exc)
    return redirect(f"/cases/{ref.upper()}?section=analysis&flash=pinned#section-analysis")


def _picture_failed(request: Request, db: Session, actor: Actor, ref: str,
                    exc: Exception) -> Response:
    """The crime picture again, with what went wrong above it."""
    db.rollback()
    case = case_for(db, actor, ref)
    panels = _panels(db, actor, case, "picture", "", "")
    if isinstance(exc, ValidationFailed):
        panels["errors"] = forms.errors_by_field(exc.errors)
        status_code = 422
    else:
        panels["conflict"] = getattr(exc, "message", str(exc))
        status_code = 409
    return render_case(request, db, actor, case,
                       ["section_picture"] if is_htmx(request) else None,
                       status_code=status_code, panels=panels, open_stage=Stage.ANALYSIS)


# --- stage moves -------------------------------------------------------------------------------

@router.post("/cases/{ref}/transitions")
def move(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref) -> Response:
    kind = forms.text(form, "form")
    if kind not in ("advance", "close", "override", "back", "reopen"):
        kind = "advance"
    target = forms.text(form, f"{kind}-to") or forms.text(form, "to")
    reason = forms.text(form, f"{kind}-reason")
    values = dict(form)
    # Closing, through the gate or over it, and reopening ask for a summary and a confirmation.
    confirming = kind in ("close", "reopen") or (kind == "override" and target == "closed")
    if confirming and (problems := _confirmation_problems(
            kind, reason, forms.text(form, f"{kind}-confirm"))):
        return _move_failed(request, db, actor, ref, 422, open_form=kind, form_values=values,
                            gate_errors=problems)
    try:
        request_data = validate(TransitionRequest, {
            "to": target, "reason": reason, "override": forms.text(form, "override") == "true"})
        moves.move_case(db, actor, ref, request_data)
    except GateUnmet as exc:
        return _move_failed(request, db, actor, ref, 409,
                            gate_conflict=f"{exc} See what is still needed below.")
    except MoveRefused as exc:
        if exc.field == "reason":
            return _move_failed(request, db, actor, ref, 422, open_form=kind,
                                form_values=values, gate_errors={f"{kind}-reason": exc.message})
        return _move_failed(request, db, actor, ref, 409, gate_conflict=exc.message)
    except ValidationFailed as exc:
        return _move_failed(request, db, actor, ref, 422, open_form=kind, form_values=values,
                            gate_conflict=" ".join(e.message for e in exc.errors))
    return redirect(f"/cases/{ref.upper()}?flash=moved")


CLOSING_SUMMARY_MIN = 10


def _confirmation_problems(kind: str, text: str, confirmed: str) -> dict[str, str]:
    """Closing asks for a summary and reopening for a reason, each with a confirmation: every
    problem at once."""
    problems = {}
    if kind in ("close", "override"):
        if len(text) < CLOSING_SUMMARY_MIN:
            problems[f"{kind}-reason"] = (f"Enter a closing summary of at least "
                                          f"{CLOSING_SUMMARY_MIN} characters: what was done and "
                                          "what came of it")
        if confirmed != "yes":
            problems[f"{kind}-confirm"] = "Confirm that the case is finished before closing it"
    else:
        if not text:
            problems["reopen-reason"] = "Enter why the case is reopened"
        if confirmed != "yes":
            problems["reopen-confirm"] = "Confirm that the closed case should be worked again"
    return problems


def _move_failed(request: Request, db: Session, actor: Actor, ref: str, status_code: int,
                 **overrides: Any) -> Response:
    db.rollback()
    case = case_for(db, actor, ref)
    return render_case(request, db, actor, case, status_code=status_code, **overrides)


# --- supervisory reviews -----------------------------------------------------------------------

# The review form's controls in page order (an unchosen radio is not posted at all).
REVIEW_FORM = ["review-note", "review-decision", "review-next_review_on",
               "review-reason_for_later"]


@router.post("/cases/{ref}/reviews")
def record_review(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref) -> Response:
    problems = Problems()
    try:
        reviews.record_review(db, actor, ref, validate(
            ReviewCreate, forms.review_payload(form, problems), problems))
    except ValidationFailed as exc:
        return _review_failed(request, db, actor, ref, form, 422,
                              review_errors=forms.prefixed(exc.errors, "review", REVIEW_FORM))
    except Conflict as exc:
        return _review_failed(request, db, actor, ref, form, 409, review_conflict=exc.message)
    if not is_htmx(request):
        return redirect(f"/cases/{normalise_ref(ref)}?flash=reviewed#review")
    case = case_for(db, actor, ref)
    return render_case(request, db, actor, case, ["review", "refresh_partials"],
                       review_history_open=True)


def _review_failed(request: Request, db: Session, actor: Actor, ref: str, form: FormData,
                   status_code: int, **overrides: Any) -> Response:
    db.rollback()
    case = case_for(db, actor, ref)
    return render_case(request, db, actor, case, ["review"] if is_htmx(request) else None,
                       status_code=status_code, review_values=dict(form), **overrides)


# --- notes, hypotheses, actions ----------------------------------------------------------------

@router.post("/cases/{ref}/notes")
def add_note(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref) -> Response:
    body = forms.text(form, "note-body")
    try:
        content.add_note(db, actor, ref, validate(NoteCreate, {"body": body}))
    except ValidationFailed as exc:
        db.rollback()
        case = case_for(db, actor, ref)
        return render_case(request, db, actor, case,
                           ["timeline"] if is_htmx(request) else None, status_code=422,
                           note_value=body, note_errors=forms.prefixed(exc.errors, "note"))
    if not is_htmx(request):
        return redirect(f"/cases/{ref.upper()}#timeline")
    case = case_for(db, actor, ref)
    return render_case(request, db, actor, case, ["timeline"])


@router.post("/cases/{ref}/hypotheses")
def add_hypothesis(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref) -> Response:
    return save_item(request, db, actor, ref, "hypotheses", "hypothesis", form, lambda: (
        content.add_hypothesis(db, actor, ref, validate(
            HypothesisCreate, forms.hypothesis_payload(form, "hypothesis")))))


@router.post("/cases/{ref}/hypotheses/{item_id}")
def update_hypothesis(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref,
                      item_id: ItemId) -> Response:
    prefix = f"hypothesis{item_id}"
    return save_item(request, db, actor, ref, "hypotheses", prefix, form, lambda: (
        content.update_hypothesis(db, actor, ref, item_id, validate(
            HypothesisUpdate,
            forms.hypothesis_payload(form, prefix) | {"version": forms.version(form)}))))


@router.post("/cases/{ref}/actions")
def add_action(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref) -> Response:
    problems = Problems()
    return save_item(request, db, actor, ref, "actions", "action", form, lambda: (
        content.add_action(db, actor, ref, validate(
            ActionCreate, forms.action_payload(form, "action", problems), problems))))


@router.post("/cases/{ref}/actions/{item_id}")
def update_action(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref,
                  item_id: ItemId) -> Response:
    prefix, problems = f"action{item_id}", Problems()
    return save_item(request, db, actor, ref, "actions", prefix, form, lambda: (
        content.update_action(db, actor, ref, item_id, validate(
            ActionUpdate, forms.action_payload(form, prefix, problems)
            | {"version": forms.version(form)}, problems))))
