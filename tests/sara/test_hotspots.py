"""Hotspot mathematics: grid counting, Getis-Ord Gi*, ranking, concentration and PAI; the
small-number warnings of an answer and the category proposed for a case opened on a cell.

Pure unit tests: no database, no HTTP. Gi* is checked three ways: against arithmetic written
out by hand on tiny grids, against a naive double loop written here from the published formula
(independent of the module's numpy convolution), and against properties the statistic must have.

Grids are written as nested lists with ROW 0 FIRST. Row 0 is the SOUTHERNMOST row, so a grid
reads upside down compared with a map. Cells are named (col, row).
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date
from decimal import Decimal
from itertools import pairwise, product
from typing import Any

import numpy as np
import pytest

from app.sara.hotspots import (
    FEW_IN_CELL,
    MAX_CELLS,
    MIN_CRIMES,
    CategoryProposal,
    CellResult,
    Concentration,
    GiStar,
    Grid,
    HotspotResult,
    SmallNumbers,
    cell_caution,
    concentration,
    counts_from_cells,
    counts_from_points,
    find_hotspots,
    gi_star,
    grid_for_bounds,
    harm_grid,
    place_name,
    propose_category,
    rank_by_harm,
    rank_cells,
    small_numbers,
)
from app.sara.impact import RELIABLE_COUNT, SMALL_CELL, Caution

TOL = 1e-9
SQRT2, SQRT5, SQRT21 = math.sqrt(2), math.sqrt(5), math.sqrt(21)

# --------------------------------------------------------------------------------------------
# Builders and checks
# --------------------------------------------------------------------------------------------


def grid_of(rows: int, cols: int, *, mask: Any = None, cell_m: float = 100.0,
            col0: int = 0, row0: int = 0) -> Grid:
    in_study = np.ones((rows, cols), dtype=bool) if mask is None else np.array(mask, dtype=bool)
    return Grid(col0, row0, cell_m, cols, rows, in_study)


def everywhere(counts: Any) -> np.ndarray:
    return np.ones(np.shape(counts), dtype=bool)


def p_of(z: float) -> float:
    return math.erfc(abs(z) / SQRT2)


def assert_z(gi: GiStar, expected: dict[tuple[int, int], float | None]) -> None:
    """Every cell named in ``expected`` has that z (None: undefined) and the matching p."""
    for (col, row), want in expected.items():
        z, p = gi.z_at(col, row), gi.p_at(col, row)
        if want is None:
            assert z is None and p is None, (col, row, z, p)
        else:
            assert z is not None and p is not None, (col, row)
            assert z == pytest.approx(want, abs=TOL), (col, row)
            assert p == pytest.approx(p_of(want), abs=1e-12), (col, row)


def all_cells(rows: int, cols: int) -> list[tuple[int, int]]:
    return [(c, r) for r in range(rows) for c in range(cols)]


def assert_clean(result: HotspotResult) -> None:
    """No NaN or infinity anywhere a caller can reach: every float is finite or None."""
    conc = result.concentration
    values: list[Any] = [result.mean, result.std, conc.share, conc.area_share, conc.pai,
                         conc.top_area_m2, conc.study_area_m2]
    for cell in result.cells:
        values += [cell.z, cell.p]
    for value in values:
        assert value is None or (isinstance(value, float) and math.isfinite(value)), value
    for col, row in all_cells(*result.grid.shape):
        for value in (result.gi.z_at(col, row), result.gi.p_at(col, row)):
            assert value is None or math.isfinite(value)
        # Cells outside the study area never get a score.
        if not result.grid.in_study[row, col]:
            assert result.gi.z_at(col, row) is None


def naive_gi_star(counts: list[list[float]], mask: list[list[bool]]) -> dict[
        tuple[int, int], float | None]:
    """Gi* straight from Ord & Getis (1995), one cell pair at a time, no numpy.

    w_ij = 1 when j is in the study area and within one row and one column of i (i included).
    """
    cells = [(c, r) for r, line in enumerate(mask) for c, inside in enumerate(line) if inside]
    x = {(c, r): float(counts[r][c]) for c, r in cells}
    n = len(cells)
    if n < 2:
        return dict.fromkeys(cells)
    mean = sum(x.values()) / n
    s = math.sqrt(sum(v * v for v in x.values()) / n - mean * mean)
    z: dict[tuple[int, int], float | None] = {}
    for ci, ri in cells:
        sum_wx = sum_w = sum_w2 = 0.0
        for cj, rj in cells:
            w = 1.0 if abs(ci - cj) <= 1 and abs(ri - rj) <= 1 else 0.0
            sum_wx += w * x[(cj, rj)]
            sum_w += w
            sum_w2 += w * w
        spread = (n * sum_w2 - sum_w * sum_w) / (n - 1)
        z[(ci, ri)] = None if s == 0 or spread == 0 else (
            (sum_wx - mean * sum_w) / (s * math.sqrt(spread)))
    return z


# --------------------------------------------------------------------------------------------
# The grid: snapping to multiples of the cell size
# --------------------------------------------------------------------------------------------


def test_bounds_snap_down_to_multiples_of_the_cell_size() -> None:
    grid = grid_for_bounds(1234, 5678, 1456, 5701, 100)
    # Columns floor(1234/100)=12 .. floor(1456/100)=14; rows 56 .. 57.
    assert (grid.col0, grid.row0, grid.n_cols, grid.n_rows) == (12, 56, 3, 2)
    assert (grid.origin_e, grid.origin_n) == (1200, 5600)
    assert grid.bounds == (1200, 5600, 1500, 5800)
    assert grid.shape == (2, 3)
    assert grid.in_study.all() and grid.study_cells == 6
    assert grid.cell_area_m2 == 10_000
    assert grid.study_area_m2 == 60_000


def test_a_max_bound_on_a_cell_edge_gets_its_own_column_and_row() -> None:
    # A crime exactly at max_e belongs to the cell starting at max_e (floor), so it is kept.
    grid = grid_for_bounds(0, 0, 300, 200, 100)
    assert (grid.n_cols, grid.n_rows) == (4, 3)
    assert grid.cell_of(300, 200) == (3, 2)


def test_negative_coordinates_snap_down_not_towards_zero() -> None:
    grid = grid_for_bounds(-150, -50, -1, 49, 100)
    # floor(-1.5) = -2, floor(-0.01) = -1, floor(-0.5) = -1, floor(0.49) = 0.
    assert (grid.col0, grid.row0, grid.n_cols, grid.n_rows) == (-2, -1, 2, 2)
    assert (grid.origin_e, grid.origin_n) == (-200, -100)


def test_a_point_box_is_one_cell() -> None:
    grid = grid_for_bounds(530_000.5, 180_000.5, 530_000.5, 180_000.5, 250)
    assert (grid.col0, grid.row0, grid.n_cols, grid.n_rows) == (2120, 720, 1, 1)


def test_fractional_cell_sizes() -> None:
    grid = grid_for_bounds(0, 0, 10, 5, 2.5)
    assert (grid.n_cols, grid.n_rows) == (5, 3)
    assert grid.cell_of(7.5, 2.5) == (3, 1)


def test_a_british_national_grid_borough_box() -> None:
    # Roughly Westminster's extent at 50 m cells: a grid of a sensible size.
    grid = grid_for_bounds(523_700, 177_900, 531_500, 183_000, 50)
    assert (grid.origin_e, grid.origin_n) == (523_700, 177_900)
    assert grid.shape == (103, 157)


@pytest.mark.parametrize("cell_m", [0, -5, math.nan, math.inf])
def test_cell_size_must_be_positive_and_finite(cell_m: float) -> None:
    with pytest.raises(ValueError, match="cell size"):
        grid_for_bounds(0, 0, 100, 100, cell_m)


@pytest.mark.parametrize("bounds", [(10, 0, 0, 10), (0, 10, 10, 0)])
def test_bounds_must_not_be_inverted(bounds: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValueError, match="min_e <= max_e"):
        grid_for_bounds(*bounds, 100)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_bounds_must_be_finite(bad: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        grid_for_bounds(0, 0, bad, 100, 100)


def test_a_grid_of_too_many_cells_is_refused_before_anything_is_allocated() -> None:
    # 100 km square at 1 m would be ten billion cells.
    with pytest.raises(ValueError, match="larger cells"):
        grid_for_bounds(400_000, 100_000, 500_000, 200_000, 1)
    with pytest.raises(ValueError, match="larger cells"):
        Grid(0, 0, 1, MAX_CELLS + 1, 1, np.ones((1, 1), dtype=bool))


def test_grid_fields_are_checked() -> None:
    with pytest.raises(ValueError, match="at least one column"):
        Grid(0, 0, 100, 0, 1, np.ones((1, 0), dtype=bool))
    with pytest.raises(TypeError, match="boolean"):
        Grid(0, 0, 100, 2, 1, np.ones((1, 2), dtype=int))
    with pytest.raises(ValueError, match=r"shape \(2, 1\)"):
        Grid(0, 0, 100, 2, 1, np.ones((2, 1), dtype=bool))
    with pytest.raises(ValueError, match="cell size"):
        Grid(0, 0, -1, 1, 1, np.ones((1, 1), dtype=bool))
    with pytest.raises(TypeError):
        Grid(0.5, 0, 100, 1, 1, np.ones((1, 1), dtype=bool))  # type: ignore[arg-type]


def test_the_study_mask_is_copied_and_read_only() -> None:
    mask = np.ones((2, 2), dtype=bool)
    grid = Grid(0, 0, 100, 2, 2, mask)
    mask[0, 0] = False
    assert grid.in_study[0, 0]
    with pytest.raises(ValueError, match="read-only"):
        grid.in_study[0, 0] = False


def test_with_study_replaces_only_the_mask() -> None:
    grid = grid_for_bounds(1200, 5600, 1499, 5799, 100)
    smaller = grid.with_study([[True, False, True], [False, False, True]])
    assert smaller.study_cells == 3 and grid.study_cells == 6
    assert (smaller.col0, smaller.row0, smaller.shape) == (grid.col0, grid.row0, grid.shape)
    with pytest.raises(ValueError, match="shape"):
        grid.with_study(np.ones((3, 2), dtype=bool))


def test_cell_geometry() -> None:
    grid = grid_for_bounds(1234, 5678, 1456, 5701, 100)
    assert grid.absolute(1, 0) == (13, 56)
    assert grid.cell_bounds(1, 0) == (1300, 5600, 1400, 5700)
    polygon = grid.cell_polygon_bng(1, 0)
    ring = polygon["coordinates"][0]
    assert polygon["type"] == "Polygon"
    assert ring == [[1300, 5600], [1400, 5600], [1400, 5700], [1300, 5700], [1300, 5600]]
    # Shoelace: positive area means anticlockwise (the GeoJSON exterior ring order).
    area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairwise(ring))
    assert area / 2 == grid.cell_area_m2
    for col, row in [(-1, 0), (3, 0), (0, -1), (0, 2)]:
        with pytest.raises(IndexError):
            grid.cell_polygon_bng(col, row)


def test_cell_centres_are_arrays_shaped_like_the_grid() -> None:
    grid = grid_for_bounds(1234, 5678, 1456, 5701, 100)
    eastings, northings = grid.cell_centres()
    assert eastings.shape == northings.shape == (2, 3)
    assert (eastings[0, 0], northings[0, 0]) == (1250, 5650)
    assert (eastings[1, 2], northings[1, 2]) == (1450, 5750)


def test_a_study_mask_from_cell_centres_inside_a_shape() -> None:
    # What a caller does with a borough polygon, here with a circle of radius 200 m at
    # (500, 500). Centres lie at 50, 150, ... 950. The 4x4 block of centres 350..650 is within
    # 150 m in each axis; its four corners are sqrt(150^2 + 150^2) = 212 m away, so outside.
    # The next centres out, e.g. (250, 450), are sqrt(250^2 + 50^2) = 255 m away. 16 - 4 = 12.
    grid = grid_for_bounds(0, 0, 999, 999, 100)
    eastings, northings = grid.cell_centres()
    inside = (eastings - 500) ** 2 + (northings - 500) ** 2 <= 200**2
    circle = grid.with_study(inside)
    assert circle.study_cells == 12


# --------------------------------------------------------------------------------------------
# Which cell owns a point: floor semantics
# --------------------------------------------------------------------------------------------

EDGE_GRID = grid_of(2, 3, col0=10, row0=20)  # eastings 1000-1300, northings 2000-2200


@pytest.mark.parametrize(("point", "cell"), [
    ((1000, 2000), (0, 0)),          # the south-west corner of the grid is in it
    ((1099.999, 2099.999), (0, 0)),
    ((1100, 2000), (1, 0)),          # a west edge belongs to the cell east of it
    ((1050, 2100), (0, 1)),          # a south edge belongs to the cell north of it
    ((1100, 2100), (1, 1)),          # a corner belongs to the cell north-east of it
    ((1299.999, 2199.999), (2, 1)),
    ((1300, 2000), None),            # the grid's east edge belongs to the next column, off grid
    ((1000, 2200), None),            # likewise its north edge
    ((999.999, 2000), None),
    ((1000, 1999.999), None),
    ((math.nan, 2000), None),
    ((1000, math.inf), None),
])
def test_cell_of_uses_floor(point: tuple[float, float], cell: tuple[int, int] | None) -> None:
    assert EDGE_GRID.cell_of(*point) == cell


def test_cell_of_ignores_the_study_mask() -> None:
    grid = EDGE_GRID.with_study(np.zeros((2, 3), dtype=bool))
    assert grid.cell_of(1000, 2000) == (0, 0)


# --------------------------------------------------------------------------------------------
# Counting points
# --------------------------------------------------------------------------------------------


def test_counts_from_points_on_a_tiny_grid() -> None:
    eastings = [1000, 1050, 1100, 1100, 1250, 1299.5, 1050]
    northings = [2000, 2099, 2000, 2100, 2150, 2199.5, 2150]
    counts = counts_from_points(EDGE_GRID, eastings, northings)
    assert counts.dtype == np.int64
    assert counts.tolist() == [
        [2, 1, 0],  # row 0: (1000,2000) and (1050,2099); (1100,2000)
        [1, 1, 2],  # row 1: (1050,2150); (1100,2100); (1250,2150) and (1299.5,2199.5)
    ]


def test_points_off_the_grid_are_dropped() -> None:
    eastings = [1300, 999.999, 1000, 1150, -1e300, 1e300, 1150]
    northings = [2000, 2000, 2200, 1999.999, 2050, 2050, 2050]
    counts = counts_from_points(EDGE_GRID, eastings, northings)
    assert counts.sum() == 1 and counts[0, 1] == 1


def test_points_that_are_not_finite_are_dropped_without_a_warning() -> None:
    # pytest turns warnings into errors, so a NaN cast to int would fail this test.
    eastings = [math.nan, 1050, math.inf, -math.inf, 1050]
    northings = [2050, math.nan, 2050, 2050, 2050]
    counts = counts_from_points(EDGE_GRID, eastings, northings)
    assert counts.sum() == 1 and counts[0, 0] == 1


def test_points_outside_the_study_mask_are_dropped() -> None:
    grid = EDGE_GRID.with_study([[True, False, True], [True, True, False]])
    counts = counts_from_points(grid, [1050, 1150, 1250, 1250], [2050, 2050, 2050, 2150])
    assert counts.tolist() == [[1, 0, 1], [0, 0, 0]]


def test_no_points_give_zeros() -> None:
    counts = counts_from_points(EDGE_GRID, np.array([]), np.array([]))
    assert counts.shape == (2, 3) and not counts.any()


def test_eastings_and_northings_must_pair_up() -> None:
    with pytest.raises(ValueError, match="2 eastings but 3 northings"):
        counts_from_points(EDGE_GRID, [1, 2], [1, 2, 3])


def test_counts_from_points_agree_with_cell_of_point_by_point() -> None:
    rng = np.random.default_rng(7)
    grid = grid_of(12, 17, col0=5230, row0=1779, cell_m=100,
                   mask=rng.random((12, 17)) < 0.8)
    eastings = rng.uniform(522_900, 524_800, 5000)
    northings = rng.uniform(177_800, 179_200, 5000)
    # A fifth of the points sit exactly on cell edges and corners.
    eastings[:1000] = np.round(eastings[:1000], -2)
    northings[:1000:2] = np.round(northings[:1000:2], -2)
    expected = np.zeros(grid.shape, dtype=np.int64)
    for e, n in zip(eastings.tolist(), northings.tolist(), strict=True):
        cell = grid.cell_of(e, n)
        if cell is not None and grid.in_study[cell[1], cell[0]]:
            expected[cell[1], cell[0]] += 1
    counts = counts_from_points(grid, eastings, northings)
    assert np.array_equal(counts, expected)
    assert 0 < counts.sum() < 5000


# --------------------------------------------------------------------------------------------
# Counting pre-aggregated cells (a SQL GROUP BY)
# --------------------------------------------------------------------------------------------


def test_counts_from_cells_take_absolute_sql_cell_ids() -> None:
    # EDGE_GRID starts at absolute column 10, row 20.
    counts = counts_from_cells(EDGE_GRID, [(10, 20, 3), (12, 21, 1), (11, 20, 4)])
    assert counts.tolist() == [[3, 4, 0], [0, 0, 1]]


def test_cells_off_the_grid_or_off_the_study_area_are_dropped() -> None:
    grid = EDGE_GRID.with_study([[True, False, True], [True, True, True]])
    rows = [(9, 20, 5), (13, 20, 5), (10, 19, 5), (10, 22, 5), (11, 20, 7), (10, 21, 2)]
    assert counts_from_cells(grid, rows).tolist() == [[0, 0, 0], [2, 0, 0]]


def test_repeated_cells_are_added_together() -> None:
    counts = counts_from_cells(EDGE_GRID, [(10, 20, 3), (10, 20, 2), (12, 21, 1)])
    assert counts.tolist() == [[5, 0, 0], [0, 0, 1]]


def test_cells_as_a_mapping_or_an_array() -> None:
    expected = [[3, 0, 0], [0, 0, 1]]
    assert counts_from_cells(EDGE_GRID, {(10, 20): 3, (12, 21): 1}).tolist() == expected
    table = np.array([[10, 20, 3], [12, 21, 1]], dtype=np.int32)
    assert counts_from_cells(EDGE_GRID, table).tolist() == expected
    numpy_ints = [(np.int64(10), np.int64(20), np.int64(3)), (12, 21, 1)]
    assert counts_from_cells(EDGE_GRID, numpy_ints).tolist() == expected
    assert counts_from_cells(EDGE_GRID, iter([(10, 20, 3), (12, 21, 1)])).tolist() == expected


def test_no_cells_give_zeros() -> None:
    assert not counts_from_cells(EDGE_GRID, []).any()
    assert not counts_from_cells(EDGE_GRID, {}).any()


@pytest.mark.parametrize("rows", [
    [(10, 20, 2.5)],
    [(10, 20, Decimal(3))],
    [(10.0, 20, 3)],
    [(True, False, True)],
])
def test_cell_rows_must_be_integers(rows: list[tuple[Any, ...]]) -> None:
    with pytest.raises(TypeError, match="integers"):
        counts_from_cells(EDGE_GRID, rows)


def test_cell_counts_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        counts_from_cells(EDGE_GRID, [(10, 20, 3), (11, 20, -1)])


@pytest.mark.parametrize("rows", [[(10, 20)], [(10, 20, 3, 4)]])
def test_cell_rows_are_triples(rows: list[tuple[int, ...]]) -> None:
    with pytest.raises(ValueError, match=r"\(col, row, count\)"):
        counts_from_cells(EDGE_GRID, rows)


def test_sql_style_aggregation_matches_counting_points() -> None:
    # What SELECT floor(e / 50), floor(n / 50), count(*) ... GROUP BY 1, 2 returns.
    rng = np.random.default_rng(11)
    grid = grid_for_bounds(530_000, 180_000, 531_000, 181_000, 50)
    grid = grid.with_study(rng.random(grid.shape) < 0.7)
    eastings = rng.uniform(529_900, 531_100, 3000)
    northings = np.round(rng.uniform(179_900, 181_100, 3000), -1)
    grouped = Counter((math.floor(e / 50), math.floor(n / 50))
                      for e, n in zip(eastings.tolist(), northings.tolist(), strict=True))
    rows = [(col, row, count) for (col, row), count in grouped.items()]
    assert np.array_equal(counts_from_cells(grid, rows),
                          counts_from_points(grid, eastings, northings))


# --------------------------------------------------------------------------------------------
# Gi* by hand: a full 3x3 grid
# --------------------------------------------------------------------------------------------

# Row 0 (south) first.
HAND_3X3 = [
    [0, 1, 0],
    [2, 5, 1],
    [0, 1, 2],
]


def test_gi_star_by_hand_on_a_3x3_grid() -> None:
    # n = 9, sum x = 12, mean = 12/9 = 4/3.
    # sum x^2 = 0+1+0 + 4+25+1 + 0+1+4 = 36, so S^2 = 36/9 - (4/3)^2 = 4 - 16/9 = 20/9,
    # S = sqrt(20)/3 = 2*sqrt(5)/3.
    #
    # Corners have W = 4 cells in their block (sum w = sum w^2 = 4):
    #   denominator = S * sqrt((9*4 - 4^2) / 8) = (2 sqrt5 / 3) * sqrt(5/2) = 10 / (3 sqrt2)
    #   z = (lag - 4 * 4/3) * 3 sqrt2 / 10 = (lag - 16/3) * 3 sqrt2 / 10
    #   (0,0): block (0..1, 0..1) = 0+1+2+5 = 8,  8 - 16/3 = 8/3   -> z = 0.8 sqrt2
    #   (2,0): block (1..2, 0..1) = 1+0+5+1 = 7,  7 - 16/3 = 5/3   -> z = 0.5 sqrt2
    #   (0,2): block (0..1, 1..2) = 2+5+0+1 = 8                    -> z = 0.8 sqrt2
    #   (2,2): block (1..2, 1..2) = 5+1+1+2 = 9,  9 - 16/3 = 11/3  -> z = 1.1 sqrt2
    #   (so p = erfc(0.8), erfc(0.5), erfc(0.8), erfc(1.1): |z|/sqrt2 is the erfc argument)
    # Edges have W = 6:
    #   denominator = S * sqrt((9*6 - 6^2) / 8) = (2 sqrt5 / 3) * (3/2) = sqrt5
    #   z = (lag - 6 * 4/3) / sqrt5 = (lag - 8) / sqrt5
    #   (1,0): block (0..2, 0..1) = 0+1+0+2+5+1 = 9   -> z = 1/sqrt5
    #   (0,1): block (0..1, 0..2) = 0+1+2+5+0+1 = 9   -> z = 1/sqrt5
    #   (2,1): block (1..2, 0..2) = 1+0+5+1+1+2 = 10  -> z = 2/sqrt5
    #   (1,2): block (0..2, 1..2) = 2+5+1+0+1+2 = 11  -> z = 3/sqrt5
    # The centre has W = 9 = n: its block is the whole study area, numerator and denominator
    # are both 0 (sqrt(9*9 - 81) = 0), so z is undefined.
    gi = gi_star(HAND_3X3, everywhere(HAND_3X3))
    assert gi.n == 9
    assert gi.mean == pytest.approx(4 / 3, abs=TOL)
    assert gi.std == pytest.approx(2 * SQRT5 / 3, abs=TOL)
    assert_z(gi, {
        (0, 0): 0.8 * SQRT2, (2, 0): 0.5 * SQRT2, (0, 2): 0.8 * SQRT2, (2, 2): 1.1 * SQRT2,
        (1, 0): 1 / SQRT5, (0, 1): 1 / SQRT5, (2, 1): 2 / SQRT5, (1, 2): 3 / SQRT5,
        (1, 1): None,
    })
    assert gi.p_at(2, 2) == pytest.approx(math.erfc(1.1), abs=1e-12)
    assert gi.p_at(2, 0) == pytest.approx(math.erfc(0.5), abs=1e-12)


# --------------------------------------------------------------------------------------------
# Gi* by hand: a full 4x4 grid
# --------------------------------------------------------------------------------------------

HAND_4X4 = [
    [0, 0, 0, 0],
    [0, 8, 4, 0],
    [0, 0, 4, 0],
    [0, 0, 0, 0],
]


def test_gi_star_by_hand_on_a_4x4_grid() -> None:
    # n = 16, sum x = 16, mean = 1; sum x^2 = 64+16+16 = 96, S^2 = 96/16 - 1 = 5, S = sqrt5.
    # Corners, W = 4: sqrt((16*4 - 16)/15) = sqrt(48/15) = 4/sqrt5, denominator = 4,
    #   z = (lag - 4) / 4
    #   (0,0): 0+0+0+8 = 8 -> 1      (3,0): 0+0+4+0 = 4 -> 0
    #   (0,3): 0+0+0+0 = 0 -> -1     (3,3): 4+0+0+0 = 4 -> 0
    # Edges, W = 6: sqrt((16*6 - 36)/15) = sqrt(4) = 2, denominator = 2 sqrt5,
    #   z = (lag - 6) / (2 sqrt5)
    #   (1,0): rows 0-1, cols 0-2 = 8+4 = 12 -> 6/(2 sqrt5) = 3/sqrt5
    #   (2,0): rows 0-1, cols 1-3 = 8+4 = 12 -> 3/sqrt5
    #   (0,1): rows 0-2, cols 0-1 = 8    -> 2/(2 sqrt5) = 1/sqrt5
    #   (0,2): rows 1-3, cols 0-1 = 8    -> 1/sqrt5
    #   (3,1): rows 0-2, cols 2-3 = 4+4  -> 1/sqrt5
    #   (3,2): rows 1-3, cols 2-3 = 4+4  -> 1/sqrt5
    #   (1,3): rows 2-3, cols 0-2 = 4    -> -2/(2 sqrt5) = -1/sqrt5
    #   (2,3): rows 2-3, cols 1-3 = 4    -> -1/sqrt5
    # Interior, W = 9: sqrt((16*9 - 81)/15) = sqrt(63/15) = sqrt(21/5), denominator = sqrt21,
    #   z = (lag - 9) / sqrt21; each interior block holds all three hot cells: 16 -> 7/sqrt21.
    gi = gi_star(HAND_4X4, everywhere(HAND_4X4))
    assert (gi.n, gi.mean, gi.std) == (16, 1.0, pytest.approx(SQRT5, abs=TOL))
    assert_z(gi, {
        (0, 0): 1.0, (3, 0): 0.0, (0, 3): -1.0, (3, 3): 0.0,
        (1, 0): 3 / SQRT5, (2, 0): 3 / SQRT5,
        (0, 1): 1 / SQRT5, (0, 2): 1 / SQRT5, (3, 1): 1 / SQRT5, (3, 2): 1 / SQRT5,
        (1, 3): -1 / SQRT5, (2, 3): -1 / SQRT5,
        (1, 1): 7 / SQRT21, (2, 1): 7 / SQRT21, (1, 2): 7 / SQRT21, (2, 2): 7 / SQRT21,
    })
    # z = 0 gives p = 1 exactly.
    assert gi.p_at(3, 0) == pytest.approx(1.0, abs=1e-12)


# --------------------------------------------------------------------------------------------
# Gi* by hand: a study area that is not the whole grid
# --------------------------------------------------------------------------------------------

# An L: row 0 and column 0 are in the study area. The other four cells hold 100 crimes each,
# which must make no difference: they are not cells of the study area at all.
L_MASK = [
    [True, True, True],
    [True, False, False],
    [True, False, False],
]
L_COUNTS = [
    [3, 1, 0],
    [1, 100, 100],
    [0, 100, 100],
]


def test_gi_star_by_hand_on_an_l_shaped_study_area() -> None:
    # Study cells (0,0)=3, (1,0)=1, (2,0)=0, (0,1)=1, (0,2)=0.
    # n = 5, sum x = 5, mean = 1; sum x^2 = 9+1+0+1+0 = 11, S^2 = 11/5 - 1 = 6/5.
    # Blocks keep only study cells:
    #   (0,0): (0,0),(1,0),(0,1)          W=3, lag = 3+1+1   = 5
    #   (1,0): (0,0),(1,0),(2,0),(0,1)    W=4, lag = 3+1+0+1 = 5
    #   (2,0): (1,0),(2,0)                W=2, lag = 1+0     = 1
    #   (0,1): (0,0),(1,0),(0,1),(0,2)    W=4, lag = 3+1+1+0 = 5
    #   (0,2): (0,1),(0,2)                W=2, lag = 1+0     = 1
    # W=3: sqrt((15-9)/4) = sqrt(3/2); denominator sqrt(6/5 * 3/2) = sqrt(9/5) = 3/sqrt5;
    #      numerator 5 - 3 = 2 -> z = 2 sqrt5 / 3
    # W=4: sqrt((20-16)/4) = 1; denominator sqrt(6/5); numerator 5 - 4 = 1 -> z = sqrt(5/6)
    # W=2: sqrt((10-4)/4) = sqrt(3/2); denominator 3/sqrt5; numerator 1 - 2 = -1
    #      -> z = -sqrt5 / 3
    gi = gi_star(L_COUNTS, np.array(L_MASK))
    assert (gi.n, gi.mean) == (5, 1.0)
    assert gi.std == pytest.approx(math.sqrt(6 / 5), abs=TOL)
    assert_z(gi, {
        (0, 0): 2 * SQRT5 / 3, (1, 0): math.sqrt(5 / 6), (2, 0): -SQRT5 / 3,
        (0, 1): math.sqrt(5 / 6), (0, 2): -SQRT5 / 3,
        (1, 1): None, (2, 1): None, (1, 2): None, (2, 2): None,
    })


def test_two_cells_that_do_not_touch() -> None:
    # Columns 0 and 2 of one row; column 1 is outside the study area, so neither cell is the
    # other's neighbour: W = 1 each. n = 2, x = 0 and 2, mean 1, S^2 = (0+4)/2 - 1 = 1.
    # denominator = 1 * sqrt((2*1 - 1)/1) = 1, so z = x - 1: -1 and +1.
    gi = gi_star([[0, 7, 2]], np.array([[True, False, True]]))
    assert_z(gi, {(0, 0): -1.0, (2, 0): 1.0, (1, 0): None})
    assert gi.p_at(0, 0) == pytest.approx(math.erfc(1 / SQRT2), abs=1e-12)


def test_an_isolated_cell_scores_its_own_standardised_count() -> None:
    # W = 1 gives denominator S * sqrt((n - 1)/(n - 1)) = S: z = (x - mean) / S.
    counts = [[4, 0, 0, 0], [2, 0, 0, 9]]
    mask = np.array([[True, True, False, False], [True, True, False, True]])
    gi = gi_star(counts, mask)
    # Study cells 4, 0, 2, 0, 9: mean 3, S^2 = (16+0+4+0+81)/5 - 9 = 11.2.
    assert gi.z_at(3, 1) == pytest.approx((9 - 3) / math.sqrt(11.2), abs=TOL)


# --------------------------------------------------------------------------------------------
# Gi* against an independent implementation
# --------------------------------------------------------------------------------------------


def irregular_study(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """An ellipse with random holes, a bite out of one side and a lone island cell."""
    r, c = np.mgrid[0:rows, 0:cols]
    mask = ((r - rows / 2) / (rows / 2)) ** 2 + ((c - cols / 2) / (cols / 2)) ** 2 <= 1.1
    mask &= rng.random((rows, cols)) > 0.15
    mask[: rows // 3, : cols // 4] = False
    mask[0, 0] = True  # an island: no study cell touches it
    mask[0:2, 1] = mask[1, 0] = False
    return mask


def clustered_counts(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Poisson counts with two hot blobs on a low background, as crime tends to be."""
    r, c = np.mgrid[0:rows, 0:cols]
    rate = 0.5 + 12 * np.exp(-((r - rows * 0.6) ** 2 + (c - cols * 0.3) ** 2) / 8)
    rate += 6 * np.exp(-((r - rows * 0.3) ** 2 + (c - cols * 0.7) ** 2) / 3)
    return rng.poisson(rate)


@pytest.mark.parametrize(("seed", "rows", "cols"), [(1, 30, 40), (2, 30, 40), (3, 17, 5),
                                                    (4, 1, 60), (5, 60, 1)])
def test_gi_star_matches_a_naive_double_loop(seed: int, rows: int, cols: int) -> None:
    rng = np.random.default_rng(seed)
    mask = irregular_study(rng, rows, cols) if min(rows, cols) > 2 else (
        rng.random((rows, cols)) > 0.2)
    counts = clustered_counts(rng, rows, cols)
    expected = naive_gi_star(counts.tolist(), mask.tolist())
    gi = gi_star(counts, mask)
    assert gi.n == len(expected) > 2
    checked = 0
    for col, row in all_cells(rows, cols):
        z = gi.z_at(col, row)
        if (col, row) not in expected:
            assert z is None and gi.p_at(col, row) is None
            continue
        want = expected[(col, row)]
        assert want is not None and z is not None
        assert z == pytest.approx(want, abs=TOL), (col, row)
        assert gi.p_at(col, row) == pytest.approx(p_of(want), abs=1e-12)
        checked += 1
    assert checked == gi.n
    # The clustered data really has hot spots, so the comparison covers large z too.
    assert np.nanmax(gi.z) > 3


def test_gi_star_matches_the_naive_loop_on_real_valued_rates() -> None:
    rng = np.random.default_rng(9)
    mask = irregular_study(rng, 20, 25)
    rates = rng.gamma(2.0, 3.5, (20, 25))
    expected = naive_gi_star(rates.tolist(), mask.tolist())
    gi = gi_star(rates, mask)
    for (col, row), want in expected.items():
        assert gi.z_at(col, row) == pytest.approx(want, abs=TOL)


def test_the_naive_loop_agrees_with_the_hand_arithmetic() -> None:
    # The reference implementation is itself checked against the worked examples.
    naive = naive_gi_star(HAND_4X4, [[True] * 4] * 4)
    assert naive[(1, 0)] == pytest.approx(3 / SQRT5, abs=TOL)
    assert naive[(1, 1)] == pytest.approx(7 / SQRT21, abs=TOL)
    naive = naive_gi_star(L_COUNTS, L_MASK)
    assert naive[(0, 0)] == pytest.approx(2 * SQRT5 / 3, abs=TOL)
    assert naive_gi_star(HAND_3X3, [[True] * 3] * 3)[(1, 1)] is None


# --------------------------------------------------------------------------------------------
# Gi* properties
# --------------------------------------------------------------------------------------------


def random_case(seed: int = 21) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return clustered_counts(rng, 25, 30), irregular_study(rng, 25, 30)


def test_z_is_unchanged_by_scaling_and_shifting_the_counts() -> None:
    counts, mask = random_case()
    z = gi_star(counts, mask).z
    moved = gi_star(counts * 3.5 + 7, mask).z
    assert np.allclose(z, moved, atol=TOL, equal_nan=True)


def test_mirroring_the_grid_mirrors_z() -> None:
    counts, mask = random_case()
    z = gi_star(counts, mask).z
    assert np.allclose(gi_star(counts[::-1, ::-1], mask[::-1, ::-1]).z, z[::-1, ::-1],
                       atol=TOL, equal_nan=True)
    assert np.allclose(gi_star(counts.T, mask.T).z, z.T, atol=TOL, equal_nan=True)


def test_counts_outside_the_study_area_make_no_difference() -> None:
    counts, mask = random_case()
    noisy = np.where(mask, counts, 1000)
    assert np.array_equal(gi_star(counts, mask).z, gi_star(noisy, mask).z, equal_nan=True)
    # Even NaN outside is ignored; inside it is an error.
    with_nan = np.where(mask, counts, np.nan)
    assert np.array_equal(gi_star(counts, mask).z, gi_star(with_nan, mask).z, equal_nan=True)


def test_padding_the_grid_with_cells_outside_the_study_area_changes_nothing() -> None:
    counts, mask = random_case()
    padded_counts = np.pad(counts, ((2, 1), (3, 0)), constant_values=50)
    padded_mask = np.pad(mask, ((2, 1), (3, 0)), constant_values=False)
    padded = gi_star(padded_counts, padded_mask).z[2:-1, 3:]
    assert np.array_equal(padded, gi_star(counts, mask).z, equal_nan=True)


def test_gi_star_results_are_read_only() -> None:
    gi = gi_star(HAND_4X4, everywhere(HAND_4X4))
    with pytest.raises(ValueError, match="read-only"):
        gi.z[0, 0] = 5
    assert gi.defined.all()


def test_gi_star_cell_lookups_refuse_cells_off_the_grid() -> None:
    gi = gi_star(HAND_4X4, everywhere(HAND_4X4))
    for col, row in [(-1, 0), (0, -1), (4, 0), (0, 4)]:
        with pytest.raises(IndexError):
            gi.z_at(col, row)
        with pytest.raises(IndexError):
            gi.p_at(col, row)


def test_gi_star_input_is_checked() -> None:
    with pytest.raises(ValueError, match="shape"):
        gi_star(np.zeros((2, 3)), np.ones((3, 2), dtype=bool))
    with pytest.raises(TypeError, match="boolean"):
        gi_star(np.zeros((2, 2)), np.ones((2, 2), dtype=int))
    with pytest.raises(TypeError, match="two-dimensional"):
        gi_star(np.zeros(4), np.ones(4, dtype=bool))
    with pytest.raises(ValueError, match="finite"):
        gi_star([[1.0, math.nan]], np.ones((1, 2), dtype=bool))
    with pytest.raises(ValueError, match="finite"):
        gi_star([[1.0, math.inf]], np.ones((1, 2), dtype=bool))


# --------------------------------------------------------------------------------------------
# Degenerate cases: undefined is None, never NaN or infinity
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("counts", [
    [[5, 5, 5], [5, 5, 5], [5, 5, 5], [5, 5, 5]],  # all equal: S = 0
    [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]],  # all zero: S = 0
])
def test_equal_counts_have_no_z(counts: list[list[int]]) -> None:
    grid = grid_of(4, 3)
    gi = gi_star(counts, grid.in_study)
    assert gi.std == 0.0 and gi.n == 12
    assert not gi.defined.any()
    result = find_hotspots(grid, np.array(counts), top_k=2, min_count=0)
    assert len(result.cells) == 12
    assert all(cell.z is None and cell.p is None for cell in result.cells)
    assert_clean(result)


def test_equal_rates_with_rounding_noise_have_no_z() -> None:
    # 0.1 is not exact in binary: the mean of seven 0.1s is not exactly 0.1, so the deviations
    # are rounding noise (about 1e-17), not spread.
    rates = np.full((1, 7), 0.1)
    gi = gi_star(rates, everywhere(rates))
    assert gi.std == 0.0 and not gi.defined.any()


def test_a_small_but_real_spread_still_counts() -> None:
    rates = np.array([[1.0, 1.0, 1.0, 1.0 + 1e-6]])
    gi = gi_star(rates, everywhere(rates))
    assert gi.std is not None and gi.std > 0 and gi.defined.any()


def test_equal_counts_inside_the_study_area_have_no_z_whatever_lies_outside() -> None:
    counts = [[5, 5, 0], [5, 5, 99]]
    mask = np.array([[True, True, False], [True, True, False]])
    assert not gi_star(counts, mask).defined.any()


def test_a_single_cell_has_no_z() -> None:
    grid = grid_of(1, 1)
    gi = gi_star([[7]], grid.in_study)
    assert (gi.n, gi.mean, gi.std) == (1, 7.0, 0.0)
    assert gi.z_at(0, 0) is None and gi.p_at(0, 0) is None
    result = find_hotspots(grid, np.array([[7]]), top_k=1)
    assert result.cells == (CellResult(0, 0, 7, None, None, 1),)
    assert (result.concentration.share, result.concentration.pai) == (1.0, 1.0)
    assert_clean(result)


def test_a_single_study_cell_in_a_larger_grid_has_no_z() -> None:
    mask = np.zeros((3, 3), dtype=bool)
    mask[1, 1] = True
    gi = gi_star(HAND_3X3, mask)
    assert gi.n == 1 and not gi.defined.any()


def test_an_empty_study_area() -> None:
    grid = grid_of(3, 3, mask=np.zeros((3, 3), dtype=bool))
    gi = gi_star(HAND_3X3, grid.in_study)
    assert (gi.n, gi.mean, gi.std) == (0, None, None)
    assert not gi.defined.any()
    result = find_hotspots(grid, np.array(HAND_3X3), top_k=3, min_count=0)
    assert result.cells == ()
    assert (result.study_cells, result.crimes_total) == (0, 0)
    conc = result.concentration
    assert (conc.cells, conc.crimes_in_top, conc.share, conc.area_share, conc.pai) == (
        0, 0, None, None, None)
    assert_clean(result)


def test_a_block_that_covers_the_whole_study_area_has_no_z() -> None:
    # 2x2, all in the study area: every block is all four cells (W = n = 4), so every
    # numerator and denominator is 0 even though the counts differ.
    gi = gi_star([[0, 1], [2, 9]], np.ones((2, 2), dtype=bool))
    assert gi.std is not None and gi.std > 0
    assert not gi.defined.any()
    # Two touching cells: W = n = 2 for both.
    assert not gi_star([[0, 3]], np.ones((1, 2), dtype=bool)).defined.any()


def test_all_zeros_from_points_give_no_hotspots() -> None:
    grid = grid_of(5, 5, col0=10, row0=10)
    counts = counts_from_points(grid, [0.0], [0.0])  # one point, off the grid
    result = find_hotspots(grid, counts, top_k=3)
    assert result.cells == () and result.crimes_total == 0
    assert result.concentration.share is None and result.concentration.pai is None
    assert_clean(result)


# --------------------------------------------------------------------------------------------
# Ranking
# --------------------------------------------------------------------------------------------

# Row 0 first. Ties: the two 3s, and the two 0s.
RANK_COUNTS = [
    [5, 0, 3],
    [3, 1, 0],
]


def test_ranking_is_by_count_then_row_then_column() -> None:
    cells = rank_cells(RANK_COUNTS, everywhere(RANK_COUNTS))
    assert [(c.col, c.row, c.count, c.rank) for c in cells] == [
        (0, 0, 5, 1),
        (2, 0, 3, 2),  # row 0 before row 1
        (0, 1, 3, 3),
        (1, 1, 1, 4),
        (1, 0, 0, 5),  # row 0 before row 1
        (2, 1, 0, 6),
    ]


def test_ties_within_a_row_go_west_to_east() -> None:
    cells = rank_cells([[2, 2, 2, 9]], everywhere([[0, 0, 0, 0]]))
    assert [(c.col, c.rank) for c in cells] == [(3, 1), (0, 2), (1, 3), (2, 4)]


def test_ranking_does_not_depend_on_the_order_cells_arrive_in() -> None:
    grid = grid_of(6, 7, col0=100, row0=200)
    rng = np.random.default_rng(3)
    rows = [(100 + c, 200 + r, int(k)) for (r, c), k in np.ndenumerate(rng.poisson(1.5, (6, 7)))]
    reference = rank_cells(counts_from_cells(grid, rows), grid.in_study)
    for _ in range(5):
        shuffled = [rows[i] for i in rng.permutation(len(rows))]
        assert rank_cells(counts_from_cells(grid, shuffled), grid.in_study) == reference
    # Many ties (counts are small), all broken the same way every time.
    assert len({c.count for c in reference}) < len(reference)
    ranked = [(-c.count, c.row, c.col) for c in reference]
    assert ranked == sorted(ranked)


def test_ranked_cells_carry_their_z_and_p() -> None:
    cells = rank_cells(HAND_4X4, everywhere(HAND_4X4))
    top = cells[0]
    assert (top.col, top.row, top.count) == (1, 1, 8)
    assert top.z == pytest.approx(7 / SQRT21, abs=TOL)
    assert top.p == pytest.approx(p_of(7 / SQRT21), abs=1e-12)
    assert all(isinstance(c.z, float) and isinstance(c.p, float) for c in cells)


def test_ranking_skips_cells_outside_the_study_area() -> None:
    cells = rank_cells(L_COUNTS, np.array(L_MASK))
    assert [(c.col, c.row, c.count) for c in cells] == [
        (0, 0, 3), (1, 0, 1), (0, 1, 1), (2, 0, 0), (0, 2, 0)]


def test_min_count_and_limit_shorten_the_list_but_keep_the_ranks() -> None:
    mask = everywhere(RANK_COUNTS)
    assert [c.rank for c in rank_cells(RANK_COUNTS, mask, min_count=1)] == [1, 2, 3, 4]
    assert [c.rank for c in rank_cells(RANK_COUNTS, mask, min_count=3)] == [1, 2, 3]
    assert [c.rank for c in rank_cells(RANK_COUNTS, mask, limit=2)] == [1, 2]
    assert [c.rank for c in rank_cells(RANK_COUNTS, mask, min_count=1, limit=10)] == [1, 2, 3, 4]
    assert rank_cells(RANK_COUNTS, mask, limit=0) == []
    assert rank_cells(RANK_COUNTS, mask, min_count=6) == []
    with pytest.raises(ValueError, match="limit"):
        rank_cells(RANK_COUNTS, mask, limit=-1)


def test_a_given_gi_star_is_used_as_is() -> None:
    mask = everywhere(HAND_4X4)
    gi = gi_star(HAND_4X4, mask)
    assert rank_cells(HAND_4X4, mask, gi) == rank_cells(HAND_4X4, mask)
    with pytest.raises(ValueError, match="another shape"):
        rank_cells(RANK_COUNTS, everywhere(RANK_COUNTS), gi)


def test_ranking_needs_non_negative_integer_counts() -> None:
    with pytest.raises(TypeError, match="integers"):
        rank_cells([[1.5, 2.0]], everywhere([[0, 0]]))
    with pytest.raises(ValueError, match="negative"):
        rank_cells([[1, -2]], everywhere([[0, 0]]))
    with pytest.raises(ValueError, match="shape"):
        rank_cells([[1, 2]], everywhere([[0, 0, 0]]))
    # A negative count outside the study area is not a count at all.
    assert len(rank_cells([[1, -2]], np.array([[True, False]]))) == 1


# --------------------------------------------------------------------------------------------
# Concentration and PAI
# --------------------------------------------------------------------------------------------

CELL_AREA = 100.0 * 100.0  # 100 m cells


@pytest.mark.parametrize(("top_k", "cells", "in_top", "share", "area_share", "pai"), [
    # RANK_COUNTS: 6 cells, N = 5+0+3+3+1+0 = 12, A = 6 cells = 60,000 m^2.
    # top 1: 5 crimes; share 5/12; area 1/6; PAI = (5/12)/(1/6) = 30/12 = 2.5
    (1, 1, 5, 5 / 12, 1 / 6, 2.5),
    # top 2: 5 + 3 (one of the tied 3s; either gives 8); share 8/12; area 2/6; PAI 2
    (2, 2, 8, 8 / 12, 2 / 6, 2.0),
    # top 3: 5 + 3 + 3 = 11; share 11/12; area 3/6; PAI = (11/12)*2 = 11/6
    (3, 3, 11, 11 / 12, 3 / 6, 11 / 6),
    # top 5: 5+3+3+1+0 = 12 (a zero cell is taken: the top 5 cells are 5 cells);
    # share 1; area 5/6; PAI 6/5
    (5, 5, 12, 1.0, 5 / 6, 1.2),
    # top 10 > 6 cells: every cell, share 1, area 1, PAI 1
    (10, 6, 12, 1.0, 1.0, 1.0),
])
def test_concentration_by_hand(top_k: int, cells: int, in_top: int, share: float,
                               area_share: float, pai: float) -> None:
    conc = concentration(RANK_COUNTS, everywhere(RANK_COUNTS), top_k, CELL_AREA)
    assert (conc.top_k, conc.cells, conc.crimes_in_top, conc.crimes_total) == (
        top_k, cells, in_top, 12)
    assert conc.top_area_m2 == cells * CELL_AREA
    assert conc.study_area_m2 == 60_000
    assert conc.share == pytest.approx(share, abs=TOL)
    assert conc.area_share == pytest.approx(area_share, abs=TOL)
    assert conc.pai == pytest.approx(pai, abs=TOL)


def test_pai_against_a_polygon_area() -> None:
    # The borough polygon is 50,000 m^2 (its edge cells stick out of it).
    # top 1: share 5/12, area share 10,000/50,000 = 0.2, PAI = (5/12)/0.2 = 25/12.
    conc = concentration(RANK_COUNTS, everywhere(RANK_COUNTS), 1, CELL_AREA, 50_000)
    assert conc.study_area_m2 == 50_000
    assert conc.area_share == pytest.approx(0.2, abs=TOL)
    assert conc.pai == pytest.approx(25 / 12, abs=TOL)


def test_concentration_counts_only_the_study_area() -> None:
    # L: study counts 3, 1, 0, 1, 0 (N = 5, 5 cells); the 100s are outside.
    # top 2: 3 + 1 = 4; share 4/5; area 2/5; PAI 2.
    conc = concentration(L_COUNTS, np.array(L_MASK), 2, CELL_AREA)
    assert (conc.crimes_in_top, conc.crimes_total, conc.cells) == (4, 5, 2)
    assert conc.study_area_m2 == 5 * CELL_AREA
    assert conc.share == pytest.approx(0.8, abs=TOL)
    assert conc.pai == pytest.approx(2.0, abs=TOL)


def test_no_crime_means_no_share_and_no_pai() -> None:
    zeros = [[0, 0], [0, 0]]
    conc = concentration(zeros, everywhere(zeros), 1, CELL_AREA)
    assert (conc.crimes_total, conc.crimes_in_top, conc.share, conc.pai) == (0, 0, None, None)
    assert conc.area_share == pytest.approx(0.25)


def test_an_empty_study_area_with_a_polygon_area() -> None:
    zeros = np.zeros((2, 2), dtype=bool)
    conc = concentration([[1, 2], [3, 4]], zeros, 1, CELL_AREA, 40_000)
    assert (conc.cells, conc.crimes_total, conc.share, conc.area_share, conc.pai) == (
        0, 0, None, 0.0, None)


def test_concentration_input_is_checked() -> None:
    mask = everywhere(RANK_COUNTS)
    with pytest.raises(ValueError, match="top_k"):
        concentration(RANK_COUNTS, mask, 0, CELL_AREA)
    for area in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="cell area"):
            concentration(RANK_COUNTS, mask, 1, area)
        with pytest.raises(ValueError, match="study area"):
            concentration(RANK_COUNTS, mask, 1, CELL_AREA, area)
    with pytest.raises(TypeError, match="integers"):
        concentration([[1.0, 2.0]], everywhere([[0, 0]]), 1, CELL_AREA)


def test_concentration_ties_do_not_change_the_figures() -> None:
    # Moving the tied cells around changes which cell is "top", never the share or PAI.
    a = concentration([[3, 3, 1]], everywhere([[0, 0, 0]]), 1, CELL_AREA)
    b = concentration([[1, 3, 3]], everywhere([[0, 0, 0]]), 1, CELL_AREA)
    assert a == b
    assert a.share == pytest.approx(3 / 7) and a.pai == pytest.approx(9 / 7)


# --------------------------------------------------------------------------------------------
# Everything at once
# --------------------------------------------------------------------------------------------


def test_find_hotspots_bundles_the_analysis() -> None:
    grid = grid_of(4, 4, col0=5300, row0=1800)
    result = find_hotspots(grid, np.array(HAND_4X4), top_k=2)
    assert result.grid is grid
    assert (result.cell_m, result.top_k, result.min_count, result.limit) == (100.0, 2, 1, None)
    assert (result.study_cells, result.crimes_total) == (16, 16)
    assert (result.mean, result.std) == (1.0, pytest.approx(SQRT5))
    # min_count 1 by default: only the three cells with crime.
    assert [(c.col, c.row, c.count, c.rank) for c in result.cells] == [
        (1, 1, 8, 1), (2, 1, 4, 2), (2, 2, 4, 3)]
    assert all(c.z == pytest.approx(7 / SQRT21, abs=TOL) for c in result.cells)
    # top 2 = 8 + 4 = 12 of 16: share 3/4; area 2/16; PAI = (3/4)/(1/8) = 6.
    assert result.concentration == Concentration(
        top_k=2, cells=2, crimes_in_top=12, crimes_total=16, share=0.75,
        top_area_m2=20_000.0, study_area_m2=160_000.0, area_share=0.125, pai=6.0)
    assert grid.absolute(1, 1) == (5301, 1801)
    assert_clean(result)


def test_find_hotspots_options() -> None:
    grid = grid_of(4, 4)
    counts = np.array(HAND_4X4)
    assert len(find_hotspots(grid, counts, 2, min_count=0).cells) == 16
    assert len(find_hotspots(grid, counts, 2, limit=1).cells) == 1
    polygon = find_hotspots(grid, counts, 2, study_area_m2=150_000)
    assert polygon.concentration.pai == pytest.approx(0.75 / (20_000 / 150_000))
    with pytest.raises(ValueError, match="shape"):
        find_hotspots(grid, np.zeros((3, 4), dtype=int), 2)


def test_from_points_to_hotspots() -> None:
    # 2 km square at 100 m cells, uniform background plus a tight cluster in one cell.
    rng = np.random.default_rng(5)
    grid = grid_for_bounds(530_000, 180_000, 531_999.9, 181_999.9, 100)
    eastings = np.concatenate([rng.uniform(530_000, 532_000, 2000),
                               rng.uniform(530_700, 530_800, 150)])
    northings = np.concatenate([rng.uniform(180_000, 182_000, 2000),
                                rng.uniform(181_200, 181_300, 150)])
    counts = counts_from_points(grid, eastings, northings)
    result = find_hotspots(grid, counts, top_k=4, limit=5)
    top = result.cells[0]
    assert grid.cell_bounds(top.col, top.row) == (530_700, 181_200, 530_800, 181_300)
    assert top.z is not None and top.z > 5 and top.p is not None and top.p < 1e-6
    assert result.crimes_total == 2150 and result.study_cells == 400
    assert result.concentration.pai is not None and result.concentration.pai > 5
    assert_clean(result)


@pytest.mark.parametrize("seed", range(5))
def test_no_nan_or_infinity_escapes_on_random_grids(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    rows, cols = rng.integers(1, 12, size=2)
    grid = grid_of(int(rows), int(cols), mask=rng.random((rows, cols)) < rng.random())
    counts = rng.poisson(rng.choice([0.0, 0.3, 4.0]), (rows, cols))
    for top_k in (1, 3, int(rows * cols) + 5):
        assert_clean(find_hotspots(grid, counts, top_k, min_count=0))


def test_results_are_plain_python_values() -> None:
    result = find_hotspots(grid_of(4, 4), np.array(HAND_4X4), 2)
    for cell in result.cells:
        assert {type(v) for v in (cell.col, cell.row, cell.count, cell.rank)} == {int}
        assert type(cell.z) is float and type(cell.p) is float
    conc = result.concentration
    assert type(conc.crimes_total) is int and type(conc.crimes_in_top) is int
    assert type(conc.share) is float and type(conc.pai) is float


def test_every_cell_of_a_grid_is_in_exactly_one_place() -> None:
    # Sanity for the [row, col] convention: each cell's centre maps back to it.
    grid = grid_of(3, 4, col0=-2, row0=7, cell_m=25)
    eastings, northings = grid.cell_centres()
    for col, row in product(range(4), range(3)):
        assert grid.cell_of(eastings[row, col], northings[row, col]) == (col, row)


# --------------------------------------------------------------------------------------------
# Small numbers said plainly
# --------------------------------------------------------------------------------------------


def codes(found: Any) -> list[str]:
    return [w.code for w in found.warnings]


def test_thresholds_are_the_impact_figures_own() -> None:
    # One set of small-number rules across the product, with their sources in impact.py.
    assert (MIN_CRIMES, FEW_IN_CELL) == (RELIABLE_COUNT, SMALL_CELL) == (20, 5)


def test_plenty_of_crime_gives_no_warning() -> None:
    found = small_numbers(crimes_total=400, top_counts=[90, 60, 5], months_missing=[],
                          force_name="City of London Police")
    assert found == SmallNumbers((), pai_withheld=False)


@pytest.mark.parametrize(("total", "withheld"), [(1, True), (19, True), (20, False)])
def test_the_pai_is_withheld_under_twenty_crimes(total: int, withheld: bool) -> None:
    found = small_numbers(crimes_total=total, top_counts=[total], months_missing=[],
                          force_name="F")
    assert found.pai_withheld is withheld
    assert ("few_crimes" in codes(found), "pai_withheld" in codes(found)) == (withheld,
                                                                               withheld)


def test_one_crime_says_so_in_words() -> None:
    found = small_numbers(crimes_total=1, top_counts=[1, 0, 0], months_missing=[],
                          force_name="F")
    assert found.warnings == (
        Caution("few_crimes", "Only 1 located crime in this area and period (fewer than 20): "
                              "too few for the Gi* z-scores or the concentration to show a "
                              "pattern rather than chance."),
        Caution("pai_withheld", "The Predictive Accuracy Index is withheld: from 1 crime it "
                                "says more about the area's size than about concentration "
                                "(with one crime it is just the area measured in cells)."),
        Caution("small_cells", "3 of the top 3 cells hold fewer than 5 crimes (ranks 1 to 3): "
                               "one or two crimes more or less would change the ranking, so do "
                               "not read such cells as hotspots on their own."))


@pytest.mark.parametrize(("top", "message"), [
    ([30, 12, 5, 5], None),
    ([30, 12, 5, 4], "1 of the top 4 cells holds fewer than 5 crimes (rank 4)"),
    ([30, 4, 0], "2 of the top 3 cells hold fewer than 5 crimes (ranks 2 to 3)"),
    ([4], "1 of the top 1 cell holds fewer than 5 crimes (rank 1)"),
])
def test_top_cells_under_five_crimes_are_named(top: list[int], message: str | None) -> None:
    found = small_numbers(crimes_total=100, top_counts=top, months_missing=[], force_name="F")
    small = [w.message for w in found.warnings if w.code == "small_cells"]
    if message is None:
        assert small == []
    else:
        assert len(small) == 1 and small[0].startswith(message + ": ")
    assert not found.pai_withheld


def test_months_without_data_are_named() -> None:
    found = small_numbers(crimes_total=500, top_counts=[50], months_missing=[
        date(2024, 2, 1), date(2024, 3, 1)], force_name="City of London Police")
    assert found.warnings == (Caution(
        "months_missing", "No data of City of London Police has been imported for 2 of these "
                          "months (Feb 2024, Mar 2024): they are left out, not counted as "
                          "zero."),)


def test_no_crime_at_all_is_said_once() -> None:
    found = small_numbers(crimes_total=0, top_counts=[0, 0], months_missing=[],
                          force_name="F")
    assert codes(found) == ["no_crimes"]
    assert not found.pai_withheld  # nothing to withhold: the PAI is not defined


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        small_numbers(crimes_total=-1, top_counts=[], months_missing=[], force_name="F")
    with pytest.raises(ValueError, match="negative"):
        small_numbers(crimes_total=3, top_counts=[4, -1], months_missing=[], force_name="F")


@pytest.mark.parametrize(("count", "warned"), [(0, True), (1, True), (4, True), (5, False)])
def test_a_cell_under_five_crimes_is_flagged(count: int, warned: bool) -> None:
    caution = cell_caution(count, "robbery")
    assert (caution is not None) is warned
    if caution is not None:
        assert caution.code == "small_cell"
        assert caution.message.startswith(f"Only {count} crime")
        assert "(robbery) in this cell, fewer than 5" in caution.message


# --------------------------------------------------------------------------------------------
# The category proposed for a case opened on a cell
# --------------------------------------------------------------------------------------------


def test_all_crime_proposes_the_most_common_category_with_its_count() -> None:
    found = propose_category({"anti-social-behaviour": 312, "violent-crime": 200,
                              "drugs": 68}, ())
    assert found == CategoryProposal(
        "anti-social-behaviour", 312, 580,
        "Most of this cell's crime is anti-social behaviour (312 of 580), so it is proposed "
        "as the case's category.")


def test_a_search_for_one_category_proposes_it_even_when_another_is_commoner() -> None:
    found = propose_category({"anti-social-behaviour": 312, "shoplifting": 4},
                             ("shoplifting",))
    assert (found.category, found.count, found.of) == ("shoplifting", 4, 4)
    assert found.reason == ("The search counted shoplifting alone, so the case is proposed "
                            "as shoplifting (4 crimes in this cell).")


def test_several_categories_searched_propose_the_commonest_of_them() -> None:
    found = propose_category({"anti-social-behaviour": 312, "drugs": 9, "robbery": 12},
                             ("drugs", "robbery"))
    assert (found.category, found.count, found.of) == ("robbery", 12, 21)
    assert found.reason.startswith("Of the types searched for, most of this cell's crime is "
                                   "robbery (12 of 21)")


def test_a_tie_goes_to_police_uks_order_and_names_the_others() -> None:
    found = propose_category({"violent-crime": 7, "burglary": 7, "drugs": 7, "robbery": 1},
                             ())
    assert (found.category, found.count, found.of) == ("burglary", 7, 22)
    assert found.reason == (
        "Burglary, drugs and violence and sexual offences are equally the most common crime "
        "in this cell (7 each of 22): burglary, first in police.uk's list, is proposed as the "
        "case's category.")


def test_no_crime_of_the_types_searched_proposes_nothing() -> None:
    found = propose_category({"drugs": 3}, ("robbery", "burglary"))
    assert found == CategoryProposal(None, 0, 0,
                                     "No crime of the types searched for in this cell.")


def test_an_unknown_category_in_the_counts_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown category jaywalking"):
        propose_category({"jaywalking": 3}, ())


# --- ranked by harm ----------------------------------------------------------------------------
# A 3 x 3 grid, row 0 first: robbery (weight 100) and shoplifting (weight 1). The cell with most
# crimes, (0, 0) with 30 shopliftings, holds less harm than (2, 2) with one robbery.

SHOPLIFTING = [[30, 0, 0],
               [0, 2, 0],
               [0, 0, 0]]
ROBBERY = [[0, 0, 0],
           [0, 0, 0],
           [0, 0, 1]]
HARM_WEIGHTS = {"shoplifting": 1.0, "robbery": 100.0}
ALL_IN = np.ones((3, 3), dtype=bool)


def test_a_cells_harm_is_its_crimes_weighed_and_summed() -> None:
    harm = harm_grid({"shoplifting": SHOPLIFTING, "robbery": ROBBERY}, HARM_WEIGHTS, ALL_IN)
    assert harm.tolist() == [[30.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 100.0]]


def test_a_category_without_a_weight_is_never_assumed() -> None:
    with pytest.raises(KeyError, match="No harm weight for drugs"):
        harm_grid({"drugs": SHOPLIFTING}, HARM_WEIGHTS, ALL_IN)


def test_cells_outside_the_study_hold_no_harm() -> None:
    study = ALL_IN.copy()
    study[2, 2] = False
    harm = harm_grid({"shoplifting": SHOPLIFTING, "robbery": ROBBERY}, HARM_WEIGHTS, study)
    assert harm[2, 2] == 0.0 and harm.sum() == 32.0


def test_cells_are_ranked_by_harm_not_by_crimes() -> None:
    harm = harm_grid({"shoplifting": SHOPLIFTING, "robbery": ROBBERY}, HARM_WEIGHTS, ALL_IN)
    counts = np.add(SHOPLIFTING, ROBBERY)
    ranking = rank_by_harm(harm, counts, ALL_IN, top_k=1, cell_area_m2=100.0,
                           study_area_m2=900.0)
    assert [(c.col, c.row, c.harm, c.count, c.rank) for c in ranking.cells] == [
        (2, 2, 100.0, 1, 1), (0, 0, 30.0, 30, 2), (1, 1, 2.0, 2, 3)]  # cells with crime only
    assert ranking.harm_total == 132.0
    assert ranking.share == pytest.approx(100 / 132)  # the top cell's share of all harm
    assert ranking.pai == pytest.approx((100 / 132) / (100 / 900))


def test_the_harm_z_scores_are_gi_star_of_the_harm() -> None:
    harm = harm_grid({"shoplifting": SHOPLIFTING, "robbery": ROBBERY}, HARM_WEIGHTS, ALL_IN)
    ranking = rank_by_harm(harm, np.add(SHOPLIFTING, ROBBERY), ALL_IN, 2, 100.0, 900.0)
    gi = gi_star(harm, ALL_IN)
    for cell in ranking.cells:
        assert (cell.z, cell.p) == (gi.z_at(cell.col, cell.row), gi.p_at(cell.col, cell.row))


def test_no_harm_at_all_has_no_share() -> None:
    ranking = rank_by_harm(np.zeros((3, 3)), np.zeros((3, 3), dtype=int), ALL_IN, 2, 100.0,
                           900.0)
    assert (ranking.cells, ranking.harm_total, ranking.share, ranking.pai) == ((), 0.0, None,
                                                                              None)


@pytest.mark.parametrize("bad", [-1.0, math.inf, math.nan])
def test_negative_or_infinite_harm_is_refused(bad: float) -> None:
    harm = np.zeros((3, 3))
    harm[1, 1] = bad
    with pytest.raises(ValueError, match="finite values, 0 or more"):
        rank_by_harm(harm, np.ones((3, 3), dtype=int), ALL_IN, 1, 100.0, 900.0)


# --- a cell's name -----------------------------------------------------------------------------

@pytest.mark.parametrize(("locations", "name"), [
    ({"On or near Cheapside": 9, "On or near Poultry": 4, "On or near Bank": 2,
      "On or near Mansion House Street": 1},
     "On or near Cheapside, with Poultry and Bank"),
    ({"On or near Cheapside": 3, "On or near Poultry": 1}, "On or near Cheapside, with Poultry"),
    ({"On or near Stryd Fawr": 5}, "On or near Stryd Fawr"),
    # Ties go to the alphabetically first, whatever order the counts came in.
    ({"On or near Wood Street": 2, "On or near Bread Street": 2, "On or near Milk Street": 2,
      "On or near Aldermanbury": 1}, "On or near Bread Street, with Milk Street and Wood Street"),
    # No location text, or police.uk's "No Location", names nothing; spaces are tidied.
    ({"": 7, "No Location": 3, "  On or near  Lime Street ": 1}, "On or near Lime Street"),
    ({"": 4, "No Location": 2}, None),
    ({}, None),
    ({"On or near Cheapside": 0}, None),
])
def test_a_cell_is_named_by_its_most_frequent_locations(locations: dict[str, int],
                                                        name: str | None) -> None:
    assert place_name(locations) == name
    assert place_name(dict(reversed(list(locations.items())))) == name
