"""A force's partner agencies, their contacts, and the agencies listed on a case."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.enums import str_enum
from app.reference.models import Borough
from app.sara.partners import AgencyKind, PartnerRole


class PartnerAgency(Base):
    """An agency in a force's directory. Retired agencies stay (cases and actions name them)
    but are no longer offered for new work."""

    __tablename__ = "partner_agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("forces.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[AgencyKind] = mapped_column(str_enum(AgencyKind, name="agencykind"))
    # The local policing area it serves, when it serves one (a council, a school).
    borough_code: Mapped[str | None] = mapped_column(ForeignKey("boroughs.code"))
    notes: Mapped[str] = mapped_column(Text, default="")
    retired_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    borough: Mapped[Borough | None] = relationship(lazy="joined")
    contacts: Mapped[list[PartnerContact]] = relationship(
        lazy="selectin", order_by="PartnerContact.id", back_populates="agency")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (UniqueConstraint("force_id", "name"),)


class PartnerContact(Base):
    """A person at an agency: personal data. Retired on no open case, their name, phone and
    e-mail are erased and the record reads "Former contact"."""

    __tablename__ = "partner_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("partner_agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    job_title: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    retired_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    agency: Mapped[PartnerAgency] = relationship(back_populates="contacts", lazy="joined")

    __mapper_args__ = {"version_id_col": version}


class CasePartner(Base):
    """An agency listed on a case, with the contact there (if one is named) and its role."""

    __tablename__ = "case_partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("partner_agencies.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("partner_contacts.id"),
                                                   index=True)
    role: Mapped[PartnerRole] = mapped_column(str_enum(PartnerRole, name="partnerrole"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    agency: Mapped[PartnerAgency] = relationship(lazy="joined")
    contact: Mapped[PartnerContact | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (UniqueConstraint("case_id", "agency_id"),)
