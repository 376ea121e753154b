"""Hand-over: everything a person has open, moved to others in one transaction.

A person's open work is the cases they own that are not closed and the actions assigned to
them that are planned or in progress on such cases (a closed case's leftovers are not worked
any more). The step is checked whole before anything is written: one recipient not allowed,
one case outside the supervisor's areas, and nothing moves.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Row, func, insert, select, update
from sqlalchemy.orm import Session

from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.auth.models import User
from app.auth.permissions import CASE_OWNER_ROLES, Perm, covers_borough, require
from app.auth.service import get_user
from app.cases.access import acting_user
from app.cases.models import Action, Case, CaseEvent, EventKind
from app.cases.schemas import PersonRead
from app.db import rowcount, utcnow
from app.errors import Conflict, FieldError, Forbidden, ValidationFailed
from app.handover.schemas import (
    DepartedOwner,
    HandoverRequest,
    HandoverResult,
    OpenAction,
    OpenCase,
    OpenWork,
    RecipientShare,
)
from app.notifications.models import NotificationKind
from app.notifications.service import notify
from app.reference.models import Borough
from app.sara.responses import ActionStatus
from app.sara.stages import Stage
from app.usecase import UseCase, use_case

OPEN_STATUSES = (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS)
CHUNK = 500  # ids per IN (...) list: well inside every database's parameter limit


# --- reading a person's open work --------------------------------------------------------------

def open_cases(db: Session, person_id: int) -> Sequence[Row[*tuple[Any, ...]]]:
    return db.execute(
        select(Case.id, Case.ref, Case.title, Case.stage, Case.borough_code, Case.version)
        .where(Case.owner_id == person_id, Case.stage != Stage.CLOSED).order_by(Case.ref)
    ).all()


def open_actions(db: Session, person_id: int) -> Sequence[Row[*tuple[Any, ...]]]:
    return db.execute(
        select(Action.id, Action.title, Action.status, Action.due_date, Action.case_id,
               Case.ref.label("case_ref"), Case.borough_code, Case.owner_id)
        .join(Case, Case.id == Action.case_id)
        .where(Action.assignee_id == person_id, Action.status.in_(OPEN_STATUSES),
               Case.stage != Stage.CLOSED).order_by(Case.ref, Action.id)
    ).all()


def _boroughs(db: Session, codes: Iterable[str]) -> dict[str, Borough]:
    wanted = set(codes)
    if not wanted:
        return {}
    return {b.code: b for b in db.scalars(select(Borough).where(Borough.code.in_(wanted)))}


def person_read(user: User) -> PersonRead:
    return PersonRead(username=user.username, display_name=user.display_name)


def open_work(db: Session, actor: Actor, username: str) -> OpenWork:
    """A person's open cases and actions that the reader may see; the rest only counted."""
    user = acting_user(actor)
    require(user, Perm.CASE_READ)
    person = get_user(db, username)
    cases, actions = open_cases(db, person.id), open_actions(db, person.id)
    boroughs = _boroughs(db, [c.borough_code for c in cases] + [a.borough_code for a in actions])
    seen_cases = [c for c in cases if covers_borough(user, boroughs[c.borough_code])]
    seen_actions = [a for a in actions if covers_borough(user, boroughs[a.borough_code])]
    record_read(db, actor, AuditAction.OPEN_WORK_VIEW, object_type="user",
                object_ref=person.username,
                details={"cases": len(seen_cases), "actions": len(seen_actions)})
    return OpenWork(
        person=person_read(person), active=person.active,
        cases=[OpenCase(ref=c.ref, title=c.title, stage=c.stage, borough=c.borough_code,
                        borough_name=boroughs[c.borough_code].name, version=c.version)
               for c in seen_cases],
        actions=[OpenAction(id=a.id, title=a.title, status=a.status, due_date=a.due_date,
                            case_ref=a.case_ref, follows_case=a.owner_id == person.id)
                 for a in seen_actions],
        total_cases=len(seen_cases), total_actions=len(seen_actions),
        elsewhere=len(cases) + len(actions) - len(seen_cases) - len(seen_actions),
    )


def departed_owners(db: Session, scope: Sequence[ColumnElement[bool]]) -> list[DepartedOwner]:
    """Deactivated accounts with open cases or actions among the cases ``scope`` selects
    (the work queue's open cases), with how many of each."""
    people = select(User.id, User.username, User.display_name, func.count().label("n"))
    grouped = (User.id, User.username, User.display_name)
    cases = people.join(Case, Case.owner_id == User.id)
    actions = (people.join(Action, Action.assignee_id == User.id)
               .join(Case, Case.id == Action.case_id).where(Action.status.in_(OPEN_STATUSES)))
    counts: dict[int, DepartedOwner] = {}
    for query, column in ((cases, "cases"), (actions, "actions")):
        for row in db.execute(query.where(*scope, User.active.is_(False)).group_by(*grouped)):
            entry = counts.setdefault(row.id, DepartedOwner(
                username=row.username, display_name=row.display_name, cases=0, actions=0,
                link=f"/people/{row.username}/handover"))
            setattr(entry, column, row.n)
    return sorted(counts.values(), key=lambda d: (d.display_name, d.username))


@dataclass(frozen=True)
class LeftBehind:
    """What an account holds open, for the administrator (counts and areas, no case text)."""

    cases: int
    actions: int
    areas: list[str]

    @property
    def any(self) -> bool:
        return bool(self.cases or self.actions)


def left_behind(db: Session, person: User) -> LeftBehind:
    cases, actions = open_cases(db, person.id), open_actions(db, person.id)
    boroughs = _boroughs(db, [c.borough_code for c in cases] + [a.borough_code for a in actions])
    return LeftBehind(len(cases), len(actions), sorted(b.name for b in boroughs.values()))


# --- planning: every check, before anything is written ----------------------------------------

@dataclass
class Plan:
    person: User
    by: User
    # (case row, new owner) and (action row, new assignee)
    cases: list[tuple[Row[*tuple[Any, ...]], User]] = field(default_factory=list)
    actions: list[tuple[Row[*tuple[Any, ...]], User]] = field(default_factory=list)

    def refs(self) -> list[str]:
        return sorted({c.ref for c, _r in self.cases} | {a.case_ref for a, _r in self.actions})

    def shares(self) -> list[RecipientShare]:
        by_user: dict[int, RecipientShare] = {}
        for user in [r for _c, r in self.cases] + [r for _a, r in self.actions]:
            if user.id not in by_user:
                by_user[user.id] = RecipientShare(username=user.username, cases=[], actions=[],
                                                  display_name=user.display_name)
        for case, recipient in self.cases:
            by_user[recipient.id].cases.append(case.ref)
        for action, recipient in self.actions:
            by_user[recipient.id].actions.append(action.id)
        return sorted(by_user.values(), key=lambda s: (s.display_name, s.username))


def plan_handover(db: Session, by: User, person: User, request: HandoverRequest) -> Plan:
    """Who takes each open case and action, with every check made: Forbidden when ``by``
    does not cover all of it, ValidationFailed listing every recipient not allowed."""
    cases, actions = open_cases(db, person.id), open_actions(db, person.id)
    if not cases and not actions:
        raise ValidationFailed.one("to", f"{person.display_name} has no open cases or actions "
                                         "to hand over.")
    boroughs = _boroughs(db, [c.borough_code for c in cases] + [a.borough_code for a in actions])
    outside = sum(1 for row in [*cases, *actions]
                  if not covers_borough(by, boroughs[row.borough_code]))
    if outside:
        raise Forbidden(f"{person.display_name} has open work in areas you do not supervise "
                        f"({outside} of {len(cases) + len(actions)} cases and actions): a "
                        "supervisor who covers them all must hand it over.")
    errors = _unknown_items(person, request, cases, actions)
    recipients = _people(db, request)
    plan = Plan(person=person, by=by)
    checked: set[tuple[str, str]] = set()  # account problems already reported, by field
    for case in cases:
        named = request.cases.get(case.ref)
        where = f"cases.{case.ref}" if named else "to"
        recipient = _recipient(named or request.to, where, recipients, person,
                               boroughs[case.borough_code], case.ref, errors, checked)
        if recipient is not None:
            plan.cases.append((case, recipient))
    new_owners = {case.id: recipient for case, recipient in plan.cases}
    for action in actions:
        named = request.actions.get(action.id)
        if named is None and action.case_id in new_owners:
            plan.actions.append((action, new_owners[action.case_id]))
            continue
        if named is None and action.owner_id == person.id:
            continue  # its case's recipient is wrong: reported once, on the case
        where = f"actions.{action.id}" if named else "to"
        recipient = _recipient(named or request.to, where, recipients, person,
                               boroughs[action.borough_code], f"action {action.id} "
                               f"({action.case_ref})", errors, checked)
        if recipient is not None:
            plan.actions.append((action, recipient))
    if errors:
        raise ValidationFailed(errors)
    return plan


def _unknown_items(person: User, request: HandoverRequest, cases: Sequence[Row[*tuple[Any, ...]]],
                   actions: Sequence[Row[*tuple[Any, ...]]]) -> list[FieldError]:
    refs, action_ids = {c.ref for c in cases}, {a.id for a in actions}
    return [FieldError(f"cases.{ref}", f"{ref} is not an open case of {person.display_name}.")
            for ref in request.cases if ref not in refs] + [
        FieldError(f"actions.{i}", f"Action {i} is not an open action of "
                                   f"{person.display_name}.")
        for i in request.actions if i not in action_ids]


def _people(db: Session, request: HandoverRequest) -> dict[str, User]:
    names = {*request.cases.values(), *request.actions.values()} | (
        {request.to} if request.to else set())
    if not names:
        return {}
    return {u.username: u for u in db.scalars(select(User).where(User.username.in_(names)))}


def _recipient(name: str | None, where: str, people: dict[str, User], person: User,
               borough: Borough, what: str, errors: list[FieldError],
               checked: set[tuple[str, str]]) -> User | None:
    """The named recipient if they may take ``what``; otherwise None, with the reason in
    ``errors`` (an account's own problem once, an area problem per item)."""
    if not name:
        errors.append(FieldError(where, f"Choose who takes {what}: give a recipient for it "
                                        "or a default recipient."))
        return None
    recipient = people.get(name)
    account_problem = _account_problem(name, recipient, person)
    if account_problem:
        if (where, name) not in checked:
            checked.add((where, name))
            errors.append(FieldError(where, account_problem))
        return None
    assert recipient is not None
    if not covers_borough(recipient, borough):
        errors.append(FieldError(where, f"{recipient.display_name} cannot take {what}: it is "
                                        f"in {borough.name}, outside their area."))
        return None
    return recipient


def _account_problem(name: str, recipient: User | None, person: User) -> str:
    if recipient is None or not recipient.active:
        return f"There is no active user {name}."
    if recipient.id == person.id:
        return f"The work is {person.display_name}'s already: choose someone else."
    if recipient.role not in CASE_OWNER_ROLES:
        return (f"{recipient.display_name} cannot take cases or actions: they go to officers "
                "or supervisors.")
    return ""


# --- the step ----------------------------------------------------------------------------------

def hand_over(db: Session, actor: Actor, username: str,
              request: HandoverRequest) -> HandoverResult:
    """Move all of ``username``'s open work as ``request`` says, in one transaction: owners
    and assignees, a timeline event on every case touched, one access-log entry, and
    notifications to the recipients and to the person (if their account is active)."""
    by = acting_user(actor)
    require(by, Perm.CASE_ASSIGN, "Only a supervisor can hand someone's work over.")
    person = get_user(db, username)
    plan = plan_handover(db, by, person, request)
    token = secrets.token_hex(6)
    at = utcnow()
    if not request.dry_run:
        with use_case(db, actor, AuditAction.HANDOVER, object_type="user",
                      object_ref=person.username) as done:
            _move(db, plan, at)
            _timeline(db, plan, token, at)
            _log_and_notify(done, plan, token)
    return HandoverResult(
        handover=token if not request.dry_run else "", dry_run=request.dry_run,
        person=person_read(person), by=person_read(by), at=at, cases=len(plan.cases),
        actions=len(plan.actions), refs=plan.refs(), recipients=plan.shares())


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _move(db: Session, plan: Plan, at: Any) -> None:
    """Bulk updates per recipient, each guarded by "still the person's and still open": a
    concurrent change in between makes the step refuse (and roll back) rather than overwrite
    it. Case versions are bumped, as an owner change does, so that open forms become stale."""
    person_id = plan.person.id
    cases_of: dict[int, list[int]] = defaultdict(list)
    for case, recipient in plan.cases:
        cases_of[recipient.id].append(case.id)
    for recipient_id, ids in cases_of.items():
        for chunk in _chunks(ids):
            moved = rowcount(db.execute(
                update(Case).where(Case.id.in_(chunk), Case.owner_id == person_id,
                                   Case.stage != Stage.CLOSED)
                .values(owner_id=recipient_id, version=Case.version + 1, updated_at=at,
                        last_activity_at=at),
                execution_options={"synchronize_session": False}))
            _check_moved(moved, len(chunk))
    actions_of: dict[int, list[int]] = defaultdict(list)
    for action, recipient in plan.actions:
        actions_of[recipient.id].append(action.id)
    for recipient_id, ids in actions_of.items():
        for chunk in _chunks(ids):
            moved = rowcount(db.execute(
                update(Action).where(Action.id.in_(chunk), Action.assignee_id == person_id,
                                     Action.status.in_(OPEN_STATUSES))
                .values(assignee_id=recipient_id, version=Action.version + 1),
                execution_options={"synchronize_session": False}))
            _check_moved(moved, len(chunk))
    owned = {case.id for case, _r in plan.cases}
    only_actions = sorted({a.case_id for a, _r in plan.actions} - owned)
    for chunk in _chunks(only_actions):  # activity, not a version: no form goes stale
        db.execute(update(Case).where(Case.id.in_(chunk)).values(last_activity_at=at),
                   execution_options={"synchronize_session": False})
    db.expire_all()  # the identity map's copies of these rows are out of date now


def _check_moved(moved: int, expected: int) -> None:
    if moved != expected:
        raise Conflict("Some of this work changed hands while it was being handed over: "
                       "nothing was moved. Look at it again and hand it over then.")


def _timeline(db: Session, plan: Plan, token: str, at: Any) -> None:
    """One "Handed over" event per case touched, written in one bulk insert."""
    person, by = plan.person, plan.by
    new_owner = {case.id: recipient for case, recipient in plan.cases}
    moved: dict[int, list[tuple[Row[*tuple[Any, ...]], User]]] = defaultdict(list)
    for action, recipient in plan.actions:
        moved[action.case_id].append((action, recipient))
    rows = []
    for case_id in sorted(set(new_owner) | set(moved)):
        owner = new_owner.get(case_id)
        actions = moved.get(case_id, [])
        if owner is not None:
            summary = (f"Handed over from {person.display_name} to {owner.display_name} by "
                       f"{by.display_name}")
            if actions:
                summary += f", with {_count(len(actions), 'action')}"
        else:
            summary = (f"{_count(len(actions), 'action')} handed over from "
                       f"{person.display_name} by {by.display_name}")
        body = "\n".join(f"Action “{a.title}” to {r.display_name}" for a, r in actions)
        rows.append({
            "case_id": case_id, "at": at, "actor_id": by.id, "kind": EventKind.HANDOVER,
            "summary": summary[:300], "body": body, "overridden": False, "review_note": "",
            "details": {"handover": token, "from": person.username,
                        "to": owner.username if owner else None,
                        "actions": [{"id": a.id, "to": r.username} for a, r in actions]},
        })
    db.execute(insert(CaseEvent), rows)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _log_and_notify(done: UseCase, plan: Plan, token: str) -> None:
    """The entry's details (written when the use case ends), and the recipients' notices."""
    db, person, by = done.db, plan.person, plan.by
    shares = plan.shares()
    done.details = {"handover": token, "cases": len(plan.cases), "actions": len(plan.actions),
                    "refs": plan.refs(),
                    "to": {s.username: {"cases": s.cases, "actions": s.actions}
                           for s in shares}}
    users = {u.id: u for _row, u in [*plan.cases, *plan.actions]}
    for share in shares:
        recipient = next(u for u in users.values() if u.username == share.username)
        link = (f"/cases?owner={share.username}" if share.cases
                else f"/cases/{_case_ref_of(plan, share.actions[0])}")
        notify(db, user=recipient, kind=NotificationKind.HANDED_OVER,
               key=f"handed_over:{token}:{recipient.id}",
               summary=f"{by.display_name} handed you {_what(share.cases, share.actions)} "
                       f"from {person.display_name}", link=link)
    if person.active:  # notify() would skip an inactive account anyway: say why here
        notify(db, user=person, kind=NotificationKind.HANDED_OVER,
               key=f"handed_over:{token}:{person.id}",
               summary=f"{by.display_name} handed your open work to others: "
                       f"{_what(plan.cases, plan.actions)}")


def _what(cases: Sequence[Any], actions: Sequence[Any]) -> str:
    parts = [_count(len(cases), "case")] if cases else []
    parts += [_count(len(actions), "action")] if actions else []
    return " and ".join(parts)


def _case_ref_of(plan: Plan, action_id: int) -> str:
    ref: str = next(a.case_ref for a, _r in plan.actions if a.id == action_id)
    return ref
