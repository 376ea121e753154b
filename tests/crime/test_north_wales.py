"""A force outside London, set up as a new deployment would: North Wales Police, from its real
police.uk street files (January to April 2024) and the boundary file of its six Welsh principal
areas, through the command line and the pages only, then worked by its officers, supervisors,
analysts and evaluators.

Every figure is checked against counts made here, independently of the app: the CSV rows read
with ``csv``, their points projected with pyproj and placed with shapely in the boundary file's
polygons (the Isle of Anglesey's coastline crosses itself in the source, so it is repaired with
shapely's own ``make_valid``). No point of these files lies within two metres of an area's
edge (checked), so rounding a point to the metre, as the database stores it, moves none.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import cli
from app.crime.categories import category_slug
from app.crime.models import Area, AreaKind
from app.sara.problem import CATEGORIES
from app.settings import get_settings
from tests.conftest import POLICE_UK_DATA, needs_data
from tests.crime.support import Site, expected_place, locations_by_cell, mid, site

pytestmark = needs_data

BOUNDARY_FILE = POLICE_UK_DATA / "boundaries" / "north-wales-local-authorities.geojson"
MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04"]
PERIOD = "first=2024-01&last=2024-04"
PASSWORD = "a long demo passphrase"
GWYNEDD, CONWY = "W06000002", "W06000003"
AREAS = [("W06000001", "Isle of Anglesey", "IA"), ("W06000002", "Gwynedd", "GW"),
         ("W06000003", "Conwy", "CN"), ("W06000004", "Denbighshire", "DN"),
         ("W06000005", "Flintshire", "FL"), ("W06000006", "Wrexham", "WR")]
# Who works here: (username, role, home area or force option)
PEOPLE = [("pc.jones", "officer", ["--borough", GWYNEDD]),
          ("sgt.evans", "supervisor", ["--borough", CONWY]),
          ("sgt.hughes", "supervisor", ["--borough", GWYNEDD]),
          ("analyst.price", "analyst", ["--force", "north-wales"]),
          ("eval.rees", "evaluator", ["--force", "north-wales"])]
_TO_BNG = Transformer.from_crs(4326, 27700, always_xy=True)


def street_file(month: str) -> Path:
    return POLICE_UK_DATA / month / f"{month}-north-wales-street.csv"


# --- independent counts ------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    month: date
    category: str
    easting: float | None
    northing: float | None


@cache
def rows() -> tuple[Row, ...]:
    found = []
    for month in MONTHS:
        with street_file(month).open(encoding="utf-8-sig", newline="") as stream:
            for row in csv.DictReader(stream):
                lon, lat = row["Longitude"].strip(), row["Latitude"].strip()
                easting, northing = _TO_BNG.transform(float(lon), float(lat)) if lon \
                    else (None, None)
                found.append(Row(date.fromisoformat(f"{row['Month']}-01"),
                                 category_slug(row["Crime type"]) or "", easting, northing))
    return tuple(found)


def project(geometry: dict[str, Any]) -> BaseGeometry:
    given = shape(geometry)
    valid = given if given.is_valid else shapely.make_valid(given)
    return shapely.transform(valid, lambda xy: np.column_stack(
        _TO_BNG.transform(xy[:, 0], xy[:, 1])))


@cache
def local_areas() -> dict[str, BaseGeometry]:
    features = json.loads(BOUNDARY_FILE.read_bytes())["features"]
    return {f["properties"]["lad20cd"]: project(f["geometry"]) for f in features}


def located(categories: set[str] | None = None) -> list[Row]:
    return [r for r in rows() if r.easting is not None
            and (categories is None or r.category in categories)]


def monthly_in(area: BaseGeometry, categories: set[str] | None = None) -> list[int]:
    """Located rows per month whose point lies in ``area``, its edge included."""
    shapely.prepare(area)
    counts = Counter(r.month for r in located(categories)
                     if area.intersects(shapely.Point(r.easting, r.northing)))
    return [counts.get(date.fromisoformat(f"{m}-01"), 0) for m in MONTHS]


def near_an_edge(area: BaseGeometry, metres: float = 2.0) -> int:
    points = shapely.points([(r.easting, r.northing) for r in located()])
    return int((shapely.distance(area.boundary, points) < metres).sum())


def without_location(categories: set[str] | None = None) -> int:
    return sum(1 for r in rows() if r.easting is None
               and (categories is None or r.category in categories))


# --- the command line and signed-in clients ----------------------------------------------------

def run(*args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


@contextmanager
def popcase_on(url: str) -> Iterator[None]:
    """The `popcase` command pointed at ``url`` (it reads POPCASE_DATABASE_URL)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POPCASE_DATABASE_URL", url)
        get_settings.cache_clear()
        try:
            yield
        finally:
            get_settings.cache_clear()


def create_users(people: list[tuple[str, str, list[str]]]) -> dict[str, str]:
    """Accounts made with `popcase user create`; their API tokens from `popcase token create`."""
    tokens = {}
    for username, role, scope in people:
        run("user", "create", username, "--role", role, *scope, "--password-stdin",
            stdin=f"{PASSWORD}\n")
        tokens[username] = run("token", "create", username).strip()
    return tokens


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Browser:
    """A signed-in page client and the CSRF token of its session."""

    client: TestClient
    csrf: str

    def get(self, url: str) -> Any:
        return self.client.get(url)

    def post(self, url: str, data: dict[str, Any], **kwargs: Any) -> Any:
        return self.client.post(url, data={"csrf_token": self.csrf, **data}, **kwargs)


@contextmanager
def signed_in(where: Site, username: str) -> Iterator[Browser]:
    """Signed in through the sign-in page, as a person does."""
    with where.client() as client:
        form = client.get("/sign-in")
        match = CSRF.search(form.text)
        assert match
        done = client.post("/sign-in", data={"csrf_token": match[1], "username": username,
                                              "password": PASSWORD, "next": "/cases"})
        assert done.status_code == 303, done.text[:300]
        page = client.get("/cases")
        token = CSRF.search(page.text)
        assert token
        yield Browser(client, token[1])


def text_of(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


# --- the world: North Wales Police set up on the command line ---------------------------------

@dataclass
class Wales:
    site: Site
    boundaries: dict[str, Any]
    crimes: dict[str, Any]
    tokens: dict[str, str]
    cases: dict[str, str] = field(default_factory=dict)

    def api(self, method: str, url: str, username: str, expected: int = 200,
            **kwargs: Any) -> Any:
        with self.site.client() as client:
            response = client.request(method, url, headers={
                "Authorization": f"Bearer {self.tokens[username]}"}, **kwargs)
        assert response.status_code == expected, (url, response.text[:500])
        return response.json() if response.content else None


@pytest.fixture(scope="module")
def wales(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wales]:
    with site(db_url, tmp_path_factory, "wales") as where, popcase_on(where.url):
        boundaries = json.loads(run("import", "boundaries", str(BOUNDARY_FILE), "--kind",
                                    "local-authority", "--force", "north-wales", "--json"))
        crimes = json.loads(run("import", "police-uk", *map(str, map(street_file, MONTHS)),
                                "--json"))
        yield Wales(where, boundaries, crimes, create_users(PEOPLE))


@pytest.fixture(scope="module")
def gwynedd_case(wales: Wales) -> dict[str, Any]:
    """The case the Gwynedd officer opens on the top hotspot cell of Gwynedd, on the page,
    of the category the page proposes."""
    top = wales.api("GET", f"/api/v1/hotspots?borough={GWYNEDD}&{PERIOD}&cell_m=250",
                    "pc.jones")["cells"][0]
    with signed_in(wales.site, "pc.jones") as officer:
        choice = officer.get(f"/hotspots/cases/new?borough={GWYNEDD}&{PERIOD}&cell_m=250"
                             f"&top_k=10&col={top['col']}&row={top['row']}")
        assert choice.status_code == 200, choice.text[:500]
        proposed = re.findall(r'name="case_category" type="radio" value="([a-z-]+)"[^>]*checked',
                              choice.text)
        assert len(proposed) == 1
        opened = officer.post("/hotspots/cases", {
            "borough": GWYNEDD, "first": "2024-01", "last": "2024-04", "cell_m": "250",
            "top_k": "10", "col": str(top["col"]), "row": str(top["row"]),
            "case_category": proposed[0]})
    assert opened.status_code == 303, opened.text[:500]
    ref = re.fullmatch(r"/cases/(GW-\d{4}-\d{4})\?flash=opened", opened.headers["location"])
    assert ref, opened.headers["location"]
    return {"ref": ref[1], "cell": top, "category": proposed[0]}


# --- set-up ------------------------------------------------------------------------------------

def test_the_boundary_file_sets_up_six_local_policing_areas(wales: Wales) -> None:
    report = wales.boundaries
    assert (report["status"], report["kind"], report["force"], report["rejected"]) == (
        "done", "local-authority", "north-wales", 0)
    assert [(a["code"], a["name"], a["ref_prefix"]) for a in report["local_areas"]] == AREAS
    force = wales.api("GET", "/api/v1/forces/north-wales", "analyst.price")
    assert [(a["code"], a["name"], a["ref_prefix"], a["kind"]) for a in force["areas"]] == \
        sorted([(c, n, p, "Principal area") for c, n, p in AREAS], key=lambda a: a[1])
    # The Isle of Anglesey's ring crosses itself in the source: kept, repaired, not refused.
    with wales.site.factory() as db:
        stored = {a.code: a for a in db.scalars(select(Area).where(Area.kind == AreaKind.BOROUGH))}
    assert not shape(json.loads(BOUNDARY_FILE.read_bytes())["features"][0]["geometry"]).is_valid
    anglesey = shape(stored["W06000001"].geometry)
    assert anglesey.is_valid
    assert anglesey.area == pytest.approx(shapely.make_valid(shape(json.loads(
        BOUNDARY_FILE.read_bytes())["features"][0]["geometry"])).area, rel=1e-6)
    assert all(stored[code].force_id == "north-wales" for code, _n, _p in AREAS)


def test_the_police_uk_files_import_exactly_and_teach_the_force_its_name(wales: Wales) -> None:
    report = wales.crimes
    assert (report["files"], report["failed"], report["rejected"]) == (4, 0, 0)
    assert report["rows_read"] == report["added"] == len(rows()) == 20_753
    assert report["without_location"] == without_location() == 3
    force = wales.api("GET", "/api/v1/forces/north-wales", "eval.rees")
    assert force["name"] == "North Wales Police"  # as its own files write it
    assert force["coverage"] == {"street": MONTHS, "stop_and_search": [], "outcomes": []}
    forces = {f["id"]: f for f in wales.api("GET", "/api/v1/forces", "pc.jones")}
    assert len(forces) == 44 and forces["north-wales"]["local_areas"] == 6


def test_importing_the_boundary_file_again_keeps_the_areas_and_prefixes(wales: Wales) -> None:
    with popcase_on(wales.site.url):
        again = json.loads(run("import", "boundaries", str(BOUNDARY_FILE), "--kind",
                               "local-authority", "--force", "north-wales", "--json"))
    assert (again["added"], again["updated"], again["rejected"]) == (0, 6, 0)
    assert [(a["code"], a["ref_prefix"]) for a in again["local_areas"]] == [
        (code, prefix) for code, _name, prefix in AREAS]


# --- the officers' areas -----------------------------------------------------------------------

def test_officers_work_in_their_own_area_by_its_name(wales: Wales) -> None:
    with signed_in(wales.site, "pc.jones") as officer:
        page = officer.get("/cases/new")
    assert "Officer, Gwynedd" in text_of(page.text)  # the header names the area, not its code
    choices = re.findall(r'<option value="(W06\d{6})"[^>]*>([^<]+)</option>', page.text)
    assert choices == [(GWYNEDD, "Gwynedd")]
    refused = wales.api("POST", "/api/v1/cases", "pc.jones", expected=422, json={
        "title": "Anti-social behaviour in Llandudno", "category": "anti-social-behaviour",
        "borough": CONWY})
    assert refused["errors"] == [{"field": "borough",
                                  "message": "You can work only on cases in your own area."}]
    with signed_in(wales.site, "sgt.evans") as supervisor:
        assert "Supervisor, Conwy" in text_of(supervisor.get("/cases").text)


def test_an_unknown_area_is_refused_with_a_clear_message(wales: Wales) -> None:
    refused = wales.api("POST", "/api/v1/cases", "pc.jones", expected=422, json={
        "title": "Somewhere in England", "category": "drugs", "borough": "E06000032"})
    assert refused["errors"][0]["field"] == "borough"
    assert refused["errors"][0]["message"].startswith(
        "E06000032 is not a local policing area here")


# --- a case opened from a hotspot --------------------------------------------------------------

def test_the_gwynedd_hotspots_count_the_files(wales: Wales) -> None:
    gwynedd = local_areas()[GWYNEDD]
    assert near_an_edge(gwynedd) == 0
    answer = wales.api("GET", f"/api/v1/hotspots?borough={GWYNEDD}&{PERIOD}&cell_m=250",
                       "pc.jones")
    assert (answer["study_area"], answer["force"], answer["force_name"]) == (
        "Gwynedd", "north-wales", "North Wales Police")
    assert answer["crimes_total"] == sum(monthly_in(gwynedd)) == 3_176
    assert answer["without_location"] == without_location()
    assert answer["months_missing"] == []
    with signed_in(wales.site, "pc.jones") as officer:
        page = officer.get(f"/hotspots?borough={GWYNEDD}&{PERIOD}&cell_m=250")
    words = text_of(page.text)
    assert "Gwynedd, Jan 2024 to Apr 2024" in words
    assert "3,176 located crimes" in words and "North Wales Police's data" in words


def test_the_gwynedd_cells_are_named_by_their_welsh_streets(wales: Wales) -> None:
    """Each shown cell's place against the files' Location column, counted here per cell of
    the Gwynedd rows (Welsh street names, as police.uk publishes them)."""
    answer = wales.api("GET", f"/api/v1/hotspots?borough={GWYNEDD}&{PERIOD}&cell_m=250",
                       "pc.jones")
    counted = locations_by_cell([street_file(m) for m in MONTHS], local_areas()[GWYNEDD], 250)
    shown = answer["cells"][:20]
    for cell in shown:
        locations = counted[cell["col"], cell["row"]]
        assert sum(locations.values()) == cell["count"], cell["rank"]
        assert cell["place"] == expected_place(locations), (cell["rank"], locations)
    welsh = re.compile(r"\b(Ffordd|Stryd|Heol|Lon|Lôn|Y Maes|Pen|Bryn|Llys|Cae|Tan)\b")
    assert any(welsh.search(cell["place"]) for cell in shown), [c["place"] for c in shown]


def test_a_case_opened_on_a_gwynedd_cell(wales: Wales, gwynedd_case: dict[str, Any]) -> None:
    ref = gwynedd_case["ref"]
    case = wales.api("GET", f"/api/v1/cases/{ref}", "pc.jones")
    assert (case["borough"], case["borough_name"], case["force"], case["stage"]) == (
        GWYNEDD, "Gwynedd", "north-wales", "scanning")
    assert case["title"].startswith(f"Hotspot {mid(gwynedd_case['cell']['place'])}: ")
    assert "(Gwynedd, cell " in case["title"]
    assert "Source: police.uk open data (North Wales Police)." in \
        case["cheers"]["events"]["evidence"]
    # The category proposed is the cell's commonest, and the evidence counts it, from the files.
    cell, category = gwynedd_case["cell"], gwynedd_case["category"]
    square = shapely.intersection(local_areas()[GWYNEDD], shapely.box(
        cell["col"] * 250, cell["row"] * 250, (cell["col"] + 1) * 250, (cell["row"] + 1) * 250))
    kinds = Counter(r.category for r in located()
                    if square.intersects(shapely.Point(r.easting, r.northing)))
    assert kinds.total() == cell["count"]
    assert kinds[category] == max(kinds.values())
    assert case["category"] == category
    assert case["cheers"]["events"]["evidence"].startswith(
        f"{kinds[category]} crimes ({CATEGORIES[category].lower()}) in Jan 2024 to Apr 2024")
    with signed_in(wales.site, "pc.jones") as officer:
        page = officer.get(f"/cases/{ref}")
    assert page.status_code == 200
    words = text_of(page.text)
    assert ref in words and "Gwynedd" in words and GWYNEDD not in words
    # Conwy's supervisor does not see it; Gwynedd's does.
    wales.api("GET", f"/api/v1/cases/{ref}", "sgt.evans", expected=404)
    wales.api("GET", f"/api/v1/cases/{ref}", "sgt.hughes")


# --- analysis and assessment -------------------------------------------------------------------

def test_its_crime_picture_counts_the_files(wales: Wales,
                                            gwynedd_case: dict[str, Any]) -> None:
    ref = gwynedd_case["ref"]
    case = wales.api("GET", f"/api/v1/cases/{ref}", "analyst.price")
    target = project(case["target_area"]["geometry"])
    categories = {case["category"]}
    found = wales.api("GET", f"/api/v1/cases/{ref}/crime-picture?{PERIOD}", "analyst.price")
    assert found["force"] == "north-wales"
    assert [m["count"] for m in found["monthly"]] == monthly_in(target, categories)
    assert found["total"] == sum(monthly_in(target, categories)) > 0
    assert found["without_location"] == without_location(categories)
    # No stop-and-search file of North Wales Police is imported: none, not zero.
    assert (found["stop_search_total"], len(found["stop_search_months_missing"])) == (None, 4)
    assert found["stop_search_no_data_reason"] == (
        "No stop and search of North Wales Police is imported for Jan 2024 to Apr 2024.")
    assert [m["count"] for m in found["stop_search_monthly"]] == [None] * 4
    assert "stop and search: no data imported for these months" in found["summary"]
    with signed_in(wales.site, "analyst.price") as analyst:
        section = text_of(analyst.get(f"/cases/{ref}?section=picture").text)
    assert "No data: no stop-and-search data of North Wales Police is imported for these " \
        "months" in section


def test_an_impact_assessment_counts_the_files(wales: Wales,
                                               gwynedd_case: dict[str, Any]) -> None:
    ref = gwynedd_case["ref"]
    case = wales.api("GET", f"/api/v1/cases/{ref}", "analyst.price")
    control = {"name": "Caernarfon town centre",
               "geometry": {"type": "Point", "coordinates": [-4.2740, 53.1400]}, "radius_m": 300}
    wales.api("PATCH", f"/api/v1/cases/{ref}", "analyst.price", json={
        "version": case["version"], "buffer_width_m": 200, "control_area": control})
    snapshot = wales.api("POST", f"/api/v1/cases/{ref}/assessments", "analyst.price",
                         expected=201, json={"before_first": "2024-01", "before_last": "2024-02",
                                             "after_first": "2024-03", "after_last": "2024-04"})
    categories = {case["category"]}
    target = project(case["target_area"]["geometry"])
    ring = target.buffer(200, quad_segs=32).difference(target)
    counted = {name: monthly_in(area, categories) for name, area in (
        ("target", target), ("buffer", ring), ("control", _circle(control)))}
    for name, monthly in counted.items():
        area = snapshot[name]
        assert (area["before"], area["after"]) == (sum(monthly[:2]), sum(monthly[2:])), name
    (a0, a1), (c0, c1) = (sum(counted["target"][:2]), sum(counted["target"][2:])), \
        (sum(counted["control"][:2]), sum(counted["control"][2:]))
    ratio = snapshot["odds_ratio"]["value"]
    assert ratio == pytest.approx(a0 * c1 / (a1 * c0), rel=1e-12)
    assert [b["source"] for b in snapshot["batches"]] == [street_file(m).name for m in MONTHS]


def _circle(point_area: dict[str, Any]) -> BaseGeometry:
    lon, lat = point_area["geometry"]["coordinates"]
    return shapely.Point(_TO_BNG.transform(lon, lat)).buffer(point_area["radius_m"],
                                                             quad_segs=32)


# --- dashboards --------------------------------------------------------------------------------

def test_the_force_dashboard_counts_each_area_from_the_files(wales: Wales) -> None:
    counts = wales.api("GET", "/api/v1/forces/north-wales/crime-counts", "analyst.price")
    assert (counts["first"], counts["last"], counts["months_missing"]) == (
        "2024-01-01", "2024-04-01", [])
    expected = {}
    for code, area in local_areas().items():
        assert near_an_edge(area) == 0, code
        expected[code] = monthly_in(area)
    assert {a["code"]: a["monthly"] for a in counts["areas"]} == expected
    inside = set()
    for area in local_areas().values():
        shapely.prepare(area)
        inside |= {i for i, r in enumerate(located())
                   if area.intersects(shapely.Point(r.easting, r.northing))}
    outside = len(located()) - len(inside)
    assert outside > 0  # rows over the English border (Cheshire, Shropshire) stay the force's
    assert counts["outside_areas"]["total"] == outside
    assert counts["without_location"] == without_location()
    assert counts["rows"] == len(rows()) == sum(map(sum, expected.values())) + outside + 3
    with signed_in(wales.site, "eval.rees") as evaluator:
        page = evaluator.get("/data/forces/north-wales")
    figures = dict(re.findall(r'data-figure="([^"]+)">(?:<strong>)?([\d,]+)', page.text))
    for code, monthly in expected.items():
        assert [int(figures[f"{code}.{i}"].replace(",", "")) for i in range(4)] == monthly
        assert int(figures[f"{code}.total"].replace(",", "")) == sum(monthly)
    assert int(figures["outside.total"].replace(",", "")) == outside
    assert int(figures["rows"].replace(",", "")) == len(rows())


def test_the_supervisors_dashboard_names_their_area(wales: Wales) -> None:
    ref = wales.api("POST", "/api/v1/cases", "sgt.evans", expected=201, json={
        "title": "Shoplifting from the Mostyn Street shops", "category": "shoplifting",
        "borough": CONWY})["ref"]
    assert ref.startswith("CN-")
    stats = wales.api("GET", "/api/v1/stats", "sgt.evans")
    assert stats["scope"] == CONWY
    assert [(b["borough"], b["name"], b["total"]) for b in stats["cases"]["by_borough"]] == [
        (CONWY, "Conwy", 1)]
    analyst = wales.api("GET", "/api/v1/stats?force=north-wales", "analyst.price")
    assert analyst["scope"] == "north-wales"
    assert {b["name"] for b in analyst["cases"]["by_borough"]} >= {"Conwy", "Gwynedd"}
    with signed_in(wales.site, "sgt.evans") as supervisor:
        words = text_of(supervisor.get("/dashboard").text)
    assert "the cases of Conwy only" in words


# --- the same set-up through the pages ---------------------------------------------------------

def test_a_force_set_up_through_the_pages(db_url: str,
                                          tmp_path_factory: pytest.TempPathFactory) -> None:
    """The first administrator and analyst come from the command line (as on any new
    deployment); everything else from the pages."""
    with site(db_url, tmp_path_factory, "wales_pages") as where:
        with popcase_on(where.url):
            create_users([("admin", "admin", []), ("analyst.price", "analyst",
                                                   ["--force", "north-wales"])])
        with signed_in(where, "admin") as admin:
            set_up = admin.post("/admin/forces/north-wales/boundaries", {
                "kind": "local-authority"}, files={"boundary_file": (
                    BOUNDARY_FILE.name, BOUNDARY_FILE.read_bytes(), "application/geo+json")})
            assert set_up.status_code == 303, set_up.text[:500]
            page = text_of(admin.get(set_up.headers["location"]).text)
            assert "6 added, 0 updated" in page
            for code, name, _prefix in AREAS:
                assert f"{name} Principal area · {code}" in page, name
            changed = admin.post(f"/admin/forces/north-wales/areas/{GWYNEDD}/prefix",
                                 {"ref_prefix": "gwy"})
            assert changed.status_code == 303
            taken = admin.post(f"/admin/forces/north-wales/areas/{CONWY}/prefix",
                               {"ref_prefix": "GWY"})
            assert taken.status_code == 422 and "GWY is already used by Gwynedd" in taken.text
            added = admin.post("/admin/users", {
                "username": "pc.jones", "display_name": "PC Carys Jones", "role": "officer",
                "force": "", "borough": GWYNEDD, "password": PASSWORD})
            assert added.status_code == 303, added.text[:500]
        with signed_in(where, "analyst.price") as analyst:
            uploaded = analyst.post("/data/police-uk", {}, files={"file": (
                street_file("2024-01").name, street_file("2024-01").read_bytes(), "text/csv")})
            assert uploaded.status_code == 303
            listing = text_of(analyst.get("/data").text)
            assert "North Wales Police Jan 2024 (1 month)" in listing
        with signed_in(where, "pc.jones") as officer:
            opened = officer.post("/cases", {"title": "Disorder on Bangor High Street",
                                             "category": "anti-social-behaviour",
                                             "borough": GWYNEDD, "priority": "medium",
                                             "source": "community"})
            assert opened.status_code == 303
            assert re.fullmatch(r"/cases/GWY-\d{4}-0001\?flash=opened",
                                opened.headers["location"])
            found = officer.get(f"/hotspots?borough={GWYNEDD}&first=2024-01&last=2024-01")
        january = [r for r in rows() if r.month == date(2024, 1, 1) and r.easting is not None]
        gwynedd = local_areas()[GWYNEDD]
        expected = sum(1 for r in january
                       if gwynedd.intersects(shapely.Point(r.easting, r.northing)))
        assert f"{expected:,} located crimes" in text_of(found.text)
