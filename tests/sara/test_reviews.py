"""The review cadence's date rules, without a database."""

from __future__ import annotations

from datetime import date

import pytest

from app.sara.problem import Priority
from app.sara.reviews import (
    DEFAULT_CADENCE_DAYS,
    ReviewDecision,
    cadence_problem,
    days_overdue,
    is_review_overdue,
    next_review_problem,
    review_due,
)

TODAY = date(2026, 12, 6)


def test_defaults_follow_the_issue_and_rise_with_risk() -> None:
    assert DEFAULT_CADENCE_DAYS == {Priority.HIGH: 14, Priority.MEDIUM: 28, Priority.LOW: 56}


@pytest.mark.parametrize(("days", "refused"), [(0, True), (1, False), (365, False),
                                               (366, True), (-5, True)])
def test_a_cadence_is_from_1_to_365_days(days: int, refused: bool) -> None:
    assert (cadence_problem(days) is not None) is refused


def test_the_next_review_counts_from_the_day_given() -> None:
    assert review_due(date(2026, 12, 20), 14) == date(2027, 1, 3)  # across the year end
    assert review_due(date(2028, 2, 15), 14) == date(2028, 2, 29)  # a leap day


def test_the_next_date_a_supervisor_chooses() -> None:
    assert next_review_problem(date(2026, 12, 7), TODAY, 14, "") is None
    assert next_review_problem(TODAY, TODAY, 14, "") == "The next review must be after today."
    assert next_review_problem(date(2026, 12, 1), TODAY, 14, "") is not None
    # Up to twice the cadence without a reason; beyond it, with one.
    assert next_review_problem(date(2027, 1, 3), TODAY, 14, "") is None
    later = next_review_problem(date(2027, 1, 4), TODAY, 14, "")
    assert later is not None and "3 January 2027 or earlier" in later
    assert next_review_problem(date(2027, 1, 4), TODAY, 14, "Market closed") is None
    assert next_review_problem(date(2027, 1, 4), TODAY, 14, "   ") is not None
    # Never more than a year ahead, whatever the reason.
    assert next_review_problem(date(2027, 12, 7), TODAY, 365, "Long") is not None


def test_days_overdue_start_the_day_after_the_due_date() -> None:
    assert days_overdue(TODAY, TODAY) == 0 and not is_review_overdue(TODAY, TODAY)
    assert days_overdue(date(2026, 12, 5), TODAY) == 1
    assert is_review_overdue(date(2026, 11, 6), TODAY)
    assert days_overdue(None, TODAY) == 0 and not is_review_overdue(None, TODAY)
    assert days_overdue(date(2026, 12, 10), TODAY) == 0


def test_every_decision_has_a_label() -> None:
    assert [d.label for d in ReviewDecision] == [
        "Continue as planned", "Change the approach", "Escalate to the inspector",
        "Ready to close"]
