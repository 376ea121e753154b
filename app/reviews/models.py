"""The force's review cadence and the supervisory reviews recorded on cases."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.db import Base, utcnow
from app.enums import str_enum
from app.sara.problem import Priority
from app.sara.reviews import MAX_CADENCE_DAYS, MIN_CADENCE_DAYS, ReviewDecision


class ReviewCadence(Base):
    """Days between supervisory reviews for one priority in one force. A force without a row
    for a priority uses the default of ``app.sara.reviews``."""

    __tablename__ = "review_cadences"

    force_id: Mapped[str] = mapped_column(ForeignKey("forces.id"), primary_key=True)
    priority: Mapped[Priority] = mapped_column(str_enum(Priority), primary_key=True)
    days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        CheckConstraint(f"days >= {MIN_CADENCE_DAYS} AND days <= {MAX_CADENCE_DAYS}",
                        name="days_in_range"),
    )


class CaseReview(Base):
    """A supervisor's review of a case: what they concluded and when they look again."""

    __tablename__ = "case_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    reviewed_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text)
    decision: Mapped[ReviewDecision] = mapped_column(str_enum(ReviewDecision))
    # The review date that was due when this one was made (None: none was set).
    due_on: Mapped[date | None]
    next_review_on: Mapped[date]
    # Why the next review is further away than twice the cadence (empty otherwise).
    reason_for_later: Mapped[str] = mapped_column(Text, default="")
    # The priority and cadence the next date was weighed against, as they were then.
    cadence_days: Mapped[int] = mapped_column(Integer)
    priority: Mapped[Priority] = mapped_column(str_enum(Priority))

    reviewer: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (Index("ix_case_reviews_case_at", "case_id", "reviewed_at"),)
