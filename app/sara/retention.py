"""Retention of closed cases under the Management of Police Information (MoPI): when a closed
case's personal data is next reviewed, and what a review may decide. Pure rules: no HTTP, no
SQL.

The defaults are a starting point for a force's information manager, not law. MoPI's review
groups are about the records of offences and people; a problem-solving case holds residents'
concerns and contact details, partners' notes and photos of places. So:
- 120 months (10 years) for violent crime, robbery and possession of weapons, after MoPI group
  2 ("other sexual, violent or serious offences": reviewed every 10 years);
- 72 months (6 years) for every other category, after MoPI group 3 ("all other offences": a
  6-year clear period) and the 6 years that most forces' retention schedules use for
  non-crime records.
"""

from __future__ import annotations

import calendar
from datetime import date
from enum import StrEnum

from app.sara.problem import CATEGORIES

SERIOUS_CATEGORIES = frozenset({"violent-crime", "robbery", "possession-of-weapons"})
DEFAULT_MONTHS: dict[str, int] = {
    category: 120 if category in SERIOUS_CATEGORIES else 72 for category in CATEGORIES}
MIN_MONTHS, MAX_MONTHS = 1, 1200  # up to 100 years, MoPI group 1's horizon
DUE_SOON_DAYS = 30  # the retention queue's "due soon"


class RetentionDecision(StrEnum):
    RETAIN = "retain"
    DISPOSE = "dispose"

    @property
    def label(self) -> str:
        return {"retain": "Retain until a later review",
                "dispose": "Dispose of the personal data"}[self.value]


class Due(StrEnum):
    """Which reviews the queue lists."""

    OVERDUE = "overdue"  # the review date has passed (today's included)
    SOON = "soon"  # due within DUE_SOON_DAYS, overdue included
    ALL = "all"  # every closed case awaiting a review


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has fewer days."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_due(closed_on: date, months: int) -> date:
    return add_months(closed_on, months)


def months_problem(months: int) -> str | None:
    if not MIN_MONTHS <= months <= MAX_MONTHS:
        return f"Enter a number of months from {MIN_MONTHS} to {MAX_MONTHS}."
    return None


def next_review_problem(decision: RetentionDecision, proposed: date | None,
                        today: date) -> str | None:
    """A retained case needs a later review date; a disposal takes none."""
    if decision is RetentionDecision.DISPOSE:
        return None if proposed is None else "A disposal takes no next review date."
    if proposed is None:
        return "Enter the date of the next retention review."
    if proposed <= today:
        return "The next retention review must be after today."
    if proposed > add_months(today, MAX_MONTHS):
        return f"The next retention review must be within {MAX_MONTHS // 12} years."
    return None
