from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class Borough(Base):
    __tablename__ = "boroughs"

    code: Mapped[str] = mapped_column(String(9), primary_key=True)  # ONS GSS code, E09...
    name: Mapped[str] = mapped_column(String(100))
    ref_prefix: Mapped[str] = mapped_column(String(4), unique=True)  # case references: WM-2026-0001


class Ward(Base):
    __tablename__ = "wards"

    code: Mapped[str] = mapped_column(String(9), primary_key=True)  # ONS GSS code, E05...
    name: Mapped[str] = mapped_column(String(100))
    borough_code: Mapped[str] = mapped_column(ForeignKey("boroughs.code"), index=True)
