"""Random allocation in matched blocks, checked against the recipe it records (worked here with
hashlib alone), and the group comparison's count model against statsmodels' formula interface
on the same data, and against simulated hotspots with a known effect."""

from __future__ import annotations

import hashlib
import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.genmod.families import Poisson

from app.sara.allocation import (
    Candidate,
    Group,
    Method,
    allocate,
    balance,
    block_size,
    blocks,
    problems,
    read_balance,
)
from app.sara.count_models import Unit, group_model

HOTSPOTS = [Candidate(f"MK-2026-{n:04d}", baseline) for n, baseline in enumerate(
    [41, 7, 23, 23, 56, 12, 30, 9, 18, 35, 27, 14], start=1)]


def recipe(candidates: list[Candidate], seed: int, size: int) -> dict[str, Group]:
    """The allocation as its record says to repeat it, with hashlib alone."""
    def draw(text: str) -> int:
        return int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")

    ordered = sorted(candidates, key=lambda c: (-c.baseline, c.key))
    groups = {}
    for n, start in enumerate(range(0, len(ordered), size), start=1):
        block = sorted(ordered[start:start + size], key=lambda c: draw(f"{seed}:unit:{c.key}"))
        patrolled = len(block) // 2 + (len(block) % 2 if draw(f"{seed}:block:{n}") % 2 else 0)
        for i, c in enumerate(block):
            groups[c.key] = Group.PATROLLED if i < patrolled else Group.COMPARISON
    return groups


@pytest.mark.parametrize("size", [2, 3, 4, 5])
def test_the_allocation_is_the_recorded_recipe(size: int) -> None:
    placed = allocate(HOTSPOTS, 20261206, size)
    assert {p.key: p.group for p in placed} == recipe(HOTSPOTS, 20261206, size)


def test_the_same_seed_gives_the_same_allocation_and_another_seed_another() -> None:
    first = allocate(HOTSPOTS, 7, 2)
    assert allocate(list(reversed(HOTSPOTS)), 7, 2) == first  # the order given does not matter
    others = {tuple(sorted(p.key for p in allocate(HOTSPOTS, seed, 2)
                           if p.group is Group.PATROLLED)) for seed in range(40)}
    assert len(others) > 20  # 2^6 possible: the seed really decides


def test_matched_pairs_face_hotspots_of_like_crime() -> None:
    placed = allocate(HOTSPOTS, 99, 2)
    by_block: dict[int, list[int]] = {}
    for p in placed:
        by_block.setdefault(p.block, []).append(p.baseline)
    ordered = sorted((c.baseline for c in HOTSPOTS), reverse=True)
    assert [sorted(v, reverse=True) for _b, v in sorted(by_block.items())] == [
        ordered[i:i + 2] for i in range(0, 12, 2)]
    assert [b.key for b in blocks(HOTSPOTS, 2)[0]] == ["MK-2026-0005", "MK-2026-0001"]


@given(baselines=st.lists(st.integers(0, 500), min_size=4, max_size=60),
       seed=st.integers(0, 2**63 - 1), size=st.integers(2, 10))
@settings(max_examples=150, deadline=None)
def test_every_block_balances_and_every_hotspot_is_placed_once(
        baselines: list[int], seed: int, size: int) -> None:
    candidates = [Candidate(f"C{i}", b) for i, b in enumerate(baselines)]
    placed = allocate(candidates, seed, size)
    assert sorted(p.key for p in placed) == sorted(c.key for c in candidates)
    for block in {p.block for p in placed}:
        sides = Counter(p.group for p in placed if p.block == block)
        assert abs(sides[Group.PATROLLED] - sides[Group.COMPARISON]) <= 1
    summary = balance(placed)
    assert summary.hotspots[Group.PATROLLED] + summary.hotspots[Group.COMPARISON] == len(placed)
    assert summary.standardised_difference is None or math.isfinite(
        summary.standardised_difference)
    assert "nan" not in read_balance(summary).lower()


def test_the_balance_is_cohens_d_of_the_baselines() -> None:
    placed = allocate(HOTSPOTS, 3, 2)
    patrolled = [p.baseline for p in placed if p.group is Group.PATROLLED]
    comparison = [p.baseline for p in placed if p.group is Group.COMPARISON]
    pooled = math.sqrt((np.var(patrolled, ddof=1) * 5 + np.var(comparison, ddof=1) * 5) / 10)
    assert balance(placed).standardised_difference == pytest.approx(
        (np.mean(patrolled) - np.mean(comparison)) / pooled, rel=1e-12)


def test_too_few_candidates_or_a_repeated_one_are_refused_in_words() -> None:
    assert problems(HOTSPOTS[:3], Method.PAIRS, None) == [
        "Choose at least 4 hotspots: two a side is the least that can be compared as groups."]
    assert "Each hotspot can be a candidate once." in problems(
        [*HOTSPOTS[:4], HOTSPOTS[0]], Method.PAIRS, None)
    assert problems(HOTSPOTS, Method.BLOCKS, 11) == ["A block holds 2 to 10 hotspots."]
    assert block_size(Method.PAIRS, None) == 2 and block_size(Method.BLOCKS, None) == 4


# --- the groups compared -------------------------------------------------------------------------

def simulated(effect: float, hotspots: int, months: int, seed: int,
              dispersion: float = 0.0) -> list[Unit]:
    """Hotspots of varied crime with a seasonal month effect; the patrolled ones' crime
    multiplied by ``effect`` after the middle month; gamma-mixed for overdispersion."""
    rng = np.random.default_rng(seed)
    season = 1 + 0.25 * np.sin(np.arange(months) * 2 * np.pi / 12)
    units = []
    for i in range(hotspots):
        level = rng.gamma(3.0, 4.0)
        patrolled = i % 2 == 0
        mean = level * season * np.where((np.arange(months) >= months // 2) & patrolled,
                                         effect, 1.0)
        if dispersion:
            mean = rng.gamma(1 / dispersion, mean * dispersion)
        units.append(Unit([int(x) for x in rng.poisson(mean)], patrolled))
    return units


def frame(units: list[Unit], after_from: int) -> pd.DataFrame:
    return pd.DataFrame([{"y": y, "hotspot": f"h{i}", "month": f"m{t:02d}",
                          "effect": int(u.patrolled and t >= after_from)}
                         for i, u in enumerate(units) for t, y in enumerate(u.monthly)])


def test_the_quasi_poisson_group_model_is_statsmodels_formula_glm_with_hotspot_and_month_effects(
        ) -> None:
    units = simulated(0.7, 10, 16, seed=5)  # Poisson: the dispersion test keeps quasi-Poisson
    model = group_model(units, 8)
    assert model.method == "quasi-Poisson"
    fit = smf.glm("y ~ effect + C(hotspot) + C(month)", frame(units, 8),
                  family=Poisson()).fit(scale="X2")
    b, se = fit.params["effect"], fit.bse["effect"]
    if model.dispersion is not None and model.dispersion < 1:  # never narrower than Poisson
        se = fit.bse["effect"] / math.sqrt(model.dispersion)
    assert model.rirr == pytest.approx(math.exp(b), rel=1e-7)
    assert (model.low, model.high) == pytest.approx(
        (math.exp(b - 1.96 * se), math.exp(b + 1.96 * se)), rel=1e-6)
    assert model.dispersion == pytest.approx(fit.scale, rel=1e-7)


def test_the_negative_binomial_group_model_is_statsmodels_formula_nb2() -> None:
    units = simulated(0.6, 12, 24, seed=11, dispersion=0.4)
    model = group_model(units, 12)
    assert model.method == "negative binomial (NB2)"
    fit = smf.negativebinomial("y ~ effect + C(hotspot) + C(month)", frame(units, 12),
                               loglike_method="nb2").fit(disp=0, maxiter=300)
    b, se = fit.params["effect"], fit.bse["effect"]
    assert model.rirr == pytest.approx(math.exp(b), rel=1e-4)
    assert (model.low, model.high) == pytest.approx(
        (math.exp(b - 1.96 * se), math.exp(b + 1.96 * se)), rel=1e-3)
    assert model.alpha == pytest.approx(fit.params["alpha"], rel=1e-3)


def test_a_known_effect_is_recovered_within_the_interval_about_as_often_as_it_says() -> None:
    """Forty simulated operations with a true rate ratio of 0.7: the 95% interval holds it in
    nearly all (a binomial 95% bound: at least 34 of 40), and the estimates centre on it."""
    held, estimates = 0, []
    for seed in range(40):
        model = group_model(simulated(0.7, 16, 24, seed=seed, dispersion=0.2), 12)
        assert model.rirr is not None and model.low is not None and model.high is not None
        held += model.low <= 0.7 <= model.high
        estimates.append(math.log(model.rirr))
    assert held >= 34
    assert math.exp(float(np.mean(estimates))) == pytest.approx(0.7, abs=0.05)


def test_hotspots_and_months_without_crime_are_left_out_and_said() -> None:
    units = simulated(0.8, 8, 12, seed=2)
    units.append(Unit([0] * 12, True))
    model = group_model(units, 6)
    assert model.rirr is not None
    assert "1 with no crime in any month left out" in model.fit
    assert group_model(units[:8], 6).rirr == pytest.approx(model.rirr, rel=1e-9)


def test_a_group_model_that_cannot_be_fitted_says_why() -> None:
    quiet = [Unit([0, 0, 0, 0], True), Unit([1, 2, 0, 0], True), Unit([3, 1, 0, 2], False),
             Unit([2, 2, 1, 1], False)]
    assert group_model(quiet, 2).undefined == (
        "Not fitted: it needs at least two patrolled hotspots with crime.")
    assert group_model([*quiet[1:], Unit([1, 1, 0, 0], True)], 2).undefined == (
        "Not fitted: the patrolled hotspots had no crime after.")
    assert group_model(quiet, 1).undefined == (
        "Not fitted: it needs at least 2 months before and after.")


@given(counts=st.lists(st.lists(st.integers(0, 40), min_size=6, max_size=6), min_size=4,
                       max_size=8))
@settings(max_examples=60, deadline=None)
def test_the_group_model_gives_a_finite_answer_or_a_reason(counts: list[list[int]]) -> None:
    model = group_model([Unit(c, i % 2 == 0) for i, c in enumerate(counts)], 3)
    if model.rirr is None:
        assert model.undefined
    else:
        assert all(map(math.isfinite, (model.rirr, model.low or 0, model.high or 0)))
        assert model.low is not None and model.high is not None
        assert model.low <= model.rirr <= model.high
