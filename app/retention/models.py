"""A force's retention periods by case category, and the retention reviews of closed cases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.db import Base, utcnow
from app.enums import str_enum
from app.sara.retention import MAX_MONTHS, MIN_MONTHS, RetentionDecision


class RetentionPeriod(Base):
    """Months after closing before a case of one category is first reviewed, in one force. A
    force without a row for a category uses ``app.sara.retention.DEFAULT_MONTHS``."""

    __tablename__ = "retention_periods"

    force_id: Mapped[str] = mapped_column(ForeignKey("forces.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    months: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        CheckConstraint(f"months >= {MIN_MONTHS} AND months <= {MAX_MONTHS}",
                        name="months_in_range"),
    )


class RetentionReview(Base):
    """One review of a closed case: retained until ``next_review_on``, or disposed of. A
    disposal's row is the disposal record: who, when, why, and what was erased."""

    __tablename__ = "retention_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    reviewed_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[RetentionDecision] = mapped_column(str_enum(RetentionDecision))
    reason: Mapped[str] = mapped_column(Text)
    # The review date that was due when it was made.
    due_on: Mapped[date | None]
    next_review_on: Mapped[date | None]
    # A disposal: what was erased, counted by kind (no erased value is kept).
    erased: Mapped[dict[str, Any] | None]

    reviewer: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_retention_reviews_case_at", "case_id", "reviewed_at"),
        CheckConstraint("decision != 'dispose' OR next_review_on IS NULL",
                        name="disposal_has_no_next_review"),
    )
