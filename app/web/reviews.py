"""What the case page shows of supervision: the next review date (overdue marked, with its
days), the latest reviews (older ones folded), and a supervisor's form to record one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.auth.context import Actor
from app.auth.permissions import Perm, has
from app.cases.holdings import Holdings
from app.cases.models import Case
from app.clock import today
from app.reviews.schedule import cadence_for
from app.reviews.service import case_reviews, days_late
from app.sara.reviews import LATER_WITHOUT_REASON, ReviewDecision, days_overdue, review_due
from app.sara.stages import Stage

DECISION_OPTIONS = [(d.value, d.label) for d in ReviewDecision]
REVIEWS_SHOWN = 2  # the latest on the page; the rest one tap away


def review_context(db: Session, actor: Actor, case: Case,
                   held: Holdings | None = None) -> dict[str, Any]:
    """``held``: which of the case's collections hold anything (None: read them all)."""
    user = actor.user
    assert user is not None
    day, cadence = today(), cadence_for(db, case)
    due = case.next_review_on
    return {
        "reviews": case_reviews(db, case) if held is None or held.reviews else [],
        "days_late": days_late,
        "reviews_shown": REVIEWS_SHOWN,
        "review_days_overdue": days_overdue(due, day),
        "review_days_left": (due - day).days if due else None,
        "review_cadence": cadence,
        "review_default_next": review_due(day, cadence),
        "review_later_limit": day + timedelta(days=LATER_WITHOUT_REASON * cadence),
        # The form is for a supervisor of the area who does not own the case, while it is open.
        "can_review": has(user, Perm.CASE_REVIEW) and case.stage is not Stage.CLOSED
        and case.owner_id != user.id,
        "own_case_review": has(user, Perm.CASE_REVIEW) and case.owner_id == user.id,
        "decision_options": DECISION_OPTIONS,
        "review_values": {}, "review_errors": {}, "review_conflict": "",
        "review_history_open": False,
    }
