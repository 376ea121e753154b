"""Review use cases: read and change a force's review cadence, record a supervisory review of
a case, list a case's reviews. Each call is one transaction with its access-log entry."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.auth.permissions import Perm, covers_force, require
from app.cases.access import acting_user, case_for
from app.cases.models import Case, EventKind
from app.clock import london_day, today
from app.db import utcnow
from app.errors import Conflict, Forbidden, ValidationFailed
from app.reference.service import get_force
from app.reviews.models import CaseReview, ReviewCadence
from app.reviews.schedule import cadence_for, cadence_of
from app.reviews.schemas import CadenceChange, CadenceRead, ReviewCreate, ReviewRead
from app.sara.problem import Priority
from app.sara.reviews import (
    DEFAULT_CADENCE_DAYS,
    ReviewDecision,
    next_review_problem,
    review_due,
)
from app.sara.stages import Stage
from app.usecase import use_case

# --- the force's cadence -----------------------------------------------------------------------


def read_cadence(db: Session, actor: Actor, force_id: str) -> CadenceRead:
    """Reference data, like the force itself: any signed-in user may read it."""
    acting_user(actor)
    force = get_force(db, force_id)
    return _cadence_read(db, force.id)


def _cadence_read(db: Session, force_id: str) -> CadenceRead:
    days = cadence_of(db, force_id)
    customised = db.scalar(select(ReviewCadence.force_id)
                           .where(ReviewCadence.force_id == force_id).limit(1)) is not None
    return CadenceRead(force=force_id, high=days[Priority.HIGH], medium=days[Priority.MEDIUM],
                       low=days[Priority.LOW], defaults=dict(DEFAULT_CADENCE_DAYS),
                       customised=customised)


def change_cadence(db: Session, actor: Actor, force_id: str, data: CadenceChange) -> CadenceRead:
    """An admin of the force (or of every force) sets its table. Cases keep the dates they
    have: the new cadence counts from the next review, opening, reopening or priority
    change."""
    user = acting_user(actor)
    require(user, Perm.FORCE_MANAGE)
    force = get_force(db, force_id)
    if not covers_force(user, force.id):
        raise Forbidden(f"You administer another force: {force.label}'s review cadence is "
                        "for its own administrators to set.")
    before = cadence_of(db, force.id)
    wanted = {Priority.HIGH: data.high, Priority.MEDIUM: data.medium, Priority.LOW: data.low}
    rows = {row.priority: row for row in db.scalars(
        select(ReviewCadence).where(ReviewCadence.force_id == force.id))}
    now = utcnow()
    with use_case(db, actor, AuditAction.CADENCE_UPDATE, object_type="force",
                  object_ref=force.id,
                  details={p.value: [before[p], wanted[p]] for p in Priority}):
        for priority, days in wanted.items():
            row = rows.get(priority)
            if row is None:
                db.add(ReviewCadence(force_id=force.id, priority=priority, days=days,
                                     updated_at=now, updated_by_id=user.id))
            elif row.days != days:
                row.days, row.updated_at, row.updated_by_id = days, now, user.id
    return _cadence_read(db, force.id)


# --- supervisory reviews -----------------------------------------------------------------------

def record_review(db: Session, actor: Actor, ref: str, data: ReviewCreate) -> CaseReview:
    """A supervisor of the case's area reviews its plan: the review, the case's next review
    date, a timeline event and the access-log entry, in one transaction. A supervisor who
    owns the case does not review it (as nobody reviews their own gate override)."""
    user = acting_user(actor)
    case = case_for(db, actor, ref, Perm.CASE_REVIEW)
    if case.owner_id == user.id:
        raise Forbidden(f"You own {case.ref}: another supervisor of {case.borough.name} "
                        "reviews it.")
    if case.stage is Stage.CLOSED:
        raise Conflict(f"{case.ref} is closed: a closed case is not reviewed. Reopen it first "
                       "if the problem has come back.")
    day, cadence = today(), cadence_for(db, case)
    next_on = data.next_review_on or review_due(day, cadence)
    problem = next_review_problem(next_on, day, cadence, data.reason_for_later)
    if problem:
        raise ValidationFailed.one("next_review_on", problem)
    with use_case(db, actor, AuditAction.CASE_REVIEW, case=case,
                  justification=data.reason_for_later) as done:
        review = CaseReview(case_id=case.id, reviewed_at=utcnow(), reviewer_id=user.id,
                            note=data.note, decision=data.decision,
                            due_on=case.next_review_on, next_review_on=next_on,
                            reason_for_later=data.reason_for_later, cadence_days=cadence,
                            priority=case.priority)
        db.add(review)
        done.flush()
        set_next_review(db, case, next_on)
        done.event(EventKind.SUPERVISORY_REVIEW,
                   review_summary(data.decision, review.due_on, day, next_on), body=data.note,
                   details={"review": review.id, "decision": data.decision.value,
                            "due_on": review.due_on.isoformat() if review.due_on else None,
                            "next_review_on": next_on.isoformat()})
        done.details = {"review": review.id, "decision": data.decision.value,
                        "next_review_on": next_on.isoformat()}
    return review


def review_summary(decision: ReviewDecision, due_on: date | None, made_on: date,
                   next_on: date) -> str:
    """The timeline's line for a review: its decision, how late it was, the next date."""
    late = (made_on - due_on).days if due_on and due_on < made_on else 0
    days = f", {late} {'day' if late == 1 else 'days'} late" if late else ""
    return f"Supervisory review: {decision.label}{days}. Next review {next_on:%-d %b %Y}"


def set_next_review(db: Session, case: Case, next_on: date) -> None:
    # A Core UPDATE leaves the case's version alone: a review does not make a colleague's open
    # form of the case stale (as ``mark_activity``).
    db.execute(update(Case).where(Case.id == case.id).values(next_review_on=next_on),
               execution_options={"synchronize_session": False})
    set_committed_value(case, "next_review_on", next_on)


def case_reviews(db: Session, case: Case) -> list[CaseReview]:
    """Newest first. The caller has already read the case through ``case_for``."""
    return list(db.scalars(select(CaseReview).where(CaseReview.case_id == case.id)
                           .order_by(CaseReview.reviewed_at.desc(), CaseReview.id.desc())))


def view_reviews(db: Session, actor: Actor, ref: str) -> tuple[Case, list[CaseReview]]:
    case = case_for(db, actor, ref)
    reviews = case_reviews(db, case)
    record_read(db, actor, AuditAction.CASE_REVIEWS_VIEW, object_type="case",
                object_ref=case.ref)
    return case, reviews


def days_late(review: CaseReview) -> int:
    """Days after the date due that the review was made (0: on time, or none was due)."""
    made_on = london_day(review.reviewed_at)
    return (made_on - review.due_on).days if review.due_on and made_on > review.due_on else 0


def review_read(review: CaseReview, ref: str) -> ReviewRead:
    late = days_late(review)
    return ReviewRead(
        id=review.id, ref=ref, reviewed_at=review.reviewed_at,
        reviewer=review.reviewer.username if review.reviewer else None,
        reviewer_name=review.reviewer.display_name if review.reviewer else None,
        note=review.note, decision=review.decision, decision_label=review.decision.label,
        due_on=review.due_on, days_late=late, next_review_on=review.next_review_on,
        reason_for_later=review.reason_for_later, priority=review.priority,
        cadence_days=review.cadence_days)
