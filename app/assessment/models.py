from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.db import Base, utcnow


class AssessmentSnapshot(Base):
    """One computed impact assessment of a case, kept as it was computed: its parameters (the
    periods, crime types and the areas' shapes), the import batches whose data it counted, and
    its results. Later imports never change it; computing again makes a new snapshot."""

    __tablename__ = "assessment_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    number: Mapped[int]  # 1, 2, 3, ... within the case
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    before_first: Mapped[date]  # months (the 1st), both ends included
    before_last: Mapped[date]
    after_first: Mapped[date]
    after_last: Mapped[date]
    categories: Mapped[list[Any]]
    areas: Mapped[dict[str, Any]]  # the target, buffer and control as they were then
    batches: Mapped[list[Any]]  # the street-crime imports counted: id, source, sha256, months
    results: Mapped[dict[str, Any]]  # counts, figures, their readings, the monthly series
    note: Mapped[str] = mapped_column(Text, default="")

    created_by: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("case_id", "number"),)

