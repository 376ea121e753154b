"""The hotspot finder: crimes counted on a grid over a local policing area or another imported
area (a ward, a whole force area), ranked, with Gi* z-scores and the concentration of crime in
the top cells (app.sara.hotspots does the mathematics; the database does the counting).

The crimes counted are those of the force whose area it is: with two forces' data loaded, a
North Wales area never counts a City of London row.

Small numbers are said plainly (``app.sara.hotspots.small_numbers``): every answer carries its
warnings ({code, message}), and the PAI is withheld under ``MIN_CRIMES`` located crimes.

A case opened on a cell ("Open a case here") has its category chosen by the person, from a
proposal that says where it comes from (``case_choice``); its evidence then counts that
category's crimes in the cell, recounted here (``open_case_from_cell``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.auth.permissions import Perm, covers_borough, covers_force, require
from app.cases import service
from app.cases.access import acting_user
from app.cases.models import Case
from app.cases.schemas import CaseCreate
from app.crime.geometry import area_shape, bounds, inside, squares_wgs84
from app.crime.importer import done_batches
from app.crime.models import Area, AreaKind, StreetCrime
from app.crime.queries import (
    Period,
    data_months,
    months_with_data,
    point_counts,
    point_counts_by_category,
    point_names,
    without_location,
)
from app.errors import FieldError, ValidationFailed
from app.harm import service as harm_tables
from app.reference.models import Borough, Force, bilingual
from app.reference.service import unknown_area
from app.sara import hotspots as maths
from app.sara.impact import Caution
from app.sara.problem import CATEGORIES

CELL_SIZES = (50, 100, 150, 200, 250, 300, 400, 500)
TABLE_ROWS = 20  # cells listed in the table; the map shows every cell with crime
RANKINGS = ("crimes", "harm")


@dataclass(frozen=True)
class HotspotQuery:
    first: date
    last: date
    borough: str | None = None
    area_id: int | None = None
    force: str | None = None  # for an area that lies in no force's local policing areas
    categories: tuple[str, ...] = ()
    cell_m: int = 250
    top_k: int = 10
    rank_by: str = "crimes"  # or "harm", by the force's harm-weight table in use

    @property
    def period(self) -> Period:
        return Period(self.first, self.last)

    def problems(self) -> list[FieldError]:
        problems = []
        if not self.borough and not self.area_id:
            problems.append(FieldError("borough", "Choose an area."))
        if self.first > self.last:
            problems.append(FieldError("last", "The period must end after it starts."))
        if (self.last.year - self.first.year) * 12 + self.last.month - self.first.month >= 120:
            problems.append(FieldError("first", "Choose at most ten years."))
        if self.cell_m not in CELL_SIZES:
            problems.append(FieldError("cell_m", "Choose a cell size from the list."))
        if not 1 <= self.top_k <= 100:
            problems.append(FieldError("top_k", "Choose between 1 and 100 top cells."))
        if self.rank_by not in RANKINGS:
            problems.append(FieldError("rank_by", "Rank by crimes or by harm."))
        unknown = [c for c in self.categories if c not in CATEGORIES]
        if unknown:
            problems.append(FieldError("category", f"Unknown category {unknown[0]}."))
        return problems


@dataclass
class HotspotCell:
    rank: int
    col: int  # absolute: floor(easting / cell_m)
    row: int
    count: int
    share: float | None
    z: float | None  # Gi* of what the cells are ranked by
    p: float | None
    geometry: dict[str, Any]  # WGS84 polygon
    harm: float | None = None  # ranked by harm: the weighted sum of its crimes
    # Named by its crimes' police.uk locations (``name_cells``): the cells people are shown.
    place: str | None = None

    @property
    def significant(self) -> bool:
        return self.z is not None and self.p is not None and self.z > 0 and self.p < 0.05


@dataclass(frozen=True)
class HarmFigures:
    """The harm-weight table the cells were ranked by, and the harm they hold."""

    table: dict[str, Any]  # id, name, version, source, weights
    total: float
    share: float | None  # of all harm, in the top cells by harm
    pai: float | None  # that share over their share of the area


@dataclass
class HotspotAnswer:
    query: HotspotQuery
    study_name: str
    study_code: str
    study_kind: str
    force_id: str
    force_name: str
    borough_code: str | None  # the local policing area the study area lies in, if one
    study_area_m2: float
    study_cells: int
    crimes_total: int
    without_location: int
    months_missing: list[date]
    concentration_share: float | None
    top_area_share: float | None
    pai: float | None  # None when undefined, or withheld (see ``pai_withheld``)
    cells: list[HotspotCell] = field(default_factory=list)
    warnings: list[Caution] = field(default_factory=list)
    harm: HarmFigures | None = None  # ranked by harm
    # The crimes counted, per stored point: what the cells are named from (``name_cells``).
    points: CountedPoints | None = field(default=None, repr=False)

    @property
    def table(self) -> list[HotspotCell]:
        return self.cells[:TABLE_ROWS]

    @property
    def pai_withheld(self) -> Caution | None:
        return next((w for w in self.warnings if w.code == "pai_withheld"), None)

    def cell_at(self, col: int, row: int) -> HotspotCell | None:
        """The listed cell with these absolute ids (a cell with crime), if any."""
        return next((c for c in self.cells if (c.col, c.row) == (col, row)), None)

    @property
    def period(self) -> Period:
        return self.query.period


@dataclass(frozen=True)
class CountedPoints:
    """Crimes counted per stored point (police.uk's snap points, to the metre)."""

    eastings: np.ndarray  # int64
    northings: np.ndarray
    crimes: np.ndarray

    def cells(self, cell_m: int) -> np.ndarray:
        """(col, row, crimes) rows, one a point, in the grid's absolute cell ids."""
        return np.column_stack([self.eastings // cell_m, self.northings // cell_m, self.crimes])

    def take(self, mask: np.ndarray) -> CountedPoints:
        return CountedPoints(self.eastings[mask], self.northings[mask], self.crimes[mask])


@dataclass(frozen=True)
class Study:
    """The area searched and the force whose crime counts in it."""

    area: Area
    force: Force


def study_area(db: Session, actor: Actor, query: HotspotQuery) -> Study:
    """The area asked for, if it is in the actor's force (or forces), with its force."""
    if query.area_id:
        area = db.get(Area, query.area_id)
        if area is None:
            raise ValidationFailed.one("area", f"There is no area {query.area_id}.")
        own_force = area.force_id
    else:
        borough = db.get(Borough, query.borough or "")
        if borough is None:
            raise ValidationFailed.one("borough", unknown_area(query.borough or ""))
        area = db.scalar(select(Area).where(Area.kind == AreaKind.BOROUGH,
                                            Area.code == query.borough))
        if area is None:
            raise ValidationFailed.one(
                "borough", f"No boundary for {borough.name} has been imported: import its "
                           "force's local authority boundaries on the Data page first.")
        own_force = borough.force_id  # its own, even if its boundary came before its force
    field = "area" if query.area_id else "borough"
    force_id = own_force or query.force
    if force_id is None:
        raise ValidationFailed.one("force", f"{area.name} lies in no local policing area of a "
                                            "force set up here: choose the force whose crime "
                                            "to count.")
    if query.force and query.force != force_id:
        raise ValidationFailed.one("force", f"{area.name} is policed by another force: its "
                                            "figures count only that force's crime.")
    force = db.get(Force, force_id)
    if force is None:
        raise ValidationFailed.one("force", f"There is no police force {force_id}.")
    # The machine's operator (the command line, a benchmark) is in no force: it reads all.
    if actor.user is not None and not covers_force(actor.user, force.id):
        raise ValidationFailed.one(field, f"{area.name} is not an area of your force.")
    return Study(area, force)


def find(db: Session, actor: Actor, query: HotspotQuery) -> HotspotAnswer:
    require(acting_user(actor), Perm.CASE_READ)
    if problems := query.problems():
        raise ValidationFailed(problems)
    study = study_area(db, actor, query)
    area = study.area
    answer = compute(db, query, study)
    record_read(db, actor, AuditAction.HOTSPOTS, object_type="area", object_ref=area.code,
                details={"first": query.first.isoformat(), "last": query.last.isoformat(),
                         "categories": list(query.categories), "cell_m": query.cell_m,
                         "force": study.force.id, "crimes": answer.crimes_total,
                         "rank_by": query.rank_by,
                         **({"harm_table": answer.harm.table["id"]} if answer.harm else {})})
    return answer


def compute(db: Session, query: HotspotQuery, study: Study) -> HotspotAnswer:
    """The figures alone (no permission check, no log entry): for callers that did both.

    Every crime of the study's force inside the area counts, and only those: the database
    counts whole cells, and the cells the area's edge crosses are recounted from their points.
    The study area is every cell the area touches; the PAI's A is the area itself. A period
    with no month of the force's data imported is refused: its zeros would mean nothing."""
    area, force = study.area, study.force.id
    months = query.period.months()
    present = months_with_data(db, force, query.period)
    if not present:
        span = data_months(db, force)
        raise ValidationFailed.one(
            "first", f"No street-level crime of {study.force.label} has been imported for "
                     f"{query.period.label}"
                     + (f": choose months from {span.label}." if span else
                        ": import its police.uk files on the Data page first."))
    shape = area_shape(area.geometry)
    box = bounds(shape)
    grid = maths.grid_for_bounds(box.min_e, box.min_n, box.max_e, box.max_n, query.cell_m)
    touched, interior = _cells_in_area(shape, grid)
    grid = grid.with_study(touched)
    categories = list(query.categories) or None
    points = _counted_points(db, force, shape, grid, interior, query, categories)
    counts = maths.counts_from_cells(grid, points.cells(query.cell_m))
    result = maths.find_hotspots(grid, counts, query.top_k, min_count=1,
                                 study_area_m2=float(shape.area))
    total = result.crimes_total
    harm = None
    if query.rank_by == "harm":
        cells, harm = _ranked_by_harm(db, study, query, shape, grid, interior, counts)
    else:
        polygons = cell_polygons(grid, [(cell.col, cell.row) for cell in result.cells])
        cells = [
            HotspotCell(
                rank=cell.rank, col=grid.col0 + cell.col, row=grid.row0 + cell.row,
                count=cell.count, share=cell.count / total if total else None, z=cell.z,
                p=cell.p, geometry=polygon)
            for cell, polygon in zip(result.cells, polygons, strict=True)
        ]
    name_cells(db, points, query.cell_m, cells[:max(TABLE_ROWS, query.top_k)])
    concentration = result.concentration
    # The top cells the concentration takes, empty ones as 0 (only cells with crime are listed).
    top = [cell.count for cell in result.cells[:concentration.cells]]
    missing = [m for m in months if m not in present]
    small = maths.small_numbers(
        crimes_total=total, top_counts=top + [0] * (concentration.cells - len(top)),
        months_missing=missing, force_name=study.force.label)
    return HotspotAnswer(
        query=query, study_name=bilingual(area.name, area.name_welsh), study_code=area.code,
        study_kind=area.kind.value,
        force_id=force, force_name=study.force.label,
        borough_code=area.borough_code if area.kind is not AreaKind.FORCE else None,
        study_area_m2=float(shape.area), study_cells=grid.study_cells, crimes_total=total,
        without_location=without_location(db, force, query.period, categories),
        months_missing=missing,
        concentration_share=concentration.share, top_area_share=concentration.area_share,
        pai=None if small.pai_withheld else concentration.pai, cells=cells,
        warnings=list(small.warnings),
        harm=replace(harm, pai=None) if harm and small.pai_withheld else harm, points=points,
    )


def name_cells(db: Session, points: CountedPoints | None, cell_m: int,
               cells: list[HotspotCell]) -> None:
    """Name cells by the police.uk locations of the crimes counted in them (``points``), the
    points' names read in one query for them all; a cell whose crimes carry no location text
    is named by its centre."""
    unnamed = [cell for cell in cells if cell.place is None]
    if not unnamed or points is None:
        return
    rows = points.cells(cell_m)
    wanted = {(cell.col, cell.row) for cell in unnamed}
    mine = [i for i, (col, row, _n) in enumerate(rows.tolist()) if (col, row) in wanted]
    names = point_names(db, [(int(points.eastings[i]), int(points.northings[i])) for i in mine])
    by_cell: dict[tuple[int, int], Counter[str]] = {}
    for i in mine:
        col, row, crimes = rows[i].tolist()
        text = names.get((int(points.eastings[i]), int(points.northings[i])), "")
        by_cell.setdefault((col, row), Counter())[text] += crimes
    for cell in unnamed:
        cell.place = (maths.place_name(by_cell.get((cell.col, cell.row), Counter()))
                      or f"Near {cell_centre(cell.geometry)}")


def cell_centre(geometry: dict[str, Any]) -> str:
    """Latitude, longitude of a cell's centre (its ring's mean corner), to five places."""
    ring = geometry["coordinates"][0][:-1]
    lon = sum(p[0] for p in ring) / len(ring)
    lat = sum(p[1] for p in ring) / len(ring)
    return f"{lat:.5f}, {lon:.5f}"


def _ranked_by_harm(db: Session, study: Study, query: HotspotQuery, outline: BaseGeometry,
                    grid: maths.Grid, interior: np.ndarray,
                    counts: np.ndarray) -> tuple[list[HotspotCell], HarmFigures]:
    """The cells with crime ranked by harm, weighed by the force's table in use (none is ever
    assumed: without one, ranking by harm is refused)."""
    table = harm_tables.in_use(db, study.force.id)
    if table is None:
        raise ValidationFailed.one(
            "rank_by", f"No harm-weight table is loaded for {study.force.label}: rank by "
                       "crimes, or load the force's table on its Data page.")
    weights = table.as_map()
    kinds = [c for c in (query.categories or CATEGORIES) if weights.get(c)]  # 0 weighs nothing
    by_category = _grid_counts_by_category(db, study.force.id, outline, grid, interior, query,
                                           kinds)
    harm = maths.harm_grid(by_category, weights, grid.in_study)
    ranking = maths.rank_by_harm(harm, counts, grid.in_study, query.top_k, grid.cell_area_m2,
                                 float(outline.area))
    total = int(counts[grid.in_study].sum())
    polygons = cell_polygons(grid, [(cell.col, cell.row) for cell in ranking.cells])
    cells = [HotspotCell(
        rank=cell.rank, col=grid.col0 + cell.col, row=grid.row0 + cell.row, count=cell.count,
        share=cell.count / total if total else None, z=cell.z, p=cell.p, harm=cell.harm,
        geometry=polygon)
        for cell, polygon in zip(ranking.cells, polygons, strict=True)]
    return cells, HarmFigures(harm_tables.describe(table), ranking.harm_total, ranking.share,
                              ranking.pai)


def _grid_counts_by_category(db: Session, force: str, outline: BaseGeometry, grid: maths.Grid,
                             interior: np.ndarray, query: HotspotQuery,
                             categories: list[str]) -> dict[str, np.ndarray]:
    """The crimes of each category per cell, inside the area only (as ``_counted_points``
    counts them), in one query over the points (not one per category)."""
    if not categories:
        return {}
    rows = point_counts_by_category(db, force, bounds(outline), query.period, categories)
    rows = rows[_inside_area(rows[:, 1], rows[:, 2], outline, grid, interior, query.cell_m)]
    cells = np.column_stack([rows[:, 1] // query.cell_m, rows[:, 2] // query.cell_m, rows[:, 3]])
    return {c: maths.counts_from_cells(grid, cells[rows[:, 0] == number])
            for number, c in enumerate(categories)}


def cell_polygons(grid: maths.Grid, cells: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """Cells (grid-local (col, row)) as WGS84 polygons that hold exactly the crimes the grid
    counts in them, projected all at once.

    Crimes are stored at whole metres and a crime on a cell's west or south edge is the cell's
    (floor division), one on its east or north edge the next cell's. The square drawn half a
    metre west and south of the grid lines keeps every stored point off its edges, even after
    rounding to 10 cm in WGS84, so a case opened on the cell counts what the finder counted."""
    ids = np.array(cells, dtype=np.int64).reshape(-1, 2)
    west = (grid.col0 + ids[:, 0]) * grid.cell_m - 0.5
    south = (grid.row0 + ids[:, 1]) * grid.cell_m - 0.5
    return squares_wgs84(west, south, grid.cell_m)


def _counted_points(db: Session, force: str, outline: BaseGeometry, grid: maths.Grid,
                    interior: np.ndarray, query: HotspotQuery,
                    categories: list[str] | None) -> CountedPoints:
    """The force's crimes of the categories per point, inside the area only."""
    rows = np.array(point_counts(db, force, bounds(outline), query.period, categories),
                    dtype=np.int64).reshape(-1, 3)
    points = CountedPoints(rows[:, 0], rows[:, 1], rows[:, 2])
    return points.take(_inside_area(points.eastings, points.northings, outline, grid, interior,
                                    query.cell_m))


def _inside_area(eastings: np.ndarray, northings: np.ndarray, outline: BaseGeometry,
                 grid: maths.Grid, interior: np.ndarray, cell_m: int) -> np.ndarray:
    """Which points count: those in a cell wholly inside the area, and those in a cell on its
    edge that lie inside it (tested one by one)."""
    col, row = eastings // cell_m - grid.col0, northings // cell_m - grid.row0
    on_grid = np.flatnonzero((col >= 0) & (col < grid.n_cols) & (row >= 0) & (row < grid.n_rows))
    whole = interior[row[on_grid], col[on_grid]]
    edge = on_grid[grid.in_study[row[on_grid], col[on_grid]] & ~whole]
    keep = np.zeros(len(eastings), dtype=bool)
    keep[on_grid[whole]] = True
    keep[edge] = inside(outline, eastings[edge].astype(np.float64),
                        northings[edge].astype(np.float64))
    return keep


QUADTREE_BLOCK = 64  # cells a side of the first blocks tested whole


def _cells_in_area(outline: BaseGeometry, grid: maths.Grid) -> tuple[np.ndarray, np.ndarray]:
    """Which cells of the grid the area touches (its edge included) and which it holds whole,
    each shaped like the grid ([row, col]).

    Tested as a quadtree: a block of cells the area holds whole, or misses, settles all its
    cells at once; only blocks its edge crosses are split, down to single cells. A force area's
    grid of a quarter of a million cells is then settled by a few tens of thousands of tests
    (each cell alone took seconds), with the same answer for every cell."""
    # Prepared, a county's coastline is tested against thousands of squares in milliseconds.
    shapely.prepare(outline)
    touched = np.zeros(grid.shape, dtype=bool)
    interior = np.zeros(grid.shape, dtype=bool)
    size = QUADTREE_BLOCK
    cols, rows = (a.ravel() for a in np.meshgrid(np.arange(0, grid.n_cols, size),
                                                 np.arange(0, grid.n_rows, size)))
    while len(cols):
        ends_c, ends_r = np.minimum(cols + size, grid.n_cols), np.minimum(rows + size, grid.n_rows)
        squares = shapely.box(grid.origin_e + cols * grid.cell_m,
                              grid.origin_n + rows * grid.cell_m,
                              grid.origin_e + ends_c * grid.cell_m,
                              grid.origin_n + ends_r * grid.cell_m)
        whole = shapely.contains(outline, squares)
        crossed = shapely.intersects(outline, squares) & ~whole
        for col, row, end_c, end_r in zip(cols[whole], rows[whole], ends_c[whole],
                                          ends_r[whole], strict=True):
            touched[row:end_r, col:end_c] = interior[row:end_r, col:end_c] = True
        if size == 1:
            touched[rows[crossed], cols[crossed]] = True
            break
        size //= 2
        cols, rows = _quarters(cols[crossed], rows[crossed], size, grid)
    return touched, interior


def _quarters(cols: np.ndarray, rows: np.ndarray, size: int,
              grid: maths.Grid) -> tuple[np.ndarray, np.ndarray]:
    """The four blocks of ``size`` cells a side in each block of twice that size (those that
    lie on the grid)."""
    cols = np.concatenate([cols, cols + size, cols, cols + size])
    rows = np.concatenate([rows, rows, rows + size, rows + size])
    on_grid = (cols < grid.n_cols) & (rows < grid.n_rows)
    return cols[on_grid], rows[on_grid]


def cell_categories(db: Session, study: Study, query: HotspotQuery, col: int,
                    row: int) -> dict[str, int]:
    """The study force's located crimes of the period in one cell, per category (every
    category, whatever the query's), counted as ``compute`` counts: inside the area only."""
    size = query.cell_m
    # Eastings and northings are whole metres, so these bounds are floor(e / size) == col.
    rows = db.execute(select(StreetCrime.category, StreetCrime.easting, StreetCrime.northing)
                      .where(StreetCrime.batch_id.in_(done_batches(study.force.id)),
                             StreetCrime.month.between(query.first, query.last),
                             StreetCrime.easting >= col * size,
                             StreetCrime.easting < (col + 1) * size,
                             StreetCrime.northing >= row * size,
                             StreetCrime.northing < (row + 1) * size)).all()
    if not rows:
        return {}
    eastings = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
    northings = np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows))
    keep = inside(area_shape(study.area.geometry), eastings, northings)
    counted = Counter(r[0] for r, kept in zip(rows, keep, strict=True) if kept)
    return {c: counted[c] for c in CATEGORIES if counted[c]}


@dataclass
class CellChoice:
    """What a person sees before opening a case on a cell: the finder's answer and cell, the
    cell's local policing area, its crimes per category and the category proposed."""

    answer: HotspotAnswer
    cell: HotspotCell
    borough: str
    by_category: dict[str, int]
    proposal: maths.CategoryProposal

    @property
    def options(self) -> list[tuple[str, int]]:
        """Every case category with its crimes here, most first (then police.uk's order)."""
        order = list(CATEGORIES)
        return sorted(((c, self.by_category.get(c, 0)) for c in CATEGORIES),
                      key=lambda item: (-item[1], order.index(item[0])))


def case_choice(db: Session, actor: Actor, query: HotspotQuery, col: int,
                row: int) -> CellChoice:
    """The cell a case would be opened on, with the category proposed for it (recomputed
    here: figures sent by a browser are never trusted)."""
    study = _study_for_case(db, actor, query)
    choice = _choice(db, actor, query, study, col, row)
    record_read(db, actor, AuditAction.HOTSPOTS, object_type="area",
                object_ref=study.area.code,
                details={"first": query.first.isoformat(), "last": query.last.isoformat(),
                         "categories": list(query.categories), "cell_m": query.cell_m,
                         "force": study.force.id, "cell": [col, row]})
    return choice


def _study_for_case(db: Session, actor: Actor, query: HotspotQuery) -> Study:
    require(acting_user(actor), Perm.CASE_PROPOSE)
    if problems := query.problems():
        raise ValidationFailed(problems)
    return study_area(db, actor, query)


def _choice(db: Session, actor: Actor, query: HotspotQuery, study: Study, col: int,
            row: int) -> CellChoice:
    answer = compute(db, query, study)
    cell = answer.cell_at(col, row)
    if cell is None:
        raise ValidationFailed.one("cell", "That cell has no crime in the period chosen.")
    name_cells(db, answer.points, query.cell_m, [cell])
    code = answer.borough_code or _local_area_at(db, study.force, cell)
    borough = db.get(Borough, code)
    if borough is None:
        raise ValidationFailed.one("borough", unknown_area(code))
    # Said before the person chooses, as opening the case would say it after.
    if not covers_borough(acting_user(actor), borough):
        raise ValidationFailed.one("borough", "You can work only on cases in your own area.")
    counts = cell_categories(db, study, query, col, row)
    return CellChoice(answer, cell, code, counts,
                      maths.propose_category(counts, query.categories))


def open_case_from_cell(db: Session, actor: Actor, query: HotspotQuery, col: int, row: int,
                        category: str | None) -> Case:
    """A Scanning case of the category the person chose, whose target area is the cell and
    whose evidence counts that category's crimes in the cell and period (recomputed here).

    A category with no crime in the cell is refused: the case would claim to be found in data
    that holds none of it (a problem known from elsewhere is opened on the New case page)."""
    study = _study_for_case(db, actor, query)
    choice = _choice(db, actor, query, study, col, row)
    if not category:
        raise ValidationFailed.one("case_category", "Choose the case's category.")
    if category not in CATEGORIES:
        raise ValidationFailed.one("case_category", "Choose a category from the list.")
    label = CATEGORIES[category].lower()
    found, cell = choice.answer, choice.cell
    if not choice.by_category.get(category):
        raise ValidationFailed.one(
            "case_category", f"No {label} was recorded in this cell in {found.period.label}: "
                             "choose a category with crime here, or open a case from the Cases "
                             "page if the problem is known from elsewhere.")
    counted = compute(db, replace(query, categories=(category,), rank_by="crimes"), study)
    mine = counted.cell_at(col, row)
    if mine is None:  # counted as cell_categories counts: only if the data changed meanwhile
        raise ValidationFailed.one("case_category", f"No {label} is recorded in this cell now.")
    # One transaction: the case, its target area and the figures as evidence (CHEERS
    # elements left for the officers to judge).
    return service.create_case(db, actor, cell_case(found, cell, counted, mine, category,
                                                    choice.borough), via=Perm.CASE_PROPOSE)


def cell_case(found: HotspotAnswer, cell: HotspotCell, counted: HotspotAnswer,
              mine: HotspotCell, category: str, borough: str) -> CaseCreate:
    """The case opened on a cell of ``found``: ``counted`` is the same search counting only
    the case's category, ``mine`` the cell in it."""
    query, label = found.query, CATEGORIES[category].lower()
    figures = cell_figures(counted, mine)
    how = "" if query.categories == (category,) else (
        f"Found by the hotspot finder searching {_kinds(query.categories)}"
        f"{' ranked by harm' if found.harm else ''}, where this cell ranked {cell.rank} of "
        f"{len(found.cells)} with {_count(cell.count)}; the case is about {label}, chosen "
        "when it was opened. ")
    where = f"({found.study_name}, cell {mine.rank} of {len(counted.cells)})"
    search = (f"ranked {cell.rank} in {found.study_name} ({_kinds(query.categories)}"
              f"{', by harm' if found.harm else ''})")
    return CaseCreate(
        title=_named("Hotspot ", cell.place, f": {label} {where}",
                     f"Hotspot in {found.study_name}: {label} (cell {mine.rank} of "
                     f"{len(counted.cells)})"),
        problem_statement=(how or "Found by the hotspot finder. ") + figures,
        category=category, borough=borough, source="data",
        target_area={"name": _named(f"{query.cell_m} m grid cell ", cell.place, f", {search}",
                                    f"{query.cell_m} m grid cell {search}"),
                     "geometry": cell.geometry},
        cheers={"events": {"met": None, "evidence": figures},
                "recurring": {"met": None, "evidence": _monthly_note(counted)}},
    )


NAME_MAX = 200  # a case's title and its target area's name


def _named(before: str, place: str | None, after: str, unnamed: str) -> str:
    """The cell's place put in mid-sentence ("Hotspot on or near Cheapside, with Poultry: ..."),
    shortened to its first location if the whole would be too long."""
    if not place:
        return unnamed
    for name in (place, place.partition(", with ")[0]):
        phrase = name[0].lower() + name[1:] if name.startswith(("On or near ", "Near ")) \
            else f"at {name}"
        if len(text := before + phrase + after) <= NAME_MAX:
            return text
    return unnamed[:NAME_MAX]


@dataclass
class TopCells:
    """The cells of a search to open as cases, each with its local policing area and the
    category its case takes (the one searched for, else the cell's commonest)."""

    answer: HotspotAnswer
    cells: list[tuple[HotspotCell, str, str]]  # (cell, borough code, category)
    skipped: int  # cells passed over because they are cases already


def top_cells(db: Session, actor: Actor, query: HotspotQuery, study: Study, count: int,
              taken: list[dict[str, Any]]) -> TopCells:
    """The first ``count`` cells by the search's ranking that are not already a case's target
    area (``taken``), with the area and category each case would take."""
    answer = compute(db, query, study)
    chosen: list[tuple[HotspotCell, str, str]] = []
    skipped = 0
    for cell in answer.cells:
        if len(chosen) == count:
            break
        if cell.geometry in taken:
            skipped += 1
            continue
        code = answer.borough_code or _local_area_at(db, study.force, cell)
        borough = db.get(Borough, code)
        if borough is None or not covers_borough(acting_user(actor), borough):
            raise ValidationFailed.one("borough", f"Cell {cell.rank} lies in an area you do not "
                                                  "work in: search one of your own areas.")
        if len(query.categories) == 1:
            category = query.categories[0]
        else:
            proposal = maths.propose_category(
                cell_categories(db, study, query, cell.col, cell.row), query.categories)
            assert proposal.category is not None  # a listed cell holds crime
            category = proposal.category
        chosen.append((cell, code, category))
    # Cells passed over may take the cases beyond the cells the search named.
    name_cells(db, answer.points, query.cell_m, [cell for cell, _code, _category in chosen])
    if len(chosen) < count:
        raise ValidationFailed.one(
            "top", f"Only {len(chosen)} more cells hold crime of {_kinds(query.categories)} in "
                   f"{answer.study_name} in {answer.period.label}"
                   + (f" ({skipped} are cases already)" if skipped else "")
                   + ": choose fewer, or a longer period or a larger area.")
    return TopCells(answer, chosen, skipped)


def study_for_cases(db: Session, actor: Actor, query: HotspotQuery) -> Study:
    """The study area of a search whose cells are to be opened as cases."""
    return _study_for_case(db, actor, query)


def _local_area_at(db: Session, force: Force, cell: HotspotCell) -> str:
    """The force's local policing area holding the centre of a cell (a search over a whole
    force area spans several)."""
    centre = shapely.centroid(shape(cell.geometry))
    rows = db.execute(select(Area.code, Area.geometry).join(
        Borough, (Borough.code == Area.code) & (Area.kind == AreaKind.BOROUGH))
        .where(Borough.force_id == force.id)).all()
    for code, geometry in rows:
        if shapely.intersects(shape(geometry), centre):
            return str(code)
    raise ValidationFailed.one("cell", f"That cell's centre lies outside {force.label}'s local "
                                       "policing areas: search one of them instead.")


def _kinds(categories: tuple[str, ...]) -> str:
    return ", ".join(CATEGORIES[c].lower() for c in categories) or "all crime"


def _count(count: int) -> str:
    return f"{count:,} crime" + ("" if count == 1 else "s")


def cell_figures(answer: HotspotAnswer, cell: HotspotCell) -> str:
    """A cell's figures as evidence, counting the answer's categories, with the warning when
    the cell holds too few crimes of them."""
    kinds = _kinds(answer.query.categories)
    if cell.z is None or cell.p is None:
        z = "Gi* z-score undefined"
    else:
        p_text = "< 0.001" if cell.p < 0.001 else f"= {cell.p:.3f}"
        z = f"Gi* z-score {cell.z:.2f} (p {p_text})"
    share = f"{cell.share:.1%}" if cell.share is not None else "n/a"
    caution = maths.cell_caution(cell.count, kinds)
    return (f"{_count(cell.count)} ({kinds}) in {answer.period.label} in this "
            f"{answer.query.cell_m} m cell, ranked {cell.rank} of {len(answer.cells)} cells with "
            f"{'such ' if answer.query.categories else ''}crime in {answer.study_name}; "
            f"{share} of the area's {answer.crimes_total:,} located crimes"
            f"{' of this kind' if answer.query.categories else ''}; {z}."
            + (f" {caution.message}" if caution else "")
            + f" Source: police.uk open data ({answer.force_name}).")


def _monthly_note(answer: HotspotAnswer) -> str:
    covered = len(answer.period.months()) - len(answer.months_missing)
    return (f"{_kinds(answer.query.categories).capitalize()} recorded here across {covered} "
            f"months of imported data ({answer.period.label}); check the monthly pattern in "
            "Analysis.")
