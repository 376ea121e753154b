"""An attachment: a photo or document on a case, kept with its SHA-256 and never altered."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.db import Base, utcnow
from app.enums import str_enum
from app.sara.stages import Stage


class AttachmentKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"


class Phase(StrEnum):
    """A photo of the place before the response, or after it."""

    BEFORE = "before"
    AFTER = "after"


class Attachment(Base):
    """One file as it was received. Nothing here changes after the insert: a correction is a
    new attachment whose ``supersedes_id`` names this one, which stays listed."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id"))
    patrol_id: Mapped[int | None] = mapped_column(ForeignKey("patrols.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    caption: Mapped[str] = mapped_column(String(500))
    # The case's stage when it was added.
    stage: Mapped[Stage] = mapped_column(str_enum(Stage, length=20))
    kind: Mapped[AttachmentKind] = mapped_column(str_enum(AttachmentKind, length=20))
    phase: Mapped[Phase | None] = mapped_column(str_enum(Phase, length=20))
    # As the sender named it: shown, never used as a path.
    original_name: Mapped[str] = mapped_column(String(255))
    # Found by reading the file's first bytes, never from its name or the request.
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # The copy shown and exported: a photo re-encoded without its metadata; a PDF's is itself.
    shown_sha256: Mapped[str] = mapped_column(String(64))
    thumb_sha256: Mapped[str | None] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"),
                                                      unique=True)

    added_by: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (Index("ix_attachments_case_added", "case_id", "added_at"),)
