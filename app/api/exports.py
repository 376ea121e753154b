"""Case files over the API: a case's, an operation's bundle, and the case file's schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BeforeValidator

from app.api.cases import Ref
from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES
from app.attachments.http import store_of
from app.cases.access import acting_user
from app.exports import service
from app.exports.files import published_schema
from app.operations.service import get_operation
from app.validation import refuse_nul

router = APIRouter(tags=["case files"], responses=ERROR_RESPONSES)
# NUL refused like in every body (PostgreSQL cannot store it in the access log's text).
Reason = Annotated[str, BeforeValidator(refuse_nul), Query(min_length=3, max_length=2000,
                              description="Why the file is disclosed, and to whom: it goes "
                                          "into the access log")]
Redact = Annotated[bool, Query(description="Replace officers' and members of the public's "
                                           "names and personal details with placeholders")]
Photos = Annotated[bool, Query(description="With redact: carry the photos too (they are not "
                                           "redacted; left out unless asked). Documents are "
                                           "left out of a redacted file")]
ZIP: dict[int | str, dict[str, Any]] = {200: {
    "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    "description": "The zip"}}


def _zip(export: service.Export) -> Response:
    return Response(export.content, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{export.filename}"'})


@router.get("/cases/{ref}/export", response_class=Response, responses=ZIP,
            summary="The case file: manifest, case.json, CSVs and report.html, zipped")
def export_case(request: Request, actor: ApiActor, db: Db, ref: Ref, reason: Reason,
                redact: Redact = False, photos: Photos = False) -> Response:
    """Evaluators only (the access matrix). The manifest holds a SHA-256 for every other
    file; case.json follows the schema at /api/v1/schemas/case-file.json. Attachments are
    carried under their checksums (attachments/<sha256>.<ext>)."""
    return _zip(service.export_case(db, actor, ref, reason=reason, redacted=redact,
                                    photos=photos, store=store_of(request)))


@router.get("/operations/{operation_id}/export", response_class=Response, responses=ZIP,
            tags=["operations and oversight"],
            summary="The operation's bundle: every case file and the evaluation table")
def export_operation(actor: ApiActor, db: Db,
                     operation_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                     reason: Reason, redact: Redact = False) -> Response:
    acting_user(actor)
    operation = get_operation(db, actor, operation_id)
    return _zip(service.export_operation(db, actor, operation, reason=reason,
                                         redacted=redact))


@router.get("/schemas/case-file.json", summary="The JSON Schema of a case file's case.json",
            response_class=JSONResponse, responses={200: {
                "content": {"application/schema+json": {"schema": {"type": "object"}}},
                "description": "A JSON Schema (draft 2020-12)"}})
def case_file_schema(actor: ApiActor) -> JSONResponse:
    return JSONResponse(published_schema(), media_type="application/schema+json")
