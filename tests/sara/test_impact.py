"""The impact figures of DESIGN §2 against figures worked by hand (in 40-digit decimal
arithmetic, a path independent of the code's floats) and against the textbook cases that define
the weighted displacement quotient; zero and tiny counts never give infinity or NaN."""

from __future__ import annotations

import math
from decimal import Decimal, getcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.sara.impact import (
    Change,
    displacement,
    odds_ratio,
    pooled_effect,
    read_change,
    read_displacement,
    read_odds_ratio,
    read_pooled,
    read_total_net_effect,
    total_net_effect,
)

getcontext().prec = 40
TOLERANCE = 1e-9


def by_hand_odds_ratio(a0: int, a1: int, c0: int, c1: int) -> tuple[float, float, float]:
    """OR and its 95% interval, exp(ln OR ± 1.96 √(1/a0 + 1/a1 + 1/c0 + 1/c1)), in Decimal."""
    ratio = Decimal(a0) * Decimal(c1) / (Decimal(a1) * Decimal(c0))
    half = Decimal("1.96") * (1 / Decimal(a0) + 1 / Decimal(a1) + 1 / Decimal(c0)
                              + 1 / Decimal(c1)).sqrt()
    return float(ratio), float((ratio.ln() - half).exp()), float((ratio.ln() + half).exp())


@pytest.mark.parametrize(("a0", "a1", "c0", "c1"), [
    (100, 80, 100, 100),  # 20% fewer in the target, no change in the control: OR 1.25
    (96, 41, 58, 55),  # the demo's closed Liverpool Street case (README)
    (12, 30, 40, 20),  # worse than the control
    (1, 1, 1, 1),  # the smallest counts for which it is defined
    (5000, 4100, 12000, 11800),
])
def test_odds_ratio_and_interval_match_the_hand_worked_figures(a0: int, a1: int, c0: int,
                                                               c1: int) -> None:
    value, low, high = by_hand_odds_ratio(a0, a1, c0, c1)
    result = odds_ratio(a0, a1, c0, c1)
    assert result.value == pytest.approx(value, abs=TOLERANCE)
    assert result.low == pytest.approx(low, abs=TOLERANCE)
    assert result.high == pytest.approx(high, abs=TOLERANCE)
    assert result.variance == pytest.approx(1 / a0 + 1 / a1 + 1 / c0 + 1 / c1, abs=TOLERANCE)


def test_the_worked_example_of_a_fifth_fewer_crimes() -> None:
    """100 before and 80 after in the target, 100 and 100 in the control."""
    result = odds_ratio(100, 80, 100, 100)
    assert result.value == pytest.approx(1.25, abs=TOLERANCE)
    # ln 1.25 = 0.2231435513142098; √0.0425 = 0.2061552812808830
    assert result.log == pytest.approx(0.2231435513142098, abs=TOLERANCE)
    assert result.low == pytest.approx(math.exp(0.2231435513142098 - 1.96 * 0.2061552812808830),
                                       abs=TOLERANCE)
    assert result.low == pytest.approx(0.8345014485963938, abs=TOLERANCE)
    assert result.high == pytest.approx(1.8723754196329770, abs=TOLERANCE)
    assert result.significant is False
    assert "includes 1" in read_odds_ratio(result)


@pytest.mark.parametrize(("counts", "wdq", "meaning"), [
    # Bowers & Johnson's reference points: everything the target gained moved to the buffer
    # (WDQ = -1), the buffer gained as much as the target (+1), the buffer kept pace (0).
    ((100, 50, 100, 150, 100, 100), -1.0, "some displacement"),
    ((100, 50, 100, 50, 100, 100), 1.0, "diffusion of benefits"),
    ((100, 50, 100, 100, 100, 100), 0.0, "neither displacement nor diffusion"),
    ((100, 50, 100, 200, 100, 100), -2.0, "displacement exceeds the gain"),
])
def test_the_weighted_displacement_quotient_at_its_reference_points(
        counts: tuple[int, ...], wdq: float, meaning: str) -> None:
    result = displacement(*counts)
    assert result.success == pytest.approx(-0.5, abs=TOLERANCE)
    assert result.wdq == pytest.approx(wdq, abs=TOLERANCE)
    assert meaning in read_displacement(result)


def test_displacement_measures_match_the_hand_worked_figures() -> None:
    a0, a1, b0, b1, c0, c1 = 96, 41, 70, 82, 58, 55
    sm = Decimal(a1) / Decimal(c1) - Decimal(a0) / Decimal(c0)
    bdm = Decimal(b1) / Decimal(c1) - Decimal(b0) / Decimal(c0)
    result = displacement(a0, a1, b0, b1, c0, c1)
    assert result.success == pytest.approx(float(sm), abs=TOLERANCE)
    assert result.buffer == pytest.approx(float(bdm), abs=TOLERANCE)
    assert result.wdq == pytest.approx(float(bdm / sm), abs=TOLERANCE)
    tne = (Decimal(a0) * Decimal(c1) / Decimal(c0) - a1) + (Decimal(b0) * Decimal(c1)
                                                            / Decimal(c0) - b1)
    assert total_net_effect(a0, a1, b0, b1, c0, c1) == pytest.approx(float(tne), abs=TOLERANCE)


def test_the_total_net_effect_counts_crimes_prevented_in_target_and_buffer() -> None:
    # The control fell by a tenth; the target halved and the buffer held: the target's 90
    # expected crimes became 50 (40 fewer), the buffer's 90 expected stayed 100 (10 more).
    assert total_net_effect(100, 50, 100, 100, 100, 90) == pytest.approx(30, abs=TOLERANCE)
    assert "About 30.0 fewer crimes" in read_total_net_effect(30.0)
    assert "more crimes" in read_total_net_effect(-4.2)


def test_no_wdq_without_a_reduction_in_the_target() -> None:
    result = displacement(50, 60, 30, 30, 100, 100)
    assert result.wdq is None and result.success == pytest.approx(0.1)
    assert "did not fall relative to the control" in read_displacement(result)


@pytest.mark.parametrize(("counts", "missing"), [
    ((0, 5, 10, 10), "the target area before"),
    ((5, 0, 10, 10), "the target area after"),
    ((5, 5, 0, 10), "the control area before"),
    ((5, 5, 10, 0), "the control area after"),
    ((0, 0, 0, 0), "the target area before, the target area after, the control area before "
                   "and the control area after"),
])
def test_zero_counts_leave_the_odds_ratio_undefined_with_the_reason(
        counts: tuple[int, int, int, int], missing: str) -> None:
    result = odds_ratio(*counts)
    assert result.value is None and result.low is None and result.log is None
    assert result.undefined.endswith(f"there was none in {missing}.")
    assert read_odds_ratio(result) == result.undefined


def test_a_control_with_no_crime_leaves_every_relative_measure_undefined() -> None:
    result = displacement(10, 5, 4, 4, 0, 7)
    assert (result.success, result.buffer, result.wdq) == (None, None, None)
    assert "control area recorded no crime in the before period" in result.undefined
    assert total_net_effect(10, 5, 4, 4, 0, 7) is None


def test_percentage_change_from_nothing_is_not_defined() -> None:
    assert Change(0, 4).percent is None
    assert "not defined from zero" in read_change("target area", Change(0, 4))
    assert read_change("buffer", Change(0, 0)) == \
        "No crime was recorded in the buffer in either period."
    assert Change(40, 30).percent == pytest.approx(-25.0)
    assert read_change("target area", Change(40, 30)) == \
        "Crime in the target area fell from 40 to 30 (-25.0%)."


def _finite(*values: float | None) -> bool:
    return all(v is None or math.isfinite(v) for v in values)


@given(st.lists(st.integers(min_value=0, max_value=3), min_size=6, max_size=6))
def test_tiny_counts_never_give_infinity_or_nan(counts: list[int]) -> None:
    a0, a1, b0, b1, c0, c1 = counts
    ratio = odds_ratio(a0, a1, c0, c1)
    moved = displacement(a0, a1, b0, b1, c0, c1)
    assert _finite(ratio.value, ratio.low, ratio.high, ratio.log, ratio.variance)
    assert _finite(moved.success, moved.buffer, moved.wdq)
    assert _finite(total_net_effect(a0, a1, b0, b1, c0, c1), Change(a0, a1).percent)
    for text in (read_odds_ratio(ratio), read_displacement(moved),
                 read_total_net_effect(total_net_effect(a0, a1, b0, b1, c0, c1))):
        assert text and "inf" not in text and "nan" not in text.lower()


# --- the pooled effect over an operation's hotspots --------------------------------------------

def test_the_pooled_effect_of_hotspots_whose_answer_is_known() -> None:
    # Two hotspots with the same variance: the pooled log OR is the plain mean of ln 2 and 0.
    pooled = pooled_effect([(math.log(2), 0.1), (0.0, 0.1)])
    assert pooled.hotspots == 2
    assert pooled.log == pytest.approx(math.log(2) / 2, abs=TOLERANCE)
    assert pooled.value == pytest.approx(math.sqrt(2), abs=TOLERANCE)
    assert pooled.standard_error == pytest.approx(math.sqrt(1 / 20), abs=TOLERANCE)
    assert pooled.low == pytest.approx(math.exp(math.log(2) / 2 - 1.96 * math.sqrt(0.05)),
                                       abs=TOLERANCE)
    # Cochran's Q = Σ w (ln OR - mean)² = 2 · 10 · (ln 2 / 2)²; I² = (Q - 1) / Q.
    q = 20 * (math.log(2) / 2) ** 2
    assert pooled.q == pytest.approx(q, abs=TOLERANCE)
    assert pooled.i_squared == pytest.approx(max(0.0, (q - 1) / q) * 100, abs=TOLERANCE)


def test_the_pooled_effect_weights_precise_hotspots_more() -> None:
    # Weights 1/0.01 = 100 and 1/0.04 = 25: (100 · 0.4 + 25 · (-0.1)) / 125 = 0.3.
    pooled = pooled_effect([(0.4, 0.01), (-0.1, 0.04)])
    assert pooled.log == pytest.approx(0.3, abs=TOLERANCE)
    assert pooled.standard_error == pytest.approx(math.sqrt(1 / 125), abs=TOLERANCE)
    assert pooled.significant is True
    assert "favours the response" in read_pooled(pooled)


def test_one_hotspot_pools_to_itself_and_none_pools_to_nothing() -> None:
    ratio = odds_ratio(96, 41, 58, 55)
    assert ratio.log is not None and ratio.variance is not None
    alone = pooled_effect([(ratio.log, ratio.variance)])
    assert alone.value == pytest.approx(ratio.value, abs=TOLERANCE)
    assert alone.low == pytest.approx(ratio.low, abs=TOLERANCE)
    assert alone.q is None and alone.i_squared is None
    nothing = pooled_effect([])
    assert nothing.hotspots == 0 and nothing.value is None
    assert read_pooled(nothing).startswith("Not defined")
