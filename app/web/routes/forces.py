"""The admin's Forces pages: each force's local policing areas, set up from boundary files,
their case reference prefixes, and the force's review cadence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from app.auth.context import Actor, acting_user
from app.auth.models import User
from app.auth.permissions import Perm, covers_force, require
from app.auth.roles import Role
from app.bounds import file_name_problem
from app.crime.boundaries import import_boundaries
from app.crime.models import Area, AreaKind, ImportBatch
from app.crime.queries import coverage
from app.errors import NotFound, ValidationFailed
from app.reference import service
from app.reference.models import Ward
from app.retention import service as retention
from app.retention.schemas import PeriodsChange
from app.reviews import service as reviews
from app.reviews.schemas import CadenceChange
from app.sara.problem import CATEGORIES
from app.sara.retention import months_problem
from app.validation import validate
from app.web import forms
from app.web.deps import Db, PageActor, csrf_protect
from app.web.templating import render

router = APIRouter(prefix="/admin/forces", dependencies=[Depends(csrf_protect)],
                   include_in_schema=False)
ForceId = Annotated[str, Path(max_length=40, pattern=r"^[a-z0-9-]+$")]
AreaCode = Annotated[str, Path(max_length=9, pattern=r"^[A-Z0-9]+$")]
SETUP_KINDS = [("local-authority", "Local authorities: they become the force's local "
                                   "policing areas"),
               ("ward", "Wards: they become the wards of its areas")]


async def upload_form(request: Request) -> AsyncIterator[FormData]:
    form = await request.form(max_files=1, max_fields=10)
    try:
        yield form
    finally:
        await form.close()


Upload = Annotated[FormData, Depends(upload_form)]


async def form_data(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


@router.get("")
def forces_page(request: Request, actor: PageActor, db: Db) -> Response:
    require(acting_user(actor), Perm.FORCE_MANAGE)
    covered = {c.force.id: c for c in coverage(db)}
    return render(request, "admin/forces.html", {
        "active_nav": "forces", "forces": service.list_forces(db), "coverage": covered})


@router.get("/{force_id}")
def force_page(request: Request, actor: PageActor, db: Db, force_id: ForceId,
               imported: int = 0, flash: str = "") -> Response:
    return _force_page(request, db, actor, force_id, imported=imported, flash=flash)


def _force_page(request: Request, db: Session, actor: Actor, force_id: str, *,
                imported: int = 0, errors: dict[str, str] | None = None,
                prefix_errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                cadence_errors: dict[str, str] | None = None, flash: str = "",
                retention_errors: dict[str, str] | None = None,
                status_code: int = 200) -> Response:
    require(acting_user(actor), Perm.FORCE_MANAGE)
    force = service.get_force(db, force_id)
    areas = service.list_boroughs(db, force.id)
    codes = [a.code for a in areas]
    wards = {code: n for code, n in db.execute(select(Ward.borough_code, func.count()).where(
        Ward.borough_code.in_(codes)).group_by(Ward.borough_code))}
    bounded = set(db.scalars(select(Area.code).where(Area.kind == AreaKind.BOROUGH,
                                                     Area.code.in_(codes))))
    batch = db.get(ImportBatch, imported) if imported else None
    every_force = list(db.scalars(select(User).where(
        User.force_id.is_(None), User.active.is_(True), User.role != Role.ADMIN)
        .order_by(User.username)))
    return render(request, "admin/force.html", {
        "every_force": every_force,
        "active_nav": "forces", "force": force, "areas": areas, "wards": wards,
        "bounded": bounded, "batch": batch if batch and batch.force_id == force.id else None,
        "errors": errors or {}, "prefix_errors": prefix_errors or {}, "values": values or {},
        "prefix_summary": {f"prefix-{code}": message
                           for code, message in (prefix_errors or {}).items()},
        "setup_kinds": SETUP_KINDS,
        "cadence": reviews.read_cadence(db, actor, force.id),
        "cadence_errors": cadence_errors or {}, "cadence_values": values or {},
        "may_set_cadence": covers_force(acting_user(actor), force.id),
        "flash": "The review cadence is saved." if flash == "cadence" else "",
        "retention": retention.read_periods(db, actor, force.id),
        "retention_errors": retention_errors or {}, "categories": CATEGORIES,
        "retention_flash": "The retention periods are saved." if flash == "retention" else "",
    }, status_code=status_code)


@router.post("/{force_id}/boundaries")
def set_up_areas(request: Request, actor: PageActor, db: Db, form: Upload,
                 force_id: ForceId) -> Response:
    require(acting_user(actor), Perm.FORCE_MANAGE)
    force = service.get_force(db, force_id)
    upload, kind = form.get("boundary_file"), AreaKind.from_option(forms.text(form, "kind"))
    errors = {}
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["boundary_file"] = "Choose a GeoJSON file of the force's boundaries."
    if kind not in (AreaKind.BOROUGH, AreaKind.WARD):
        errors["kind"] = "Choose what the boundaries are."
    if errors:
        return _force_page(request, db, actor, force.id, errors=errors, status_code=422,
                           values=dict(form))
    assert isinstance(upload, UploadFile) and kind is not None
    if problem := file_name_problem(upload.filename or ""):
        return _force_page(request, db, actor, force.id, errors={"boundary_file": problem},
                           status_code=400, values=dict(form))
    limit = request.app.state.settings.boundary_max_mb * 1024 * 1024
    content = upload.file.read(limit + 1)
    if len(content) > limit:
        return _force_page(request, db, actor, force.id, status_code=422, errors={
            "boundary_file": f"Boundary files are limited to {limit // (1024 * 1024)} MB: "
                             "import a larger one with popcase import boundaries."})
    report = import_boundaries(db, actor, upload.filename or "", content, kind,
                               force_id=force.id)
    return RedirectResponse(f"/admin/forces/{force.id}?imported={report.batch_id}#imported",
                            status_code=303)


@router.post("/{force_id}/areas/{code}/prefix")
def change_prefix(request: Request, actor: PageActor, db: Db, form: Form, force_id: ForceId,
                  code: AreaCode) -> Response:
    require(acting_user(actor), Perm.FORCE_MANAGE)
    known = service.get_borough(db, code)
    if known is None or known.force_id != service.get_force(db, force_id).id:
        raise NotFound(f"{code} is not a local policing area of {force_id}.")
    try:
        area = service.change_prefix(db, actor, code, forms.text(form, "ref_prefix"))
    except ValidationFailed as exc:
        db.rollback()
        return _force_page(request, db, actor, force_id, status_code=422,
                           prefix_errors={code: exc.errors[0].message},
                           values={f"prefix-{code}": forms.text(form, "ref_prefix")})
    return RedirectResponse(f"/admin/forces/{area.force_id}#area-{area.code}", status_code=303)


@router.post("/{force_id}/review-cadence")
def change_review_cadence(request: Request, actor: PageActor, db: Db, form: Form,
                          force_id: ForceId) -> Response:
    try:
        reviews.change_cadence(db, actor, force_id,
                               validate(CadenceChange, forms.cadence_payload(form)))
    except ValidationFailed as exc:
        db.rollback()
        return _force_page(request, db, actor, force_id, status_code=422, values=dict(form),
                           cadence_errors=forms.prefixed(exc.errors, "cadence", list(form)))
    return RedirectResponse(f"/admin/forces/{force_id}?flash=cadence#review-cadence",
                            status_code=303)


@router.post("/{force_id}/retention-periods")
def change_retention_periods(request: Request, actor: PageActor, db: Db, form: Form,
                             force_id: ForceId) -> Response:
    months, errors = {}, {}
    for category in CATEGORIES:
        value = forms.whole_number(form, f"retention-{category}")
        problem = (months_problem(value) if isinstance(value, int)
                   else f"Enter the months for {category} as a whole number.")
        if problem:
            errors[f"retention-{category}"] = f"{category}: {problem}"
        elif isinstance(value, int):
            months[category] = value
    if errors:
        return _force_page(request, db, actor, force_id, status_code=422, values=dict(form),
                           retention_errors=errors)
    retention.change_periods(db, actor, force_id, PeriodsChange(months=months))
    return RedirectResponse(f"/admin/forces/{force_id}?flash=retention#retention",
                            status_code=303)
