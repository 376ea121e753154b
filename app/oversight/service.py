"""Oversight use cases: the figures of an operation or of any set of cases (dashboard and
statistics), the borough's work queue, and the review of gate overrides.

Every figure covers only the cases the user may read (the same rule as the case list), and
the database does the counting; only per-visit patrol lengths come back to Python, because
the Koper band needs each one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.auth.models import User
from app.auth.permissions import Perm, home_area, require, scope_of, visible, visible_cases
from app.cases.access import acting_user, case_for
from app.cases.models import Action, Case, CaseEvent, EventKind
from app.clock import day_start_utc, local, london_day, today
from app.community.models import Concern
from app.db import utcnow
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.handover.service import departed_owners
from app.operations.models import Operation
from app.operations.service import get_operation
from app.oversight.schemas import (
    BoroughCases,
    CaseFigures,
    ConcernFigures,
    MonthOutputs,
    OperationRef,
    OutputFigures,
    OverdueAction,
    OverrideReview,
    OverrideToReview,
    PatrolFigures,
    PeriodRead,
    QueueList,
    QueueQuery,
    QuietCase,
    ReviewToMake,
    StatsFilters,
    StatsQuery,
    Summary,
    WorkQueue,
)
from app.patrols.models import OutputEntry, Patrol
from app.patrols.service import in_force
from app.reference.models import Borough, bilingual
from app.reference.service import check_places
from app.sara.patrols import OutputKind, VisitBand, band_counts, planned_minutes
from app.sara.responses import ActionStatus
from app.sara.reviews import DUE_SOON_DAYS, days_overdue
from app.sara.stages import STAGES, Stage
from app.usecase import use_case

QUEUE_ITEMS = 200  # per list; the totals are exact


# --- figures -----------------------------------------------------------------------------------

def summary(db: Session, actor: Actor, query: StatsQuery) -> Summary:
    """The figures for the cases matching ``query`` that the actor may read."""
    user = acting_user(actor)
    require(user, Perm.CASE_READ)
    operation = _operation(db, actor, query.operation)
    check_places(db, borough=query.borough, force=query.force)
    first, last = _period(query, operation)
    cases = and_(visible_cases(user, Case.borough_code), *_case_filters(query))
    result = Summary(
        operation=OperationRef(id=operation.id, name=operation.name) if operation else None,
        scope=scope_of(user),
        filters=StatsFilters(operation=query.operation, borough=query.borough,
                             force=query.force, stage=query.stage),
        period=PeriodRead(first=first, last=last, days=(last - first).days + 1),
        cases=case_figures(db, cases),
        outputs=output_figures(db, cases, first, last),
        patrols=patrol_figures(db, cases, first, last),
        concerns=concern_figures(db, cases, first, last, _triage_queue(user, query)),
    )
    action = AuditAction.OPERATION_VIEW if operation else AuditAction.STATS_VIEW
    record_read(db, actor, action, object_type="operation" if operation else "stats",
                object_ref=str(operation.id) if operation else "",
                details={"query": query.model_dump(mode="json", exclude_defaults=True)})
    return result


def _operation(db: Session, actor: Actor, operation_id: int | None) -> Operation | None:
    return get_operation(db, actor, operation_id) if operation_id is not None else None


def default_period(operation: Operation | None, now: date) -> tuple[date, date]:
    """An operation from its start to today (or its end); otherwise the financial year to
    date (from 1 April), as UK police performance is reported."""
    if operation is not None:
        last = min(now, operation.end_date) if operation.end_date else now
        return operation.start_date, max(last, operation.start_date)
    year = now.year if now.month >= 4 else now.year - 1
    return date(year, 4, 1), now


def _period(query: StatsQuery, operation: Operation | None) -> tuple[date, date]:
    first_default, last_default = default_period(operation, today())
    first, last = query.first or first_default, query.last or last_default
    if last < first:
        raise ValidationFailed.one("to", "The period must end on or after the day it starts.")
    return first, last


def _case_filters(query: StatsQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.operation:
        conditions.append(Case.operation_id == query.operation)
    if query.borough:
        conditions.append(Case.borough_code == query.borough)
    if query.force:
        conditions.append(Case.borough_code.in_(
            select(Borough.code).where(Borough.force_id == query.force)))
    if query.stage:
        conditions.append(Case.stage.in_(query.stage))
    return conditions


def case_figures(db: Session, cases: ColumnElement[bool]) -> CaseFigures:
    rows = db.execute(
        select(Case.borough_code, Borough.name, Borough.name_welsh, Case.stage,
               func.count(Case.id))
        .join(Borough, Borough.code == Case.borough_code).where(cases)
        .group_by(Case.borough_code, Borough.name, Borough.name_welsh, Case.stage)).all()
    boroughs: dict[str, BoroughCases] = {}
    by_stage = dict.fromkeys(STAGES, 0)
    for code, name, welsh, stage, count in rows:
        entry = boroughs.setdefault(code, BoroughCases(
            borough=code, name=bilingual(name, welsh), total=0,
            by_stage=dict.fromkeys(STAGES, 0)))
        entry.by_stage[stage] += count
        entry.total += count
        by_stage[stage] += count
    return CaseFigures(total=sum(by_stage.values()), by_stage=by_stage,
                       by_borough=sorted(boroughs.values(), key=lambda b: b.name))


def output_figures(db: Session, cases: ColumnElement[bool], first: date,
                    last: date) -> OutputFigures:
    rows = db.execute(
        select(OutputEntry.on_date, OutputEntry.kind, func.sum(OutputEntry.count))
        .join(Case, Case.id == OutputEntry.case_id)
        .where(cases, in_force(), OutputEntry.on_date.between(first, last))
        .group_by(OutputEntry.on_date, OutputEntry.kind)).all()
    months = {month: dict.fromkeys(OutputKind, 0) for month in _months(first, last)}
    for day, kind, total in rows:
        months[f"{day:%Y-%m}"][kind] += int(total or 0)
    totals = dict.fromkeys(OutputKind, 0)
    for counts in months.values():
        for kind, count in counts.items():
            totals[kind] += count
    return OutputFigures(
        totals=totals, total=sum(totals.values()),
        by_month=[MonthOutputs(month=month, counts=counts, total=sum(counts.values()))
                  for month, counts in months.items()])


def _months(first: date, last: date) -> list[str]:
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(f"{current:%Y-%m}")
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def patrol_figures(db: Session, cases: ColumnElement[bool], first: date,
                    last: date) -> PatrolFigures:
    start, end = day_start_utc(first), day_start_utc(last + timedelta(days=1))
    visits = [int((ended - started).total_seconds() // 60) for started, ended in db.execute(
        select(Patrol.started_at, Patrol.ended_at).join(Case, Case.id == Patrol.case_id)
        .where(cases, Patrol.ended_at.is_not(None), Patrol.started_at >= start,
               Patrol.started_at < end)) if ended is not None]
    running = db.scalar(select(func.count(Patrol.id)).join(Case, Case.id == Patrol.case_id)
                        .where(cases, Patrol.ended_at.is_(None))) or 0
    planned = 0.0
    for per_week, created, stage, entered in db.execute(
            select(Case.planned_patrol_minutes, Case.created_at, Case.stage,
                   Case.stage_entered_at).where(cases, Case.planned_patrol_minutes > 0)):
        # A case plans patrols from the day it opened until it closed.
        until = min(last, london_day(entered)) if stage is Stage.CLOSED else last
        planned += planned_minutes(per_week or 0, max(first, london_day(created)), until)
    delivered, planned_rounded = sum(visits), round(planned)
    bands = band_counts(visits)
    return PatrolFigures(
        visits=len(visits), delivered_minutes=delivered, delivered_hours=round(delivered / 60, 1),
        planned_minutes=planned_rounded, planned_hours=round(planned / 60, 1),
        percent_of_plan=round(100 * delivered / planned) if planned_rounded else None,
        in_band=bands[VisitBand.IN_BAND], shorter=bands[VisitBand.SHORT],
        longer=bands[VisitBand.LONG], running=running)


def concern_figures(db: Session, cases: ColumnElement[bool], first: date, last: date,
                    queue: ColumnElement[bool] | None = None) -> ConcernFigures:
    """Concerns triaged to the cases and raised in the period; with ``queue`` (a condition on
    ``Concern``), also the untriaged ones it selects."""
    on_cases = (select(func.count(Concern.id), func.count(Concern.answered_at))
                .join(Case, Case.id == Concern.case_id)
                .where(cases, Concern.raised_on.between(first, last)))
    received, answered = db.execute(on_cases).one()
    awaiting = None
    if queue is not None:
        awaiting = db.scalar(select(func.count(Concern.id)).where(
            queue, Concern.triage_outcome.is_(None),
            Concern.raised_on.between(first, last))) or 0
    return ConcernFigures(received=received, answered=answered,
                          unanswered=received - answered, awaiting_triage=awaiting)


def _triage_queue(user: User, query: StatsQuery) -> ColumnElement[bool] | None:
    """The concerns awaiting triage count for the boroughs in scope, but not for an operation
    (an untriaged concern is on no case)."""
    if query.operation is not None:
        return None
    borough = Concern.borough_code == query.borough if query.borough else true()
    force = Concern.borough_code.in_(select(Borough.code).where(
        Borough.force_id == query.force)) if query.force else true()
    return and_(visible(user, Perm.CONCERN_READ, Concern.borough_code), borough, force)


# --- the work queue ----------------------------------------------------------------------------

def work_queue(db: Session, actor: Actor, query: QueueQuery) -> WorkQueue:
    """What needs a supervisor's attention in a borough: overdue supervisory reviews first,
    then reviews due within the week, overdue actions, cases gone quiet, cases stuck in a
    stage, and gate overrides nobody has reviewed yet."""
    user = acting_user(actor)
    require(user, Perm.CASE_READ)
    check_places(db, borough=query.borough)
    _operation(db, actor, query.operation)
    borough = query.borough or home_area(user)
    scope = [visible_cases(user, Case.borough_code)]
    if borough:
        scope.append(Case.borough_code == borough)
    if query.operation:
        scope.append(Case.operation_id == query.operation)
    # Closed cases need no more work, but an override that closed one still needs a review.
    open_cases = [*scope, Case.stage != Stage.CLOSED]
    now, day = utcnow(), today()
    queue = WorkQueue(
        reviews_overdue=_reviews(db, [*open_cases, Case.next_review_on < day], day),
        reviews_due_soon=_reviews(db, [*open_cases, Case.next_review_on.between(
            day, day + timedelta(days=DUE_SOON_DAYS))], day),
        borough=borough, idle_days=query.idle_days, stuck_days=query.stuck_days,
        overdue_actions=_overdue_actions(db, open_cases, day),
        inactive_cases=_quiet_cases(db, open_cases, Case.last_activity_at,
                                    now - timedelta(days=query.idle_days), now),
        stuck_cases=_quiet_cases(db, open_cases, Case.stage_entered_at,
                                 now - timedelta(days=query.stuck_days), now),
        overrides_to_review=_overrides(db, [*scope, _not_by(user)]),
        own_overrides_waiting=_count(db, select(CaseEvent.id).join(
            Case, Case.id == CaseEvent.case_id).where(*scope, *_unreviewed_overrides(),
                                                        CaseEvent.actor_id == user.id)),
        departed_owners=departed_owners(db, open_cases),
    )
    record_read(db, actor, AuditAction.QUEUE_VIEW, object_type="queue",
                object_ref=borough or "",
                details={"query": query.model_dump(mode="json", exclude_defaults=True)})
    return queue


def _count(db: Session, query: Select[*tuple[Any, ...]]) -> int:
    return db.scalar(select(func.count()).select_from(query.subquery())) or 0


def _reviews(db: Session, scope: list[ColumnElement[bool]],
             day: date) -> QueueList[ReviewToMake]:
    """Cases by their next review date, the earliest (longest overdue) first."""
    query = select(Case).where(*scope)
    rows = db.scalars(query.order_by(Case.next_review_on, Case.id).limit(QUEUE_ITEMS))
    items = []
    for case in rows:
        due = case.next_review_on
        assert due is not None
        items.append(ReviewToMake(
            ref=case.ref, title=case.title, stage=case.stage, priority=case.priority,
            borough=case.borough_code,
            owner_name=case.owner.display_name if case.owner else None, next_review_on=due,
            days_overdue=days_overdue(due, day), days_left=(due - day).days))
    return QueueList[ReviewToMake](total=_count(db, query), items=items)


def _overdue_actions(db: Session, scope: list[ColumnElement[bool]],
                     day: date) -> QueueList[OverdueAction]:
    query = (select(Action, Case.ref, Case.title).join(Case, Case.id == Action.case_id)
             .where(*scope, Action.status.in_([ActionStatus.PLANNED, ActionStatus.IN_PROGRESS]),
                    Action.due_date < day))
    rows = db.execute(query.order_by(Action.due_date, Action.id).limit(QUEUE_ITEMS)).all()
    return QueueList[OverdueAction](total=_count(db, query), items=[
        OverdueAction(ref=ref, title=title, action_id=action.id, action=action.title,
                      owner=action.owner, due_date=action.due_date,
                      days_overdue=(day - action.due_date).days)  # type: ignore[operator]  # due_date < day: not NULL
        for action, ref, title in rows])


def _quiet_cases(db: Session, scope: list[ColumnElement[bool]],
                 column: InstrumentedAttribute[datetime], before: datetime,
                 now: datetime) -> QueueList[QuietCase]:
    query = select(Case).where(*scope, column < before)
    rows = db.scalars(query.order_by(column, Case.id).limit(QUEUE_ITEMS))
    items = []
    for case in rows:
        since: datetime = getattr(case, column.key)
        items.append(QuietCase(ref=case.ref, title=case.title, stage=case.stage,
                               borough=case.borough_code,
                               owner_name=case.owner.display_name if case.owner else None,
                               since=since, days=(now - since).days))
    return QueueList[QuietCase](total=_count(db, query), items=items)


def _unreviewed_overrides() -> list[SQLColumnExpression[bool]]:
    return [CaseEvent.kind == EventKind.MOVED, CaseEvent.overridden,
            CaseEvent.reviewed_at.is_(None)]


def _not_by(user: User) -> ColumnElement[bool]:
    """Overrides someone else made: nobody reviews their own."""
    return or_(CaseEvent.actor_id.is_(None), CaseEvent.actor_id != user.id)


def _overrides(db: Session, scope: list[ColumnElement[bool]]) -> QueueList[OverrideToReview]:
    query = (select(CaseEvent, Case.ref, Case.title).join(Case, Case.id == CaseEvent.case_id)
             .where(*scope, *_unreviewed_overrides()))
    rows = db.execute(query.order_by(CaseEvent.at, CaseEvent.id).limit(QUEUE_ITEMS)).all()
    return QueueList[OverrideToReview](total=_count(db, query), items=[
        OverrideToReview(event_id=event.id, ref=ref, title=title, at=event.at,
                         by=event.actor.display_name if event.actor else None,
                         from_stage=event.from_stage, to_stage=event.to_stage,
                         reason=event.body,
                         unmet=[u.get("message", "") for u in
                                (event.details or {}).get("unmet", [])])
        for event, ref, title in rows])


def review_override(db: Session, actor: Actor, event_id: int, data: OverrideReview) -> CaseEvent:
    """A supervisor of the case's borough, never the one who made it, confirms they have looked
    at a gate override."""
    user = acting_user(actor)
    event = db.get(CaseEvent, event_id)
    ref = db.scalar(select(Case.ref).where(Case.id == event.case_id)) if event else None
    if event is None or ref is None or not (event.kind is EventKind.MOVED and event.overridden):
        raise NotFound(f"There is no gate override {event_id}.")
    case = case_for(db, actor, ref, Perm.OVERRIDE_REVIEW)
    if event.actor_id == user.id:
        raise Forbidden(f"You overrode this gate yourself: another supervisor of "
                        f"{case.borough.name} reviews it.")
    if event.reviewed_at is not None:
        reviewer = event.reviewed_by.display_name if event.reviewed_by else "someone"
        raise Conflict(f"This override was already reviewed by {reviewer}.")
    with use_case(db, actor, AuditAction.OVERRIDE_REVIEW, case=case,
                  justification=data.note) as done:
        event.reviewed_at, event.reviewed_by, event.review_note = utcnow(), user, data.note
        moved = f"{event.from_stage.label} to {event.to_stage.label}" \
            if event.from_stage and event.to_stage else "a stage move"
        done.event(EventKind.REVIEW,
                   f"Reviewed the gate override of {local(event.at):%-d %b %Y} ({moved})",
                   body=data.note, details={"event": event.id})
    return event
