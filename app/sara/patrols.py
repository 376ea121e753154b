"""Hotspot patrols and operational outputs: kinds, the Koper band and dosage against plan.

Hotspot-patrol research (Koper 1995, the "Koper curve") finds residual deterrence best when a
patrol stays about 10 to 15 minutes and returns at unpredictable intervals. Patrol times are
kept to the minute, so every figure here is in whole minutes as officers read them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

KOPER_MIN_MINUTES = 10
KOPER_MAX_MINUTES = 15
# A patrol longer than this is almost always a forgotten "end patrol": it is refused, and the
# officer corrects the end time instead.
MAX_PATROL_MINUTES = 12 * 60
MAX_OUTPUT_COUNT = 1000  # per entry: a typing slip (e.g. 2222 arrests) is refused, not counted
MAX_PLANNED_MINUTES_PER_WEEK = 7 * 24 * 60


class PatrolKind(StrEnum):
    FOOT = "foot"
    VEHICLE = "vehicle"
    HIGH_VISIBILITY = "high_visibility"

    @property
    def label(self) -> str:
        return {"foot": "Foot", "vehicle": "Vehicle",
                "high_visibility": "High-visibility"}[self.value]


class OutputKind(StrEnum):
    """What Operation Nightingale counted, plus the proactive work around it."""

    ARRESTS = "arrests"
    STOP_SEARCHES = "stop_searches"
    KNIVES = "knives"
    FIREARMS = "firearms"
    OTHER_WEAPONS = "other_weapons"
    DRUG_SEIZURES = "drug_seizures"
    COMMUNITY_ENGAGEMENTS = "community_engagements"
    INTELLIGENCE_SUBMISSIONS = "intelligence_submissions"

    @property
    def label(self) -> str:
        return _OUTPUT_LABELS[self][0]

    def counted(self, count: int) -> str:
        """``2 arrests``, ``1 knife``."""
        singular, plural = _OUTPUT_LABELS[self][1:]
        return f"{count} {singular if count == 1 else plural}"


_OUTPUT_LABELS = {
    OutputKind.ARRESTS: ("Arrests", "arrest", "arrests"),
    OutputKind.STOP_SEARCHES: ("Stop and searches", "stop and search", "stop and searches"),
    OutputKind.KNIVES: ("Knives recovered", "knife", "knives"),
    OutputKind.FIREARMS: ("Firearms recovered", "firearm", "firearms"),
    OutputKind.OTHER_WEAPONS: ("Other offensive weapons", "other offensive weapon",
                               "other offensive weapons"),
    OutputKind.DRUG_SEIZURES: ("Drug seizures", "drug seizure", "drug seizures"),
    OutputKind.COMMUNITY_ENGAGEMENTS: ("Community engagements", "community engagement",
                                       "community engagements"),
    OutputKind.INTELLIGENCE_SUBMISSIONS: ("Intelligence submissions", "intelligence submission",
                                          "intelligence submissions"),
}


def describe_counts(counts: list[tuple[OutputKind, int]]) -> str:
    """``2 arrests and 1 knife``."""
    parts = [kind.counted(count) for kind, count in counts]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


class VisitBand(StrEnum):
    SHORT = "short"
    IN_BAND = "in_band"
    LONG = "long"

    @property
    def label(self) -> str:
        return {"short": f"Shorter than {KOPER_MIN_MINUTES} minutes",
                "in_band": f"{KOPER_MIN_MINUTES} to {KOPER_MAX_MINUTES} minutes",
                "long": f"Longer than {KOPER_MAX_MINUTES} minutes"}[self.value]


def visit_band(minutes: int) -> VisitBand:
    """Where a visit's length falls against the 10 to 15 minute band (both ends included)."""
    if minutes < KOPER_MIN_MINUTES:
        return VisitBand.SHORT
    if minutes > KOPER_MAX_MINUTES:
        return VisitBand.LONG
    return VisitBand.IN_BAND


def week_start(day: date) -> date:
    """The Monday of the week ``day`` falls in."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Visit:
    """A completed patrol: the London day it started and its length in whole minutes."""

    day: date
    minutes: int


@dataclass(frozen=True)
class WeekDosage:
    week_start: date
    planned_minutes: int
    delivered_minutes: int
    visits: int
    in_band: int

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)

    @property
    def share_of_plan(self) -> float | None:
        """Delivered as a share of plan; None when nothing was planned (no division by 0)."""
        if not self.planned_minutes:
            return None
        return self.delivered_minutes / self.planned_minutes


def weekly_dosage(visits: Iterable[Visit], planned_per_week: int | None, first: date,
                  last: date) -> list[WeekDosage]:
    """Planned against delivered minutes for every week from the one holding ``first`` to the
    one holding ``last`` (weeks without a visit included, so a gap shows)."""
    start, end = week_start(first), week_start(last)
    weeks: dict[date, list[int]] = {}
    current = start
    while current <= end:
        weeks[current] = []
        current += timedelta(days=7)
    for visit in visits:
        bucket = weeks.get(week_start(visit.day))
        if bucket is not None:
            bucket.append(visit.minutes)
    return [WeekDosage(week, planned_per_week or 0, sum(minutes), len(minutes),
                       sum(1 for m in minutes if visit_band(m) is VisitBand.IN_BAND))
            for week, minutes in weeks.items()]


def planned_minutes(per_week: int, first: date, last: date) -> float:
    """Minutes planned over the days ``first`` to ``last`` (both included) at a weekly rate."""
    days = (last - first).days + 1
    return per_week * max(days, 0) / 7


def band_counts(minutes: Iterable[int]) -> dict[VisitBand, int]:
    counts = dict.fromkeys(VisitBand, 0)
    for value in minutes:
        counts[visit_band(value)] += 1
    return counts


def format_minutes(minutes: int) -> str:
    """``45 min``, ``2 h 05 min``."""
    hours, rest = divmod(int(minutes), 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"
