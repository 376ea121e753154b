"""Patrol dosage and the Koper band, without a database."""

from __future__ import annotations

from datetime import date

import pytest

from app.sara.patrols import (
    OutputKind,
    Visit,
    VisitBand,
    band_counts,
    format_minutes,
    planned_minutes,
    visit_band,
    week_start,
    weekly_dosage,
)


@pytest.mark.parametrize(("minutes", "band"), [
    (0, VisitBand.SHORT), (9, VisitBand.SHORT), (10, VisitBand.IN_BAND),
    (12, VisitBand.IN_BAND), (15, VisitBand.IN_BAND), (16, VisitBand.LONG),
    (240, VisitBand.LONG),
])
def test_a_visit_is_placed_against_the_10_to_15_minute_band(minutes: int,
                                                            band: VisitBand) -> None:
    assert visit_band(minutes) is band


def test_weeks_start_on_monday() -> None:
    assert week_start(date(2026, 11, 30)) == date(2026, 11, 30)  # a Monday
    assert week_start(date(2026, 12, 6)) == date(2026, 11, 30)  # the Sunday after
    assert week_start(date(2027, 1, 1)) == date(2026, 12, 28)  # across a new year


def test_dosage_by_week_against_plan_includes_weeks_without_patrols() -> None:
    visits = [Visit(date(2026, 11, 2), 12), Visit(date(2026, 11, 4), 20),
              Visit(date(2026, 11, 8), 8), Visit(date(2026, 11, 20), 15)]
    weeks = weekly_dosage(visits, 60, date(2026, 11, 2), date(2026, 11, 24))
    assert [(w.week_start, w.planned_minutes, w.delivered_minutes, w.visits, w.in_band)
            for w in weeks] == [
        (date(2026, 11, 2), 60, 40, 3, 1),
        (date(2026, 11, 9), 60, 0, 0, 0),
        (date(2026, 11, 16), 60, 15, 1, 1),
        (date(2026, 11, 23), 60, 0, 0, 0),
    ]
    assert weeks[0].share_of_plan == pytest.approx(40 / 60)
    assert weeks[0].week_end == date(2026, 11, 8)


def test_no_plan_gives_no_share_rather_than_a_division_by_zero() -> None:
    weeks = weekly_dosage([Visit(date(2026, 11, 2), 12)], None, date(2026, 11, 2),
                          date(2026, 11, 2))
    assert weeks[0].planned_minutes == 0 and weeks[0].share_of_plan is None


def test_visits_outside_the_weeks_asked_for_are_left_out() -> None:
    weeks = weekly_dosage([Visit(date(2026, 10, 1), 12)], 30, date(2026, 11, 2),
                          date(2026, 11, 2))
    assert weeks[0].delivered_minutes == 0


def test_planned_minutes_over_a_period_at_a_weekly_rate() -> None:
    assert planned_minutes(70, date(2026, 11, 2), date(2026, 11, 8)) == 70
    assert planned_minutes(70, date(2026, 11, 2), date(2026, 11, 2)) == 10
    assert planned_minutes(70, date(2026, 11, 3), date(2026, 11, 2)) == 0


def test_band_counts_and_labels() -> None:
    assert band_counts([5, 10, 15, 16, 30]) == {VisitBand.SHORT: 1, VisitBand.IN_BAND: 2,
                                                VisitBand.LONG: 2}
    assert format_minutes(45) == "45 min" and format_minutes(125) == "2 h 05 min"
    assert OutputKind.KNIVES.counted(1) == "1 knife"
    assert OutputKind.ARRESTS.counted(2) == "2 arrests"
    assert OutputKind.OTHER_WEAPONS.label == "Other offensive weapons"
