from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.db import Base, utcnow


class HarmTable(Base):
    """One version of a force's harm weights, as loaded: the force's latest is the one in use.
    Tables are never changed; a new version is a new table, and old snapshots keep the
    weights they used."""

    __tablename__ = "harm_tables"

    id: Mapped[int] = mapped_column(primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("forces.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))  # "Cambridge Crime Harm Index"
    version: Mapped[str] = mapped_column(String(50))
    source: Mapped[str] = mapped_column(Text)  # where the weights come from: a citation, a URL
    note: Mapped[str] = mapped_column(Text, default="")
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    loaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    loaded_by: Mapped[User | None] = relationship(lazy="joined")
    weights: Mapped[list[HarmWeight]] = relationship(
        order_by="HarmWeight.category", lazy="selectin", cascade="all, delete-orphan")

    __table_args__ = (UniqueConstraint("force_id", "name", "version"),)

    def as_map(self) -> dict[str, float]:
        return {w.category: w.weight for w in self.weights}

    @property
    def label(self) -> str:
        return f"{self.name} ({self.version})"


class HarmWeight(Base):
    __tablename__ = "harm_weights"

    table_id: Mapped[int] = mapped_column(ForeignKey("harm_tables.id", ondelete="CASCADE"),
                                          primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)  # police.uk slug
    weight: Mapped[float] = mapped_column(Float)

    __table_args__ = (CheckConstraint("weight >= 0", name="weight_not_negative"),)
