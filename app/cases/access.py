"""Loading a case for an actor, with the permission check, and the small writes every case
use case shares (timeline events, activity time, stale-version guard)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app.auth.context import Actor
from app.auth.context import acting_user as acting_user  # re-exported for case use cases
from app.auth.permissions import Perm, require_case
from app.cases.models import Case, CaseEvent, EventKind
from app.db import utcnow
from app.errors import Conflict, NotFound, StaleVersion
from app.sara.stages import Stage


def normalise_ref(ref: str) -> str:
    return ref.replace("\x00", "").strip().upper()[:20]


def case_for(db: Session, actor: Actor, ref: str, perm: Perm = Perm.CASE_READ) -> Case:
    """The case, if the actor may read it and their role allows ``perm``; else NotFound or
    Forbidden (NotFound for anything outside their scope, so that its existence never leaks)."""
    ref = normalise_ref(ref)
    case = db.scalar(select(Case).where(Case.ref == ref))
    if case is None:
        raise NotFound(f"There is no case {ref}.")
    require_case(acting_user(actor), ref, case.borough, perm)
    return case


def ensure_open(case: Case) -> None:
    if case.stage is Stage.CLOSED:
        raise Conflict(f"{case.ref} is closed: a supervisor must reopen it before it can change.")


def ensure_version(case: Case, version: int) -> None:
    if version != case.version:
        raise StaleVersion(
            f"{case.ref} has changed since you opened it (you had version {version}, "
            f"it is now at version {case.version}).",
            current_version=case.version,
        )


@contextmanager
def stale_guard(db: Session, case: Case) -> Iterator[None]:
    """A concurrent writer that committed first turns our flush into a stale-version conflict."""
    case_id, ref = case.id, case.ref
    try:
        yield
    except StaleDataError as exc:
        db.rollback()
        current = db.scalar(select(Case.version).where(Case.id == case_id)) or 0
        raise StaleVersion(f"{ref} was changed by someone else at the same moment.",
                           current_version=current) from exc


def add_event(db: Session, case: Case, actor: Actor, kind: EventKind, summary: str,
              **fields: Any) -> CaseEvent:
    event = CaseEvent(case_id=case.id, actor_id=actor.user.id if actor.user else None,
                      kind=kind, summary=summary[:300], at=utcnow(), **fields)
    db.add(event)
    mark_activity(db, case, event.at)
    return event


def mark_activity(db: Session, case: Case, at: Any) -> None:
    # A Core UPDATE leaves the ORM's version counter alone (see Case.last_activity_at).
    db.execute(
        update(Case).where(Case.id == case.id).values(last_activity_at=at),
        execution_options={"synchronize_session": False},
    )
    set_committed_value(case, "last_activity_at", at)
