"""When a case's next supervisory review falls: the force's cadence applied as a case opens,
changes priority, closes and reopens. Called from the case services inside their transaction
(this module imports no case service, so that they can import it)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.clock import london_day, today
from app.reviews.models import CaseReview, ReviewCadence
from app.sara.problem import Priority
from app.sara.reviews import DEFAULT_CADENCE_DAYS, review_due


def cadence_of(db: Session, force_id: str) -> dict[Priority, int]:
    """Days between reviews for each priority in a force: its own table over the defaults."""
    days = dict(DEFAULT_CADENCE_DAYS)
    days.update({priority: n for priority, n in db.execute(
        select(ReviewCadence.priority, ReviewCadence.days)
        .where(ReviewCadence.force_id == force_id))})
    return days


def cadence_for(db: Session, case: Case) -> int:
    return cadence_of(db, case.borough.force_id)[case.priority]


def schedule_new_case(db: Session, case: Case, force_id: str) -> None:
    """A new case's first review: the opening day plus the cadence of its force, unless it was
    given one (a template that states its own cadence sets it before)."""
    if case.next_review_on is None:
        case.next_review_on = review_due(today(), cadence_of(db, force_id)[case.priority])


def reschedule_for_priority(db: Session, case: Case) -> None:
    """After a change of priority: the new cadence counted from the last review, or from the
    opening day if there has been none. The date may fall in the past: the case is then
    overdue, as it would have been with that priority from the start."""
    with db.no_autoflush:  # one flush, one version, for the whole change of the case
        last = db.scalar(select(func.max(CaseReview.reviewed_at))
                         .where(CaseReview.case_id == case.id))
        days = cadence_for(db, case)
    since: date = london_day(last) if last else london_day(case.created_at)
    case.next_review_on = review_due(since, days)


def unschedule(case: Case) -> None:
    """A closed case needs no review."""
    case.next_review_on = None


def schedule_reopened(db: Session, case: Case) -> None:
    """A reopened case is reviewed one cadence after the day it reopened."""
    with db.no_autoflush:
        days = cadence_for(db, case)
    case.next_review_on = review_due(today(), days)
