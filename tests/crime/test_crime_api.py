"""The crime data API: import batches, areas, the hotspot finder and a case's crime picture.

The module has a database of its own: the City of London and Westminster borough boundaries,
both boroughs' wards and the City's street crime of January to March 2024 (real
data.police.uk files). Expected figures are counted here from the files (csv, pyproj, shapely).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.auth.context import Actor
from app.auth.roles import Role
from app.crime.models import Area, ImportBatch
from app.db import make_session_factory
from app.main import create_app
from app.settings import Settings
from tests.conftest import Person, create_person, needs_data
from tests.crime.support import (
    CITY,
    LIVERPOOL_STREET,
    MONTHS,
    PERIOD,
    THEFT,
    WESTMINSTER,
    Site,
    borough_features,
    centre,
    count_in,
    crimes_of,
    expected_place,
    load_boundaries,
    load_months,
    locations_by_cell,
    migrated_engine,
    project,
    rounding_matters,
    site,
    street_file,
    ward_features,
)

pytestmark = needs_data



@dataclass
class Api:
    site: Site
    analyst: Person
    sergeant: Person  # City of London supervisor
    client: TestClient

    def get(self, url: str, person: Person | None = None) -> Any:
        response = self.client.get(url, headers=(person or self.analyst).api)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
        return response.json()


@pytest.fixture(scope="module")
def api(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with site(db_url, tmp_path_factory, "crime_api") as crime_site:
        with crime_site.factory() as db:
            analyst = create_person(db, "analyst.lee", Role.ANALYST, None, "Grace Lee")
            sergeant = create_person(db, "sgt.byrne", Role.SUPERVISOR, CITY, "Sgt Niamh Byrne")
        load_boundaries(crime_site.factory, (CITY, WESTMINSTER), (CITY, WESTMINSTER))
        load_months(crime_site.factory, MONTHS)
        with crime_site.client() as client:
            yield Api(crime_site, analyst, sergeant, client)


def new_case(api: Api, **overrides: Any) -> str:
    body = {"title": "Phones snatched around Liverpool Street station",
            "problem_statement": "Phones taken from commuters on weekday evenings.",
            "category": "theft-from-the-person", "borough": CITY, "priority": "high",
            "target_area": LIVERPOOL_STREET} | overrides
    response = api.client.post("/api/v1/cases", json=body, headers=api.sergeant.api)
    assert response.status_code == 201, response.text
    return response.json()["ref"]


def areas_named(api: Api, *names: str) -> dict[str, Area]:
    with api.site.factory() as db:
        found = {a.name: a for a in db.scalars(select(Area).where(Area.name.in_(names)))}
    assert set(found) == set(names)
    return found


def text_of(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


# --- the hotspot finder ------------------------------------------------------------------------

@pytest.mark.parametrize("query", [
    f"borough={CITY}&{PERIOD}&cell_m=250&top_k=5",
    f"borough={CITY}&{PERIOD}&cell_m=100&top_k=10&category=theft-from-the-person",
])
def test_hotspot_figures_equal_the_pages(api: Api, query: str) -> None:
    answer = api.get(f"/api/v1/hotspots?{query}")
    with api.site.client(api.analyst) as pages:
        page = pages.get(f"/hotspots?{query}", headers={"HX-Request": "true"}).text
    words = text_of(page)
    assert f"{answer['crimes_total']:,} located crimes" in words
    assert answer["crimes_total"] == sum(cell["count"] for cell in answer["cells"])
    pai = "not defined" if answer["pai"] is None else f"{answer['pai']:,.2f}"
    assert f"Predictive Accuracy Index {pai}" in words
    rows = re.findall(r'<tr class="govuk-table__row[^"]*" id="cell-(\d+)">(.*?)</tr>', page, re.S)
    shown = [[text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
             for _rank, row in rows]
    assert [int(rank) for rank, _row in rows] == [c["rank"] for c in answer["cells"][:20]]
    assert [cells[1:4] for cells in shown] == [
        [f"{c['count']:,}", f"{c['share']:.1%}",
         "not defined" if c["z"] is None else f"{c['z']:,.2f}"] for c in answer["cells"][:20]]


@pytest.mark.parametrize(("query", "labels"), [
    (f"borough={CITY}&{PERIOD}&cell_m=250&top_k=5", None),
    (f"borough={CITY}&{PERIOD}&cell_m=100&top_k=30&category=theft-from-the-person", {THEFT}),
])
def test_hotspot_cells_are_named_by_their_streets(api: Api, query: str,
                                                  labels: set[str] | None) -> None:
    """Each shown cell's place is its most frequent police.uk location with the next two, as
    counted here from the CSV files; cells beyond those shown are not named."""
    answer = api.get(f"/api/v1/hotspots?{query}")
    cell_m = answer["cell_m"]
    counted = locations_by_cell([street_file(m) for m in MONTHS],
                                project(borough_features(CITY)[0]["geometry"]), cell_m, labels)
    shown = answer["cells"][:max(20, answer["top_k"])]
    assert len(shown) >= 20
    for cell in shown:
        locations = counted[cell["col"], cell["row"]]
        assert sum(locations.values()) == cell["count"], cell["rank"]
        assert cell["place"] == expected_place(locations), (cell["rank"], locations)
    assert all(cell["place"] is None for cell in answer["cells"][len(shown):])
    assert answer["cells"][0]["place"].startswith("On or near ")
    assert any(", with " in c["place"] and " and " in c["place"] for c in shown)


def no_constants(raw: str) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in the JSON answer")
    return json.loads(raw, parse_constant=refuse)


@pytest.mark.parametrize(("ward", "query"), [
    pytest.param(None, f"borough={CITY}&first=2024-01&last=2024-01&cell_m=50"
                       "&category=possession-of-weapons", id="a few crimes, small cells"),
    pytest.param(None, f"borough={CITY}&{PERIOD}&cell_m=500&top_k=100&category=drugs",
                 id="top k beyond the cells"),
    pytest.param("Lime Street", f"{PERIOD}&cell_m=500", id="one cell"),
    pytest.param("Queenhithe", f"{PERIOD}&cell_m=500", id="no cell centre inside"),
    pytest.param(None, f"borough={CITY}&{PERIOD}&cell_m=50&category=bicycle-theft",
                 id="a fine grid, almost empty"),
])
def test_hotspot_numbers_are_never_nan_or_infinite(api: Api, ward: str | None,
                                                  query: str) -> None:
    if ward:
        query = f"area={areas_named(api, ward)[ward].id}&{query}"
    response = api.client.get(f"/api/v1/hotspots?{query}", headers=api.analyst.api)
    assert response.status_code == 200, response.text
    assert not re.search(r"NaN|Infinity", response.text)
    answer = no_constants(response.text)
    for name in ("share_in_top", "area_share_of_top", "pai"):
        assert answer[name] is None or answer[name] >= 0
    for cell in answer["cells"]:
        assert cell["p"] is None or 0 <= cell["p"] <= 1


def test_a_small_wards_hotspot_count_is_its_crime(api: Api) -> None:
    ward = areas_named(api, "Candlewick")["Candlewick"]
    shape = project(ward.geometry)
    assert not rounding_matters(shape, MONTHS)
    expected = sum(count_in(shape, MONTHS).values())
    assert expected > 0
    answer = api.get(f"/api/v1/hotspots?area={ward.id}&{PERIOD}&cell_m=100")
    assert answer["crimes_total"] == expected


@pytest.mark.parametrize("cell_m", [50, 100, 250, 500])
def test_every_cell_size_counts_the_same_crimes(api: Api, cell_m: int) -> None:
    # Small cells give cell numbers (easting / 50 = 10,640 ...) whose keys passed 32 bits once.
    city = areas_named(api, "City of London")["City of London"]
    shape = project(city.geometry)
    expected = sum(count_in(shape, MONTHS).values())
    answer = api.get(f"/api/v1/hotspots?borough={CITY}&{PERIOD}&cell_m={cell_m}")
    assert answer["crimes_total"] == expected
    assert sum(cell["count"] for cell in answer["cells"]) == expected


@pytest.mark.parametrize(("query", "field"), [
    (f"borough={CITY}&first=2024-13&last=2024-03", "first"),
    (f"borough={CITY}&{PERIOD}&cell_m=0", "cell_m"),
    (f"borough={CITY}&{PERIOD}&cell_m=77", "cell_m"),
    (f"borough={CITY}&first=2024-03&last=2024-01", "last"),
    (f"borough={CITY}&first=2010-01&last=2024-03", "first"),
    (f"area=999999&{PERIOD}", "area"),
    (f"{PERIOD}", "borough"),
    # No month of the period holds the City of London Police's data: its zeros would mean
    # nothing, so the period is refused (the field names the first month).
    (f"borough={CITY}&first=2020-01&last=2020-03", "first"),
    # Westminster is the Metropolitan Police's: the City's rows that lie there are not its.
    (f"borough={WESTMINSTER}&{PERIOD}&cell_m=500", "first"),
])
def test_bad_hotspot_queries_are_422(api: Api, query: str, field: str) -> None:
    response = api.client.get(f"/api/v1/hotspots?{query}", headers=api.analyst.api)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_error"
    assert [e["field"] for e in body["errors"]] == [field]
    assert all(e["message"] for e in body["errors"])


# --- areas -------------------------------------------------------------------------------------

def names(items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


def test_areas_filter_by_kind_borough_and_text(api: Api) -> None:
    city_wards = sorted(f["properties"]["WD22NM"] for f in ward_features(CITY))
    westminster_wards = sorted(f["properties"]["WD22NM"] for f in ward_features(WESTMINSTER))
    everything = sorted([*city_wards, *westminster_wards, "City of London", "Westminster"])

    assert names(api.get("/api/v1/areas?limit=1000")) == everything
    boroughs = api.get("/api/v1/areas?kind=borough")
    assert [(b["name"], b["code"], b["borough"], b["kind"]) for b in boroughs] == [
        ("City of London", CITY, CITY, "borough"), ("Westminster", WESTMINSTER, WESTMINSTER,
                                                    "borough")]
    city = api.get(f"/api/v1/areas?kind=ward&borough={CITY}")
    assert names(city) == city_wards and {w["borough"] for w in city} == {CITY}
    assert {w["kind"] for w in city} == {"ward"}
    assert names(api.get(f"/api/v1/areas?borough={WESTMINSTER}")) == sorted(
        [*westminster_wards, "Westminster"])
    assert names(api.get("/api/v1/areas?q=GATE")) == sorted(
        n for n in everything if "gate" in n.lower())
    assert names(api.get(f"/api/v1/areas?q=gate&borough={WESTMINSTER}")) == ["Lancaster Gate"]
    assert names(api.get("/api/v1/areas?q=%25")) == []  # a literal %, not a wildcard
    assert names(api.get("/api/v1/areas?kind=lsoa")) == []
    assert len(api.get("/api/v1/areas?limit=3")) == 3
    for bad in ("kind=parish", "borough=E0900001", "limit=0"):
        response = api.client.get(f"/api/v1/areas?{bad}", headers=api.analyst.api)
        assert response.status_code == 422, bad


def test_an_area_is_returned_as_geojson(api: Api) -> None:
    feature = next(f for f in ward_features(CITY) if f["properties"]["WD22NM"] == "Bishopsgate")
    bishopsgate = areas_named(api, "Bishopsgate")["Bishopsgate"]
    area = api.get(f"/api/v1/areas/{bishopsgate.id}")
    assert {k: area[k] for k in ("id", "kind", "code", "name", "borough")} == {
        "id": bishopsgate.id, "kind": "ward", "code": "E05009292", "name": "Bishopsgate",
        "borough": CITY}
    assert area["geometry"] == feature["geometry"]
    assert area["area_m2"] == pytest.approx(project(feature["geometry"]).area, rel=1e-6)
    missing = api.client.get("/api/v1/areas/999999", headers=api.analyst.api)
    assert missing.status_code == 404
    assert missing.json() == {"error": "not_found", "message": "There is no area 999999."}


# --- imports -----------------------------------------------------------------------------------

def test_imports_are_listed_newest_first_with_their_reports(api: Api) -> None:
    with api.site.factory() as db:
        total = db.scalar(select(func.count()).select_from(ImportBatch))
    listing = api.get("/api/v1/imports")
    items = listing["items"]
    assert listing["total"] == total == len(items) == 2 + len(MONTHS)
    assert [i["id"] for i in items] == sorted((i["id"] for i in items), reverse=True)
    assert [i["source"] for i in items] == [
        *(street_file(m).name for m in reversed(MONTHS)), "wards.geojson", "boroughs.geojson"]
    fields = {"id", "kind", "source", "status", "message", "rows_read", "added",
              "already_present", "without_location", "rejected", "problems", "first_month",
              "last_month", "bytes_total", "bytes_done", "started_at", "finished_at", "actor",
              "force", "months"}
    for item in items:
        assert set(item) == fields
        assert item["status"] == "done" and item["actor"] == Actor.cli().username
    for item, month in zip(items, reversed(MONTHS), strict=False):
        rows = crimes_of(month)
        year, number = (int(part) for part in month.split("-"))
        assert (item["kind"], item["rows_read"], item["added"], item["already_present"],
                item["without_location"], item["rejected"], item["problems"]) == (
            "street", len(rows), len(rows), 0, sum(1 for c in rows if c.easting is None), 0, [])
        assert item["first_month"] == item["last_month"] == date(year, number, 1).isoformat()
        assert (item["force"], item["months"]) == ("city-of-london", [month])
        assert item["bytes_done"] == item["bytes_total"] == street_file(month).stat().st_size
    wards, boroughs = items[-2:]
    assert (wards["kind"], wards["added"]) == ("boundaries", len(ward_features(CITY)) + len(
        ward_features(WESTMINSTER)))
    assert (boroughs["kind"], boroughs["added"]) == ("boundaries", 2)

    page = api.get("/api/v1/imports?limit=2&offset=2")
    assert [i["id"] for i in page["items"]] == [i["id"] for i in items[2:4]]
    assert page["total"] == total
    assert api.get(f"/api/v1/imports/{items[0]['id']}") == items[0]
    missing = api.client.get("/api/v1/imports/999999", headers=api.analyst.api)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


# --- a case's crime picture --------------------------------------------------------------------

def disc(point: dict[str, Any], radius_m: float) -> shapely.Polygon:
    return shapely.Point(*centre(point["geometry"])).buffer(radius_m, quad_segs=256)


@pytest.mark.parametrize(("categories", "labels"), [
    ((), {THEFT}),  # the case's own category
    (("theft-from-the-person", "other-theft"), {THEFT, "Other theft"}),
])
def test_crime_picture_counts_equal_an_independent_count(
        api: Api, categories: tuple[str, ...], labels: set[str]) -> None:
    ref = new_case(api)
    area = disc(LIVERPOOL_STREET, LIVERPOOL_STREET["radius_m"])
    assert not rounding_matters(area, MONTHS, labels)
    expected = count_in(area, MONTHS, labels)
    query = "".join(f"&category={c}" for c in categories)
    found = api.get(f"/api/v1/cases/{ref}/crime-picture?{PERIOD}{query}", api.sergeant)
    assert found["monthly"] == [{"month": f"{m}-01", "count": expected[date.fromisoformat(
        f"{m}-01")], "no_data_reason": None} for m in MONTHS]
    assert found["no_data_reason"] is None
    assert found["total"] == sum(expected.values()) > 0
    assert found["categories"] == list(categories or ["theft-from-the-person"])
    assert (found["ref"], found["area_name"], found["first"], found["last"]) == (
        ref, "Liverpool Street station", "2024-01-01", "2024-03-01")
    assert found["area_m2"] == pytest.approx(3.14159265 * 300**2, rel=1e-3)
    assert sum(c["count"] for c in found["by_category"]) == found["total"]
    assert sum(o["count"] for o in found["by_outcome"]) == found["total"]
    assert found["months_missing"] == []
    unlocated = sum(1 for m in MONTHS for c in crimes_of(m)
                    if c.easting is None and c.label in labels)
    assert found["without_location"] == unlocated
    assert f"{found['total']} crimes recorded by police.uk" in found["summary"]


def test_crime_picture_defaults_to_the_imported_months(api: Api) -> None:
    ref = new_case(api)
    found = api.get(f"/api/v1/cases/{ref}/crime-picture", api.sergeant)
    assert (found["first"], found["last"]) == ("2024-01-01", "2024-03-01")


def test_crime_picture_of_a_case_without_a_target_area(api: Api) -> None:
    ref = new_case(api, target_area=None)
    response = api.client.get(f"/api/v1/cases/{ref}/crime-picture", headers=api.sergeant.api)
    assert response.status_code == 422
    assert response.json() == {
        "error": "validation_error", "message": "1 field is not valid.",
        "errors": [{"field": "target_area", "message": f"{ref} has no target area yet."}]}


def test_crime_picture_is_null_when_no_data_is_imported(empty_database: str) -> None:
    engine = migrated_engine(empty_database)
    try:
        factory = make_session_factory(engine)
        with factory() as db:
            sergeant = create_person(db, "sgt.byrne", Role.SUPERVISOR, CITY)
        app = create_app(Settings(database_url=empty_database, environment="test"), factory)
        with TestClient(app, base_url="http://testserver") as client:
            created = client.post("/api/v1/cases", headers=sergeant.api, json={
                "title": "Phones snatched around Liverpool Street station",
                "problem_statement": "Phones taken.", "category": "theft-from-the-person",
                "borough": CITY, "priority": "high", "target_area": LIVERPOOL_STREET})
            assert created.status_code == 201, created.text
            response = client.get(f"/api/v1/cases/{created.json()['ref']}/crime-picture",
                                  headers=sergeant.api)
    finally:
        engine.dispose()
    assert response.status_code == 200
    assert response.text == "null"


def test_a_borough_boundary_covers_the_citys_crime(api: Api) -> None:
    """A sanity check of the files themselves: nearly all the City of London Police's located
    crimes lie in the City's boundary (the rest just over its edge)."""
    city = project(borough_features(CITY)[0]["geometry"])
    located = sum(1 for m in MONTHS for c in crimes_of(m) if c.easting is not None)
    inside = sum(count_in(city, MONTHS).values())
    assert 0.9 * located < inside <= located
