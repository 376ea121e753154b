"""When a closed case's retention review falls: the force's period for its category counted
from the day it closed. Called from the one stage move inside its transaction (this module
imports no case service, so that the move can import it)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.clock import today
from app.retention.models import RetentionPeriod
from app.sara.retention import DEFAULT_MONTHS, review_due


def periods_of(db: Session, force_id: str) -> dict[str, int]:
    """Months by category in a force: its own table over the defaults."""
    months = dict(DEFAULT_MONTHS)
    months.update({category: n for category, n in db.execute(
        select(RetentionPeriod.category, RetentionPeriod.months)
        .where(RetentionPeriod.force_id == force_id))})
    return months


def schedule_closed(db: Session, case: Case) -> None:
    with db.no_autoflush:
        months = periods_of(db, case.borough.force_id)[case.category]
    case.retention_review_on = review_due(today(), months)


def unschedule_reopened(case: Case) -> None:
    """An open case is worked on, not reviewed for retention."""
    case.retention_review_on = None
