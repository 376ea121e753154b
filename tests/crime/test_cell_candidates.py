"""Cells as candidate hotspots for a randomised allocation: a hotspot search's top cells opened
as an operation's cases (API and page), each as "Open a case here" opens one, then randomised.

The module has a database of its own: the City of London's and Westminster's boundaries and
January to March 2024 of the City's street crime (real police.uk files). The cells a request
opens are checked against the finder's own answer to the same search (GET /hotspots), and
their evidence against the finder's counts for the case's category.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.auth.roles import Role
from app.cases.models import Case
from tests.conftest import Person, create_person, needs_data
from tests.crime.support import (
    CITY,
    WESTMINSTER,
    Site,
    api_call,
    load_boundaries,
    load_months,
    mid,
    site,
)

pytestmark = needs_data

MONTHS = ["2024-01", "2024-02", "2024-03"]
SEARCH = {"borough": CITY, "first": "2024-01", "last": "2024-03", "cell_m": 250}
THEFT = "theft-from-the-person"


@dataclass
class World:
    site: Site
    analyst: Person
    sergeant: Person  # a City of London supervisor
    officer: Person
    everywhere: Person  # an analyst of every force
    client: TestClient

    def send(self, method: str, url: str, person: Person | None = None,
             expected: int = 200, **kwargs: Any) -> Any:
        return api_call(self.client, person or self.analyst, method, url, expected, **kwargs)

    def operation(self, name: str) -> int:
        return int(self.send("POST", "/api/v1/operations", expected=201, json={
            "name": name, "force": "city-of-london", "borough": CITY,
            "start_date": "2026-12-01"})["id"])  # the City's: its sergeant runs it too

    def cases(self) -> int:
        with self.site.factory() as db:
            return db.scalar(select(func.count()).select_from(Case)) or 0


@pytest.fixture(scope="module")
def world(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with site(db_url, tmp_path_factory, "cell_candidates") as where:
        with where.factory() as db:
            people = (create_person(db, "analyst.wu", Role.ANALYST, None, "Lin Wu",
                                    force="city-of-london"),
                      create_person(db, "sgt.ames", Role.SUPERVISOR, CITY, "Sgt Jo Ames"),
                      create_person(db, "pc.reid", Role.OFFICER, CITY, "PC Sam Reid"),
                      create_person(db, "analyst.all", Role.ANALYST, None, "Ada All"))
        load_boundaries(where.factory, (CITY, WESTMINSTER), ())
        load_months(where.factory, MONTHS)
        with where.client(people[1]) as client:
            yield World(where, *people, client)


def finder(world: World, categories: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    query = "&".join([f"{k}={v}" for k, v in SEARCH.items()]
                     + [f"category={c}" for c in categories] + ["top_k=50"])
    return world.send("GET", f"/api/v1/hotspots?{query}")["cells"]


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


# --- the API -----------------------------------------------------------------------------------

def test_the_top_cells_become_the_operations_cases_then_are_randomised(world: World) -> None:
    operation = world.operation("Cells one")
    url = f"/api/v1/operations/{operation}/allocation/cells"
    opened = world.send("POST", url, expected=201, json={**SEARCH, "categories": [THEFT],
                                                         "top": 6})
    assert opened["skipped"] == 0 and len(opened["cases"]) == 6
    cells = finder(world, (THEFT,))
    for rank, ref in enumerate(opened["cases"], start=1):
        case = world.send("GET", f"/api/v1/cases/{ref}")
        cell = cells[rank - 1]
        assert case["operation"] == operation and case["category"] == THEFT
        assert case["stage"] == "scanning" and case["borough"] == CITY
        assert case["target_area"]["geometry"] == cell["geometry"]
        assert case["title"] == (f"Hotspot {mid(cell['place'])}: theft from the person (City "
                                 f"of London, cell {rank} of {len(cells)})")
        crimes = f"{cell['count']:,} crime" + ("" if cell["count"] == 1 else "s")
        assert crimes in case["cheers"]["events"]["evidence"]
    # Asked again, the cells already in the operation are passed over: the next two come.
    more = world.send("POST", url, expected=201, json={**SEARCH, "categories": [THEFT],
                                                       "top": 2})
    assert more["skipped"] == 6
    geometries = [world.send("GET", f"/api/v1/cases/{ref}")["target_area"]["geometry"]
                  for ref in more["cases"]]
    assert geometries == [cells[6]["geometry"], cells[7]["geometry"]]
    # The eight are candidates like any hotspot case.
    made = world.send("POST", f"/api/v1/operations/{operation}/allocation", expected=201, json={
        "cases": opened["cases"] + more["cases"], "seed": 20240301,
        "baseline_first": "2024-01", "baseline_last": "2024-03"})
    assert sorted(h["ref"] for h in made["hotspots"]) == sorted(opened["cases"] + more["cases"])
    baselines = {h["ref"]: h["baseline"] for h in made["hotspots"]}
    assert [baselines[ref] for ref in opened["cases"] + more["cases"]] == [
        c["count"] for c in cells[:8]]  # each cell's crimes are its case's baseline
    refused = world.send("POST", url, expected=409, json={**SEARCH, "top": 2})
    assert "randomised already" in refused["message"]


def test_all_crime_gives_each_case_its_cells_commonest_category(world: World) -> None:
    operation = world.operation("Cells two")
    opened = world.send("POST", f"/api/v1/operations/{operation}/allocation/cells",
                        expected=201, json={**SEARCH, "top": 4})
    cells = finder(world)
    for cell, ref in zip(cells[:4], opened["cases"], strict=True):
        case = world.send("GET", f"/api/v1/cases/{ref}")
        # What the "Open a case here" page proposes for the same cell.
        page = world.client.get(f"/hotspots/cases/new?borough={CITY}&first=2024-01&last=2024-03"
                                f"&cell_m=250&top_k=10&col={cell['col']}&row={cell['row']}")
        proposed = re.search(r'name="case_category" type="radio" value="([a-z-]+)"[^>]*checked',
                             page.text)
        assert proposed is not None and case["category"] == proposed[1]
        assert case["problem_statement"].startswith("Found by the hotspot finder searching all "
                                                    "crime, where this cell ranked")


def test_bad_requests_are_named_and_change_nothing(world: World) -> None:
    operation = world.operation("Cells three")
    url = f"/api/v1/operations/{operation}/allocation/cells"
    before = world.cases()
    too_many = world.send("POST", url, expected=422, json={**SEARCH, "categories": ["drugs"],
                                                           "top": 50})
    [error] = too_many["errors"]
    assert error["field"] == "top"
    assert error["message"].startswith(f"Only {len(finder(world, ('drugs',)))} more cells hold "
                                       "crime of drugs in City of London in ")
    outside = world.send("POST", url, expected=422, json={**SEARCH, "borough": WESTMINSTER})
    assert outside["errors"] == [{"field": "borough",
                                  "message": "Westminster is not an area of your force."}]
    # An analyst of every force may search Westminster, but not for a City operation.
    elsewhere = world.send("POST", url, world.everywhere, expected=422,
                           json={**SEARCH, "borough": WESTMINSTER})
    assert elsewhere["errors"] == [{"field": "borough", "message": (
        "Westminster is policed by Metropolitan Police; Cells three is City of London "
        "Police's.")}]
    world.send("POST", url, expected=422, json={**SEARCH, "top": 0})
    world.send("POST", url, world.officer, expected=403, json={**SEARCH, "top": 2})
    assert world.cases() == before


# --- the page ----------------------------------------------------------------------------------

def test_the_allocation_page_opens_cells_as_candidates(world: World) -> None:
    operation = world.operation("Cells four")
    page = world.client.get(f"/operations/{operation}/allocation")
    assert page.status_code == 200
    assert "Add hotspot cells as candidates" in page.text
    form = {"csrf_token": world.sergeant.csrf, "borough": CITY, "first": "2024-01",
            "last": "2024-03", "cell_m": "250", "category": "", "top": "4"}
    wrong = world.client.post(f"/operations/{operation}/allocation/cells",
                              data={**form, "top": "500"})
    assert wrong.status_code == 422
    message = re.search(r'<p id="top-error" class="govuk-error-message">(.*?)</p>', wrong.text,
                        re.S)
    assert message is not None and "50" in text_of(message[1])
    assert 'id="cell-candidates" open' in wrong.text  # the form stays open, its values kept
    done = world.client.post(f"/operations/{operation}/allocation/cells", data=form,
                             follow_redirects=False)
    assert done.status_code == 303
    shown = world.client.get(done.headers["location"])
    assert "4 cells opened as cases of the operation, ticked below." in text_of(shown.text)
    ticked = re.findall(r'name="cases" type="checkbox" value="([A-Z]+-\d{4}-\d{4})" checked',
                        shown.text)
    assert len(ticked) == 4
