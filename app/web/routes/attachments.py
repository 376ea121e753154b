"""Attachments on the case page: add a photo (a phone opens its camera) or a PDF, correct
one with a new file, and the files themselves, each download checked and logged.

Uploads are read as they stream (the size limit applies while they arrive), so these routes
check the CSRF token themselves, from the field the form sends before the file.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from app.attachments import http, service
from app.attachments.upload import Upload
from app.auth.context import Actor
from app.cases.access import case_for, normalise_ref
from app.errors import FieldError, ValidationFailed
from app.web.attachments import FORMS, form_errors, form_payload
from app.web.case_page import render_case
from app.web.deps import Db, PageActor, Ref, check_streamed_csrf, redirect

router = APIRouter(include_in_schema=False)
AttachmentId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _form_of(upload: Upload) -> str:
    form = upload.fields.get("form", "")
    return form if form in FORMS or form.startswith("correct-") else "photo"


def _page_payload(upload: Upload) -> dict[str, object]:
    values: dict[str, object] = dict(form_payload(upload.fields, _form_of(upload)))
    for name in ("phase", "action", "patrol"):
        values[name] = values[name] or None
    return values


async def _add(request: Request, actor: Actor, db: Db, ref: str,
               supersedes: int | None = None) -> Response:
    seen: dict[str, str] = {}

    def csrf(fields: dict[str, str]) -> None:
        seen.update(fields)
        check_streamed_csrf(request, fields)

    try:
        await http.add(request, db, actor, ref, supersedes=supersedes, before_file=csrf,
                       payload_of=_page_payload)
    except ValidationFailed as exc:
        form = _form_of(Upload(fields=seen))
        return await run_in_threadpool(_failed, request, db, actor, ref, form, seen,
                                       exc.errors)
    return redirect(f"/cases/{normalise_ref(ref)}?flash=attached#attachments")


def _failed(request: Request, db: Db, actor: Actor, ref: str, form: str,
            fields: dict[str, str], errors: list[FieldError]) -> Response:
    db.rollback()
    case = case_for(db, actor, ref)
    values = {k: v for k, v in fields.items() if k != "csrf_token"}
    return render_case(request, db, actor, case, status_code=422,
                       attachment_errors=form_errors(errors, form), attachment_values=values,
                       attachment_form=form)


@router.post("/cases/{ref}/attachments")
async def add_attachment(request: Request, actor: PageActor, db: Db, ref: Ref) -> Response:
    return await _add(request, actor, db, ref)


@router.post("/cases/{ref}/attachments/{attachment_id}/supersede")
async def supersede_attachment(request: Request, actor: PageActor, db: Db, ref: Ref,
                               attachment_id: AttachmentId) -> Response:
    return await _add(request, actor, db, ref, supersedes=attachment_id)


@router.get("/cases/{ref}/attachments/{attachment_id}/{variant}")
def download(request: Request, actor: PageActor, db: Db, ref: Ref,
             attachment_id: AttachmentId, variant: service.Variant) -> FileResponse:
    return http.file_response(service.download(db, actor, ref, attachment_id, variant,
                                               http.store_of(request)))

