from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.db import Base, utcnow
from app.enums import str_enum
from app.sara.problem import CATEGORIES, Priority

_CATEGORY_CHECK = "category IN ({})".format(", ".join(f"'{c}'" for c in CATEGORIES))


class CaseTemplate(Base):
    """A template's identity: its slug, current name and owner. Its content lives in
    immutable versions; an edit writes the next version and moves ``current_version``."""

    __tablename__ = "case_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # None: a national template shipped with popcase, managed by accounts without a force.
    force_id: Mapped[str | None] = mapped_column(ForeignKey("forces.id"), index=True)
    current_version: Mapped[int] = mapped_column(default=1)
    retired_at: Mapped[datetime | None]
    retired_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    versions: Mapped[list[CaseTemplateVersion]] = relationship(
        back_populates="template", order_by="CaseTemplateVersion.version", lazy="select")

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    @property
    def current(self) -> CaseTemplateVersion:
        return next(v for v in self.versions if v.version == self.current_version)


class CaseTemplateVersion(Base):
    """One version of a template's content. Written once and never updated, so that a case
    opened from it can always show what it was given."""

    __tablename__ = "case_template_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("case_templates.id"), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(40))
    priority: Mapped[Priority] = mapped_column(str_enum(Priority), default=Priority.MEDIUM)
    summary: Mapped[str] = mapped_column(Text, default="")
    # {CHEERS element: prompt} for the six elements.
    cheers_prompts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    hypotheses: Mapped[list[Any]] = mapped_column(default=list)
    # [{technique, why}]
    responses: Mapped[list[Any]] = mapped_column(default=list)
    # [{title, tactic, partner, due_in_days}]
    actions: Mapped[list[Any]] = mapped_column(default=list)
    # None: the force's review cadence by priority decides.
    review_every_days: Mapped[int | None]
    change_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    template: Mapped[CaseTemplate] = relationship(back_populates="versions", lazy="joined")
    created_by: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("template_id", "version"),
        CheckConstraint(_CATEGORY_CHECK, name="category"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("review_every_days IS NULL OR review_every_days > 0",
                        name="review_every_days_positive"),
    )

    @property
    def label(self) -> str:
        return f"{self.name}, version {self.version}"
