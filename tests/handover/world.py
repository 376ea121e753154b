"""A departing officer's open work, built with bulk inserts (not hundreds of HTTP calls)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.auth.models import User
from app.cases.models import Action, Case, CaseEvent, EventKind
from app.db import utcnow
from app.notifications.models import Notification
from app.sara.responses import ActionStatus
from app.sara.stages import Stage
from tests.conftest import WESTMINSTER

YEAR = 2019  # no case the tests open through the API takes a number in this year


def add_cases(db: Session, owner: User, count: int, *, first: int = 1,
              borough: str = WESTMINSTER, prefix: str = "WM",
              stage: Stage = Stage.ANALYSIS) -> list[int]:
    """``count`` cases owned by ``owner``, numbered from ``first``; their ids, in ref order."""
    now = utcnow()
    rows = [{"ref": f"{prefix}-{YEAR}-{n:04d}", "ref_prefix": prefix, "ref_year": YEAR,
             "ref_number": n, "title": f"Problem {n}", "category": "anti-social-behaviour",
             "borough_code": borough, "owner_id": owner.id, "stage": stage,
             "stage_entered_at": now, "created_at": now, "updated_at": now,
             "last_activity_at": now, "version": 1}
            for n in range(first, first + count)]
    db.execute(insert(Case), rows)
    db.commit()
    return list(db.scalars(select(Case.id).where(Case.ref.in_([r["ref"] for r in rows]))
                           .order_by(Case.ref)))


def add_actions(db: Session, case_ids: list[int], assignee: User | None, *,
                status: ActionStatus = ActionStatus.PLANNED) -> list[int]:
    rows = [{"case_id": case_id, "title": f"Action on case {case_id}", "owner": "",
             "assignee_id": assignee.id if assignee else None, "status": status,
             "due_date": date(2026, 12, 31), "partner": "police", "notes": "",
             "created_at": utcnow(), "version": 1} for case_id in case_ids]
    db.execute(insert(Action), rows)
    db.commit()
    return list(db.scalars(select(Action.id).where(Action.case_id.in_(case_ids),
                                                   Action.title.like("Action on case %"))
                           .order_by(Action.id)))[-len(rows):]


def deactivate(db: Session, user: User) -> None:
    db.execute(update(User).where(User.id == user.id).values(active=False))
    db.commit()
    db.expire_all()


@dataclass(frozen=True)
class Snapshot:
    """Everything a hand-over changes, read with plain SQL (no cached ORM objects)."""

    owners: dict[int, Any]
    case_versions: dict[int, int]
    assignees: dict[int, Any]
    action_versions: dict[int, int]
    handover_events: int
    notifications: int
    handover_log: int


def snapshot(db: Session) -> Snapshot:
    db.expire_all()
    cases = db.execute(select(Case.id, Case.owner_id, Case.version)).all()
    actions = db.execute(select(Action.id, Action.assignee_id, Action.version)).all()
    count = lambda query: db.scalar(select(func.count()).select_from(query.subquery()))  # noqa: E731
    return Snapshot(
        owners={c.id: c.owner_id for c in cases},
        case_versions={c.id: c.version for c in cases},
        assignees={a.id: a.assignee_id for a in actions},
        action_versions={a.id: a.version for a in actions},
        handover_events=count(select(CaseEvent.id).where(CaseEvent.kind == EventKind.HANDOVER)),
        notifications=count(select(Notification.id)),
        handover_log=count(select(AuditEntry.id).where(AuditEntry.action == "user.handover")),
    )
