"""Hotspot mathematics on a square grid in the British National Grid (EPSG:27700).

Crimes are counted per grid cell, cells are ranked by count, each cell gets a Getis-Ord Gi*
z-score, and the concentration of crime in the top cells is given as a share and as the
Predictive Accuracy Index (PAI). The counting can stay in SQL: pass ``(col, row, count)`` rows
from ``GROUP BY floor(e / cell), floor(n / cell)`` to ``counts_from_cells``, or pass projected
points to ``counts_from_points``.

Conventions. Cell ids are SQL's ``floor(easting / cell_m)`` and ``floor(northing / cell_m)``, so
a point on a cell edge belongs to the cell east (or north) of it. Arrays are indexed
``[row, col]`` with grid-local indices: column 0 is the westernmost, row 0 the southernmost.
The study area is a mask of cells; empty cells in it count as zero, cells outside it do not exist
(they are not in n and are never anyone's neighbour).

Gi* (Getis & Ord 1992, Ord & Getis 1995) uses binary queen contiguity including the cell itself:
the up-to-3x3 block around a cell, restricted to the study area. With W_i the number of study
cells in that block (so sum w_ij = sum w_ij^2 = W_i), n study cells, mean x̄ and population
standard deviation S::

    z_i = (sum_j w_ij x_j - x̄ W_i) / (S sqrt((n W_i - W_i^2) / (n - 1)))

z is undefined (None outside this module, NaN inside it) when n < 2, when S = 0 (all counts
equal) and for a cell whose block holds the whole study area (W_i = n: the statistic is then
constant, 0/0). p-values are two-sided from the standard normal, with no correction for the
many cells tested at once.

Speed, measured (not tested): 1,000,000 uniform points on a 200 x 200 grid of 50 m cells,
``counts_from_points`` then ``gi_star``, took a median of 20 ms (14 ms counting, 4 ms Gi* with
p-values; median of 15 runs, numpy 2.4, Python 3.11, the two-core development container).
``find_hotspots`` listing all 40,000 cells took a further 50 ms, mostly building the dataclasses.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from app.sara.impact import RELIABLE_COUNT, SMALL_CELL, Caution
from app.sara.problem import CATEGORIES

# A guard against a metre-sized grid over a whole force area (billions of cells).
MAX_CELLS = 4_000_000
# A standard deviation this small relative to the largest value is rounding noise, not spread.
_EQUAL_TOLERANCE = 1e-12
# Fewer located crimes than this in the whole study area and the Gi* z-scores and the
# concentration show chance more than a pattern, and the PAI is withheld. It is RELIABLE_COUNT
# (20), the US National Center for Health Statistics' rule that a count under 20 (a relative
# standard error above 1/sqrt(20) = 22% under Poisson) is unreliable: the PAI's N is such a
# count. Below it the PAI mostly measures the area's size: one crime puts 100% of the crime in
# one cell, so the PAI is simply the area over one cell's area (28 for 28 cells).
MIN_CRIMES = RELIABLE_COUNT
# A cell with fewer crimes than this (SMALL_CELL, 5, the line the impact figures draw after
# Agresti) ranks by chance: a Poisson count of 4 has the exact 95% interval 1.1 to 10.2, so one
# or two crimes more or less reorder such cells. Said of the top cells and of a case's cell.
FEW_IN_CELL = SMALL_CELL

BoolGrid = NDArray[np.bool_]
IntGrid = NDArray[np.int64]
FloatGrid = NDArray[np.float64]
CellRows = Iterable[tuple[int, int, int]] | Mapping[tuple[int, int], int] | NDArray[Any]


# --------------------------------------------------------------------------------------------
# The grid
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Grid:
    """A block of square cells whose south-west cell has the absolute ids ``(col0, row0)``.

    The origin is kept as absolute cell ids rather than metres so that cells match SQL's
    ``floor(e / cell_m)`` with no rounding doubt; ``origin_e``/``origin_n`` derive from them.
    ``in_study`` is a read-only ``(n_rows, n_cols)`` boolean mask of the study area's cells.
    Equality is identity (the mask is an array).
    """

    col0: int
    row0: int
    cell_m: float
    n_cols: int
    n_rows: int
    in_study: BoolGrid

    def __post_init__(self) -> None:
        cell_m = float(self.cell_m)
        if not (math.isfinite(cell_m) and cell_m > 0):
            raise ValueError("The cell size must be a positive number of metres.")
        object.__setattr__(self, "cell_m", cell_m)
        for name in ("col0", "row0", "n_cols", "n_rows"):
            object.__setattr__(self, name, operator.index(getattr(self, name)))
        if self.n_cols < 1 or self.n_rows < 1:
            raise ValueError("A grid needs at least one column and one row.")
        if self.n_cols * self.n_rows > MAX_CELLS:
            raise ValueError(f"The grid would have {self.n_cols * self.n_rows} cells; "
                             f"use larger cells (at most {MAX_CELLS}).")
        mask = np.asarray(self.in_study)
        if mask.dtype != np.bool_:
            raise TypeError("The study mask must be a boolean array.")
        if mask.shape != self.shape:
            raise ValueError(f"The study mask has shape {mask.shape}; the grid is {self.shape} "
                             "(rows, columns).")
        # Copied and frozen so that a Grid cannot change under a result that holds it.
        mask = mask.copy()
        mask.flags.writeable = False
        object.__setattr__(self, "in_study", mask)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_rows, self.n_cols)

    @property
    def origin_e(self) -> float:
        return self.col0 * self.cell_m

    @property
    def origin_n(self) -> float:
        return self.row0 * self.cell_m

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min_e, min_n, max_e, max_n) of the whole grid, in metres."""
        return (self.origin_e, self.origin_n, (self.col0 + self.n_cols) * self.cell_m,
                (self.row0 + self.n_rows) * self.cell_m)

    @property
    def cell_area_m2(self) -> float:
        return float(self.cell_m) ** 2

    @property
    def study_cells(self) -> int:
        return int(self.in_study.sum())

    @property
    def study_area_m2(self) -> float:
        """The area of the study cells (not of any polygon they were cut from)."""
        return self.study_cells * self.cell_area_m2

    def with_study(self, in_study: ArrayLike) -> Grid:
        """The same grid with another study mask, e.g. ``shapely.contains_xy(poly, *centres)``."""
        return replace(self, in_study=np.asarray(in_study))

    def cell_of(self, e: float, n: float) -> tuple[int, int] | None:
        """Grid-local ``(col, row)`` of a point, or None outside the grid; ignores the mask."""
        if not (math.isfinite(e) and math.isfinite(n)):
            return None
        col = math.floor(e / self.cell_m) - self.col0
        row = math.floor(n / self.cell_m) - self.row0
        if 0 <= col < self.n_cols and 0 <= row < self.n_rows:
            return (col, row)
        return None

    def absolute(self, col: int, row: int) -> tuple[int, int]:
        """The SQL cell ids ``(floor(e / cell_m), floor(n / cell_m))`` of a grid-local cell."""
        self._check_cell(col, row)
        return (self.col0 + col, self.row0 + row)

    def cell_bounds(self, col: int, row: int) -> tuple[float, float, float, float]:
        """(min_e, min_n, max_e, max_n) of a grid-local cell."""
        abs_col, abs_row = self.absolute(col, row)
        return (abs_col * self.cell_m, abs_row * self.cell_m, (abs_col + 1) * self.cell_m,
                (abs_row + 1) * self.cell_m)

    def cell_polygon_bng(self, col: int, row: int) -> dict[str, Any]:
        """A GeoJSON-shaped Polygon of the cell in EPSG:27700 (anticlockwise, closed)."""
        w, s, e, n = self.cell_bounds(col, row)
        return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}

    def cell_centres(self) -> tuple[FloatGrid, FloatGrid]:
        """Eastings and northings of every cell centre, each shaped ``(n_rows, n_cols)``."""
        cols = (self.col0 + np.arange(self.n_cols) + 0.5) * self.cell_m
        rows = (self.row0 + np.arange(self.n_rows) + 0.5) * self.cell_m
        eastings, northings = np.meshgrid(cols, rows)
        return eastings, northings

    def _check_cell(self, col: int, row: int) -> None:
        if not (0 <= col < self.n_cols and 0 <= row < self.n_rows):
            raise IndexError(f"Cell ({col}, {row}) is outside a {self.n_cols} x {self.n_rows} "
                             "grid.")


def grid_for_bounds(
    min_e: float, min_n: float, max_e: float, max_n: float, cell_m: float
) -> Grid:
    """The smallest grid of whole cells that covers the closed box, all cells in the study.

    The origin snaps down to a multiple of ``cell_m``. Because the box is closed and a point on
    an edge belongs to the cell east (north) of it, a ``max_e`` that is itself a multiple of
    ``cell_m`` gets a column of its own: otherwise a crime on that edge would be dropped.
    """
    if not all(math.isfinite(v) for v in (min_e, min_n, max_e, max_n)):
        raise ValueError("The bounds must be finite numbers.")
    if max_e < min_e or max_n < min_n:
        raise ValueError("The bounds must have min_e <= max_e and min_n <= max_n.")
    if not (math.isfinite(cell_m) and cell_m > 0):
        raise ValueError("The cell size must be a positive number of metres.")
    col0, row0 = math.floor(min_e / cell_m), math.floor(min_n / cell_m)
    n_cols = math.floor(max_e / cell_m) - col0 + 1
    n_rows = math.floor(max_n / cell_m) - row0 + 1
    if n_cols * n_rows > MAX_CELLS:
        raise ValueError(f"The grid would have {n_cols * n_rows} cells; use larger cells "
                         f"(at most {MAX_CELLS}).")
    return Grid(col0, row0, cell_m, n_cols, n_rows, np.ones((n_rows, n_cols), dtype=bool))


# --------------------------------------------------------------------------------------------
# Counting
# --------------------------------------------------------------------------------------------


def counts_from_points(grid: Grid, eastings: ArrayLike, northings: ArrayLike) -> IntGrid:
    """Crimes per cell from projected points; points off the grid, off the study area or not
    finite are dropped. Returns an int64 array shaped ``(n_rows, n_cols)``."""
    e = np.asarray(eastings, dtype=np.float64).ravel()
    n = np.asarray(northings, dtype=np.float64).ravel()
    if e.shape != n.shape:
        raise ValueError(f"{e.size} eastings but {n.size} northings.")
    # floor(e / cell) - col0, not floor((e - origin) / cell): the same division SQL does.
    col = np.floor(e / grid.cell_m) - grid.col0
    row = np.floor(n / grid.cell_m) - grid.row0
    # Compared as floats before any cast; NaN fails every comparison and so drops out.
    on_grid = (col >= 0) & (col < grid.n_cols) & (row >= 0) & (row < grid.n_rows)
    flat = (row[on_grid] * grid.n_cols + col[on_grid]).astype(np.intp)
    counts = np.bincount(flat, minlength=grid.n_rows * grid.n_cols).astype(np.int64)
    counts = counts.reshape(grid.shape)
    counts[~grid.in_study] = 0
    return counts


def counts_from_cells(grid: Grid, cells: CellRows) -> IntGrid:
    """Crimes per cell from ``(col, row, count)`` rows with absolute SQL cell ids, or from a
    mapping ``{(col, row): count}``, or an integer array of shape (k, 3).

    Rows off the grid or off the study area are dropped; repeated cells are added together.
    Counts must be non-negative integers (cast a SQL ``sum()`` to bigint: numeric is refused).
    """
    table = _cell_table(cells)
    counts = np.zeros(grid.shape, dtype=np.int64)
    if not len(table):
        return counts
    if (table[:, 2] < 0).any():
        raise ValueError("Cell counts cannot be negative.")
    col = table[:, 0] - grid.col0
    row = table[:, 1] - grid.row0
    on_grid = (col >= 0) & (col < grid.n_cols) & (row >= 0) & (row < grid.n_rows)
    np.add.at(counts, (row[on_grid], col[on_grid]), table[on_grid, 2])
    counts[~grid.in_study] = 0
    return counts


def _cell_table(cells: CellRows) -> NDArray[np.int64]:
    if isinstance(cells, Mapping):
        cells = [(col, row, count) for (col, row), count in cells.items()]
    table = np.asarray(cells if isinstance(cells, np.ndarray) else list(cells))
    if table.size == 0:
        return np.empty((0, 3), dtype=np.int64)
    # Refuse floats, Decimals and booleans rather than truncate them without a word (a bool
    # among ints is upcast by numpy and so slips through as 0 or 1).
    if table.dtype.kind not in "iu":
        raise TypeError("Cell ids and counts must be integers.")
    if table.ndim != 2 or table.shape[1] != 3:
        raise ValueError("Each cell row must be (col, row, count).")
    return table.astype(np.int64)


# --------------------------------------------------------------------------------------------
# Getis-Ord Gi*
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GiStar:
    """Gi* over a grid. ``z`` and ``p`` are ``(n_rows, n_cols)`` float arrays with NaN where
    undefined (outside the study area or degenerate); read cells through ``z_at``/``p_at``.

    ``mean`` and ``std`` are x̄ and S over the study cells (None for an empty study area).
    """

    z: FloatGrid
    p: FloatGrid
    n: int
    mean: float | None
    std: float | None

    def z_at(self, col: int, row: int) -> float | None:
        return _none_if_nan(self.z[self._index(col, row)])

    def p_at(self, col: int, row: int) -> float | None:
        return _none_if_nan(self.p[self._index(col, row)])

    @property
    def defined(self) -> BoolGrid:
        """The cells that have a z-score."""
        return ~np.isnan(self.z)

    def _index(self, col: int, row: int) -> tuple[int, int]:
        # Negative indices would silently wrap round to the far edge.
        rows, cols = self.z.shape
        if not (0 <= col < cols and 0 <= row < rows):
            raise IndexError(f"Cell ({col}, {row}) is outside a {cols} x {rows} grid.")
        return (row, col)


def gi_star(counts: ArrayLike, in_study: ArrayLike) -> GiStar:
    """Getis-Ord Gi* z-scores and two-sided p-values for every study cell.

    ``counts`` may be any finite real values (rates as well as counts); values outside the study
    area are ignored.
    """
    mask = _study_mask(in_study)
    x = np.asarray(counts, dtype=np.float64)
    if x.shape != mask.shape:
        raise ValueError(f"The counts have shape {x.shape}; the study mask is {mask.shape}.")
    x = np.where(mask, x, 0.0)
    if not np.isfinite(x).all():
        raise ValueError("The counts must be finite numbers.")
    n = int(mask.sum())
    z = np.full(mask.shape, np.nan)
    p = np.full(mask.shape, np.nan)
    if n == 0:
        return _frozen_gi(z, p, 0, None, None)
    mean = float(x.sum() / n)
    # Two passes (mean of squared deviations) rather than sum(x^2)/n - mean^2: the same value,
    # but all-equal counts give exactly 0 instead of rounding noise.
    std = math.sqrt(float((np.where(mask, x - mean, 0.0) ** 2).sum() / n))
    # Equal non-integer rates (0.1 everywhere) can leave a std of rounding noise, which would
    # turn into large meaningless z-scores; treat it as zero.
    if std <= _EQUAL_TOLERANCE * float(np.abs(x).max()):
        std = 0.0
    if n < 2 or std == 0:
        return _frozen_gi(z, p, n, mean, std)
    # W counts whole cells, exact in float64, so W < n is an exact test.
    w = _box3(mask.astype(np.float64))
    lag = _box3(x)
    defined = mask & (w < n)
    wd = w[defined]
    z[defined] = (lag[defined] - mean * wd) / (std * np.sqrt((n * wd - wd * wd) / (n - 1)))
    p[defined] = _two_sided_p(z[defined])
    return _frozen_gi(z, p, n, mean, std)


def _box3(a: FloatGrid) -> FloatGrid:
    """Sum over each cell's 3x3 block (zero beyond the edges): a convolution by slicing."""
    padded = np.pad(a, 1)
    rows, cols = a.shape
    out = np.zeros_like(a)
    for dr in range(3):
        for dc in range(3):
            out += padded[dr:dr + rows, dc:dc + cols]
    return out


def _two_sided_p(z: FloatGrid) -> FloatGrid:
    # numpy has no erfc; one Python call per cell costs about 5 ms for 40,000 cells.
    scaled = np.abs(z) / math.sqrt(2.0)
    return np.fromiter((math.erfc(v) for v in scaled.tolist()), dtype=np.float64,
                       count=scaled.size)


def _frozen_gi(z: FloatGrid, p: FloatGrid, n: int, mean: float | None,
               std: float | None) -> GiStar:
    z.flags.writeable = False
    p.flags.writeable = False
    return GiStar(z, p, n, mean, std)


# --------------------------------------------------------------------------------------------
# Ranking and concentration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellResult:
    """One study cell: grid-local ``col``/``row``, its count, Gi* z and p, and its 1-based rank
    by count (ties by row, then column, both ascending: each rank is used once)."""

    col: int
    row: int
    count: int
    z: float | None
    p: float | None
    rank: int


@dataclass(frozen=True)
class Concentration:
    """How much crime the top cells hold.

    ``cells`` is the number of cells actually taken (``top_k`` capped at the study cells).
    ``share`` = crimes_in_top / crimes_total, None when there is no crime.
    ``pai`` = share / area_share (Chainey, Tompson & Uhlig 2008), None when either is undefined.
    """

    top_k: int
    cells: int
    crimes_in_top: int
    crimes_total: int
    share: float | None
    top_area_m2: float
    study_area_m2: float
    area_share: float | None
    pai: float | None


def _rank_order(x: IntGrid, mask: BoolGrid) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """(rows, cols) of every study cell, most crime first; ties by row, then column."""
    flat = np.flatnonzero(mask)  # ascending flat index = row, then column
    order = flat[np.argsort(-x.ravel()[flat], kind="stable")]
    rows, cols = np.divmod(order, mask.shape[1])
    return rows, cols


def rank_cells(
    counts: ArrayLike,
    in_study: ArrayLike,
    gi: GiStar | None = None,
    *,
    min_count: int = 0,
    limit: int | None = None,
) -> list[CellResult]:
    """Study cells ranked by count, with Gi* (computed here unless given).

    ``min_count`` and ``limit`` only shorten the list: ranks are those among all study cells.
    """
    mask = _study_mask(in_study)
    x = _integer_counts(counts, mask)
    if gi is None:
        gi = gi_star(x, mask)
    elif gi.z.shape != mask.shape:
        raise ValueError("The Gi* result is for a grid of another shape.")
    if limit is not None and limit < 0:
        raise ValueError("The limit cannot be negative.")
    rows, cols = _rank_order(x, mask)
    ranked = x[rows, cols]
    # Ranked by count, so the cells of at least min_count come first.
    keep = int(np.count_nonzero(ranked >= min_count))
    if limit is not None:
        keep = min(keep, limit)
    rows, cols = rows[:keep], cols[:keep]
    zs, ps = gi.z[rows, cols].tolist(), gi.p[rows, cols].tolist()
    return [
        CellResult(col, row, count, _none_if_nan(z), _none_if_nan(p), rank)
        for rank, (col, row, count, z, p) in enumerate(
            zip(cols.tolist(), rows.tolist(), ranked[:keep].tolist(), zs, ps, strict=True),
            start=1,
        )
    ]


def concentration(
    counts: ArrayLike,
    in_study: ArrayLike,
    top_k: int,
    cell_area_m2: float,
    study_area_m2: float | None = None,
) -> Concentration:
    """Share of crime in the ``top_k`` cells by count, and the PAI.

    ``study_area_m2`` defaults to the area of the study cells; pass a polygon's own area to
    measure against that instead. Which of several tied cells makes the top does not change
    either figure (same counts, same area).
    """
    mask = _study_mask(in_study)
    x = _integer_counts(counts, mask)
    if operator.index(top_k) < 1:
        raise ValueError("top_k must be at least 1.")
    if not (math.isfinite(cell_area_m2) and cell_area_m2 > 0):
        raise ValueError("The cell area must be positive.")
    n_cells = int(mask.sum())
    if study_area_m2 is None:
        study_area_m2 = n_cells * cell_area_m2
    elif not (math.isfinite(study_area_m2) and study_area_m2 > 0):
        raise ValueError("The study area must be positive.")
    values = np.sort(x[mask])[::-1]
    cells = min(top_k, n_cells)
    in_top = int(values[:cells].sum())
    total = int(values.sum())
    top_area = cells * cell_area_m2
    share = in_top / total if total else None
    area_share = top_area / study_area_m2 if study_area_m2 > 0 else None
    pai = share / area_share if share is not None and area_share else None
    return Concentration(top_k, cells, in_top, total, share, top_area, float(study_area_m2),
                         area_share, pai)


# --------------------------------------------------------------------------------------------
# Everything at once
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class HotspotResult:
    """The ranked cells of one analysis, with its totals, concentration and parameters."""

    grid: Grid
    cells: tuple[CellResult, ...]
    study_cells: int
    crimes_total: int
    concentration: Concentration
    gi: GiStar
    min_count: int
    limit: int | None

    @property
    def cell_m(self) -> float:
        return self.grid.cell_m

    @property
    def top_k(self) -> int:
        return self.concentration.top_k

    @property
    def mean(self) -> float | None:
        return self.gi.mean

    @property
    def std(self) -> float | None:
        return self.gi.std


def find_hotspots(
    grid: Grid,
    counts: ArrayLike,
    top_k: int,
    *,
    study_area_m2: float | None = None,
    min_count: int = 1,
    limit: int | None = None,
) -> HotspotResult:
    """Rank the study cells, score them with Gi* and measure concentration in the top ``top_k``.

    The list holds cells with at least ``min_count`` crimes (0 lists every study cell), at most
    ``limit`` of them.
    """
    x = _integer_counts(counts, grid.in_study)
    gi = gi_star(x, grid.in_study)
    cells = rank_cells(x, grid.in_study, gi, min_count=min_count, limit=limit)
    conc = concentration(x, grid.in_study, top_k, grid.cell_area_m2, study_area_m2)
    return HotspotResult(grid, tuple(cells), grid.study_cells, conc.crimes_total, conc, gi,
                         min_count, limit)


# --------------------------------------------------------------------------------------------
# Ranked by harm
# --------------------------------------------------------------------------------------------


def harm_grid(counts_by_category: Mapping[str, ArrayLike], weights: Mapping[str, float],
              in_study: ArrayLike) -> FloatGrid:
    """Each study cell's harm: the sum over categories of the category's weight times its
    crimes there (Sherman, Neyroud & Neyroud 2016). A category without a weight is an error:
    no weight is ever assumed."""
    mask = _study_mask(in_study)
    harm = np.zeros(mask.shape)
    for category, counts in counts_by_category.items():
        if category not in weights:
            raise KeyError(f"No harm weight for {category}.")
        harm += float(weights[category]) * _integer_counts(counts, mask)
    return harm


@dataclass(frozen=True)
class HarmCell:
    """A study cell ranked by harm: grid-local ``col``/``row``, its harm and its crimes, Gi* of
    the harm, and its 1-based rank (ties by row, then column)."""

    col: int
    row: int
    harm: float
    count: int
    z: float | None
    p: float | None
    rank: int


@dataclass(frozen=True)
class HarmRanking:
    cells: tuple[HarmCell, ...]  # the cells with crime, most harm first
    harm_total: float
    share: float | None  # of all harm, in the top ``top_k`` cells by harm
    pai: float | None  # that share over their share of the area (a harm PAI)


def rank_by_harm(harm: ArrayLike, counts: ArrayLike, in_study: ArrayLike, top_k: int,
                 cell_area_m2: float, study_area_m2: float) -> HarmRanking:
    """The cells with crime ranked by harm, Gi* of the harm, and how much harm the top
    ``top_k`` cells hold."""
    mask = _study_mask(in_study)
    h = np.where(mask, np.asarray(harm, dtype=np.float64), 0.0)
    if h.shape != mask.shape or not np.isfinite(h).all() or (h < 0).any():
        raise ValueError("Harm must be a grid of finite values, 0 or more.")
    x = _integer_counts(counts, mask)
    gi = gi_star(h, mask)
    rows, cols = _rank_order(h, mask)  # a float grid ranks alike
    listed = [(int(r), int(c)) for r, c in zip(rows.tolist(), cols.tolist(), strict=True)
              if x[r, c] > 0]
    cells = tuple(HarmCell(c, r, float(h[r, c]), int(x[r, c]), gi.z_at(c, r), gi.p_at(c, r),
                           rank) for rank, (r, c) in enumerate(listed, start=1))
    total = float(h.sum())
    taken = min(top_k, int(mask.sum()))
    in_top = float(np.sort(h[mask])[::-1][:taken].sum())
    share = in_top / total if total > 0 else None
    area_share = taken * cell_area_m2 / study_area_m2 if study_area_m2 > 0 else None
    return HarmRanking(cells, total, share,
                       share / area_share if share is not None and area_share else None)


# --------------------------------------------------------------------------------------------
# Small numbers said plainly
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmallNumbers:
    """What an answer's numbers cannot support: the warnings ({code, message}) to show beside
    it, and whether the PAI is withheld (None, with the ``pai_withheld`` warning saying why)."""

    warnings: tuple[Caution, ...]
    pai_withheld: bool


def small_numbers(*, crimes_total: int, top_counts: Sequence[int],
                  months_missing: Sequence[date], force_name: str) -> SmallNumbers:
    """Judge one hotspot answer.

    ``top_counts`` are the counts of the top cells that the concentration takes (ranks 1 to
    ``top_k``, capped at the study cells; empty cells count 0), most first; ``months_missing``
    the months of the period with none of the force's data. Codes: ``months_missing``,
    ``no_crimes``, ``few_crimes`` and ``pai_withheld`` (under ``MIN_CRIMES``), ``small_cells``.
    """
    if crimes_total < 0 or any(c < 0 for c in top_counts):
        raise ValueError("Counts cannot be negative.")
    found: list[Caution] = []
    if months_missing:
        labels = ", ".join(f"{m:%b %Y}" for m in months_missing)
        found.append(Caution("months_missing", f"No data of {force_name} has been imported for "
                                               f"{len(months_missing)} of these months "
                                               f"({labels}): they are left out, not counted as "
                                               "zero."))
    if crimes_total == 0:
        found.append(Caution("no_crimes", "No located crime in this area and period: there is "
                                          "nothing to rank, and the concentration and the PAI "
                                          "are not defined."))
        return SmallNumbers(tuple(found), pai_withheld=False)
    withheld = crimes_total < MIN_CRIMES
    if withheld:
        found.append(Caution("few_crimes", f"Only {crimes_total:,} located "
                                           f"{_plural('crime', crimes_total)} in this area and "
                                           f"period (fewer than {MIN_CRIMES}): too few for the "
                                           "Gi* z-scores or the concentration to show a pattern "
                                           "rather than chance."))
        found.append(Caution("pai_withheld", "The Predictive Accuracy Index is withheld: from "
                                             f"{_crimes(crimes_total)} it says more about the "
                                             "area's size than about concentration (with one "
                                             "crime it is just the area measured in cells)."))
    small = [rank for rank, count in enumerate(top_counts, start=1) if count < FEW_IN_CELL]
    if small:
        ranks = f"rank {small[0]}" if len(small) == 1 else f"ranks {small[0]} to {small[-1]}"
        found.append(Caution("small_cells", f"{len(small)} of the top {len(top_counts)} "
                                            f"{_plural('cell', len(top_counts))} "
                                            f"{'holds' if len(small) == 1 else 'hold'} fewer "
                                            f"than {FEW_IN_CELL} crimes ({ranks}): one or two "
                                            "crimes more or less would change the ranking, so "
                                            "do not read such cells as hotspots on their "
                                            "own."))
    return SmallNumbers(tuple(found), pai_withheld=withheld)


def cell_caution(count: int, kinds: str) -> Caution | None:
    """The warning for a case's evidence when its cell holds too few crimes of its kind."""
    if count >= FEW_IN_CELL:
        return None
    return Caution("small_cell", f"Only {_crimes(count)} ({kinds}) in this cell, fewer than "
                                 f"{FEW_IN_CELL}: too few to call it a hotspot on their own.")


def _crimes(count: int) -> str:
    return f"{count:,} {_plural('crime', count)}"


def _plural(word: str, count: int) -> str:
    return word if count == 1 else f"{word}s"


# --------------------------------------------------------------------------------------------
# The category of a case opened on a cell
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryProposal:
    """The case category proposed for a cell, and the sentence that says why.

    ``count`` is the cell's crimes of that category; ``of`` the cell's crimes of the types the
    search counted (all types when it named none). ``category`` is None when the cell has none.
    """

    category: str | None
    count: int
    of: int
    reason: str


def propose_category(counts: Mapping[str, int], searched: Sequence[str]) -> CategoryProposal:
    """Propose a case category from a cell's crimes per police.uk category.

    A search for one category proposes it. Otherwise the most common category among those
    searched (every category when none was named); a tie goes to the first in police.uk's list
    (``CATEGORIES``), and the sentence names the others.
    """
    unknown = sorted(set(counts) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"Unknown category {unknown[0]}.")
    pool = [c for c in CATEGORIES if c in searched] if searched else list(CATEGORIES)
    of = sum(counts.get(c, 0) for c in pool)
    if len(pool) == 1:
        only = pool[0]
        label = CATEGORIES[only].lower()
        return CategoryProposal(only, of, of, f"The search counted {label} alone, so the case "
                                              f"is proposed as {label} ({_crimes(of)} in this "
                                              "cell).")
    most = max((counts.get(c, 0) for c in pool), default=0)
    if most == 0:
        return CategoryProposal(None, 0, 0, "No crime of the types searched for in this cell.")
    tied = [c for c in pool if counts.get(c, 0) == most]
    first = CATEGORIES[tied[0]].lower()
    among = "of the types searched for, " if searched else ""
    if len(tied) == 1:
        reason = (f"{among}most of this cell's crime is {first} ({most:,} of {of:,}), so it is "
                  "proposed as the case's category.")
    else:
        names = _and([CATEGORIES[c].lower() for c in tied])
        reason = (f"{among}{names} are equally the most common crime in this cell ({most:,} "
                  f"each of {of:,}): {first}, first in police.uk's list, is proposed as the "
                  "case's category.")
    return CategoryProposal(tied[0], most, of, reason[0].upper() + reason[1:])


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------------------------
# A cell's name
# --------------------------------------------------------------------------------------------

ON_OR_NEAR = "On or near "
# police.uk's text for a crime published without a location: it names no place.
NO_LOCATION = "No Location"


def place_name(locations: Mapping[str, int]) -> str | None:
    """A cell named by the police.uk locations of its crimes: the most frequent, with the next
    two ("On or near Cheapside, with Poultry and Bank"). Ties go to the alphabetically first
    text, so the same crimes always give the same name. None when no crime has a location."""
    counts: dict[str, int] = {}
    for text, count in locations.items():
        name = " ".join(text.split())
        if name and name != NO_LOCATION and count > 0:
            counts[name] = counts.get(name, 0) + count
    ranked = sorted(counts, key=lambda name: (-counts[name], name))[:3]
    if not ranked:
        return None
    others = [name.removeprefix(ON_OR_NEAR) for name in ranked[1:]]
    return ranked[0] + (f", with {_and(others)}" if others else "")


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def _study_mask(in_study: ArrayLike) -> BoolGrid:
    mask = np.asarray(in_study)
    if mask.dtype != np.bool_ or mask.ndim != 2:
        raise TypeError("The study mask must be a two-dimensional boolean array.")
    return mask


def _integer_counts(counts: ArrayLike, mask: BoolGrid) -> IntGrid:
    x = np.asarray(counts)
    if x.shape != mask.shape:
        raise ValueError(f"The counts have shape {x.shape}; the study mask is {mask.shape}.")
    if x.size and x.dtype.kind not in "iu":
        raise TypeError("Counts must be integers.")
    x = np.where(mask, x, 0).astype(np.int64)
    if (x < 0).any():
        raise ValueError("Counts cannot be negative.")
    return x


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else float(value)
