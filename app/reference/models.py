"""Reference data: the police forces of England and Wales, their local policing areas and wards.

A *local policing area* is a local authority a force covers, identified by its ONS (GSS) code:
a London borough (E09), a unitary authority (E06), a district (E07), a metropolitan district
(E08) or a Welsh principal area (W06). The schema and API v1 call it a "borough", the word the
product started with in London; the table and columns keep that name so that existing scripts
and databases keep working. Every database starts with the forces, and with London's 33 boroughs
and their wards; other forces' areas come from their boundary files.
"""
from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base
from app.reference.codes import area_kind_label


class Force(Base):
    """A police force, by the id police.uk uses in its file names (``north-wales``)."""

    __tablename__ = "forces"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The force's name as its own files write it ("Falls within"), learned on import; empty
    # until then.
    name: Mapped[str] = mapped_column(String(100), default="")
    area_name: Mapped[str] = mapped_column(String(100))  # the ONS police force area
    area_code: Mapped[str | None] = mapped_column(String(9), unique=True)  # E23…, W15…

    @property
    def label(self) -> str:
        """Its own name once learned; until then its force area's, as a force's name."""
        if self.name:
            return self.name
        return self.area_name if self.area_name.endswith("Police") \
            else f"{self.area_name} Police"


class Borough(Base):
    """A local policing area (see the module's docstring for the name)."""

    __tablename__ = "boroughs"

    code: Mapped[str] = mapped_column(String(9), primary_key=True)  # ONS GSS code
    name: Mapped[str] = mapped_column(String(100))
    name_welsh: Mapped[str] = mapped_column(String(100), default="")
    ref_prefix: Mapped[str] = mapped_column(String(4), unique=True)  # case references: WM-2026-0001
    force_id: Mapped[str] = mapped_column(ForeignKey("forces.id"), index=True)

    force: Mapped[Force] = relationship()

    @property
    def label(self) -> str:
        """The name, with the Welsh name beside it where the boundary file gave one."""
        return bilingual(self.name, self.name_welsh)

    @property
    def kind_label(self) -> str:
        return area_kind_label(self.code)


class Ward(Base):
    __tablename__ = "wards"

    code: Mapped[str] = mapped_column(String(9), primary_key=True)  # ONS GSS code, E05/W05…
    name: Mapped[str] = mapped_column(String(100))
    name_welsh: Mapped[str] = mapped_column(String(100), default="")
    borough_code: Mapped[str] = mapped_column(ForeignKey("boroughs.code"), index=True)

    @property
    def label(self) -> str:
        return bilingual(self.name, self.name_welsh)


def bilingual(name: str, welsh: str) -> str:
    return f"{name} / {welsh}" if welsh and welsh != name else name
