"""Use cases on a case's collections: notes, hypotheses and response actions."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import AuditAction
from app.auth.context import Actor
from app.auth.models import User
from app.auth.permissions import CASE_OWNER_ROLES, Perm, covers_borough
from app.cases.access import case_for, ensure_open
from app.cases.models import Action, Case, CaseEvent, EventKind, Hypothesis
from app.cases.schemas import (
    ActionCreate,
    ActionUpdate,
    HypothesisCreate,
    HypothesisUpdate,
    NoteCreate,
)
from app.clock import today
from app.errors import NotFound, StaleVersion, ValidationFailed
from app.notifications.models import NotificationKind
from app.notifications.service import notify
from app.partners.on_cases import directory_agency
from app.sara.responses import ActionStatus
from app.usecase import use_case

Child = TypeVar("Child", Hypothesis, Action)


def add_note(db: Session, actor: Actor, ref: str, note: NoteCreate) -> CaseEvent:
    """Notes may be added to closed cases too: they annotate, they do not change the work."""
    case = case_for(db, actor, ref, Perm.CASE_NOTE)
    with use_case(db, actor, AuditAction.CASE_NOTE, case=case) as done:
        event = done.event(EventKind.NOTE, _first_line(note.body), body=note.body)
        done.flush()
        done.details = {"event": event.id}
    return event


def _first_line(text: str, limit: int = 120) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --- hypotheses --------------------------------------------------------------------------------

def add_hypothesis(db: Session, actor: Actor, ref: str, data: HypothesisCreate) -> Hypothesis:
    case = case_for(db, actor, ref, Perm.ANALYSIS_EDIT)
    ensure_open(case)
    with use_case(db, actor, AuditAction.HYPOTHESIS_ADD, case=case) as done:
        hypothesis = Hypothesis(statement=data.statement, status=data.status,
                                evidence=data.evidence)
        case.hypotheses.append(hypothesis)
        done.flush()
        done.event(EventKind.HYPOTHESIS, f"Added hypothesis: {_first_line(data.statement, 200)}",
                   details={"hypothesis": hypothesis.id})
    return hypothesis


def update_hypothesis(db: Session, actor: Actor, ref: str, hypothesis_id: int,
                      data: HypothesisUpdate) -> Hypothesis:
    case = case_for(db, actor, ref, Perm.ANALYSIS_EDIT)
    ensure_open(case)
    hypothesis = _child(case.hypotheses, hypothesis_id, case, "hypothesis")
    _check_version(hypothesis.version, data.version, f"This hypothesis on {case.ref}")
    with use_case(db, actor, AuditAction.HYPOTHESIS_UPDATE, case=case) as done:
        changed = _apply(hypothesis, data, ("statement", "status", "evidence"))
        if not changed:
            done.unchanged()
            return hypothesis
        status = f" ({hypothesis.status.label.lower()})" if "status" in changed else ""
        done.event(EventKind.HYPOTHESIS,
                   f"Updated hypothesis{status}: {_first_line(hypothesis.statement, 200)}",
                   details={"hypothesis": hypothesis.id, "fields": changed})
    return hypothesis


# --- actions -----------------------------------------------------------------------------------

def add_action(db: Session, actor: Actor, ref: str, data: ActionCreate) -> Action:
    case = case_for(db, actor, ref, Perm.CASE_EDIT)
    ensure_open(case)
    with use_case(db, actor, AuditAction.ACTION_ADD, case=case) as done:
        assignee = eligible_assignee(db, data.assignee, case) if data.assignee else None
        action = Action(**data.model_dump(exclude={"assignee", "partner_agency"}),
                        assignee=assignee)
        if data.partner_agency is not None:
            _lead(db, case, action, data.partner_agency)
        _sync_completion(action)
        case.actions.append(action)
        done.flush()
        _notify_assignee(db, actor, case, action)
        done.event(EventKind.ACTION, f"Added action: {action.title}",
                   details={"action": action.id})
    return action


def update_action(db: Session, actor: Actor, ref: str, action_id: int,
                  data: ActionUpdate) -> Action:
    case = case_for(db, actor, ref, Perm.CASE_EDIT)
    ensure_open(case)
    action = _child(case.actions, action_id, case, "action")
    _check_version(action.version, data.version, f"This action on {case.ref}")
    with use_case(db, actor, AuditAction.ACTION_UPDATE, case=case) as done:
        changed = _apply(action, data,
                         ("title", "tactic", "partner", "owner", "due_date", "status", "notes"))
        if "assignee" in data.model_fields_set and _reassign(db, case, action, data.assignee):
            changed.append("assignee")
        if "partner_agency" in data.model_fields_set \
                and data.partner_agency != action.partner_agency_id:
            _lead(db, case, action, data.partner_agency)
            changed.append("partner_agency")
        if action.partner_agency is not None:  # a led action's kind is its agency's, always
            action.partner = action.partner_agency.kind.partner
        if not changed:
            done.unchanged()
            return action
        _sync_completion(action)
        done.flush()
        if "assignee" in changed:
            _notify_assignee(db, actor, case, action)
        verb = f"Marked action {action.status.label.lower()}" if "status" in changed \
            else "Updated action"
        done.event(EventKind.ACTION, f"{verb}: {action.title}",
                   details={"action": action.id, "fields": changed})
    return action


def eligible_assignee(db: Session, username: str, case: Case) -> User:
    """The person named to carry an action on ``case``: an active officer or supervisor who
    covers the case's area (the same people who may own it)."""
    person = db.scalar(select(User).where(User.username == username))
    if person is None or not person.active:
        raise ValidationFailed.one("assignee", f"There is no active user {username}.")
    if person.role not in CASE_OWNER_ROLES or not covers_borough(person, case.borough):
        raise ValidationFailed.one(
            "assignee", f"{person.display_name} cannot carry an action in {case.borough.name}: "
                        "actions are assigned to officers or supervisors of the case's area.")
    return person


def _lead(db: Session, case: Case, action: Action, agency_id: int | None) -> None:
    """The action's lead agency from the directory; its ``partner`` kind follows the agency's.
    Cleared, the kind stays as it was (the agency no longer leads, the kind of work may)."""
    if agency_id is None:
        action.partner_agency = None
        return
    agency = directory_agency(db, case, agency_id, "partner_agency")
    action.partner_agency = agency
    action.partner = agency.kind.partner


def _reassign(db: Session, case: Case, action: Action, username: str | None) -> bool:
    """Set the action's assignee; True when it changed."""
    current = action.assignee.username if action.assignee else None
    if username == current:
        return False
    action.assignee = eligible_assignee(db, username, case) if username else None
    return True


def _notify_assignee(db: Session, actor: Actor, case: Case, action: Action) -> None:
    """Tell the person an action was given to, unless they gave it to themselves."""
    person = action.assignee
    if person is None or (actor.user is not None and person.id == actor.user.id):
        return
    by = actor.user.display_name if actor.user else "popcase"
    notify(db, user=person, kind=NotificationKind.ACTION_ASSIGNED,
           key=f"action_assigned:{action.id}:{person.id}",
           summary=f"{by} assigned you an action on {case.ref}: {action.title}",
           link=f"/cases/{case.ref}", case_id=case.id)


def _sync_completion(action: Action) -> None:
    if action.status is ActionStatus.DONE and action.completed_on is None:
        action.completed_on = today()
    elif action.status is not ActionStatus.DONE:
        action.completed_on = None


# --- shared ------------------------------------------------------------------------------------

def _child(items: list[Child], item_id: int, case: Case, noun: str) -> Child:
    for item in items:
        if item.id == item_id:
            return item
    raise NotFound(f"{case.ref} has no {noun} {item_id}.")


def _check_version(current: int, given: int, what: str) -> None:
    if current != given:
        raise StaleVersion(f"{what} has changed since you opened it.", current_version=current)


def _apply(row: Hypothesis | Action, data: HypothesisUpdate | ActionUpdate,
           names: tuple[str, ...]) -> list[str]:
    changed = []
    for name in names:
        if name not in data.model_fields_set:
            continue
        value = getattr(data, name)
        if value is None and name in ("statement", "title", "status", "partner"):
            continue  # required fields cannot be cleared
        if value is None and name in ("owner", "notes", "evidence"):
            value = ""
        if value != getattr(row, name):
            setattr(row, name, value)
            changed.append(name)
    return changed
