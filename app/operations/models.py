from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from app.auth.models import User
from app.db import Base, utcnow
from app.errors import Conflict
from app.reference.models import Borough, Force
from app.sara.allocation import Group, Method

if TYPE_CHECKING:
    from app.cases.models import Case


class Operation(Base):
    """A named operation: hotspots chosen centrally and worked locally, each one a case."""

    __tablename__ = "operations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(200), default="")  # the owning unit
    # The force that runs it: its cases lie in that force's areas.
    force_id: Mapped[str] = mapped_column(ForeignKey("forces.id"), index=True)
    # The local policing area that owns it (its supervisors change it), or None: the force's,
    # changed by those who work across the force. It holds only the cases of its owner.
    borough_code: Mapped[str | None] = mapped_column(ForeignKey("boroughs.code"), index=True)
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    force: Mapped[Force] = relationship()
    borough: Mapped[Borough | None] = relationship(lazy="joined")

    @property
    def owner_label(self) -> str:
        """Who runs it, in words: the area's name, or the force's."""
        return self.borough.label if self.borough else f"{self.force.label} (force-wide)"

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ends_after_start"),
    )


class Allocation(Base):
    """An operation's hotspots allocated at random to patrols or comparison, in blocks matched
    on baseline crime: made once, never changed, repeatable from its seed."""

    __tablename__ = "allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id"), unique=True)
    method: Mapped[str] = mapped_column(String(10))  # Method
    block_size: Mapped[int]
    seed: Mapped[int] = mapped_column(BigInteger)
    # The months whose crime matched the blocks (and the evaluation's "before"), and the
    # first month of patrols (its "after" runs from it to the operation's end).
    baseline_first: Mapped[date]
    baseline_last: Mapped[date]
    starts: Mapped[date]
    categories: Mapped[list[Any]]
    note: Mapped[str] = mapped_column(Text, default="")
    made_at: Mapped[datetime] = mapped_column(default=utcnow)
    made_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    made_by: Mapped[User | None] = relationship(lazy="joined")
    units: Mapped[list[AllocationUnit]] = relationship(
        order_by="(AllocationUnit.block, AllocationUnit.id)", lazy="selectin")

    __table_args__ = (
        CheckConstraint("baseline_last >= baseline_first", name="baseline_in_order"),
        CheckConstraint("starts > baseline_last", name="starts_after_baseline"),
    )

    @property
    def method_value(self) -> Method:
        return Method(self.method)


class AllocationUnit(Base):
    """One hotspot of an allocation: its block, its group and the baseline crime it was
    matched on."""

    __tablename__ = "allocation_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("allocations.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    block: Mapped[int]
    arm: Mapped[str] = mapped_column(String(12))  # the Group: patrolled or comparison
    baseline: Mapped[int]

    case: Mapped[Case] = relationship("Case", lazy="joined")

    @property
    def group(self) -> Group:
        return Group(self.arm)


def _refuse_change(_mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    raise Conflict("A randomised allocation cannot be changed once made: its seed and groups "
                   "are the evaluation's design.")


for _model in (Allocation, AllocationUnit):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
