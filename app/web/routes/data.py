"""The Data pages: police.uk imports with live progress, and boundary files."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, QueryParams, UploadFile

from app.auth.context import Actor, acting_user
from app.auth.permissions import Perm, covers_force, require
from app.bounds import ZipBounds, file_name_problem
from app.crime import counts, jobs
from app.crime.boundaries import import_boundaries
from app.crime.importer import STALE_AFTER, SourceError, expand
from app.crime.models import Area, AreaKind, ImportBatch, ImportStatus, JobStatus
from app.crime.queries import Period, batches_seen_by, coverage, data_months, month_value
from app.errors import NotFound, ValidationFailed
from app.exports import no_data
from app.reference.models import Force
from app.reference.service import get_force, list_forces
from app.sara.problem import CATEGORIES
from app.web.deps import Db, PageActor, csrf_protect
from app.web.templating import is_htmx, render

router = APIRouter(prefix="/data", dependencies=[Depends(csrf_protect)],
                   include_in_schema=False)
BatchId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
ForceId = Annotated[str, PathParam(max_length=40, pattern=r"^[a-z0-9-]+$")]
AREA_KINDS = [(k.option, k.label) for k in AreaKind]


async def upload_form(request: Request) -> AsyncIterator[FormData]:
    form = await request.form(max_files=1, max_fields=20)
    try:
        yield form
    finally:
        await form.close()  # the uploaded file's spooled temporary file


Upload = Annotated[FormData, Depends(upload_form)]


def _page(request: Request, db: Session, actor: Actor, *, errors: dict[str, str] | None = None,
          status_code: int = 200, notice: str = "", follow: str = "") -> Response:
    require(acting_user(actor), Perm.CASE_READ)
    user = actor.user
    assert user is not None
    batches = list(db.scalars(select(ImportBatch).where(batches_seen_by(user))
                              .order_by(ImportBatch.id.desc()).limit(60)))
    running = any(b.status is ImportStatus.RUNNING for b in batches)
    unfinished, refused = jobs.jobs_of(db, user.id)
    forces = {f.id: f.label for f in list_forces(db)}
    context = {
        "active_nav": "data", "batches": batches, "errors": errors or {},
        "running": running or bool(follow) or bool(unfinished),
        "queued": [j for j in unfinished if j.status is JobStatus.QUEUED],
        "refused_jobs": refused,
        "poll_url": f"/data?{follow}" if follow else "/data",
        "area_kinds": AREA_KINDS, "notice": notice, "force_names": forces,
        "coverage": [c for c in coverage(db) if covers_force(user, c.force.id)],
        "force_options": sorted(((f, name) for f, name in forces.items()
                                 if covers_force(user, f)), key=lambda item: item[1]),
        "area_counts": _area_counts(db),
    }
    if is_htmx(request):
        return render(request, "data/imports.html", context, block="batches")
    return render(request, "data/imports.html", context, status_code=status_code)


def _area_counts(db: Session) -> list[str]:
    """How many boundaries of each kind: "1 local authority", "25 wards"."""
    counts: dict[AreaKind, int] = {kind: n for kind, n in db.execute(
        select(Area.kind, func.count()).group_by(Area.kind))}
    return [kind.count(counts[kind]) for kind in AreaKind if counts.get(kind)]


@router.get("")
def imports_page(request: Request, actor: PageActor, db: Db,
                 started: Annotated[int, Query(ge=0, le=10_000)] = 0,
                 after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
                 at: Annotated[int, Query(ge=0, le=2**40)] = 0) -> Response:
    notice = (f"Import started: {started} file{'s' if started != 1 else ''}. Progress shows "
              "below; you can leave this page.") if started else ""
    follow = f"started={started}&after={after}&at={at}" \
        if started and _not_yet_begun(db, actor, started, after, at) else ""
    return _page(request, db, actor, notice=notice, follow=follow)


def _not_yet_begun(db: Session, actor: Actor, started: int, after: int, at: int) -> bool:
    """Whether some of the files this user uploaded (at ``at``, in Unix seconds) have no batch
    yet: the background import opens one batch per file, so the page keeps following until all
    have begun, or until an import that never began counts as dead."""
    if actor.user is None or time.time() - at > STALE_AFTER.total_seconds():
        return False
    begun = db.scalar(select(func.count()).select_from(ImportBatch).where(
        ImportBatch.id > after, ImportBatch.user_id == actor.user.id)) or 0
    return begun < started


@router.post("/police-uk")
def upload_police_uk(request: Request, actor: PageActor, db: Db, form: Upload) -> Response:
    """Save the upload, then import it in the background: the batches record the progress,
    so this page (from any server process) can follow it."""
    require(acting_user(actor), Perm.DATA_IMPORT)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(request, db, actor, errors={"file": "Choose a CSV or zip file."},
                     status_code=422)
    force = str(form.get("force") or "").strip() or None
    if force and (db.get(Force, force) is None
                  or not covers_force(acting_user(actor), force)):
        return _page(request, db, actor, errors={"force": "Choose a force from the list."},
                     status_code=422)
    if problem := file_name_problem(upload.filename):
        return _page(request, db, actor, errors={"file": problem}, status_code=400)
    settings = request.app.state.settings
    limit = settings.max_upload_mb * 1024 * 1024
    if (upload.size or 0) > limit:  # the body limit stops any upload much larger than this
        return _page(request, db, actor, status_code=422, errors={
            "file": f"The file is larger than {limit // 1024 // 1024} MB: import it with "
                    "`popcase import police-uk` instead."})
    path: Path | None = None
    try:
        path = jobs.save_file(settings, upload.filename, upload.file)
        sources = expand([path], ZipBounds.of(settings))
    except SourceError as exc:
        jobs.remove_file(path or "")
        return _page(request, db, actor, errors={"file": str(exc)}, status_code=422)
    except BaseException:
        jobs.remove_file(path or "")
        raise
    if not sources:
        jobs.remove_file(path)
        return _page(request, db, actor, status_code=422,
                     errors={"file": "The zip archive holds no CSV files."})
    last_batch = db.scalar(select(func.max(ImportBatch.id))) or 0
    # Queued in the database for any worker; the commit also ends this request's transaction,
    # which on SQLite holds the write lock the import needs.
    job = jobs.queue_file(db, actor, path, force_id=force)
    _start(request, job.id)
    follow = f"started={len(sources)}&after={last_batch}&at={int(time.time())}"
    return RedirectResponse(f"/data?{follow}", status_code=303)


def _start(request: Request, job_id: int) -> None:
    """Wakes this process's worker loop, if it runs one; tests may run the job themselves."""
    state = request.app.state
    runner: Callable[[Callable[[], None]], None] | None = getattr(
        state, "run_in_background", None)
    if runner is not None:
        runner(lambda: jobs.run_queued(state.session_factory, state.settings, job_id))
    elif (loop := getattr(state, "import_worker", None)) is not None:
        loop.wake()


@router.post("/boundaries")
def upload_boundaries(request: Request, actor: PageActor, db: Db, form: Upload) -> Response:
    require(acting_user(actor), Perm.DATA_IMPORT)
    upload = form.get("boundary_file")
    kind = AreaKind.from_option(str(form.get("kind") or ""))
    errors = {}
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["boundary_file"] = "Choose a GeoJSON file."
    if kind is None:
        errors["kind"] = "Choose what the boundaries are."
    if errors:
        return _page(request, db, actor, errors=errors, status_code=422)
    assert isinstance(upload, UploadFile)
    if problem := file_name_problem(upload.filename or ""):
        return _page(request, db, actor, errors={"boundary_file": problem}, status_code=400)
    limit = request.app.state.settings.boundary_max_mb * 1024 * 1024
    content = upload.file.read(limit + 1)
    if len(content) > limit:
        return _page(request, db, actor, status_code=422, errors={
            "boundary_file": f"Boundary files are limited to {limit // (1024 * 1024)} MB."})
    assert kind is not None
    report = import_boundaries(db, actor, upload.filename or "", content, kind,
                               code_field=str(form.get("code_field") or "").strip() or None,
                               name_field=str(form.get("name_field") or "").strip() or None)
    return RedirectResponse(f"/data/imports/{report.batch_id}", status_code=303)


@router.get("/forces/{force_id}")
def force_counts_page(request: Request, actor: PageActor, db: Db, force_id: ForceId) -> Response:
    """A force's crime counted by local policing area, month by month."""
    return _force_counts(request, db, actor, force_id)


@router.get("/forces/{force_id}/counts.csv")
def force_counts_download(request: Request, actor: PageActor, db: Db,
                          force_id: ForceId) -> Response:
    """The same counts as CSV (a month without data: an empty count, "no data" beside it);
    a period the page would refuse shows the page with its error instead."""
    try:
        found = counts.force_counts(db, actor, force_id, _period(request.query_params),
                                    _categories(request.query_params))
    except ValidationFailed:
        db.rollback()
        return _force_counts(request, db, actor, force_id)
    name = f"{found.force.id}-crime-{found.period.first:%Y-%m}-to-{found.period.last:%Y-%m}.csv"
    return Response(no_data.force_counts_csv(found), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


def _force_counts(request: Request, db: Session, actor: Actor, force_id: str) -> Response:
    params = request.query_params
    errors: dict[str, str] = {}
    categories = _categories(params)
    found = None
    try:
        found = counts.force_counts(db, actor, force_id, _period(params), categories)
    except ValidationFailed as exc:  # say why, and show the force's whole data instead
        db.rollback()
        errors = {e.field: e.message for e in exc.errors}
        if data_months(db, force_id) is not None:
            found = counts.force_counts(db, actor, force_id)
    span = data_months(db, force_id)
    return render(request, "data/force.html", {
        "active_nav": "data", "counts": found, "errors": errors, "force": get_force(db, force_id),
        "month_options": [(f"{m:%Y-%m}", f"{m:%b %Y}") for m in span.months()] if span else [],
        "categories": list(CATEGORIES.items()), "chosen": categories,
        "csv_url": f"/data/forces/{force_id}/counts.csv"
                   + (f"?{request.url.query}" if request.url.query and not errors else ""),
    }, status_code=422 if errors else 200)


def _categories(params: QueryParams) -> list[str]:
    return sorted({c for c in params.getlist("category") if c})


def _period(params: QueryParams) -> Period | None:
    if not (params.get("first") and params.get("last")):
        return None
    period = Period(month_value(params.get("first", ""), "first"),
                    month_value(params.get("last", ""), "last"))
    if period.first > period.last:
        raise ValidationFailed.one("last", "The period must end after it starts.")
    return period


@router.get("/imports/{batch_id}")
def import_page(request: Request, actor: PageActor, db: Db, batch_id: BatchId) -> Response:
    user = actor.user
    assert user is not None
    require(user, Perm.CASE_READ)
    batch = db.scalar(select(ImportBatch).where(ImportBatch.id == batch_id,
                                                batches_seen_by(user)))
    if batch is None:
        raise NotFound(f"There is no import {batch_id}.")
    context = {"active_nav": "data", "batch": batch}
    if is_htmx(request):
        return render(request, "data/import.html", context, block="report")
    return render(request, "data/import.html", context)
