"""Producing notifications: find, with SQL, every fact someone should be told about, and add one
notification per person and fact.

Each query below selects only the facts and the people to tell (active accounts only); the
agreed keys (see ``app/notifications/service.py``) make a second run, or a second process
running at the same moment, add nothing. One run is one transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    and_,
    exists,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Session, aliased

from app.audit.service import AuditAction, record
from app.auth.models import User
from app.auth.roles import Role
from app.cases.models import Action, Case, CaseEvent, EventKind
from app.clock import local, london_day
from app.community.models import Concern
from app.notifications.models import Notification, NotificationKind
from app.notifications.service import notify
from app.reference.models import Borough
from app.sara.responses import ActionStatus
from app.sara.stages import Stage

ACTION_DUE_DAYS = 2  # an action is "due" this many days ahead
REVIEW_DUE_DAYS = 7  # a supervisory review is "due" this many days ahead
OPEN_ACTION = (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS)
# Who may triage a community concern, and who reviews cases and gate overrides.
TRIAGERS = (Role.OFFICER, Role.SUPERVISOR)
SUPERVISORS = (Role.SUPERVISOR,)


@dataclass
class ProduceReport:
    produced: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.produced.values())


def produce(db: Session, *, now: datetime) -> ProduceReport:
    """Add every notification that is due at ``now`` and not yet given; commits once."""
    today = london_day(now)
    due = [(kind, row) for kind, rows in (
        (NotificationKind.ACTION_ASSIGNED, _assigned_actions(db)),
        (NotificationKind.ACTION_DUE, _actions_due(db, today)),
        (NotificationKind.ACTION_OVERDUE, _actions_overdue(db, today)),
        (NotificationKind.REVIEW_DUE, _reviews_due(db, today)),
        (NotificationKind.REVIEW_OVERDUE, _reviews_overdue(db, today)),
        (NotificationKind.CONCERN_ROUTED, _concerns_awaiting_triage(db)),
        (NotificationKind.OVERRIDE_TO_REVIEW, _overrides_to_review(db)),
    ) for row in rows]
    # Every run inserts in the same order, so two runs at once on PostgreSQL wait for each
    # other on the first shared row instead of deadlocking.
    due.sort(key=lambda item: (item[1][0].id, item[1][1]))
    known = _existing(db, [(row[0].id, row[1]) for _kind, row in due])
    added: Counter[str] = Counter()
    for kind, (user, key, summary, link, case_id) in due:
        if (user.id, key) in known:
            continue  # told already: no need to try the insert
        if notify(db, user=user, kind=kind, key=key, summary=summary, link=link,
                  case_id=case_id):
            added[kind.value] += 1
    report = ProduceReport(produced=dict(added))
    if report.total:  # a system job's entry (no Actor), and a commit either way: not use_case
        record(db, None, AuditAction.NOTIFICATIONS_PRODUCE, object_type="notifications",
               details={"produced": report.produced}, actor_name="popcase notify")
    db.commit()
    return report


Row = tuple[User, str, str, str, int | None]
CHUNK = 500


def _existing(db: Session, pairs: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which (person, key) pairs are notified already, looked up on the unique index, so that
    a run re-checking every overdue action writes only what is new."""
    known: set[tuple[int, str]] = set()
    for start in range(0, len(pairs), CHUNK):
        chunk = pairs[start:start + CHUNK]
        known.update(db.execute(select(Notification.user_id, Notification.key).where(
            tuple_(Notification.user_id, Notification.key).in_(chunk))).all())
    return known


# --- who is told -------------------------------------------------------------------------------

def area_people(roles: Iterable[Role], borough_code: SQLColumnExpression[str],
                force_id: SQLColumnExpression[str]) -> ColumnElement[bool]:
    """SQL condition on ``User``: the active people with one of ``roles`` whose home area is
    the given one; when it has none, those of its force who work across the whole force."""
    roles = tuple(roles)
    colleague = aliased(User)
    someone_at_home = exists().where(colleague.role.in_(roles), colleague.active,
                                     colleague.borough_code == borough_code)
    force_wide = and_(User.borough_code.is_(None), User.force_id == force_id, ~someone_at_home)
    return and_(User.role.in_(roles), User.active,
                or_(User.borough_code == borough_code, force_wide))


def _rows(db: Session, query: Select[*tuple[Any, ...]], make: Any) -> list[Row]:
    return [make(*row) for row in db.execute(query)]


# --- actions -----------------------------------------------------------------------------------

def _action_holder() -> ColumnElement[bool]:
    """An action is the assignee's; without one, its case owner's."""
    return User.id == func.coalesce(Action.assignee_id, Case.owner_id)


def _open_actions() -> Select[User, int, str, date | None, str, int]:
    return (select(User, Action.id, Action.title, Action.due_date, Case.ref, Case.id)
            .join(Case, Case.id == Action.case_id)
            .where(Action.status.in_(OPEN_ACTION), Case.stage != Stage.CLOSED))


def _assigned_actions(db: Session) -> list[Row]:
    query = (_open_actions().join(User, User.id == Action.assignee_id).where(User.active))
    return _rows(db, query, lambda user, action_id, title, _due, ref, case_id: (
        user, f"action_assigned:{action_id}:{user.id}", f"{ref}: {title}", f"/cases/{ref}",
        case_id))


def _actions_dated(db: Session, condition: ColumnElement[bool], prefix: str,
                   word: str) -> list[Row]:
    query = _open_actions().join(User, _action_holder()).where(User.active, condition)
    return _rows(db, query, lambda user, action_id, title, due, ref, case_id: (
        user, f"{prefix}:{action_id}:{due.isoformat()}",
        f"{ref}: {title} ({word} {due:%-d %b %Y})", f"/cases/{ref}", case_id))


def _actions_due(db: Session, today: date) -> list[Row]:
    return _actions_dated(db, Action.due_date.between(
        today, today + timedelta(days=ACTION_DUE_DAYS)), "action_due", "due")


def _actions_overdue(db: Session, today: date) -> list[Row]:
    return _actions_dated(db, Action.due_date < today, "action_overdue", "was due")


# --- supervisory reviews -----------------------------------------------------------------------

def _reviews(db: Session, condition: ColumnElement[bool], prefix: str, word: str) -> list[Row]:
    query = (select(User, Case.id, Case.ref, Case.title, Case.next_review_on)
             .join(Borough, Borough.code == Case.borough_code)
             .join(User, area_people(SUPERVISORS, Case.borough_code, Borough.force_id))
             .where(Case.stage != Stage.CLOSED, Case.next_review_on.is_not(None), condition))
    return _rows(db, query, lambda user, case_id, ref, title, review_on: (
        user, f"{prefix}:{case_id}:{review_on.isoformat()}",
        f"{ref}: {title} (review {word} {review_on:%-d %b %Y})", f"/cases/{ref}", case_id))


def _reviews_due(db: Session, today: date) -> list[Row]:
    return _reviews(db, Case.next_review_on.between(
        today, today + timedelta(days=REVIEW_DUE_DAYS)), "review_due", "due")


def _reviews_overdue(db: Session, today: date) -> list[Row]:
    return _reviews(db, Case.next_review_on < today, "review_overdue", "was due")


# --- concerns and gate overrides ---------------------------------------------------------------

def _concerns_awaiting_triage(db: Session) -> list[Row]:
    """The summary names no member of the public and quotes nothing they said: the concern's
    own page (read with its permission) has that."""
    query = (select(User, Concern.id, Concern.raised_on, Borough.name)
             .join(Borough, Borough.code == Concern.borough_code)
             .join(User, area_people(TRIAGERS, Concern.borough_code, Borough.force_id))
             .where(Concern.triage_outcome.is_(None)))
    return _rows(db, query, lambda user, concern_id, raised_on, area: (
        user, f"concern_routed:{concern_id}",
        f"A concern raised on {raised_on:%-d %b %Y} in {area} awaits triage",
        f"/concerns/{concern_id}", None))


def _overrides_to_review(db: Session) -> list[Row]:
    """Nobody reviews their own override, so its maker is not told."""
    query = (select(User, CaseEvent.id, CaseEvent.at, Case.id, Case.ref)
             .join(Case, Case.id == CaseEvent.case_id)
             .join(Borough, Borough.code == Case.borough_code)
             .join(User, area_people(SUPERVISORS, Case.borough_code, Borough.force_id))
             .where(CaseEvent.kind == EventKind.MOVED, CaseEvent.overridden,
                    CaseEvent.reviewed_at.is_(None),
                    or_(CaseEvent.actor_id.is_(None), CaseEvent.actor_id != User.id)))
    return _rows(db, query, lambda user, event_id, at, case_id, ref: (
        user, f"override_to_review:{event_id}",
        f"{ref}: a gate was overridden on {local(at):%-d %b %Y}", f"/cases/{ref}", case_id))
