"""Harm weights: the table's CSV read with each problem at its line, harm totals, and the
harm-weighted ratio's interval worked here from the delta method's formula. The weights are
made up (tests/crime/files/harm): no real index is assumed."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.sara.harm import (
    Problem,
    harm,
    harm_ratio,
    read_harm_ratio,
    read_table,
    table_problems,
)
from app.sara.problem import CATEGORIES

FILES = Path(__file__).parent.parent / "crime" / "files" / "harm"


def test_a_table_reads_slugs_and_labels_and_skips_comments() -> None:
    weights, problems = read_table((FILES / "made-up-harm-index.csv").read_text())
    assert problems == []
    assert set(weights) == set(CATEGORIES)
    assert weights["violent-crime"] == 150.5 and weights["bicycle-theft"] == 7
    assert weights["anti-social-behaviour"] == 0


def test_every_bad_row_is_named_with_its_line() -> None:
    _weights, problems = read_table((FILES / "bad-rows.csv").read_text())
    assert problems == [
        Problem(3, "Robbery: a weight is a number, 0 or more."),
        Problem(4, "'knife crime' is not a police.uk crime category."),
        Problem(5, "Burglary: the weight 'lots' is not a number."),
        Problem(6, "Violence and sexual offences has a weight already."),
    ]


def test_a_table_missing_categories_or_without_its_header_is_refused() -> None:
    _weights, problems = read_table("category,weight\nrobbery,365\n")
    assert len(problems) == 1 and problems[0].line == 0
    assert problems[0].message.startswith("No weight for Anti-social behaviour, Bicycle theft")
    assert read_table("crime,weight\nrobbery,3\n")[1] == [
        Problem(1, "The first row must be the header: category,weight.")]
    assert read_table("# only a comment\n")[1][0].message.startswith("The file is empty")
    assert table_problems({"robbery": math.inf, "knives": 1})[:2] == [
        "'knives' is not a police.uk crime category slug.",
        "Robbery: a weight is a number, 0 or more."]


def test_the_harm_ratio_is_the_ratio_of_weighted_totals_with_a_delta_method_interval() -> None:
    weights = {"robbery": 365.0, "violent-crime": 150.5, "other-theft": 5.0}
    target = ({"robbery": 4, "violent-crime": 30, "other-theft": 80},
              {"robbery": 2, "violent-crime": 22, "other-theft": 95})
    control = ({"robbery": 6, "violent-crime": 41, "other-theft": 120},
               {"robbery": 7, "violent-crime": 40, "other-theft": 118})
    # Worked out by hand: H = sum w·n in each cell; var ln H = sum w²·n / H².
    h = [4 * 365 + 30 * 150.5 + 80 * 5, 2 * 365 + 22 * 150.5 + 95 * 5,
         6 * 365 + 41 * 150.5 + 120 * 5, 7 * 365 + 40 * 150.5 + 118 * 5]
    v = [4 * 365**2 + 30 * 150.5**2 + 80 * 25, 2 * 365**2 + 22 * 150.5**2 + 95 * 25,
         6 * 365**2 + 41 * 150.5**2 + 120 * 25, 7 * 365**2 + 40 * 150.5**2 + 118 * 25]
    value = (h[1] / h[0]) / (h[3] / h[2])
    half = 1.96 * math.sqrt(sum(vi / hi**2 for vi, hi in zip(v, h, strict=True)))
    ratio = harm_ratio(target, control, weights)
    assert harm(target[0], weights) == h[0]
    assert ratio.value == pytest.approx(value, rel=1e-12)
    assert (ratio.low, ratio.high) == pytest.approx(
        (value * math.exp(-half), value * math.exp(half)), rel=1e-12)
    assert ratio.percent_change == pytest.approx((value - 1) * 100)
    assert read_harm_ratio(ratio, "the made-up index (1)").startswith(
        "Weighted by the made-up index (1), harm in the target area fell by")


def test_with_no_weighted_harm_in_a_cell_the_ratio_is_not_defined() -> None:
    weights = {"anti-social-behaviour": 0.0, "robbery": 365.0}
    ratio = harm_ratio(({"anti-social-behaviour": 50}, {"robbery": 1}),
                       ({"robbery": 2}, {"robbery": 3}), weights)
    assert ratio.value is None
    assert read_harm_ratio(ratio, "x") == ("Not defined: it needs weighted harm in both areas "
                                           "in both periods.")


counts = st.dictionaries(st.sampled_from(["robbery", "violent-crime", "drugs"]),
                         st.integers(0, 10_000), max_size=3)


@given(cells=st.tuples(counts, counts, counts, counts),
       weights=st.fixed_dictionaries({c: st.floats(0, 5000) for c in
                                      ("robbery", "violent-crime", "drugs")}))
@settings(max_examples=200, deadline=None)
def test_no_harm_figure_is_ever_nan_or_infinite(
        cells: tuple[dict[str, int], ...], weights: dict[str, float]) -> None:
    ratio = harm_ratio((cells[0], cells[1]), (cells[2], cells[3]), weights)
    for value in (ratio.value, ratio.low, ratio.high, ratio.percent_change):
        assert value is None or math.isfinite(value)
    reading = read_harm_ratio(ratio, "t")
    assert reading and "nan" not in reading.lower() and "inf" not in reading.lower()
