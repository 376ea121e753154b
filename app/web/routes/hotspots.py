"""The hotspot finder page, its map layer, and "open a case here"."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, QueryParams

from app.auth.context import Actor
from app.auth.permissions import BOROUGH_SCOPED, Perm, covers_borough, has, require
from app.crime import hotspots
from app.crime.models import Area, AreaKind
from app.crime.queries import Period, data_months, month_value
from app.deps import get_db
from app.errors import ValidationFailed
from app.sara.problem import CATEGORIES
from app.web.deps import PageActor, csrf_protect
from app.web.templating import is_htmx, render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
Db = Annotated[Session, Depends(get_db)]


async def form_data(request: Request) -> FormData:
    return await request.form()


def _query(params: QueryParams | FormData, span: Period | None) -> hotspots.HotspotQuery:
    """The finder's query from the address (GET) or a form (POST); bad values are field
    errors."""
    last_default = span.last if span else date.today().replace(day=1)
    months = span.months()[-12:] if span else [last_default]
    first_text, last_text = params.get("first"), params.get("last")
    try:
        cell_m, top_k = int(str(params.get("cell_m") or 250)), int(str(params.get("top_k") or 10))
    except ValueError:
        raise ValidationFailed.one("cell_m", "Choose a cell size from the list.") from None
    return hotspots.HotspotQuery(
        first=month_value(str(first_text), "first") if first_text else months[0],
        last=month_value(str(last_text), "last") if last_text else months[-1],
        borough=str(params.get("borough") or "").strip().upper() or None,
        categories=tuple(sorted({str(c) for c in params.getlist("category") if c})),
        cell_m=cell_m, top_k=top_k)


def _boroughs(db: Session) -> list[tuple[str, str]]:
    return [(a.code, a.name) for a in db.scalars(
        select(Area).where(Area.kind == AreaKind.BOROUGH).order_by(Area.name))]


@router.get("/hotspots")
def finder(request: Request, actor: PageActor, db: Db) -> Response:
    require(actor.user, Perm.CASE_READ)  # type: ignore[arg-type]
    span = data_months(db)
    errors: dict[str, str] = {}
    answer = None
    try:
        query = _query(request.query_params, span)
        if "borough" in request.query_params:
            answer = hotspots.find(db, actor, query)
    except ValidationFailed as exc:
        db.rollback()
        errors = {e.field: e.message for e in exc.errors}
        query = _query(QueryParams(), span)
    chosen = {name: request.query_params.get(name) for name in
              ("borough", "first", "last", "cell_m", "top_k")
              if request.query_params.get(name)}
    if not query.borough and actor.user and actor.user.role in BOROUGH_SCOPED:
        query = hotspots.HotspotQuery(**{**vars(query), "borough": actor.user.borough_code})
    context = {
        "active_nav": "hotspots", "query": query, "answer": answer, "errors": errors,
        "chosen": chosen,
        "span": span, "month_options": [(f"{m:%Y-%m}", f"{m:%b %Y}") for m in span.months()]
        if span else [], "boroughs": _boroughs(db), "categories": list(CATEGORIES.items()),
        "cell_sizes": [(str(size), f"{size} m") for size in hotspots.CELL_SIZES],
        "map_url": "/hotspots/map.geojson?" + urlencode(list(request.query_params.multi_items()))
        if answer else "", "can_open": _can_open(actor, answer),
        "settings": request.app.state.settings,
    }
    if is_htmx(request):
        return render(request, "hotspots/finder.html", context, block="results",
                      status_code=422 if errors else 200)
    return render(request, "hotspots/finder.html", context, status_code=422 if errors else 200)


def _can_open(actor: Actor, answer: hotspots.HotspotAnswer | None) -> bool:
    user = actor.user
    return bool(user and answer and answer.borough_code and has(user, Perm.CASE_PROPOSE)
                and covers_borough(user, answer.borough_code))


@router.get("/hotspots/map.geojson")
def finder_map(request: Request, actor: PageActor, db: Db) -> JSONResponse:
    require(actor.user, Perm.CASE_READ)  # type: ignore[arg-type]
    try:
        query = _query(request.query_params, data_months(db))
        if problems := query.problems():
            raise ValidationFailed(problems)
        study = hotspots.study_area(db, query)
    except ValidationFailed as exc:
        return JSONResponse({"error": "validation_error", "message": exc.message, "errors": [
            {"field": e.field, "message": e.message} for e in exc.errors]}, status_code=422)
    answer = hotspots.compute(db, query, study)
    features: list[dict[str, Any]] = [{
        "type": "Feature", "geometry": study.geometry,
        "properties": {"role": "target", "label": study.name}}]
    features += [{
        "type": "Feature", "geometry": cell.geometry,
        "properties": {"role": "cell", "count": cell.count, "z": cell.z, "rank": cell.rank,
                       "label": _cell_label(cell), "href": f"#cell-{cell.rank}"
                       if cell.rank <= hotspots.TABLE_ROWS else None}}
        for cell in answer.cells]
    return JSONResponse({"type": "FeatureCollection", "features": features})


def _cell_label(cell: hotspots.HotspotCell) -> str:
    z = f", Gi* z {cell.z:.2f}" if cell.z is not None else ""
    share = f" ({cell.share:.1%})" if cell.share is not None else ""
    return f"Rank {cell.rank}: {cell.count:,} crimes{share}{z}"


@router.post("/hotspots/cases")
def open_case(request: Request, actor: PageActor, db: Db,
              form: Annotated[FormData, Depends(form_data)]) -> Response:
    query = _query(form, data_months(db))
    try:
        col, row = int(str(form.get("col"))), int(str(form.get("row")))
    except ValueError:
        raise ValidationFailed.one("cell", "Choose a cell from the table.") from None
    case = hotspots.open_case_from_cell(db, actor, query, col, row)
    return RedirectResponse(f"/cases/{case.ref}?flash=opened", status_code=303)
