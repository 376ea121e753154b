"""Supervisory review cadence: how often a sergeant reviews a problem-solving plan, and the
dates that follow from it. Pure rules: no HTTP, no SQL.

The defaults follow the issue's example of UK neighbourhood practice (a plan reviewed every 14
days at high risk and every 28 at medium); low risk doubles medium again (56 days, about two
months), so that no open case goes a quarter without a supervisor looking at it. A force's
admin may change all three.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from app.sara.problem import Priority

DEFAULT_CADENCE_DAYS: dict[Priority, int] = {
    Priority.HIGH: 14,
    Priority.MEDIUM: 28,
    Priority.LOW: 56,
}
MIN_CADENCE_DAYS, MAX_CADENCE_DAYS = 1, 365
# A supervisor may set the next review up to this many cadences ahead without saying why:
# one missed cycle is a judgement call (leave, a quiet spell), two or more hide a stale case.
LATER_WITHOUT_REASON = 2
# Soon: the work queue lists reviews due within this many days.
DUE_SOON_DAYS = 7


class ReviewDecision(StrEnum):
    CONTINUE = "continue"
    CHANGE_APPROACH = "change_approach"
    ESCALATE = "escalate"
    READY_TO_CLOSE = "ready_to_close"

    @property
    def label(self) -> str:
        return {"continue": "Continue as planned", "change_approach": "Change the approach",
                "escalate": "Escalate to the inspector",
                "ready_to_close": "Ready to close"}[self.value]


def cadence_problem(days: int) -> str | None:
    """Why a number of days between reviews is refused, or None."""
    if not MIN_CADENCE_DAYS <= days <= MAX_CADENCE_DAYS:
        return f"Enter a number of days from {MIN_CADENCE_DAYS} to {MAX_CADENCE_DAYS}."
    return None


def review_due(since: date, cadence_days: int) -> date:
    """The next review after ``since`` (the opening day, a reopening or the last review)."""
    return since + timedelta(days=cadence_days)


def next_review_problem(proposed: date, today: date, cadence_days: int,
                        reason_for_later: str) -> str | None:
    """Why a next review date a supervisor chose is refused, or None. It must be after today
    (a review today is this one) and, without a reason, no more than two cadences ahead."""
    if proposed <= today:
        return "The next review must be after today."
    limit = today + timedelta(days=LATER_WITHOUT_REASON * cadence_days)
    if proposed > today + timedelta(days=MAX_CADENCE_DAYS):
        return f"The next review must be within {MAX_CADENCE_DAYS} days."
    if proposed > limit and not reason_for_later.strip():
        return (f"The next review is more than {LATER_WITHOUT_REASON * cadence_days} days "
                f"away (twice the cadence): say why it can wait that long, or choose "
                f"{limit:%-d %B %Y} or earlier.")
    return None


def days_overdue(next_review_on: date | None, today: date) -> int:
    """Days since the review fell due (0 when not overdue or none is set)."""
    if next_review_on is None or next_review_on >= today:
        return 0
    return (today - next_review_on).days


def is_review_overdue(next_review_on: date | None, today: date) -> bool:
    return days_overdue(next_review_on, today) > 0
