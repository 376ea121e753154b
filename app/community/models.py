from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.cases.models import Case
from app.db import Base, utcnow
from app.enums import str_enum
from app.reference.models import Borough, Ward
from app.sara.community import Channel, RaisedBy, TriageOutcome


class Concern(Base):
    """A concern raised by the community, triaged once, and answered on its case."""

    __tablename__ = "concerns"

    id: Mapped[int] = mapped_column(primary_key=True)
    borough_code: Mapped[str] = mapped_column(ForeignKey("boroughs.code"))
    ward_code: Mapped[str | None] = mapped_column(ForeignKey("wards.code"))
    raised_on: Mapped[date]
    raised_by_kind: Mapped[RaisedBy] = mapped_column(str_enum(RaisedBy))
    raised_by: Mapped[str] = mapped_column(String(200), default="")  # a name or a description
    contact: Mapped[str] = mapped_column(String(200), default="")  # to tell them what was done
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    place: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    triage_outcome: Mapped[TriageOutcome | None] = mapped_column(str_enum(TriageOutcome))
    triage_reason: Mapped[str] = mapped_column(Text, default="")
    triaged_at: Mapped[datetime | None]
    triaged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)

    # "You said, we did": what the case did in answer.
    we_did: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    borough: Mapped[Borough] = relationship(lazy="joined")
    ward: Mapped[Ward | None] = relationship(lazy="joined")
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id],
                                                    lazy="joined")
    case: Mapped[Case | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # The triage queue: a borough's concerns not yet triaged, oldest first.
        Index("ix_concerns_borough_outcome_raised", "borough_code", "triage_outcome",
              "raised_on"),
        CheckConstraint("triage_outcome IS NULL OR triage_outcome = 'not_police' "
                        "OR case_id IS NOT NULL", name="triaged_to_a_case"),
    )
