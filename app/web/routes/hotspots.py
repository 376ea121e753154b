"""The hotspot finder page, its map layer, and "open a case here": a page that proposes the
case's category from the cell's crime, says why, and lets the person choose before the case is
made."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, QueryParams

from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.auth.models import User
from app.auth.permissions import Perm, covers_borough, covers_force, has, home_area, require
from app.crime import hotspots, streets
from app.crime.geometry import area_shape
from app.crime.models import Area, AreaKind
from app.crime.queries import Period, data_months, month_value
from app.errors import FieldError, ValidationFailed
from app.harm import service as harm_tables
from app.harm.models import HarmTable
from app.reference.models import Borough
from app.reference.service import areas_in_force_scope, forces_with_areas, grouped_by_force
from app.sara.hotspots import FEW_IN_CELL
from app.sara.problem import CATEGORIES
from app.web import forms
from app.web.deps import Db, PageActor, csrf_protect
from app.web.templating import is_htmx, render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


async def form_data(request: Request) -> FormData:
    return await request.form()


def _query(db: Session, params: QueryParams | FormData,
           span: Period | None) -> hotspots.HotspotQuery:
    """The finder's query from the address (GET) or a form (POST); bad values are field
    errors. The area chosen is a local policing area's code, or a force area's code for a
    search over the whole force."""
    last_default = span.last if span else date.today().replace(day=1)
    months = span.months()[-12:] if span else [last_default]
    problems: list[FieldError] = []  # every wrong field at once

    def number(name: str, default: int, message: str) -> int:
        try:
            return int(str(params.get(name) or default))
        except ValueError:
            problems.append(FieldError(name, message))
            return default

    def month(name: str, default: date) -> date:
        try:
            return month_value(str(params.get(name)), name) if params.get(name) else default
        except ValidationFailed as exc:
            problems.extend(exc.errors)
            return default

    cell_m = number("cell_m", 250, "Choose a cell size from the list.")
    top_k = number("top_k", 10, "Choose how many top cells from the list.")
    first, last = month("first", months[0]), month("last", months[-1])
    if problems:
        raise ValidationFailed(problems)
    chosen = str(params.get("borough") or "").strip().upper() or None
    whole_force = db.scalar(select(Area.id).where(Area.kind == AreaKind.FORCE,
                                                  Area.code == chosen)) if chosen else None
    return hotspots.HotspotQuery(
        first=first, last=last,
        borough=None if whole_force else chosen, area_id=whole_force,
        categories=tuple(sorted({str(c) for c in params.getlist("category") if c})),
        cell_m=cell_m, top_k=top_k, rank_by=str(params.get("rank_by") or "crimes"))


def _study_options(db: Session, user: User) -> forms.Options:
    """The areas with an imported boundary that the user may search: their force's local
    policing areas (grouped by force when they see several), and each force's whole area."""
    bounded = set(db.scalars(select(Area.code).where(Area.kind == AreaKind.BOROUGH)))
    areas = [a for a in areas_in_force_scope(db, user) if a.code in bounded]
    wholes = dict(db.execute(select(Area.force_id, Area.code).where(
        Area.kind == AreaKind.FORCE, Area.force_id.is_not(None))).all())
    options: forms.Options = []
    for force, items in grouped_by_force(db, areas):
        whole = [(wholes[force.id], f"The whole force area ({force.label})")] \
            if force.id in wholes else []
        options.append((force.label, whole + [(a.code, a.label) for a in items]))
    return options[0][1] if len(options) == 1 else options


def _span(db: Session, user: User, query: hotspots.HotspotQuery | None) -> Period | None:
    """The months offered: those of the chosen area's force, else of the user's force(s)."""
    force = _force_of(db, query) if query else None
    forces = [force] if force else ([user.force_id] if user.force_id else
                                    [f.id for f, _n in forces_with_areas(db)])
    spans = [s for f in forces if (s := data_months(db, f)) is not None]
    if not spans:
        return None
    return Period(min(s.first for s in spans), max(s.last for s in spans))


def _force_of(db: Session, query: hotspots.HotspotQuery) -> str | None:
    if query.area_id:
        return db.scalar(select(Area.force_id).where(Area.id == query.area_id))
    borough = db.get(Borough, query.borough) if query.borough else None
    return borough.force_id if borough else None


@router.get("/hotspots")
def finder(request: Request, actor: PageActor, db: Db) -> Response:
    user = actor.user
    assert user is not None
    require(user, Perm.CASE_READ)
    errors: dict[str, str] = {}
    answer = None
    try:
        query = _query(db, request.query_params, None)
        span = _span(db, user, query)
        query = _query(db, request.query_params, span)  # the default months of its force
        if "borough" in request.query_params:
            answer = hotspots.find(db, actor, query)
    except ValidationFailed as exc:
        db.rollback()
        errors = {e.field: e.message for e in exc.errors}
        span = _span(db, user, None)
        query = _query(db, QueryParams(), span)
    chosen = {name: request.query_params.get(name) for name in
              ("borough", "first", "last", "cell_m", "top_k", "rank_by")
              if request.query_params.get(name)}
    if not query.borough and not query.area_id and home_area(user):
        query = hotspots.HotspotQuery(**{**vars(query), "borough": home_area(user)})
    harm_table, harm_offered = _harm_choice(db, user, query)
    context = {
        "active_nav": "hotspots", "query": query, "answer": answer, "errors": errors,
        "chosen": chosen,
        "span": span, "month_options": [(f"{m:%Y-%m}", f"{m:%b %Y}") for m in span.months()]
        if span else [], "boroughs": _study_options(db, user),
        "categories": list(CATEGORIES.items()),
        "cell_sizes": [(str(size), f"{size} m") for size in hotspots.CELL_SIZES],
        "harm_offered": harm_offered,
        "rankings": [("crimes", "Crimes"), ("harm", f"Harm ({harm_table.label})" if harm_table
                                                    else "Harm (the force's weights)")],
        "map_url": "/hotspots/map.geojson?" + urlencode(list(request.query_params.multi_items()))
        if answer else "", "can_open": _can_open(db, actor, answer),
        "open_url": f"/hotspots/cases/new?{urlencode(_query_fields(answer))}" if answer else "",
        "settings": request.app.state.settings,
    }
    if is_htmx(request):
        return render(request, "hotspots/finder.html", context, block="results",
                      status_code=422 if errors else 200)
    return render(request, "hotspots/finder.html", context, status_code=422 if errors else 200)


def _harm_choice(db: Session, user: User,
                 query: hotspots.HotspotQuery) -> tuple[HarmTable | None, bool]:
    """The harm-weight table of the chosen area's force, and whether to offer ranking by harm:
    when that force has a table, or (no area chosen yet) when any force the user covers has."""
    force = _force_of(db, query) or user.force_id
    if force:
        table = harm_tables.in_use(db, force)
        return table, table is not None
    return None, any(harm_tables.in_use(db, f.id) for f, _n in forces_with_areas(db)
                     if covers_force(user, f.id))


@router.get("/hotspots/months")
def month_choices(request: Request, actor: PageActor, db: Db) -> Response:
    """The From and To choices for the area chosen: the months of its force's data, the last
    twelve of them chosen."""
    user = actor.user
    assert user is not None
    require(user, Perm.CASE_READ)
    try:
        chosen = _query(db, request.query_params, None)
    except ValidationFailed:
        chosen = None
    span = _span(db, user, chosen)
    query = _query(db, QueryParams(), span)
    return render(request, "hotspots/finder.html", {
        "query": query, "chosen": {}, "errors": {},
        "month_options": [(f"{m:%Y-%m}", f"{m:%b %Y}") for m in span.months()] if span else []},
        block="months")


def _can_open(db: Session, actor: Actor, answer: hotspots.HotspotAnswer | None) -> bool:
    """Whether the user may open a case on the answer's cells: in a search over a whole force
    area, each cell's own area is checked when the case is opened."""
    user = actor.user
    if not (user and answer and has(user, Perm.CASE_PROPOSE)):
        return False
    borough = db.get(Borough, answer.borough_code) if answer.borough_code else None
    return covers_borough(user, borough) if borough else covers_force(user, answer.force_id)


@router.get("/hotspots/map.geojson")
def finder_map(request: Request, actor: PageActor, db: Db) -> JSONResponse:
    user = actor.user
    assert user is not None
    require(user, Perm.CASE_READ)
    try:
        query = _query(db, request.query_params, None)
        query = _query(db, request.query_params, _span(db, user, query))
        if problems := query.problems():
            raise ValidationFailed(problems)
        study = hotspots.study_area(db, actor, query)
        answer = hotspots.compute(db, query, study)
    except ValidationFailed as exc:
        return JSONResponse({"error": "validation_error", "message": exc.message, "errors": [
            {"field": e.field, "message": e.message} for e in exc.errors]}, status_code=422)
    features: list[dict[str, Any]] = [{
        "type": "Feature", "geometry": study.area.geometry,
        "properties": {"role": "target", "label": study.area.name}}]
    features += [{
        "type": "Feature", "geometry": cell.geometry,
        "properties": {"role": "cell", "count": cell.count, "harm": cell.harm, "z": cell.z,
                       "rank": cell.rank,
                       "label": _cell_label(cell), "href": f"#cell-{cell.rank}"
                       if cell.rank <= hotspots.TABLE_ROWS else None}}
        for cell in answer.cells]
    if not request.app.state.settings.map_tiles_url:  # no street map: street names instead
        features += streets.street_features(db, study.force.id, area_shape(study.area.geometry),
                                            query.period)
    record_read(db, actor, AuditAction.HOTSPOTS, object_type="area", object_ref=study.area.code,
                details={"first": query.first.isoformat(), "last": query.last.isoformat(),
                         "categories": list(query.categories), "cell_m": query.cell_m,
                         "force": study.force.id, "map": True})
    return JSONResponse({"type": "FeatureCollection", "features": features})


def _cell_label(cell: hotspots.HotspotCell) -> str:
    z = f", Gi* z {cell.z:.2f}" if cell.z is not None else ""
    share = f" ({cell.share:.1%})" if cell.share is not None else ""
    harm = f", harm {cell.harm:,.1f}" if cell.harm is not None else ""
    place = f" {cell.place}:" if cell.place else ""
    return f"Rank {cell.rank}:{place} {cell.count:,} crimes{share}{harm}{z}"


def _query_fields(answer: hotspots.HotspotAnswer) -> list[tuple[str, str]]:
    """The finder's query as form fields, to carry it to the case pages and back."""
    query = answer.query
    return [("borough", query.borough or answer.study_code),
            ("first", f"{query.first:%Y-%m}"), ("last", f"{query.last:%Y-%m}"),
            ("cell_m", str(query.cell_m)), ("top_k", str(query.top_k)),
            *((("rank_by", query.rank_by),) if query.rank_by != "crimes" else ()),
            *(("category", c) for c in query.categories)]


def _cell(params: QueryParams | FormData) -> tuple[int, int]:
    try:
        return int(str(params.get("col"))), int(str(params.get("row")))
    except ValueError:
        raise ValidationFailed.one("cell", "Choose a cell from the table.") from None


def _case_page(request: Request, choice: hotspots.CellChoice, chosen: str | None,
               errors: dict[str, str]) -> Response:
    fields = _query_fields(choice.answer)
    return render(request, "hotspots/case.html", {
        "active_nav": "hotspots", "choice": choice, "answer": choice.answer,
        "cell": choice.cell, "fields": fields, "errors": errors,
        "chosen": chosen if chosen is not None else choice.proposal.category,
        "back_url": f"/hotspots?{urlencode(fields)}#cell-{choice.cell.rank}",
        "categories": CATEGORIES, "few_in_cell": FEW_IN_CELL,
    }, status_code=422 if errors else 200)


@router.get("/hotspots/cases/new")
def case_form(request: Request, actor: PageActor, db: Db) -> Response:
    """The cell, its crime per category and the category proposed: the person chooses."""
    user = actor.user
    assert user is not None
    query = _query(db, request.query_params, None)
    query = _query(db, request.query_params, _span(db, user, query))
    col, row = _cell(request.query_params)
    choice = hotspots.case_choice(db, actor, query, col, row)
    return _case_page(request, choice, None, {})


@router.post("/hotspots/cases")
def open_case(request: Request, actor: PageActor, db: Db,
              form: Annotated[FormData, Depends(form_data)]) -> Response:
    user = actor.user
    assert user is not None
    query = _query(db, form, None)
    query = _query(db, form, _span(db, user, query))
    col, row = _cell(form)
    category = str(form.get("case_category") or "").strip() or None
    try:
        case = hotspots.open_case_from_cell(db, actor, query, col, row, category)
    except ValidationFailed as exc:
        if not any(e.field == "case_category" for e in exc.errors):
            raise  # the cell or the area: the error page says why
        db.rollback()
        choice = hotspots.case_choice(db, actor, query, col, row)
        return _case_page(request, choice, category,
                          {e.field: e.message for e in exc.errors})
    return RedirectResponse(f"/cases/{case.ref}?flash=opened", status_code=303)
