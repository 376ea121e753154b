from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.db import Base, utcnow
from app.enums import str_enum
from app.sara.patrols import OutputKind, PatrolKind


class Patrol(Base):
    """One visit to a case's hotspot. Times are whole minutes; a running patrol has no end."""

    __tablename__ = "patrols"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    kind: Mapped[PatrolKind] = mapped_column(str_enum(PatrolKind), default=PatrolKind.FOOT)
    officers: Mapped[str] = mapped_column(String(300), default="")
    place: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # True when recorded with the start and end buttons, False when entered afterwards.
    live: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    recorded_by: Mapped[User | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_patrols_case_started", "case_id", "started_at"),
        # One running patrol per person: a double tap on "start patrol" cannot start two.
        Index("ix_patrols_one_running", "recorded_by_id", unique=True,
              sqlite_where=text("live AND ended_at IS NULL"),
              postgresql_where=text("live AND ended_at IS NULL")),
        CheckConstraint("ended_at IS NULL OR ended_at > started_at", name="ends_after_start"),
    )

    @property
    def minutes(self) -> int | None:
        if self.ended_at is None:
            return None
        return int((self.ended_at - self.started_at).total_seconds() // 60)


class OutputEntry(Base):
    """A count of one kind of output on a day. Entries are never changed: a correction is a
    new entry that replaces the one it ``corrects`` in every total."""

    __tablename__ = "outputs"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    on_date: Mapped[date]
    kind: Mapped[OutputKind] = mapped_column(str_enum(OutputKind))
    count: Mapped[int]
    patrol_id: Mapped[int | None] = mapped_column(
        ForeignKey("patrols.id", ondelete="SET NULL"), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("outputs.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")  # why a correction was made
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    recorded_by: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_outputs_case_on_date", "case_id", "on_date"),
        CheckConstraint("count >= 0", name="count_not_negative"),
    )
