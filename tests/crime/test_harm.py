"""Harm beside counts, on real City of London data with a made-up weight table: the table
loaded by the command line and the API (bad tables refused, each problem named), and an
assessment's harm-weighted totals and ratio checked against sums made here from the files.

The module has a database of its own: street crime of January to June 2024."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.auth.roles import Role
from app.cli import cli
from app.crime.geometry import area_shape
from app.sara.harm import read_table
from app.sara.problem import CATEGORIES
from app.settings import get_settings
from tests.conftest import Person, create_person, needs_data
from tests.crime.support import (
    CITY,
    LIVERPOOL_STREET,
    Site,
    api_call,
    count_in,
    load_boundaries,
    load_months,
    site,
)

pytestmark = needs_data

FILES = Path(__file__).parent / "files" / "harm"
MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
PERIODS = {"before_first": "2024-01", "before_last": "2024-03", "after_first": "2024-04",
           "after_last": "2024-06"}
BANK = {"name": "Bank junction", "geometry": {"type": "Point", "coordinates": [-0.0890, 51.5134]},
        "radius_m": 250}
KINDS = ["theft-from-the-person", "other-theft", "robbery", "violent-crime", "public-order"]


@dataclass
class World:
    site: Site
    analyst: Person
    sergeant: Person
    officer: Person
    client: TestClient

    def send(self, method: str, url: str, person: Person | None = None,
             expected: int = 200, **kwargs: Any) -> Any:
        return api_call(self.client, person or self.analyst, method, url, expected, **kwargs)


@pytest.fixture(scope="module")
def world(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with site(db_url, tmp_path_factory, "harm") as crime_site:
        with crime_site.factory() as db:
            people = (create_person(db, "analyst.wu", Role.ANALYST, None, "Lin Wu",
                                    force="city-of-london"),
                      create_person(db, "sgt.ames", Role.SUPERVISOR, CITY, "Sgt Jo Ames"),
                      create_person(db, "pc.reid", Role.OFFICER, CITY, "PC Sam Reid"))
        load_boundaries(crime_site.factory, (CITY,), ())
        load_months(crime_site.factory, MONTHS)
        with crime_site.client() as client:
            yield World(crime_site, *people, client)


def made_up_weights() -> dict[str, float]:
    weights, problems = read_table((FILES / "made-up-harm-index.csv").read_text())
    assert not problems
    return weights


def test_without_a_table_an_assessment_has_no_harm(world: World) -> None:
    """The module's first test (each worker runs a module's tests in order)."""
    assert world.send("GET", "/api/v1/forces/city-of-london/harm-weights") == []
    ref = hotspot(world, "Before any table")
    saved = world.send("POST", f"/api/v1/cases/{ref}/assessments", world.sergeant,
                       json=PERIODS, expected=201)
    assert saved["harm"] is None


def test_the_command_line_loads_a_table_and_refuses_a_bad_one_by_line(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POPCASE_DATABASE_URL", world.site.url)
    get_settings.cache_clear()
    try:
        bad = CliRunner().invoke(cli, [
            "import", "harm-weights", str(FILES / "bad-rows.csv"), "--force", "city-of-london",
            "--name", "Made-up index", "--version", "0", "--source", "Invented for tests"])
        assert bad.exit_code == 2
        said = " ".join(bad.stderr.split())  # as the terminal wrapped it
        assert "bad-rows.csv was not loaded:" in said
        assert "Line 3: Robbery: a weight is a number, 0 or more." in said
        assert "Line 4: 'knife crime' is not a police.uk crime category." in said
        good = CliRunner().invoke(cli, [
            "import", "harm-weights", str(FILES / "made-up-harm-index.csv"),
            "--force", "city-of-london", "--name", "Made-up index", "--version", "1",
            "--source", "Invented for the tests: not a real index", "--json"])
        assert good.exit_code == 0, good.output
        table = json.loads(good.stdout)
    finally:
        get_settings.cache_clear()
    assert table["weights"] == made_up_weights() and table["in_use"] is True
    assert table["loaded_by"] is None  # the machine's operator, named in the access log


def test_the_api_loads_a_new_version_and_refuses_bad_tables_field_by_field(
        world: World) -> None:
    url = "/api/v1/forces/city-of-london/harm-weights"
    body = {"name": "Made-up index", "version": "2",
            "source": "Invented for the tests: not a real index", "weights": made_up_weights()}
    world.send("POST", url, world.officer, json=body, expected=403)
    world.send("POST", "/api/v1/forces/north-wales/harm-weights", json=body, expected=404)
    missing = world.send("POST", url, expected=422, json=body | {
        "weights": {"robbery": 365, "drugs": -1}})
    messages = [e["message"] for e in missing["errors"]]
    assert "Drugs: a weight is a number, 0 or more." in messages
    assert any(m.startswith("No weight for Anti-social behaviour") for m in messages)
    assert {e["field"] for e in missing["errors"]} == {"weights"}
    made = world.send("POST", url, json=body, expected=201)
    assert made["version"] == "2" and made["in_use"] is True
    again = world.send("POST", url, json=body, expected=422)
    assert again["errors"][0]["field"] == "version"
    listed = world.send("GET", url, world.officer)
    assert listed[0]["version"] == "2"  # newest first: the one in use
    assert [t["in_use"] for t in listed] == [True] + [False] * (len(listed) - 1)


def hotspot(world: World, title: str) -> str:
    case = world.send("POST", "/api/v1/cases", world.sergeant, expected=201, json={
        "title": title, "problem_statement": "Street crime around the station.",
        "category": "theft-from-the-person", "borough": CITY,
        "target_area": LIVERPOOL_STREET})
    world.send("PATCH", f"/api/v1/cases/{case['ref']}", world.sergeant, json={
        "version": case["version"], "buffer_width_m": 200, "control_area": BANK,
        "crime_types": KINDS})
    return str(case["ref"])


def test_an_assessment_gives_harm_weighted_changes_beside_counts(world: World) -> None:
    """Each area's harm is the sum over categories of weight x crimes, counted here from the
    files; the ratio and its interval follow the delta method."""
    body = {"name": "Made-up index", "version": "3",
            "source": "Invented for the tests: not a real index", "weights": made_up_weights()}
    table = world.send("POST", "/api/v1/forces/city-of-london/harm-weights", json=body,
                       expected=201)
    ref = hotspot(world, "Harm around Liverpool Street")
    saved = world.send("POST", f"/api/v1/cases/{ref}/assessments", world.sergeant,
                       json=PERIODS, expected=201)
    harm = saved["harm"]
    assert harm["table"]["id"] == table["id"] and harm["table"]["version"] == "3"
    assert harm["table"]["weights"] == made_up_weights()
    weights = made_up_weights()
    shapes = {"target": area_shape(LIVERPOOL_STREET["geometry"], LIVERPOOL_STREET["radius_m"]),
              "control": area_shape(BANK["geometry"], BANK["radius_m"])}
    cells = {}
    for name, shape in shapes.items():
        for period, months in (("before", MONTHS[:3]), ("after", MONTHS[3:])):
            cells[name, period] = {slug: sum(count_in(shape, months, {CATEGORIES[slug]})
                                             .values()) for slug in KINDS}
    for name in shapes:
        for period in ("before", "after"):
            expected = sum(weights[s] * n for s, n in cells[name, period].items())
            assert harm[name][period] == pytest.approx(expected, rel=1e-12), (name, period)
        assert sum(cells[name, "before"].values()) == saved[name]["before"]  # counts agree
    h = [sum(weights[s] * n for s, n in cells[key].items()) for key in (
        ("target", "before"), ("target", "after"), ("control", "before"),
        ("control", "after"))]
    v = [sum(weights[s] ** 2 * n for s, n in cells[key].items()) for key in (
        ("target", "before"), ("target", "after"), ("control", "before"),
        ("control", "after"))]
    value = (h[1] / h[0]) / (h[3] / h[2])
    half = 1.96 * math.sqrt(sum(vi / hi ** 2 for vi, hi in zip(v, h, strict=True)))
    assert harm["ratio"]["value"] == pytest.approx(value, rel=1e-9)
    assert (harm["ratio"]["low"], harm["ratio"]["high"]) == pytest.approx(
        (value * math.exp(-half), value * math.exp(half)), rel=1e-9)
    assert harm["ratio"]["reading"].startswith("Weighted by Made-up index (3), harm in the "
                                               "target area")
    assert harm["buffer"] is not None


def test_the_harm_page_shows_the_table_in_use_and_loads_a_file_or_names_its_bad_lines(
        world: World) -> None:
    url = "/data/forces/city-of-london/harm-weights"
    fields = {"name": "Made-up index", "version": "page",
              "source": "Invented for the tests: not a real index"}
    with world.site.client(world.officer) as officer:
        assert "Load the table" not in officer.get(url).text
        assert officer.get("/data/forces/north-wales/harm-weights").status_code == 404
    with world.site.client(world.analyst) as analyst:
        bad = analyst.post(url, data={"csrf_token": world.analyst.csrf, **fields},
                           files={"weights_file": ("bad-rows.csv",
                                                   (FILES / "bad-rows.csv").read_bytes(),
                                                   "text/csv")})
        assert bad.status_code == 422
        assert 'id="weights_file-error"' in bad.text
        assert "Line 4: &#39;knife crime&#39; is not a police.uk crime category." in bad.text
        assert "You chose bad-rows.csv" in bad.text and 'value="Made-up index"' in bad.text
        missing = analyst.post(url, data={"csrf_token": world.analyst.csrf, **fields})
        assert missing.status_code == 422 and "Choose the table&#39;s CSV file." in missing.text
        good = analyst.post(url, data={"csrf_token": world.analyst.csrf, **fields},
                            files={"weights_file": ("made-up.csv",
                                                    (FILES / "made-up-harm-index.csv")
                                                    .read_bytes(), "text/csv")})
        assert good.status_code == 303
        page = analyst.get(good.headers["location"]).text
        assert "In use: Made-up index (page)" in page
        assert "<th scope=\"row\" class=\"govuk-table__header\">Robbery</th>" in page
