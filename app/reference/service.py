"""Look-ups on boroughs and wards."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.reference.models import Borough, Ward


def list_boroughs(db: Session) -> list[Borough]:
    return list(db.scalars(select(Borough).order_by(Borough.name)))


def list_wards(db: Session, borough_code: str | None = None) -> list[Ward]:
    query = select(Ward).order_by(Ward.name)
    if borough_code:
        query = query.where(Ward.borough_code == borough_code)
    return list(db.scalars(query))


def get_borough(db: Session, code: str) -> Borough | None:
    return db.get(Borough, code)


def get_ward(db: Session, code: str) -> Ward | None:
    return db.get(Ward, code)
