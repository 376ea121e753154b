"""Retention use cases (MoPI): read and set a force's retention periods, list the closed cases
awaiting a retention review, read a case's retention record, and review a case (retain until
a later review, or dispose of its personal data). Each call is one transaction with its
access-log entry; a disposal removes the attachment files only after its commit."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from app.attachments.storage import Store
from app.audit.models import AuditEntry
from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.auth.models import User
from app.auth.permissions import Perm, covers_borough, covers_force, has, require, visible
from app.cases.access import acting_user, normalise_ref, stale_guard
from app.cases.models import Case
from app.clock import london_day, today
from app.db import utcnow
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.reference.models import Borough
from app.reference.service import check_places, get_force
from app.retention.erase import case_scrubber, erase_personal_data
from app.retention.models import RetentionPeriod, RetentionReview
from app.retention.schedule import periods_of
from app.retention.schemas import (
    CaseRetentionRead,
    ExportMade,
    PeriodsChange,
    PeriodsRead,
    QueueItem,
    QueueQuery,
    QueueRead,
    RetentionReviewCreate,
    RetentionReviewRead,
)
from app.sara.retention import (
    DEFAULT_MONTHS,
    DUE_SOON_DAYS,
    Due,
    RetentionDecision,
    next_review_problem,
)
from app.sara.stages import Stage
from app.usecase import use_case

log = logging.getLogger(__name__)


# --- the force's periods -----------------------------------------------------------------------

def read_periods(db: Session, actor: Actor, force_id: str) -> PeriodsRead:
    """Reference data, like the review cadence: any signed-in user may read it."""
    acting_user(actor)
    return _periods_read(db, get_force(db, force_id).id)


def _periods_read(db: Session, force_id: str) -> PeriodsRead:
    customised = sorted(db.scalars(select(RetentionPeriod.category)
                                   .where(RetentionPeriod.force_id == force_id)))
    return PeriodsRead(force=force_id, months=periods_of(db, force_id),
                       defaults=dict(DEFAULT_MONTHS), customised=customised)


def change_periods(db: Session, actor: Actor, force_id: str, data: PeriodsChange) -> PeriodsRead:
    """An admin of the force (or of every force) sets its periods. Closed cases keep the review
    dates they have: a new period counts from the next closing."""
    user = acting_user(actor)
    require(user, Perm.FORCE_MANAGE)
    force = get_force(db, force_id)
    if not covers_force(user, force.id):
        raise Forbidden(f"You administer another force: {force.label}'s retention periods are "
                        "for its own administrators to set.")
    before = periods_of(db, force.id)
    rows = {row.category: row for row in db.scalars(
        select(RetentionPeriod).where(RetentionPeriod.force_id == force.id))}
    now, changed = utcnow(), {}
    with use_case(db, actor, AuditAction.RETENTION_PERIODS, object_type="force",
                  object_ref=force.id) as done:
        for category, months in data.months.items():
            row = rows.get(category)
            if row is None:
                db.add(RetentionPeriod(force_id=force.id, category=category, months=months,
                                       updated_at=now, updated_by_id=user.id))
            elif row.months != months:
                row.months, row.updated_at, row.updated_by_id = months, now, user.id
            if before[category] != months:
                changed[category] = [before[category], months]
        done.details = {"changed": changed}
    return _periods_read(db, force.id)


# --- the queue ---------------------------------------------------------------------------------

def retention_queue(db: Session, actor: Actor, query: QueueQuery) -> QueueRead:
    """Closed, undisposed cases with a retention review date, the most overdue first, within
    the reviewer's scope."""
    user = acting_user(actor)
    require(user, Perm.RETENTION_REVIEW, "Retention reviews are for supervisors and "
                                         "administrators.")
    check_places(db, borough=query.borough, force=query.force)
    where = and_(*_queue_filters(user, query))
    total = db.scalar(select(func.count(Case.id)).where(where)) or 0
    reviews = (select(func.count(RetentionReview.id))
               .where(RetentionReview.case_id == Case.id).scalar_subquery())
    rows = db.execute(
        select(Case, Borough.name, Borough.force_id, reviews)
        .join(Borough, Borough.code == Case.borough_code).where(where)
        .order_by(Case.retention_review_on, Case.ref)
        .limit(query.limit).offset(query.offset)).all()
    day = today()
    items = [QueueItem(ref=case.ref, title=case.title, category=case.category,
                       borough=case.borough_code, borough_name=name, force=force_id,
                       closed_on=london_day(case.stage_entered_at),
                       retention_review_on=case.retention_review_on,
                       days_overdue=max(0, (day - case.retention_review_on).days),
                       reviews=count)
             for case, name, force_id, count in rows]
    record_read(db, actor, AuditAction.RETENTION_QUEUE, object_type="retention",
                details={"query": query.model_dump(mode="json", exclude_defaults=True),
                         "total": total})
    return QueueRead(items=items, total=total, due=query.due)


def _queue_filters(user: User, query: QueueQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        visible(user, Perm.RETENTION_REVIEW, Case.borough_code),
        Case.stage == Stage.CLOSED, Case.disposed_at.is_(None),
        Case.retention_review_on.is_not(None)]
    if query.due is Due.OVERDUE:
        conditions.append(Case.retention_review_on <= today())
    elif query.due is Due.SOON:
        conditions.append(Case.retention_review_on
                          <= today() + timedelta(days=DUE_SOON_DAYS))
    if query.borough:
        conditions.append(Case.borough_code == query.borough)
    if query.force:
        conditions.append(Case.borough_code.in_(
            select(Borough.code).where(Borough.force_id == query.force)))
    return conditions


# --- one case ----------------------------------------------------------------------------------

def retention_case(db: Session, actor: Actor, ref: str) -> Case:
    """The case, for a retention reviewer of its area or force. Outside the user's scope (or
    for a role that neither reads cases nor reviews retention) it does not exist; in scope
    without the role, it is refused."""
    user = acting_user(actor)
    ref = normalise_ref(ref)
    case = db.scalar(select(Case).where(Case.ref == ref))
    if case is None or not covers_borough(user, case.borough) or not (
            has(user, Perm.CASE_READ) or has(user, Perm.RETENTION_REVIEW)):
        raise NotFound(f"There is no case {ref}.")
    require(user, Perm.RETENTION_REVIEW, "Retention reviews are for supervisors and "
                                         "administrators: the officers who worked a case do "
                                         "not decide how long it is kept.")
    return case


def view_case_retention(db: Session, actor: Actor, ref: str) -> CaseRetentionRead:
    case = retention_case(db, actor, ref)
    result = case_retention_read(db, case)
    record_read(db, actor, AuditAction.RETENTION_VIEW, object_type="case", object_ref=case.ref)
    return result


def case_retention_read(db: Session, case: Case) -> CaseRetentionRead:
    closed = case.stage is Stage.CLOSED
    return CaseRetentionRead(
        ref=case.ref, title=case.title, category=case.category, stage=case.stage,
        borough=case.borough_code, borough_name=case.borough.name,
        closed_on=london_day(case.stage_entered_at) if closed else None,
        retention_review_on=case.retention_review_on,
        period_months=periods_of(db, case.borough.force_id)[case.category],
        disposed_at=case.disposed_at,
        reviews=[review_read(r, case.ref) for r in case_reviews(db, case)],
        exports=exports_made(db, case))


def case_reviews(db: Session, case: Case) -> list[RetentionReview]:
    """Newest first."""
    return list(db.scalars(select(RetentionReview).where(RetentionReview.case_id == case.id)
                           .order_by(RetentionReview.reviewed_at.desc(),
                                     RetentionReview.id.desc())))


def exports_made(db: Session, case: Case) -> list[ExportMade]:
    """Every export of the case file, from the access log (alone or in an operation's
    bundle)."""
    entries = db.scalars(select(AuditEntry).where(
        AuditEntry.action == AuditAction.CASE_EXPORT.value, AuditEntry.object_type == "case",
        AuditEntry.object_ref == case.ref).order_by(AuditEntry.seq))
    return [ExportMade(at=e.at, by=e.actor or "the command line", reason=e.justification,
                       redacted=bool(e.details.get("redacted")),
                       operation=e.details.get("operation")) for e in entries]


def review_read(review: RetentionReview, ref: str) -> RetentionReviewRead:
    return RetentionReviewRead(
        id=review.id, ref=ref, reviewed_at=review.reviewed_at,
        reviewer=review.reviewer.username if review.reviewer else None,
        reviewer_name=review.reviewer.display_name if review.reviewer else None,
        decision=review.decision, decision_label=review.decision.label, reason=review.reason,
        due_on=review.due_on, next_review_on=review.next_review_on, erased=review.erased)


# --- reviews -----------------------------------------------------------------------------------

def review_case(db: Session, actor: Actor, ref: str, data: RetentionReviewCreate,
                store: Store) -> RetentionReview:
    """Retain (with the next review date and a reason) or dispose (with a reason). A disposal
    erases the case's personal data, writes the disposal record and its access-log entry in one
    transaction; the original files leave the store after it commits."""
    user = acting_user(actor)
    case = retention_case(db, actor, ref)
    if case.stage is not Stage.CLOSED:
        raise Conflict(f"{case.ref} is open: only a closed case is reviewed for retention.")
    if case.disposed_at is not None:
        raise Conflict(f"{case.ref}'s personal data was disposed of on "
                       f"{london_day(case.disposed_at):%-d %b %Y}: there is nothing to review.")
    problem = next_review_problem(data.decision, data.next_review_on, today())
    if problem:
        raise ValidationFailed.one("next_review_on", problem)
    if data.decision is RetentionDecision.RETAIN:
        return _retain(db, actor, user, case, data)
    return _dispose(db, actor, user, case, data, store)


def _retain(db: Session, actor: Actor, user: User, case: Case,
            data: RetentionReviewCreate) -> RetentionReview:
    with use_case(db, actor, AuditAction.RETENTION_RETAIN, case=case,
                  justification=data.reason) as done:
        review = RetentionReview(case_id=case.id, reviewed_at=utcnow(), reviewer_id=user.id,
                                 decision=data.decision, reason=data.reason,
                                 due_on=case.retention_review_on,
                                 next_review_on=data.next_review_on)
        db.add(review)
        case.retention_review_on = data.next_review_on
        with stale_guard(db, case):  # another reviewer's decision committed first: 409
            done.flush()
        assert data.next_review_on is not None  # next_review_problem saw to it
        done.details = {"review": review.id,
                        "next_review_on": data.next_review_on.isoformat()}
    return review


def _dispose(db: Session, actor: Actor, user: User, case: Case, data: RetentionReviewCreate,
             store: Store) -> RetentionReview:
    case_id, ref, due_on = case.id, case.ref, case.retention_review_on
    # The case's reference, not the case: the row is read again after the erasure.
    with use_case(db, actor, AuditAction.CASE_DISPOSE, object_type="case",
                  object_ref=ref) as done:
        scrub = case_scrubber(db, case)
        erased, files = erase_personal_data(db, case, scrub)
        reason = scrub(data.reason)  # case text too: the same names go from it
        review = RetentionReview(case_id=case_id, reviewed_at=utcnow(), reviewer_id=user.id,
                                 decision=RetentionDecision.DISPOSE, reason=reason,
                                 due_on=due_on, next_review_on=None, erased=erased)
        db.add(review)
        case = db.get_one(Case, case_id)
        case.disposed_at, case.retention_review_on = review.reviewed_at, None
        with stale_guard(db, case):
            done.flush()
        done.justification = reason
        done.details = {"review": review.id, "erased": erased}
    for digest in files:
        try:
            store.remove(digest)
        except OSError:  # the record stands; the operator removes what is left
            log.exception("could not remove an attachment file of a disposed case")
    return review

