"""Attachment use cases: add one (or a correction that supersedes another), list a case's,
read one, and download a file. Each is one transaction with its access-log entry; every
download goes through the case's permission check and into the access log.

Who may do what: the case's officers and supervisors add attachments and download originals
(the evidence, with camera metadata and location); everyone who reads the case sees the
shown copies and thumbnails.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.attachments import content
from app.attachments.models import Attachment, AttachmentKind
from app.attachments.schemas import AttachmentCreate, AttachmentLinks, AttachmentRead
from app.attachments.storage import Received, Store
from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.auth.permissions import Perm
from app.cases.access import acting_user, case_for, ensure_open
from app.cases.models import Action, Case, EventKind
from app.db import utcnow
from app.errors import NotFound, ValidationFailed
from app.patrols.models import Patrol
from app.usecase import UseCase, use_case


class Variant(StrEnum):
    FILE = "file"  # the copy shown and exported
    THUMBNAIL = "thumbnail"
    ORIGINAL = "original"


@dataclass(frozen=True)
class Download:
    path: Path
    media_type: str
    filename: str
    inline: bool


def check_can_add(db: Session, actor: Actor, ref: str) -> Case:
    """Before a byte of the upload is read: whether this person may add to this case."""
    case = case_for(db, actor, ref, Perm.ATTACHMENT_ADD)
    ensure_open(case)
    return case


def add_attachment(db: Session, actor: Actor, ref: str, data: AttachmentCreate,
                   received: Received, store: Store, *, original_name: str = "",
                   limits: content.Limits, supersedes: int | None = None) -> Attachment:
    """Keep the file, its shown copy and thumbnail, the row, a timeline event and the
    access-log entry. If anything fails the row is not written; files new to the store are
    removed unless another attachment already refers to them."""
    user = acting_user(actor)
    case = check_can_add(db, actor, ref)
    created: list[str] = []
    try:
        _check_links(db, case, data)
        old = _superseded(db, case, supersedes) if supersedes is not None else None
        try:
            found = content.sniff(received.head)
            copies = content.inspect(received.path, found, limits)
        except content.Refused as exc:
            raise ValidationFailed.one("file", str(exc)) from None
        if data.phase is not None and found.kind is AttachmentKind.DOCUMENT:
            raise ValidationFailed.one("phase", "Before and after are for photos: leave it "
                                                "empty for a document.")
        with use_case(db, actor, AuditAction.ATTACHMENT_ADD, case=case) as done:
            attachment = Attachment(
                case_id=case.id, action_id=data.action, patrol_id=data.patrol, added_at=utcnow(),
                added_by_id=user.id, caption=data.caption, stage=case.stage, kind=found.kind,
                phase=data.phase, original_name=_display_name(original_name),
                content_type=found.content_type, size=received.size, sha256=received.sha256,
                shown_sha256=received.sha256, width=copies.width, height=copies.height,
                supersedes_id=old.id if old else None)
            _store_files(store, received, copies, attachment, created)
            db.add(attachment)
            done.flush()
            _log_added(done, attachment, old)
    except BaseException:
        db.rollback()  # the block rolled back already, unless its commit failed
        received.discard()
        _clean(db, store, created)
        raise
    return attachment


def _store_files(store: Store, received: Received, copies: content.Copies,
                 attachment: Attachment, created: list[str]) -> None:
    digest, new = store.keep(received)
    if new:
        created.append(digest)
    if copies.shown is not None:
        attachment.shown_sha256, new = store.put(copies.shown)
        if new:
            created.append(attachment.shown_sha256)
    if copies.thumbnail is not None:
        attachment.thumb_sha256, new = store.put(copies.thumbnail)
        if new:
            created.append(attachment.thumb_sha256)


def _log_added(done: UseCase, attachment: Attachment, old: Attachment | None) -> None:
    what = "Photo" if attachment.kind is AttachmentKind.PHOTO else "Document"
    phase = f" ({attachment.phase.value})" if attachment.phase else ""
    summary = f"{what}{phase} added: {attachment.caption}"
    if old is not None:
        summary = f"{what}{phase} corrected (replaces #{old.id}): {attachment.caption}"
    details = {"attachment": attachment.id, "sha256": attachment.sha256,
               "kind": attachment.kind.value, "supersedes": old.id if old else None}
    done.event(EventKind.ATTACHMENT, summary, details=details)
    done.details = details | {"size": attachment.size}


def _clean(db: Session, store: Store, digests: list[str]) -> None:
    """Files this failed request added, unless a committed attachment uses the same bytes."""
    for digest in digests:
        used = db.scalar(select(Attachment.id).where(or_(
            Attachment.sha256 == digest, Attachment.shown_sha256 == digest,
            Attachment.thumb_sha256 == digest)).limit(1))
        if used is None:
            store.remove(digest)
    db.rollback()


def _display_name(name: str) -> str:
    # Only the last part of a path, without control characters: it is shown, never opened.
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:255] or "unnamed"


def _check_links(db: Session, case: Case, data: AttachmentCreate) -> None:
    if data.action is not None and db.scalar(select(Action.id).where(
            Action.id == data.action, Action.case_id == case.id)) is None:
        raise ValidationFailed.one("action", f"Choose one of {case.ref}'s actions.")
    if data.patrol is not None and db.scalar(select(Patrol.id).where(
            Patrol.id == data.patrol, Patrol.case_id == case.id)) is None:
        raise ValidationFailed.one("patrol", f"Choose one of {case.ref}'s patrols.")


def _superseded(db: Session, case: Case, attachment_id: int) -> Attachment:
    old = _attachment(db, case, attachment_id)
    if db.scalar(select(Attachment.id).where(Attachment.supersedes_id == old.id)) is not None:
        raise ValidationFailed.one("supersedes", "That attachment has already been corrected: "
                                                 "correct the latest version instead.")
    return old


def _attachment(db: Session, case: Case, attachment_id: int) -> Attachment:
    found = db.scalar(select(Attachment).where(Attachment.id == attachment_id,
                                               Attachment.case_id == case.id))
    if found is None:
        raise NotFound(f"{case.ref} has no attachment {attachment_id}.")
    return found


# --- reading --------------------------------------------------------------------------------

def case_attachments(db: Session, case: Case) -> list[Attachment]:
    """Oldest first. The caller has already read the case through ``case_for``."""
    return list(db.scalars(select(Attachment).where(Attachment.case_id == case.id)
                           .order_by(Attachment.added_at, Attachment.id)))


def list_attachments(db: Session, actor: Actor, ref: str) -> tuple[Case, list[Attachment]]:
    case = case_for(db, actor, ref)
    found = case_attachments(db, case)
    record_read(db, actor, AuditAction.ATTACHMENTS_VIEW, object_type="case",
                object_ref=case.ref, details={"attachments": len(found)})
    return case, found


def get_attachment(db: Session, actor: Actor, ref: str,
                   attachment_id: int) -> tuple[Case, Attachment, int | None]:
    case = case_for(db, actor, ref)
    found = _attachment(db, case, attachment_id)
    record_read(db, actor, AuditAction.ATTACHMENTS_VIEW, object_type="case",
                object_ref=case.ref, details={"attachment": found.id})
    return case, found, superseded_by(db, found)


def superseded_by(db: Session, attachment: Attachment) -> int | None:
    return db.scalar(select(Attachment.id).where(Attachment.supersedes_id == attachment.id))


def download(db: Session, actor: Actor, ref: str, attachment_id: int, variant: Variant,
             store: Store) -> Download:
    """The file, once the reader's permission is checked and the download logged. Originals
    (with their metadata) only for those who may add attachments: the case's officers and
    supervisors."""
    perm = Perm.ATTACHMENT_ORIGINAL if variant is Variant.ORIGINAL else Perm.CASE_READ
    case = case_for(db, actor, ref, perm)
    attachment = _attachment(db, case, attachment_id)
    digest, media_type = _variant(attachment, variant)
    record_read(db, actor, AuditAction.ATTACHMENT_DOWNLOAD, object_type="case",
                object_ref=case.ref, details={"attachment": attachment.id,
                                              "variant": variant.value, "sha256": digest})
    path = store.path_of(digest)
    if not path.is_file() and case.disposed_at is not None:
        raise NotFound(f"The file of attachment {attachment.id} was erased when {case.ref}'s "
                       "personal data was disposed of.")
    if not path.is_file():
        raise NotFound(f"The file of attachment {attachment.id} is missing from the store: "
                       "tell the administrator.")
    suffix = {Variant.FILE: "", Variant.THUMBNAIL: "-thumbnail",
              Variant.ORIGINAL: "-original"}[variant]
    extension = content.EXTENSIONS.get(media_type, "bin")
    return Download(path, media_type, f"{case.ref}-attachment-{attachment.id}{suffix}."
                                      f"{extension}", inline=variant is not Variant.ORIGINAL)


def _variant(attachment: Attachment, variant: Variant) -> tuple[str, str]:
    if variant is Variant.ORIGINAL:
        return attachment.sha256, attachment.content_type
    if variant is Variant.THUMBNAIL:
        if attachment.thumb_sha256 is None:
            raise NotFound(f"Attachment {attachment.id} is a document: it has no thumbnail.")
        return attachment.thumb_sha256, "image/jpeg"
    return attachment.shown_sha256, shown_type(attachment)


def shown_type(attachment: Attachment) -> str:
    """A PNG is shown as a PNG, a JPEG or HEIC photo as JPEG, a document as itself."""
    if attachment.kind is AttachmentKind.DOCUMENT or attachment.content_type == "image/png":
        return attachment.content_type
    return "image/jpeg"


def attachment_read(attachment: Attachment, ref: str, superseded: int | None,
                    base: str = "/api/v1") -> AttachmentRead:
    url = f"{base}/cases/{ref}/attachments/{attachment.id}"
    user = attachment.added_by
    return AttachmentRead(
        id=attachment.id, ref=ref, kind=attachment.kind, phase=attachment.phase,
        caption=attachment.caption, stage=attachment.stage, added_at=attachment.added_at,
        added_by=user.username if user else None, added_by_name=user.display_name if user
        else None, original_name=attachment.original_name,
        content_type=attachment.content_type, size=attachment.size, sha256=attachment.sha256,
        shown_sha256=attachment.shown_sha256, width=attachment.width, height=attachment.height,
        action=attachment.action_id, patrol=attachment.patrol_id,
        supersedes=attachment.supersedes_id, superseded_by=superseded,
        links=AttachmentLinks(file=f"{url}/file", original=f"{url}/original",
                              thumbnail=f"{url}/thumbnail" if attachment.thumb_sha256
                              else None))


def superseded_ids(attachments: list[Attachment]) -> dict[int, int]:
    """Which attachment (by id) each correction replaced: old id to new id."""
    return {a.supersedes_id: a.id for a in attachments if a.supersedes_id is not None}
