"""The hotspot finder ranked by harm, on real City of London data with a made-up weight table:
refused (naming the field) while the force has no table, then every cell's harm is the sum of
its crimes' weights as counted here from the police.uk files, the cells are ranked by it, and
the API, the page and the map say which table weighed them.

The module has a database of its own: the City's boundary and January and February 2024 of its
street crime. Every expected figure is made here with csv, pyproj and shapely, never by the app.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from httpx import Response

from app.auth.context import Actor
from app.auth.roles import Role
from app.harm import service as harm_tables
from app.sara.harm import read_table
from app.sara.hotspots import gi_star
from app.sara.problem import CATEGORIES
from tests.conftest import Person, create_person, needs_data
from tests.crime.support import (
    CITY,
    Site,
    borough_features,
    crimes_of,
    load_boundaries,
    load_months,
    project,
    rounding_matters,
    site,
)

pytestmark = needs_data

TABLE = Path(__file__).parent / "files" / "harm" / "made-up-harm-index.csv"
MONTHS = ["2024-01", "2024-02"]
SIZE = 250
TOP = 5
QUERY = f"borough={CITY}&first=2024-01&last=2024-02&cell_m={SIZE}&top_k={TOP}"
SLUG = {label: slug for slug, label in CATEGORIES.items()}


@dataclass
class World:
    site: Site
    analyst: Person
    sergeant: Person
    client: TestClient
    before_table: Response  # the API asked to rank by harm before any table was loaded
    page_before_table: str  # the finder page then

    def api(self, query: str, expected: int = 200) -> Any:
        response = self.client.get(f"/api/v1/hotspots?{query}", headers=self.analyst.api)
        assert response.status_code == expected, (query, response.status_code,
                                                  response.text[:400])
        return response.json()

    def page(self, url: str) -> str:
        response = self.client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.text


@pytest.fixture(scope="module")
def world(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The refusals without a table are recorded before the table is loaded, so no test
    depends on another having run."""
    with site(db_url, tmp_path_factory, "harm_hotspots") as where:
        with where.factory() as db:
            analyst = create_person(db, "analyst.wu", Role.ANALYST, None, "Lin Wu",
                                    force="city-of-london")
            sergeant = create_person(db, "sgt.ames", Role.SUPERVISOR, CITY, "Sgt Jo Ames")
        load_boundaries(where.factory, (CITY,), ())
        load_months(where.factory, MONTHS)
        with where.client(sergeant) as client:
            before = client.get(f"/api/v1/hotspots?{QUERY}&rank_by=harm", headers=analyst.api)
            page_before = client.get(f"/hotspots?{QUERY}").text
            with where.factory() as db:
                harm_tables.load_csv(db, Actor.cli(), "city-of-london", name="Made-up index",
                                     version="1", source="Invented for the tests", note="",
                                     content=TABLE.read_bytes())
            yield World(where, analyst, sergeant, client, before, page_before)


# --- independent figures -----------------------------------------------------------------------

def weights() -> dict[str, float]:
    table, problems = read_table(TABLE.read_text())
    assert not problems
    return table


def city() -> shapely.Geometry:
    return project(borough_features(CITY)[0]["geometry"])


def expected_cells() -> tuple[dict[tuple[int, int], float], Counter[tuple[int, int]]]:
    """Each cell's harm and crimes: every located crime inside the City, at its point rounded
    to the metre as police.uk points are stored, weighed by its category's weight."""
    area = city()
    assert not rounding_matters(area, MONTHS)
    shapely.prepare(area)
    table = weights()
    harm: dict[tuple[int, int], float] = {}
    crimes: Counter[tuple[int, int]] = Counter()
    for month in MONTHS:
        for crime in crimes_of(month):
            if crime.easting is None or crime.northing is None:
                continue
            e, n = round(crime.easting), round(crime.northing)
            if not area.intersects(shapely.Point(e, n)):
                continue
            cell = (e // SIZE, n // SIZE)
            harm[cell] = harm.get(cell, 0.0) + table[SLUG[crime.label]]
            crimes[cell] += 1
    return harm, crimes


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


# --- refused without a table -------------------------------------------------------------------

def test_without_a_table_ranking_by_harm_is_refused_naming_the_field(world: World) -> None:
    assert world.before_table.status_code == 422
    [error] = world.before_table.json()["errors"]
    assert error["field"] == "rank_by"
    assert error["message"].startswith("No harm-weight table is loaded for City of London "
                                       "Police")
    assert "Rank cells by" not in world.page_before_table  # no choice that cannot work


def test_an_unknown_ranking_is_refused(world: World) -> None:
    found = world.api(f"{QUERY}&rank_by=severity", expected=422)
    assert [e["field"] for e in found["errors"]] == ["rank_by"]


# --- ranked by harm ----------------------------------------------------------------------------

def test_each_cells_harm_is_its_crimes_weights_summed(world: World) -> None:
    harm, crimes = expected_cells()
    found = world.api(f"{QUERY}&rank_by=harm")
    assert found["ranked_by"] == "harm"
    assert {(c["col"], c["row"]): c["harm"] for c in found["cells"]} == pytest.approx(harm)
    assert {(c["col"], c["row"]): c["count"] for c in found["cells"]} == crimes
    assert found["crimes_total"] == sum(crimes.values())
    ranked = [c["harm"] for c in found["cells"]]
    assert ranked == sorted(ranked, reverse=True)
    assert [c["rank"] for c in found["cells"]] == list(range(1, len(ranked) + 1))


def test_the_harm_figures_name_the_table_and_the_share_in_the_top_cells(world: World) -> None:
    harm, _crimes = expected_cells()
    found = world.api(f"{QUERY}&rank_by=harm")
    table = found["harm"]["table"]
    assert (table["name"], table["version"], table["source"]) == (
        "Made-up index", "1", "Invented for the tests")
    assert table["weights"] == weights()
    total = sum(harm.values())
    top = sum(sorted(harm.values(), reverse=True)[:TOP])
    assert found["harm"]["total"] == pytest.approx(total)
    assert found["harm"]["share_in_top"] == pytest.approx(top / total)
    area_share = TOP * SIZE**2 / city().area
    assert found["harm"]["pai"] == pytest.approx(top / total / area_share, rel=1e-6)


def test_gi_star_is_of_the_harm(world: World) -> None:
    """The z-scores are those of the harm grid (checked against the pure Gi* on a grid made
    here from the files' harm and the study cells the API reports)."""
    harm, _crimes = expected_cells()
    found = world.api(f"{QUERY}&rank_by=harm")
    by_crimes = world.api(QUERY)
    assert found["study_cells"] == by_crimes["study_cells"]
    cols = [c for c, _r in harm]
    rows = [r for _c, r in harm]
    # The study cells: every cell the City touches.
    area = city()
    min_col, min_row = math.floor(area.bounds[0] / SIZE), math.floor(area.bounds[1] / SIZE)
    max_col, max_row = math.floor(area.bounds[2] / SIZE), math.floor(area.bounds[3] / SIZE)
    assert min(cols) >= min_col and max(cols) <= max_col and min(rows) >= min_row
    shape = (max_row - min_row + 1, max_col - min_col + 1)
    grid = np.zeros(shape)
    study = np.zeros(shape, dtype=bool)
    for r in range(shape[0]):
        for c in range(shape[1]):
            square = shapely.box((min_col + c) * SIZE, (min_row + r) * SIZE,
                                 (min_col + c + 1) * SIZE, (min_row + r + 1) * SIZE)
            study[r, c] = area.intersects(square)
    for (col, row), value in harm.items():
        grid[row - min_row, col - min_col] = value
    assert int(study.sum()) == found["study_cells"]
    gi = gi_star(grid, study)
    for cell in found["cells"]:
        expected = gi.z_at(cell["col"] - min_col, cell["row"] - min_row)
        assert cell["z"] == pytest.approx(expected, abs=1e-9)


def test_ranked_by_crimes_nothing_about_harm_is_said(world: World) -> None:
    found = world.api(QUERY)
    assert found["ranked_by"] == "crimes" and found["harm"] is None
    assert {c["harm"] for c in found["cells"]} == {None}


# --- the page and the map ----------------------------------------------------------------------

def test_the_page_offers_harm_and_shows_the_harm_of_each_cell(world: World) -> None:
    harm, _crimes = expected_cells()
    page = world.page(f"/hotspots?{QUERY}")
    assert "Rank cells by" in page and "Harm (Made-up index (1))" in text_of(page)
    page = world.page(f"/hotspots?{QUERY}&rank_by=harm")
    assert "Cells ranked by harm" in text_of(page)
    shown = re.findall(r'data-figure="harm\.(\d+)">([^<]+)<', page)
    ranked = sorted(harm.values(), reverse=True)
    assert [(int(rank), value) for rank, value in shown] == [
        (n, f"{value:,.1f}") for n, value in enumerate(ranked[:len(shown)], start=1)]
    summary = text_of(re.search(r'data-figure="harm">(.*?)</div>', page, re.S)[1])
    assert summary.startswith(f"Harm {sum(harm.values()):,.1f} in all, weighed by Made-up index "
                              "(1); the top 5 cells by harm hold")
    assert "Source: Invented for the tests." in summary
    # "Open a case here" carries the ranking to the case's page.
    assert "rank_by=harm" in re.search(r'href="(/hotspots/cases/new\?[^"]+)"', page)[1]


def test_the_map_labels_say_the_harm(world: World) -> None:
    found = world.client.get(f"/hotspots/map.geojson?{QUERY}&rank_by=harm").json()
    cells = [f["properties"] for f in found["features"] if f["properties"]["role"] == "cell"]
    assert cells[0]["rank"] == 1 and cells[0]["harm"] is not None
    assert f", harm {cells[0]['harm']:,.1f}" in cells[0]["label"]


def test_a_case_opened_on_a_cell_ranked_by_harm_says_its_harm(world: World) -> None:
    harm, crimes = expected_cells()
    top = max(harm, key=lambda cell: harm[cell])
    page = world.page(f"/hotspots/cases/new?{QUERY}&rank_by=harm&col={top[0]}&row={top[1]}")
    words = text_of(page)
    assert "Open a case on cell 1" in words
    assert f"ranked 1 of {len(crimes)} cells with crime by harm" in words
    assert f"Harm {harm[top]:,.1f}, weighed by Made-up index (1)" in words
    assert '<input type="hidden" name="rank_by" value="harm">' in page
