"""What the API and the pages share about attachments over HTTP: the store and limits of the
running app, reading a streamed upload into the service's input, and the download response."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.attachments import service
from app.attachments.content import Limits
from app.attachments.models import Attachment
from app.attachments.schemas import AttachmentCreate
from app.attachments.storage import Store
from app.attachments.upload import (
    FILE_FIELD,
    Upload,
    UploadProblem,
    read_upload,
    too_large_message,
)
from app.auth.context import Actor
from app.errors import ValidationFailed
from app.settings import Settings
from app.validation import validate

# For a file opened on its own: the browser's own image or PDF viewer styles its page inline;
# nothing may run, nothing may load but the file, and it may not be framed elsewhere.
FILE_CSP = ("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
            "object-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
# Room for the other fields and the multipart framing around the file.
FORM_OVERHEAD = 64 * 1024
FORM_FIELDS = ("caption", "phase", "action", "patrol")


def store_of(request: Request) -> Store:
    return Store.from_settings(request.app.state.settings)


def limits_of(settings: Settings) -> tuple[int, Limits]:
    return (settings.attachment_max_mb * 1024 * 1024,
            Limits(settings.attachment_max_pixels, settings.attachment_max_side))


async def receive(request: Request, store: Store, limit: int,
                  before_file: Callable[[dict[str, str]], None] | None = None) -> Upload:
    """The upload, refused as soon as it is known to be too large: from its declared length
    before reading anything, else while it streams."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise ValidationFailed.one(FILE_FIELD, too_large_message(limit))
    try:
        return await read_upload(request.stream(), request.headers.get("content-type", ""),
                                 store, limit, before_file)
    except UploadProblem as exc:
        if exc.status == 400:
            raise StarletteHTTPException(400, exc.message) from None
        raise ValidationFailed.one(exc.field, exc.message) from None


def payload(upload: Upload) -> dict[str, object]:
    """The form's fields as the schema takes them (an empty choice is no choice)."""
    values: dict[str, object] = {name: upload.fields.get(name, "") for name in FORM_FIELDS}
    for name in ("phase", "action", "patrol"):
        if values[name] == "":
            values[name] = None
    return values


def check_upload(upload: Upload,
                 payload_of: Callable[[Upload], dict[str, object]] = payload) -> AttachmentCreate:
    data = validate(AttachmentCreate, payload_of(upload))
    if upload.file is None:
        raise ValidationFailed.one(FILE_FIELD, "Choose a photo or document to upload.")
    return data


async def add(request: Request, db: Session, actor: Actor, ref: str, *,
              supersedes: int | None = None,
              before_file: Callable[[dict[str, str]], None] | None = None,
              payload_of: Callable[[Upload], dict[str, object]] = payload) -> Attachment:
    """Check the person may add to the case, stream the upload in, and keep it."""
    settings: Settings = request.app.state.settings
    limit, limits = limits_of(settings)
    store = store_of(request)
    await run_in_threadpool(_may_add, db, actor, ref)
    upload = await receive(request, store, limit, before_file)
    try:
        if before_file is not None:  # also when no file came at all
            before_file(upload.fields)
        data = check_upload(upload, payload_of)
        file = upload.file
        assert file is not None
        return await run_in_threadpool(
            lambda: service.add_attachment(db, actor, ref, data, file,
                                           store, original_name=upload.filename,
                                           limits=limits, supersedes=supersedes))
    finally:
        upload.discard()


def _may_add(db: Session, actor: Actor, ref: str) -> None:
    service.check_can_add(db, actor, ref)
    # No transaction stays open (nor a pooled connection held) while a slow phone uploads.
    db.rollback()


def file_response(found: service.Download) -> FileResponse:
    disposition = "inline" if found.inline else "attachment"
    return FileResponse(found.path, media_type=found.media_type, headers={
        "Content-Disposition": f"{disposition}; filename=\"{found.filename}\"; "
                               f"filename*=UTF-8''{quote(found.filename)}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
        "Content-Security-Policy": FILE_CSP})
