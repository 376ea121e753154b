"""Use cases on a case's collections: notes, hypotheses and response actions."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from app.audit.service import AuditAction, record
from app.auth.context import Actor
from app.auth.permissions import Perm
from app.cases.access import add_event, case_for, ensure_open
from app.cases.models import Action, Case, CaseEvent, EventKind, Hypothesis
from app.cases.schemas import (
    ActionCreate,
    ActionUpdate,
    HypothesisCreate,
    HypothesisUpdate,
    NoteCreate,
)
from app.clock import today
from app.errors import NotFound, StaleVersion
from app.sara.responses import ActionStatus

Child = TypeVar("Child", Hypothesis, Action)


def add_note(db: Session, actor: Actor, ref: str, note: NoteCreate) -> CaseEvent:
    """Notes may be added to closed cases too: they annotate, they do not change the work."""
    case = case_for(db, actor, ref, Perm.CASE_NOTE)
    event = add_event(db, case, actor, EventKind.NOTE, _first_line(note.body), body=note.body)
    db.flush()
    record(db, actor, AuditAction.CASE_NOTE, object_type="case", object_ref=case.ref,
           details={"event": event.id})
    db.commit()
    return event


def _first_line(text: str, limit: int = 120) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --- hypotheses --------------------------------------------------------------------------------

def add_hypothesis(db: Session, actor: Actor, ref: str, data: HypothesisCreate) -> Hypothesis:
    case = case_for(db, actor, ref, Perm.ANALYSIS_EDIT)
    ensure_open(case)
    hypothesis = Hypothesis(statement=data.statement, status=data.status, evidence=data.evidence)
    case.hypotheses.append(hypothesis)
    db.flush()
    add_event(db, case, actor, EventKind.HYPOTHESIS,
              f"Added hypothesis: {_first_line(data.statement, 200)}",
              details={"hypothesis": hypothesis.id})
    record(db, actor, AuditAction.HYPOTHESIS_ADD, object_type="case", object_ref=case.ref,
           details={"hypothesis": hypothesis.id})
    db.commit()
    return hypothesis


def update_hypothesis(db: Session, actor: Actor, ref: str, hypothesis_id: int,
                      data: HypothesisUpdate) -> Hypothesis:
    case = case_for(db, actor, ref, Perm.ANALYSIS_EDIT)
    ensure_open(case)
    hypothesis = _child(case.hypotheses, hypothesis_id, case, "hypothesis")
    _check_version(hypothesis.version, data.version, f"This hypothesis on {case.ref}")
    changed = _apply(hypothesis, data, ("statement", "status", "evidence"))
    if not changed:
        return hypothesis
    db.flush()
    status = f" ({hypothesis.status.label.lower()})" if "status" in changed else ""
    add_event(db, case, actor, EventKind.HYPOTHESIS,
              f"Updated hypothesis{status}: {_first_line(hypothesis.statement, 200)}",
              details={"hypothesis": hypothesis.id, "fields": changed})
    record(db, actor, AuditAction.HYPOTHESIS_UPDATE, object_type="case", object_ref=case.ref,
           details={"hypothesis": hypothesis.id, "fields": changed})
    db.commit()
    return hypothesis


# --- actions -----------------------------------------------------------------------------------

def add_action(db: Session, actor: Actor, ref: str, data: ActionCreate) -> Action:
    case = case_for(db, actor, ref, Perm.CASE_EDIT)
    ensure_open(case)
    action = Action(**data.model_dump())
    _sync_completion(action)
    case.actions.append(action)
    db.flush()
    add_event(db, case, actor, EventKind.ACTION, f"Added action: {action.title}",
              details={"action": action.id})
    record(db, actor, AuditAction.ACTION_ADD, object_type="case", object_ref=case.ref,
           details={"action": action.id})
    db.commit()
    return action


def update_action(db: Session, actor: Actor, ref: str, action_id: int,
                  data: ActionUpdate) -> Action:
    case = case_for(db, actor, ref, Perm.CASE_EDIT)
    ensure_open(case)
    action = _child(case.actions, action_id, case, "action")
    _check_version(action.version, data.version, f"This action on {case.ref}")
    changed = _apply(action, data,
                     ("title", "tactic", "partner", "owner", "due_date", "status", "notes"))
    if not changed:
        return action
    _sync_completion(action)
    db.flush()
    verb = f"Marked action {action.status.label.lower()}" if "status" in changed \
        else "Updated action"
    add_event(db, case, actor, EventKind.ACTION, f"{verb}: {action.title}",
              details={"action": action.id, "fields": changed})
    record(db, actor, AuditAction.ACTION_UPDATE, object_type="case", object_ref=case.ref,
           details={"action": action.id, "fields": changed})
    db.commit()
    return action


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
