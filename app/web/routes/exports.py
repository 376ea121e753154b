"""Case file downloads from the case page and the operation page (evaluators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from app.attachments.http import store_of
from app.cases.access import case_for
from app.errors import ValidationFailed
from app.exports import service
from app.operations.service import get_operation
from app.web import forms
from app.web.case_page import render_case
from app.web.deps import Db, Form, PageActor, Ref, csrf_protect
from app.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
OperationId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def download(export: service.Export) -> Response:
    return Response(export.content, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{export.filename}"',
        "Cache-Control": "no-store"})


@router.post("/cases/{ref}/export")
def export_case(request: Request, actor: PageActor, db: Db, form: Form, ref: Ref) -> Response:
    reason, redacted = forms.text(form, "export-reason"), forms.text(form, "redact") == "yes"
    photos = forms.text(form, "redact-photos") == "yes"
    try:
        return download(service.export_case(db, actor, ref, reason=reason, redacted=redacted,
                                            photos=photos, store=store_of(request)))
    except ValidationFailed as exc:
        db.rollback()
        case = case_for(db, actor, ref)
        return render_case(request, db, actor, case, status_code=422,
                           export_errors=forms.prefixed(exc.errors, "export"),
                           export_values={"export-reason": reason, "redact": redacted,
                                          "redact-photos": photos})


@router.post("/operations/{operation_id}/export")
def export_operation(request: Request, actor: PageActor, db: Db, form: Form,
                     operation_id: OperationId) -> Response:
    operation = get_operation(db, actor, operation_id)
    reason, redacted = forms.text(form, "export-reason"), forms.text(form, "redact") == "yes"
    try:
        return download(service.export_operation(db, actor, operation, reason=reason,
                                                 redacted=redacted))
    except ValidationFailed as exc:
        db.rollback()
        return render(request, "errors/error.html", {
            "heading": "The bundle was not exported",
            "message": " ".join(e.message for e in exc.errors)}, status_code=422)
