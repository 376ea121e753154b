"""Read models of a case's patrols and outputs, shared by the API and the case page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.clock import london_day
from app.patrols.models import OutputEntry, Patrol
from app.patrols.schemas import OutputRead, PatrolLog, PatrolRead, WeekRead
from app.sara.patrols import (
    KOPER_MAX_MINUTES,
    KOPER_MIN_MINUTES,
    OutputKind,
    Visit,
    VisitBand,
    band_counts,
    visit_band,
    weekly_dosage,
)


@dataclass(frozen=True)
class Comparison:
    """The case is a comparison hotspot of a randomised operation: no extra patrols since the
    allocation (patrol times are whole minutes, so the minute it was made)."""

    operation: str
    since: datetime

    def covers(self, patrol: Patrol) -> bool:
        return patrol.started_at >= self.since

    @property
    def message(self) -> str:
        return (f"This is a comparison hotspot in {self.operation}'s randomised allocation: no "
                "extra patrols. Patrols logged here since the allocation are flagged, because "
                "each one weakens the comparison.")


def patrol_read(patrol: Patrol, comparison: Comparison | None = None) -> PatrolRead:
    minutes = patrol.minutes
    return PatrolRead(
        id=patrol.id, started_at=patrol.started_at, ended_at=patrol.ended_at, minutes=minutes,
        band=visit_band(minutes) if minutes is not None else None, kind=patrol.kind,
        officers=patrol.officers, place=patrol.place, notes=patrol.notes, live=patrol.live,
        recorded_by=patrol.recorded_by.username if patrol.recorded_by else None,
        version=patrol.version, flagged=comparison is not None and comparison.covers(patrol))


def patrol_log(patrols: list[Patrol], planned_per_week: int | None, today: date,
               comparison: Comparison | None = None) -> PatrolLog:
    """Planned against delivered by week, from the first patrol's week to this one, and each
    visit against the 10 to 15 minute band."""
    reads = [patrol_read(p, comparison) for p in patrols]
    done = [r for r in reads if r.minutes is not None]
    visits = [Visit(london_day(r.started_at), r.minutes or 0) for r in done]
    first = min((v.day for v in visits), default=today)
    weeks = weekly_dosage(visits, planned_per_week, min(first, today), today)
    return PatrolLog(
        planned_minutes_per_week=planned_per_week,
        band_minutes=(KOPER_MIN_MINUTES, KOPER_MAX_MINUTES),
        running=[r for r in reads if r.ended_at is None],
        weeks=[WeekRead(week_start=w.week_start, planned_minutes=w.planned_minutes,
                        delivered_minutes=w.delivered_minutes, visits=w.visits,
                        in_band=w.in_band,
                        percent_of_plan=round(100 * w.share_of_plan)
                        if w.share_of_plan is not None else None)
               for w in reversed(weeks)],
        bands=band_counts(r.minutes or 0 for r in done),
        outside_band=[r for r in done if r.band is not VisitBand.IN_BAND],
        patrols=reads,
        comparison_hotspot=comparison.message if comparison else None,
    )


def output_read(entry: OutputEntry, corrected_by: int | None) -> OutputRead:
    return OutputRead(
        id=entry.id, on=entry.on_date, kind=entry.kind, count=entry.count,
        patrol_id=entry.patrol_id, notes=entry.notes, corrects=entry.corrects_id,
        corrected_by=corrected_by, reason=entry.reason, recorded_at=entry.recorded_at,
        recorded_by=entry.recorded_by.username if entry.recorded_by else None)


def totals_of(entries: list[tuple[OutputEntry, int | None]]) -> dict[OutputKind, int]:
    """Totals of the entries in force (those nothing corrected)."""
    totals = dict.fromkeys(OutputKind, 0)
    for entry, corrected_by in entries:
        if corrected_by is None:
            totals[entry.kind] += entry.count
    return totals
