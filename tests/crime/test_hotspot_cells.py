"""The hotspot finder sums stored cell counts (``street_crime_cells``) instead of counting
crimes: on the real police.uk files of North Wales Police (January to April 2024) and the City of
London Police (January to March 2024), every cell it reports equals a direct count of the
stored points of the force's finished imports inside the area, placed with shapely and
floor-divided here, for areas with a ragged coast (Conwy, the Isle of Anglesey), a whole force
area and the City, at 100 m and 250 m, by crimes and by harm.

The cell table itself must equal a count of ``street_crimes`` after every change the importer
makes: a first import, the same file again, a revised file of a month already imported, an
import undone after it finished, and an upgrade of a database that already holds crimes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import shapely
from alembic import command
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.context import Actor
from app.cli import alembic_config
from app.crime.boundaries import import_boundaries
from app.crime.geometry import area_shape, geojson_wgs84, squares_wgs84
from app.crime.hotspots import HotspotQuery, compute, study_area
from app.crime.importer import expand, import_sources
from app.crime.models import (
    Area,
    AreaKind,
    ImportBatch,
    ImportStatus,
    StreetCrime,
    StreetCrimeCell,
)
from app.harm import service as harm
from app.harm.schemas import HarmTableCreate
from app.sara.problem import CATEGORIES
from tests.conftest import POLICE_UK_DATA, migrated, needs_data
from tests.crime.support import CITY, borough_features, geojson, site, street_file

pytestmark = needs_data

NORTH_WALES, CITY_POLICE = "north-wales", "city-of-london"
NW_MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04"]
CITY_MONTHS = ["2024-01", "2024-02", "2024-03"]
ANGLESEY, GWYNEDD, CONWY = "W06000001", "W06000002", "W06000003"
NW_FORCE_AREA = "W15000001"
BOUNDARIES = POLICE_UK_DATA / "boundaries"
# Weights invented for the test: a different one for every category.
WEIGHTS = {slug: float(n) + 0.5 for n, slug in enumerate(CATEGORIES)}

CellKey = tuple[str, date, str, int, int]


def load_world(factory: sessionmaker[Session]) -> None:
    with factory() as db:
        for name, content, kind, force in (
                ("city.geojson", geojson(borough_features(CITY)), AreaKind.BOROUGH, None),
                ("north-wales-local-authorities.geojson",
                 (BOUNDARIES / "north-wales-local-authorities.geojson").read_bytes(),
                 AreaKind.BOROUGH, NORTH_WALES),
                ("north-wales-force-area.geojson", force_area(NW_FORCE_AREA), AreaKind.FORCE,
                 None)):
            report = import_boundaries(db, Actor.cli(), name, content, kind, force_id=force)
            assert report.status == "done" and report.rejected == 0, report
        harm.load_table(db, Actor.cli(), NORTH_WALES, HarmTableCreate(
            name="Test weights", version="1", source="Invented for this test",
            weights=WEIGHTS))
    files = [street_file(m, NORTH_WALES) for m in NW_MONTHS] + [street_file(m)
                                                                 for m in CITY_MONTHS]
    reports = import_sources(factory, Actor.cli(), expand(files))
    assert [r.status for r in reports] == ["done"] * len(files), reports


def force_area(code: str) -> bytes:
    features = [f for f in json.loads((BOUNDARIES / "police-force-areas.geojson").read_bytes())
                ["features"] if f["properties"]["gss_code"] == code]
    assert len(features) == 1
    return geojson(features)


@pytest.fixture(scope="module")
def world(db_url: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    with site(db_url, tmp_path_factory, "hotspot_cells") as crime_site:
        load_world(crime_site.factory)
        yield crime_site.factory


# --- direct counts -----------------------------------------------------------------------------

def direct_cell_table(db: Session) -> Counter[CellKey]:
    """The stored located crimes of every force's finished imports, counted one by one."""
    rows = db.execute(
        select(ImportBatch.force_id, StreetCrime.month, StreetCrime.category,
               StreetCrime.easting, StreetCrime.northing)
        .join(ImportBatch, ImportBatch.id == StreetCrime.batch_id)
        .where(ImportBatch.status == ImportStatus.DONE, StreetCrime.easting.is_not(None)))
    return Counter((f, m, c, e, n) for f, m, c, e, n in rows)


def stored_cell_table(db: Session) -> Counter[CellKey]:
    rows = db.execute(select(StreetCrimeCell.force_id, StreetCrimeCell.month,
                             StreetCrimeCell.category, StreetCrimeCell.easting,
                             StreetCrimeCell.northing, StreetCrimeCell.crimes))
    return Counter({(f, m, c, e, n): crimes for f, m, c, e, n, crimes in rows})


def direct_grid(db: Session, force: str, area: Area | BaseGeometry, first: date, last: date,
                cell_m: int) -> dict[tuple[int, int], Counter[str]]:
    """The force's stored points of the period inside the area (a shape in the British National
    Grid, or a stored area; edge included), counted per grid cell and category one crime at a
    time."""
    rows = db.execute(
        select(StreetCrime.easting, StreetCrime.northing, StreetCrime.category)
        .join(ImportBatch, ImportBatch.id == StreetCrime.batch_id)
        .where(ImportBatch.status == ImportStatus.DONE, ImportBatch.force_id == force,
               StreetCrime.month.between(first, last),
               StreetCrime.easting.is_not(None))).all()
    eastings = np.array([r[0] for r in rows], dtype=np.float64)
    northings = np.array([r[1] for r in rows], dtype=np.float64)
    outline = area_shape(area.geometry) if isinstance(area, Area) else area
    keep = shapely.intersects_xy(outline, eastings, northings)
    found: dict[tuple[int, int], Counter[str]] = {}
    for (easting, northing, category), kept in zip(rows, keep, strict=True):
        if kept:
            found.setdefault((easting // cell_m, northing // cell_m), Counter())[category] += 1
    return found


def area_of(db: Session, kind: AreaKind, code: str) -> Area:
    area = db.scalar(select(Area).where(Area.kind == kind, Area.code == code))
    assert area is not None
    return area


# --- the finder's cells equal direct counts ----------------------------------------------------

AREAS = [(NORTH_WALES, AreaKind.BOROUGH, CONWY), (NORTH_WALES, AreaKind.BOROUGH, ANGLESEY),
         (NORTH_WALES, AreaKind.FORCE, NW_FORCE_AREA), (CITY_POLICE, AreaKind.BOROUGH, CITY)]


@pytest.mark.parametrize("cell_m", [100, 250])
@pytest.mark.parametrize(("force", "kind", "code"), AREAS)
def test_cells_summed_equal_a_direct_count_of_the_points(
        world: sessionmaker[Session], force: str, kind: AreaKind, code: str,
        cell_m: int) -> None:
    months = NW_MONTHS if force == NORTH_WALES else CITY_MONTHS
    first, last = date.fromisoformat(f"{months[0]}-01"), date.fromisoformat(f"{months[-1]}-01")
    with world() as db:
        area = area_of(db, kind, code)
        query = HotspotQuery(first=first, last=last, area_id=area.id, cell_m=cell_m,
                             top_k=10)
        answer = compute(db, query, study_area(db, Actor.cli(), query))
        expected = direct_grid(db, force, area, first, last, cell_m)
    found = {(cell.col, cell.row): cell.count for cell in answer.cells}
    assert found == {cell: sum(kinds.values()) for cell, kinds in expected.items()}
    assert answer.crimes_total == sum(found.values()) > 1000


# Conwy's sparse border crime shares a cell with its neighbours' at 250 m, not at 100 m.
@pytest.mark.parametrize(("force", "code", "cell_m"), [
    (NORTH_WALES, CONWY, 250), (CITY_POLICE, CITY, 100), (CITY_POLICE, CITY, 250)])
def test_edges_cut_cells_whose_points_are_recounted(world: sessionmaker[Session], force: str,
                                                    code: str, cell_m: int) -> None:
    """The areas' borders cross cells that hold the force's crime on both sides: those cells
    count only the points inside (the test above would pass trivially without such cells)."""
    months = NW_MONTHS if force == NORTH_WALES else CITY_MONTHS
    first, last = date.fromisoformat(f"{months[0]}-01"), date.fromisoformat(f"{months[-1]}-01")
    with world() as db:
        area = area_of(db, AreaKind.BOROUGH, code)
        inside = direct_grid(db, force, area, first, last, cell_m)
        around = direct_grid(db, force, shapely.box(*area_shape(area.geometry).bounds),
                             first, last, cell_m)
    shared = [cell for cell in inside if sum(around[cell].values()) > sum(inside[cell].values())]
    assert shared


@pytest.mark.parametrize("code", [CONWY, GWYNEDD])
def test_harm_from_cells_equals_harm_from_the_points(world: sessionmaker[Session],
                                                     code: str) -> None:
    first, last = date(2024, 1, 1), date(2024, 4, 1)
    with world() as db:
        area = area_of(db, AreaKind.BOROUGH, code)
        query = HotspotQuery(first=first, last=last, area_id=area.id, cell_m=250, top_k=10,
                             rank_by="harm")
        answer = compute(db, query, study_area(db, Actor.cli(), query))
        expected = direct_grid(db, NORTH_WALES, area, first, last, 250)
    assert answer.harm is not None
    found = {(cell.col, cell.row): (cell.count, cell.harm) for cell in answer.cells}
    assert set(found) == set(expected)
    for cell, kinds in expected.items():
        count, cell_harm = found[cell]
        assert count == sum(kinds.values())
        assert cell_harm == pytest.approx(sum(WEIGHTS[c] * n for c, n in kinds.items()))


def test_the_cell_table_equals_a_count_of_the_stored_crimes(
        world: sessionmaker[Session]) -> None:
    with world() as db:
        stored = stored_cell_table(db)
        assert stored == direct_cell_table(db)
        assert {force for force, *_rest in stored} == {NORTH_WALES, CITY_POLICE}


@pytest.mark.parametrize("cell_m", [50, 100, 250, 500])
def test_cells_projected_at_once_are_the_squares_projected_one_by_one(cell_m: int) -> None:
    """A case opened on a cell is matched to the finder's cells by its geometry: the squares
    projected together must be the very figures ``geojson_wgs84`` gives for each."""
    rng = np.random.default_rng(cell_m)
    west = rng.integers(0, 700_000 // cell_m, 500) * cell_m - 0.5
    south = rng.integers(0, 1_250_000 // cell_m, 500) * cell_m - 0.5
    one_by_one = [geojson_wgs84(box(w, s, w + cell_m, s + cell_m))
                  for w, s in zip(west, south, strict=True)]
    assert squares_wgs84(west, south, cell_m) == one_by_one


# --- the importer keeps the table --------------------------------------------------------------

@pytest.fixture
def empty_site(empty_database: str) -> Iterator[sessionmaker[Session]]:
    with migrated(empty_database) as factory:
        yield factory


def assert_table_recounted(factory: sessionmaker[Session]) -> Counter[CellKey]:
    with factory() as db:
        stored = stored_cell_table(db)
        assert stored == direct_cell_table(db)
        return stored


def revised(month: str, folder: Path) -> Path:
    """The month's file as police.uk might republish it: every tenth row dropped (its
    identity is new in no way, so it stays stored) and every seventh row's crime type
    changed (a new identity for rows without a Crime ID: added beside the old one)."""
    lines = street_file(month, NORTH_WALES).read_text(encoding="utf-8-sig").splitlines()
    kept = [lines[0]]
    for number, line in enumerate(lines[1:], start=1):
        if number % 10 == 0:
            continue
        if number % 7 == 0 and ",Anti-social behaviour," in line:
            line = line.replace(",Anti-social behaviour,", ",Public order,")
        kept.append(line)
    path = folder / f"{month}-{NORTH_WALES}-street.csv"
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return path


def test_every_import_keeps_the_cell_table_equal_to_a_recount(
        empty_site: sessionmaker[Session], tmp_path: Path) -> None:
    def run(paths: list[Path]) -> None:
        reports = import_sources(empty_site, Actor.cli(), expand(paths),
                                 force_id=NORTH_WALES)
        assert [r.status for r in reports] == ["done"] * len(paths), reports

    run([street_file("2024-01", NORTH_WALES)])
    first = assert_table_recounted(empty_site)
    assert first and {month for _f, month, *_rest in first} == {date(2024, 1, 1)}
    run([street_file("2024-01", NORTH_WALES)])  # the same file again adds nothing
    assert assert_table_recounted(empty_site) == first
    run([revised("2024-01", tmp_path)])  # a revision adds its new rows to the month's cells
    after_revision = assert_table_recounted(empty_site)
    assert sum(after_revision.values()) > sum(first.values())
    run([street_file("2024-02", NORTH_WALES)])
    both = assert_table_recounted(empty_site)
    assert {month for _f, month, *_rest in both} == {date(2024, 1, 1), date(2024, 2, 1)}


def test_an_import_undone_after_it_finished_takes_its_cells_away(
        empty_site: sessionmaker[Session]) -> None:
    """An import whose progress report fails once its rows count is removed whole: so are
    its counts in the cell table, in the same transaction."""
    class Interrupted(Exception):
        pass

    def progress(batch: ImportBatch) -> None:
        if batch.status is ImportStatus.DONE:
            raise Interrupted

    import_sources(empty_site, Actor.cli(), expand([street_file("2024-01", NORTH_WALES)]))
    before = assert_table_recounted(empty_site)
    with pytest.raises(Interrupted):
        import_sources(empty_site, Actor.cli(),
                       expand([street_file("2024-02", NORTH_WALES)]), progress)
    with empty_site() as db:
        assert db.scalar(select(func.count()).select_from(ImportBatch).where(
            ImportBatch.status == ImportStatus.FAILED)) == 1
    assert assert_table_recounted(empty_site) == before


def test_an_upgrade_fills_the_cell_table_from_the_crimes_already_stored(
        empty_database: str) -> None:
    with migrated(empty_database) as factory:
        reports = import_sources(factory, Actor.cli(), expand(
            [street_file(m, NORTH_WALES) for m in NW_MONTHS[:2]] + [street_file("2024-01")]))
        assert [r.status for r in reports] == ["done"] * 3
        at_head = assert_table_recounted(factory)
    config = alembic_config(empty_database)
    command.downgrade(config, "0017")
    command.upgrade(config, "head")
    with migrated(empty_database) as factory:
        assert assert_table_recounted(factory) == at_head
        assert len(at_head) > 5000
