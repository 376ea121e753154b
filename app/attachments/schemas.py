"""Attachments over JSON (the pages validate their fields with the same)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.attachments.models import AttachmentKind, Phase
from app.cases.schemas import Input
from app.sara.stages import Stage


class AttachmentCreate(Input):
    """The fields sent beside the file (multipart/form-data)."""

    caption: str = Field(min_length=1, max_length=500,
                         description="What the photo or document shows")
    phase: Phase | None = Field(None, description="For photos: before or after the response")
    action: int | None = Field(None, ge=1, le=2**31 - 1,
                               description="The id of one of the case's actions it belongs to")
    patrol: int | None = Field(None, ge=1, le=2**31 - 1,
                               description="The id of one of the case's patrols it belongs to")


class AttachmentLinks(BaseModel):
    file: str = Field(description="The copy shown and exported (a photo without its location "
                                  "and camera metadata; a document itself)")
    thumbnail: str | None
    original: str = Field(description="The file exactly as received (the case's officers and "
                                      "supervisors)")


class AttachmentRead(BaseModel):
    id: int
    ref: str
    kind: AttachmentKind
    phase: Phase | None
    caption: str
    stage: Stage = Field(description="The case's stage when it was added")
    added_at: datetime
    added_by: str | None
    added_by_name: str | None
    original_name: str = Field(description="As the sender named it (display only)")
    content_type: str = Field(description="Found from the file's content")
    size: int = Field(description="Bytes, as received")
    sha256: str = Field(description="SHA-256 of the file as received")
    shown_sha256: str = Field(description="SHA-256 of the copy shown and exported")
    width: int | None
    height: int | None
    action: int | None
    patrol: int | None
    supersedes: int | None = Field(description="The attachment this one corrects")
    superseded_by: int | None = Field(description="The correction that replaced it, if any")
    links: AttachmentLinks
