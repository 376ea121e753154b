"""Attachments over JSON: list, upload (multipart), read, download, correct."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse

from app.api.cases import Ref
from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES
from app.attachments import http, service
from app.attachments.schemas import AttachmentRead
from app.cases.access import normalise_ref

router = APIRouter(prefix="/cases/{ref}/attachments", tags=["attachments"],
                   responses=ERROR_RESPONSES)
AttachmentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["file", "caption"],
        "properties": {
            "file": {"type": "string", "format": "binary",
                     "description": "JPEG, PNG, HEIC or PDF: the type is read from the "
                                    "content, not the name. Limits: POPCASE_ATTACHMENT_MAX_MB, "
                                    "_MAX_PIXELS and _MAX_SIDE"},
            "caption": {"type": "string", "minLength": 1, "maxLength": 500},
            "phase": {"type": "string", "enum": ["before", "after"],
                      "description": "Photos only"},
            "action": {"type": "integer", "description": "One of the case's actions"},
            "patrol": {"type": "integer", "description": "One of the case's patrols"}}}}}}}
FILE: dict[int | str, dict[str, Any]] = {200: {"content": {
    media: {"schema": {"type": "string", "format": "binary"}}
    for media in ("image/jpeg", "image/png", "image/heic", "application/pdf")},
    "description": "The file"}}


@router.get("", response_model=list[AttachmentRead], summary="The case's photos and documents")
def list_attachments(actor: ApiActor, db: Db, ref: Ref) -> list[AttachmentRead]:
    """Oldest first; a superseded attachment stays listed with ``superseded_by``."""
    case, found = service.list_attachments(db, actor, ref)
    replaced = service.superseded_ids(found)
    return [service.attachment_read(a, case.ref, replaced.get(a.id)) for a in found]


@router.post("", response_model=AttachmentRead, status_code=201, openapi_extra=UPLOAD_BODY,
             summary="Add a photo or document to the case")
async def add_attachment(request: Request, actor: ApiActor, db: Db, ref: Ref) -> AttachmentRead:
    """The case's officers and supervisors. Photos are kept as received (SHA-256) and shown
    and exported from a copy without location and camera metadata."""
    added = await http.add(request, db, actor, ref)
    return service.attachment_read(added, normalise_ref(ref), None)


@router.get("/{attachment_id}", response_model=AttachmentRead, summary="One attachment")
def get_attachment(actor: ApiActor, db: Db, ref: Ref,
                   attachment_id: AttachmentId) -> AttachmentRead:
    case, found, replaced = service.get_attachment(db, actor, ref, attachment_id)
    return service.attachment_read(found, case.ref, replaced)


@router.post("/{attachment_id}/supersede", response_model=AttachmentRead, status_code=201,
             openapi_extra=UPLOAD_BODY, summary="Correct an attachment with a new file")
async def supersede_attachment(request: Request, actor: ApiActor, db: Db, ref: Ref,
                               attachment_id: AttachmentId) -> AttachmentRead:
    """The old attachment is never changed: it stays listed, marked superseded."""
    added = await http.add(request, db, actor, ref, supersedes=attachment_id)
    return service.attachment_read(added, normalise_ref(ref), None)


@router.get("/{attachment_id}/{variant}", response_class=FileResponse, responses=FILE,
            summary="Download a file: the shown copy, its thumbnail, or the original")
def download(request: Request, actor: ApiActor, db: Db, ref: Ref,
             attachment_id: AttachmentId, variant: service.Variant) -> FileResponse:
    """``file``: the copy shown and exported; ``thumbnail``: photos only; ``original``: as
    received, for the case's officers and supervisors. Every download is in the access log."""
    return http.file_response(service.download(db, actor, ref, attachment_id, variant,
                                               http.store_of(request)))
