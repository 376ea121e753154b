"""The figures an evaluator signs: the rate ratio, the difference-in-differences count model of
the monthly counts, the dispersion-adjusted interval, random-effects pooling, the small-number
rules and the design's level, each against an independent computation:

- the quasi-Poisson model of counts saturated in four groups, worked here in closed form: its
  estimate is the ratio of the totals, its standard error √(Σ 1/totals) scaled by the Pearson
  dispersion Σ (y − group mean)² / group mean / (n − 4);
- the negative binomial against statsmodels' formula interface on a data frame (another path
  through the library than the code's arrays);
- DerSimonian–Laird against the published answer for the BCG vaccine trials (Colditz et al.
  1994, as in R's metafor: tau² 0.3088, estimate −0.7141, Q 152.23, I² 92.12%) and against
  the fixed effect when tau² is 0; Hartung–Knapp and the prediction interval worked in numpy
  and scipy here;
- and, for any counts including zeros, no NaN or infinity in any figure or reading.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from app.sara.count_models import did_model, read_model
from app.sara.impact import (
    RELIABLE_COUNT,
    SMALL_CELL,
    adjusted_interval,
    design_of,
    displacement,
    odds_ratio,
    pooled_effect,
    random_effects,
    rate_ratio,
    read_random_effects,
    read_rate_ratio,
    small_number_warnings,
    success_is_clear,
    unless_unclear,
)

# Monthly counts over six months each side: the target falls, the control stays, and the
# months vary more than Poisson (dispersion well above 1).
TARGET_BEFORE = [40, 71, 25, 66, 30, 58]
TARGET_AFTER = [22, 48, 15, 40, 19, 31]
CONTROL_BEFORE = [35, 12, 41, 18, 44, 20]
CONTROL_AFTER = [39, 15, 37, 22, 40, 19]


def closed_form_quasi_poisson(groups: list[list[int]]) -> tuple[float, float, float]:
    """(RIRR, its standard error on the log scale before scaling, Pearson dispersion)."""
    totals = [sum(g) for g in groups]
    ratio = (totals[1] / totals[0]) / (totals[3] / totals[2])
    se = math.sqrt(sum(1 / t for t in totals))
    pearson = sum((y - sum(g) / len(g)) ** 2 / (sum(g) / len(g)) for g in groups for y in g)
    dispersion = pearson / (sum(len(g) for g in groups) - 4)
    return ratio, se, dispersion


def test_the_quasi_poisson_model_matches_its_closed_form() -> None:
    groups = [TARGET_BEFORE, TARGET_AFTER, CONTROL_BEFORE, CONTROL_AFTER]
    ratio, se, dispersion = closed_form_quasi_poisson(groups)
    model = did_model(*groups)
    assert model.dispersion == pytest.approx(dispersion, rel=1e-9)
    assert model.dispersion > 3  # these months are overdispersed
    if model.method == "quasi-Poisson":
        half = 1.96 * se * math.sqrt(dispersion)
        assert model.rirr == pytest.approx(ratio, rel=1e-9)
        assert (model.low, model.high) == pytest.approx(
            (ratio * math.exp(-half), ratio * math.exp(half)), rel=1e-9)


def test_a_saturated_poisson_estimate_is_the_rate_ratio_of_the_totals() -> None:
    """DESIGN §2: the saturated Poisson estimate equals the RIRR of the totals, which is 1/OR."""
    groups = [[30, 30, 30], [20, 20, 20], [25, 25, 25], [25, 25, 25]]  # no overdispersion
    model = did_model(*groups)
    ratio = odds_ratio(90, 60, 75, 75)
    assert model.method == "quasi-Poisson" and model.dispersion == pytest.approx(0.0)
    assert model.rirr == pytest.approx(1 / ratio.value, rel=1e-12)  # type: ignore[operator]
    # Months that vary less than Poisson never narrow the interval below Poisson's.
    assert model.low == pytest.approx(1 / ratio.high, rel=1e-9)  # type: ignore[operator]
    assert model.high == pytest.approx(1 / ratio.low, rel=1e-9)  # type: ignore[operator]
    assert "no overdispersion" in model.fit


def test_strongly_overdispersed_months_are_fitted_by_a_negative_binomial() -> None:
    import pandas as pd
    import statsmodels.formula.api as smf

    target_before = [5, 60, 2, 80, 9, 45, 3, 70]
    target_after = [4, 30, 1, 35, 6, 20, 2, 33]
    control_before = [50, 4, 66, 3, 40, 8, 55, 6]
    control_after = [47, 6, 60, 2, 45, 9, 52, 5]
    model = did_model(target_before, target_after, control_before, control_after)
    assert model.method == "negative binomial (NB2)"
    assert "the negative binomial fits better" in model.fit
    frame = pd.DataFrame({
        "y": target_before + target_after + control_before + control_after,
        "target": [1] * 16 + [0] * 16, "after": ([0] * 8 + [1] * 8) * 2})
    reference = smf.negativebinomial("y ~ target * after", frame).fit(disp=0, maxiter=200)
    b3, se3 = reference.params["target:after"], reference.bse["target:after"]
    assert model.rirr == pytest.approx(math.exp(b3), rel=1e-4)
    assert model.low == pytest.approx(math.exp(b3 - 1.96 * se3), rel=1e-4)
    assert model.high == pytest.approx(math.exp(b3 + 1.96 * se3), rel=1e-4)
    assert model.alpha == pytest.approx(reference.params["alpha"], rel=1e-4)


@pytest.mark.parametrize(("groups", "reason"), [
    ([[5], [3], [4], [6]], "at least 2 months in each period"),
    ([[5, 6], [0, 0], [4, 3], [6, 5]], "there was none in the target area after"),
    ([[0, 0], [1, 2], [0, 0], [6, 5]],
     "there was none in the target area before and the control area before"),
])
def test_a_model_that_cannot_be_fitted_says_why(groups: list[list[int]], reason: str) -> None:
    model = did_model(*groups)
    assert (model.method, model.rirr, model.low, model.high) == (None, None, None, None)
    assert reason in model.undefined and read_model(model) == model.undefined


def test_the_rate_ratio_is_the_inverse_of_the_odds_ratio() -> None:
    ratio = odds_ratio(52, 74, 3, 9)
    rate = rate_ratio(ratio)
    assert rate.value == pytest.approx(1 / ratio.value)  # type: ignore[operator]
    assert (rate.low, rate.high) == pytest.approx((1 / ratio.high, 1 / ratio.low))  # type: ignore[operator]
    assert rate.percent_change == pytest.approx((74 / 52) / (9 / 3) * 100 - 100)
    assert "fell by 52.6%" in read_rate_ratio(rate)
    undefined = rate_ratio(odds_ratio(0, 4, 3, 9))
    assert undefined.value is None and read_rate_ratio(undefined).startswith("Not defined")


def test_the_adjusted_interval_inflates_the_variance_by_the_dispersion() -> None:
    ratio = odds_ratio(120, 80, 100, 105)
    assert ratio.log is not None and ratio.variance is not None
    low, high = adjusted_interval(ratio, 4.0)
    half = 1.96 * math.sqrt(ratio.variance * 4.0)
    assert (low, high) == pytest.approx((math.exp(ratio.log - half), math.exp(ratio.log + half)))
    assert adjusted_interval(ratio, 0.5) == pytest.approx((ratio.low, ratio.high))
    assert adjusted_interval(ratio, None) == (None, None)


# --- random effects ------------------------------------------------------------------------------

BCG = [(4, 119, 11, 128), (6, 300, 29, 274), (3, 228, 11, 209), (62, 13536, 248, 12619),
       (33, 5036, 47, 5761), (180, 1361, 372, 1079), (8, 2537, 10, 619),
       (505, 87886, 499, 87892), (29, 7470, 45, 7232), (17, 1699, 65, 1600),
       (186, 50448, 141, 27197), (5, 2493, 3, 2338), (27, 16886, 29, 17825)]


def bcg_log_risk_ratios() -> list[tuple[float, float]]:
    return [(math.log((tp / (tp + tn)) / (cp / (cp + cn))),
             1 / tp - 1 / (tp + tn) + 1 / cp - 1 / (cp + cn)) for tp, tn, cp, cn in BCG]


def test_dersimonian_laird_matches_the_published_bcg_answer() -> None:
    effects = bcg_log_risk_ratios()
    result = random_effects(effects)
    assert result.tau_squared == pytest.approx(0.3088, abs=5e-5)
    assert math.log(result.value) == pytest.approx(-0.7141, abs=5e-5)  # type: ignore[arg-type]
    assert result.q == pytest.approx(152.2330, abs=5e-4)
    assert result.i_squared == pytest.approx(92.12, abs=5e-3)
    # Hartung–Knapp and the prediction interval, worked here.
    logs = np.array([y for y, _v in effects])
    variances = np.array([v for _y, v in effects])
    weights = 1 / (variances + result.tau_squared)
    mean = float(np.sum(weights * logs) / np.sum(weights))
    se_hk = math.sqrt(float(np.sum(weights * (logs - mean) ** 2)) / (12 * float(np.sum(weights))))
    t12, t11 = stats.t.ppf(0.975, 12), stats.t.ppf(0.975, 11)
    assert math.log(result.low) == pytest.approx(mean - t12 * se_hk, abs=1e-12)  # type: ignore[arg-type]
    assert math.log(result.high) == pytest.approx(mean + t12 * se_hk, abs=1e-12)  # type: ignore[arg-type]
    width = t11 * math.sqrt(result.tau_squared + 1 / float(np.sum(weights)))  # type: ignore[operator]
    assert math.log(result.prediction_low) == pytest.approx(mean - width, abs=1e-12)  # type: ignore[arg-type]
    assert "believe this random-effects answer" in read_random_effects(
        result, pooled_effect(effects))


def test_random_effects_equal_the_fixed_effect_when_the_hotspots_agree() -> None:
    effects = [(0.2, 0.04), (0.2, 0.09), (0.2, 0.01)]  # the same effect: tau² is 0
    result, fixed = random_effects(effects), pooled_effect(effects)
    assert result.tau_squared == 0.0
    assert result.value == pytest.approx(fixed.value, abs=1e-12)
    assert "fair summary" in read_random_effects(result, fixed)


def test_random_effects_need_two_hotspots() -> None:
    result = random_effects([(0.1, 0.05)])
    assert result.value is None and "at least two" in result.undefined
    assert read_random_effects(result, pooled_effect([(0.1, 0.05)])) == result.undefined


# --- small numbers and the design --------------------------------------------------------------

def test_the_issues_handful_of_crimes_is_flagged() -> None:
    """The case the issue met: a control with 3 crimes before; target 52 to 74."""
    cautions = small_number_warnings({"target": (52, 74), "buffer": (10, 12),
                                      "control": (3, 9)})
    assert [c.code for c in cautions] == ["small_counts", "unreliable_trend"]
    assert "the control area before (3)" in cautions[0].message
    assert SMALL_CELL == 5 and RELIABLE_COUNT == 20


def test_a_wdq_is_withheld_when_the_success_measure_is_noise() -> None:
    """SM −0.015 on these counts is far less than 1.96 standard errors: no WDQ."""
    moved = displacement(100, 97, 40, 45, 100, 100)
    assert moved.success == pytest.approx(-0.03) and moved.wdq is not None
    assert not success_is_clear(100, 97, 100, 100)
    withheld = unless_unclear(moved, 100, 97, 100, 100)
    assert withheld.wdq is None and withheld.undefined.startswith("Not shown")
    clear = displacement(400, 200, 100, 90, 400, 400)
    assert success_is_clear(400, 200, 400, 400)
    assert unless_unclear(clear, 400, 200, 400, 400) == clear


def test_the_design_and_its_scientific_methods_scale_level() -> None:
    assert design_of(control=False)[1] == 2
    assert design_of(control=True) == (
        "Before and after in the target area against a comparable control area", 3)
    assert design_of(control=True, several_untreated=True)[1] == 4
    assert design_of(control=True, randomised=True)[1] == 5


# --- never NaN or infinity ---------------------------------------------------------------------

months = st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(months, months, months, months)
def test_the_count_model_never_gives_nan_or_infinity(target_before: list[int],
                                                     target_after: list[int],
                                                     control_before: list[int],
                                                     control_after: list[int]) -> None:
    model = did_model(target_before, target_after, control_before, control_after)
    for value in (model.rirr, model.low, model.high, model.dispersion, model.alpha):
        assert value is None or math.isfinite(value)
    assert "nan" not in read_model(model).lower() and "inf" not in read_model(model)


@settings(max_examples=200, derandomize=True)
@given(st.lists(st.tuples(st.floats(-8, 8), st.floats(1e-6, 50)), max_size=6))
def test_random_effects_never_give_nan_or_infinity(effects: list[tuple[float, float]]) -> None:
    result = random_effects(effects)
    for value in (result.value, result.low, result.high, result.tau_squared,
                  result.prediction_low, result.prediction_high, result.q, result.q_p,
                  result.i_squared):
        assert value is None or math.isfinite(value)
    reading = read_random_effects(result, pooled_effect(effects))
    assert "nan" not in reading and "inf" not in reading
