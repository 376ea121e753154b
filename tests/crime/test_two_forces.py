"""Two police forces in one database: North Wales Police (its six local policing areas and its
street crime of January to April 2024) beside the City of London Police (street crime of January
to May 2024), with people, cases, patrols, community concerns and operations of both.

The module proves that:

* no figure of one force counts the other's rows: the hotspot finder, a force's crime counted by
  local policing area and a case's crime picture each equal counts made here from that force's
  own files (csv, pyproj, shapely), and the City's figures are the same before and after North
  Wales's data is loaded;
* the months present are per force: May 2024, which only the City's files hold, is missing for
  North Wales in its coverage, in the hotspot finder and for an impact assessment;
* every object of one force (case, patrols, concern, case file, crime picture, operation) is
  "not found" for every person of the other force, over the API and on the pages, while the
  right person of its own force reaches it and an analyst of every force reads both; lists hold
  only the reader's force's objects, and another force's area is refused in the hotspot finder.

The module has a database of its own (tests.crime.support.site): the City's data and objects are
set up first, its figures recorded, then North Wales's are added.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cache
from itertools import count
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from httpx import Response
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select, update

from app.auth.context import Actor, Channel
from app.auth.models import User
from app.auth.roles import Role
from app.cases.models import Case
from app.clock import today
from app.crime.boundaries import import_boundaries
from app.crime.importer import expand, from_bytes, import_sources
from app.crime.models import Area, AreaKind, ImportBatch
from app.operations.models import Operation
from app.patrols.models import Patrol
from tests.conftest import POLICE_UK_DATA, Person, create_person, needs_data, page_client
from tests.crime.support import (
    CITY,
    LIVERPOOL_STREET,
    THEFT,
    Crime,
    Site,
    borough_features,
    centre,
    crimes_of,
    geojson,
    project,
    site,
    street_file,
)

pytestmark = needs_data

NORTH_WALES, CITY_POLICE = "north-wales", "city-of-london"
FORCES = (NORTH_WALES, CITY_POLICE)
GWYNEDD, CONWY = "W06000002", "W06000003"
NW_MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04"]
CITY_MONTHS = [*NW_MONTHS, "2024-05"]
FOUR = "first=2024-01&last=2024-04"  # the months both forces have
NW_ROWS = 20_753  # every row of North Wales's four files
NW_UNLOCATED = 3  # of which police.uk published these without a location
VIOLENCE = "Violence and sexual offences"
BOUNDARY_FILE = POLICE_UK_DATA / "boundaries" / "north-wales-local-authorities.geojson"

BANGOR = {"name": "Bangor High Street",
          "geometry": {"type": "Point", "coordinates": [-4.1285, 53.2282]}, "radius_m": 300}
CAERNARFON = {"name": "Caernarfon town centre",
              "geometry": {"type": "Point", "coordinates": [-4.2740, 53.1395]}, "radius_m": 300}
ST_PAULS = {"name": "St Paul's and Cheapside",
            "geometry": {"type": "Point", "coordinates": [-0.0984, 51.5138]}, "radius_m": 300}

_TO_BNG = Transformer.from_crs(4326, 27700, always_xy=True)


@dataclass(frozen=True)
class Side:
    """What one force's part of the world is made of."""

    force: str
    label: str  # as the force's own files name it
    borough: str  # the case's local policing area
    category: str
    labels: frozenset[str]  # the category's police.uk "Crime type"
    target: dict[str, Any]
    control: dict[str, Any]
    months: list[str]
    officer: str
    supervisor: str
    evaluator: str


SIDES = {
    NORTH_WALES: Side(NORTH_WALES, "North Wales Police", GWYNEDD, "violent-crime",
                      frozenset({VIOLENCE}), BANGOR, CAERNARFON, NW_MONTHS,
                      "gw.officer", "gw.supervisor", "nw.evaluator"),
    CITY_POLICE: Side(CITY_POLICE, "City of London Police", CITY, "theft-from-the-person",
                      frozenset({THEFT}), LIVERPOOL_STREET, ST_PAULS, CITY_MONTHS,
                      "city.officer", "city.supervisor", "city.evaluator"),
}

# username: (role, home area, force when no home area)
PEOPLE: dict[str, tuple[Role, str | None, str | None]] = {
    "gw.officer": (Role.OFFICER, GWYNEDD, None),
    "gw.supervisor": (Role.SUPERVISOR, GWYNEDD, None),
    "conwy.supervisor": (Role.SUPERVISOR, CONWY, None),
    "nw.analyst": (Role.ANALYST, None, NORTH_WALES),
    "nw.evaluator": (Role.EVALUATOR, None, NORTH_WALES),
    "city.officer": (Role.OFFICER, CITY, None),
    "city.supervisor": (Role.SUPERVISOR, CITY, None),
    "city.analyst": (Role.ANALYST, None, CITY_POLICE),
    "city.evaluator": (Role.EVALUATOR, None, CITY_POLICE),
    "all.analyst": (Role.ANALYST, None, None),
    "all.supervisor": (Role.SUPERVISOR, None, None),
}
PEOPLE_OF = {
    NORTH_WALES: ("gw.officer", "gw.supervisor", "conwy.supervisor", "nw.analyst",
                  "nw.evaluator"),
    CITY_POLICE: ("city.officer", "city.supervisor", "city.analyst", "city.evaluator"),
}


def other(force: str) -> str:
    return CITY_POLICE if force == NORTH_WALES else NORTH_WALES


@dataclass(frozen=True)
class Objects:
    """One force's case (with its patrol and concern) and operation."""

    case: str
    patrol: int
    concern: int
    operation: int


@dataclass
class World:
    site: Site
    client: TestClient
    pages: ExitStack
    people: dict[str, Person] = field(default_factory=dict)
    objects: dict[str, Objects] = field(default_factory=dict)
    city_before: dict[str, Any] = field(default_factory=dict)  # before North Wales was loaded
    _page_clients: dict[str, TestClient] = field(default_factory=dict)

    def request(self, method: str, url: str, who: str, **kwargs: Any) -> Response:
        return self.client.request(method, url, headers=self.people[who].api, **kwargs)

    def send(self, method: str, url: str, who: str, expected: int = 200,
             **kwargs: Any) -> Any:
        response = self.request(method, url, who, **kwargs)
        assert response.status_code == expected, (method, url, who, response.status_code,
                                                   response.text[:400])
        return response.json()

    def get(self, url: str, who: str) -> Any:
        return self.send("GET", url, who)

    def page(self, who: str) -> TestClient:
        if who not in self._page_clients:
            self._page_clients[who] = self.pages.enter_context(
                page_client(self.site.app, self.people[who]))
        return self._page_clients[who]

    def add_people(self, *names: str) -> None:
        with self.site.factory() as db:
            for name in names:
                role, home, force = PEOPLE[name]
                self.people[name] = create_person(db, name, role, home, force=force)


# --- the world ---------------------------------------------------------------------------------

def street_file_of(force: str, month: str) -> Path:
    return street_file(month, force)


def load_street(site_: Site, force: str, months: list[str]) -> None:
    reports = import_sources(site_.factory, Actor.cli(),
                             expand([street_file_of(force, m) for m in months]))
    assert [r.status for r in reports] == ["done"] * len(months), reports


def backdate(world: World, patrol_id: int, minutes: int) -> None:
    """As if the patrol had started ``minutes`` ago (it cannot end in the minute it began)."""
    with world.site.factory() as db:
        started = db.scalar(select(Patrol.started_at).where(Patrol.id == patrol_id))
        assert started is not None
        db.execute(update(Patrol).where(Patrol.id == patrol_id).values(
            started_at=started - timedelta(minutes=minutes)))
        db.commit()


def patrol_done(world: World, side: Side, ref: str) -> int:
    """A patrol started and ended with the buttons, by the force's officer."""
    patrol = world.send("POST", f"/api/v1/cases/{ref}/patrols/start", side.officer, 201,
                        json={"kind": "foot"})
    backdate(world, patrol["id"], 12)
    ended = world.send("POST", f"/api/v1/cases/{ref}/patrols/{patrol['id']}/end", side.officer)
    assert ended["minutes"] == 12
    return int(patrol["id"])


def set_up(world: World, side: Side) -> Objects:
    """Through the API, as the force's own people: a case with a target area, a buffer and a
    control area, a patrol on it, a community concern, and an operation the case joins."""
    case = world.send("POST", "/api/v1/cases", side.officer, 201, json={
        "title": f"{side.category.replace('-', ' ').capitalize()} around "
                 f"{side.target['name']}",
        "problem_statement": "Repeated crime at the same place on weekday evenings.",
        "category": side.category, "borough": side.borough, "priority": "high",
        "target_area": side.target})
    assert case["force"] == side.force
    ref = case["ref"]
    case = world.send("PATCH", f"/api/v1/cases/{ref}", side.officer, json={
        "version": case["version"], "buffer_width_m": 200, "control_area": side.control})
    patrol = patrol_done(world, side, ref)
    concern = world.send("POST", "/api/v1/concerns", side.officer, 201, json={
        "borough": side.borough, "raised_on": (today() - timedelta(days=3)).isoformat(),
        "raised_by_kind": "business", "raised_by": "Traders' association",
        "contact": "chair@traders.example", "channel": "ward_panel",
        "place": side.target["name"],
        "description": "Groups gather at closing time and intimidate staff."})
    operation = world.send("POST", "/api/v1/operations", side.supervisor, 201, json={
        "name": f"Operation {side.label}", "start_date": today().isoformat(),
        "force": side.force})
    assert operation["force"] == side.force
    joined = world.send("PATCH", f"/api/v1/cases/{ref}", side.supervisor, json={
        "version": case["version"], "operation": operation["id"]})
    assert joined["operation"] == operation["id"]
    return Objects(ref, patrol, int(concern["id"]), int(operation["id"]))


def city_figures(world: World) -> dict[str, Any]:
    """The City's figures over the months both forces have."""
    return {
        "picture": world.get(f"/api/v1/cases/{world.objects[CITY_POLICE].case}/crime-picture"
                             f"?{FOUR}", "city.officer"),
        "hotspots": world.get(f"/api/v1/hotspots?borough={CITY}&{FOUR}&cell_m=500",
                              "city.analyst"),
        "counts": world.get(f"/api/v1/forces/{CITY_POLICE}/crime-counts?{FOUR}",
                            "city.analyst"),
    }


@pytest.fixture(scope="module")
def world(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with site(db_url, tmp_path_factory, "two_forces") as crime_site, ExitStack() as stack:
        client = stack.enter_context(crime_site.client())
        world = World(crime_site, client, stack)
        # The City alone first.
        with crime_site.factory() as db:
            report = import_boundaries(db, Actor.cli(), "boroughs.geojson",
                                       geojson(borough_features(CITY)), AreaKind.BOROUGH)
            assert report.status == "done" and report.rejected == 0, report
        load_street(crime_site, CITY_POLICE, CITY_MONTHS)
        world.add_people(*PEOPLE_OF[CITY_POLICE], "all.analyst")
        world.objects[CITY_POLICE] = set_up(world, SIDES[CITY_POLICE])
        world.city_before = city_figures(world)
        # Then North Wales beside it.
        with crime_site.factory() as db:
            report = import_boundaries(db, Actor.cli(), BOUNDARY_FILE.name,
                                       BOUNDARY_FILE.read_bytes(), AreaKind.BOROUGH,
                                       force_id=NORTH_WALES)
            assert report.status == "done" and len(report.local_areas) == 6, report
        load_street(crime_site, NORTH_WALES, NW_MONTHS)
        world.add_people(*PEOPLE_OF[NORTH_WALES])
        world.objects[NORTH_WALES] = set_up(world, SIDES[NORTH_WALES])
        yield world


# --- independent counts ------------------------------------------------------------------------

def rows_of(force: str, month: str) -> tuple[Crime, ...]:
    return crimes_of(month, force)


def located(force: str, months: list[str],
            labels: frozenset[str] | None = None) -> tuple[list[date], np.ndarray]:
    crimes = [c for m in months for c in rows_of(force, m)
              if c.easting is not None and (labels is None or c.label in labels)]
    return [c.month for c in crimes], np.array([(c.easting, c.northing) for c in crimes])


def unlocated(force: str, months: list[str], labels: frozenset[str] | None = None) -> int:
    return sum(1 for m in months for c in rows_of(force, m)
               if c.easting is None and (labels is None or c.label in labels))


def inside_mask(area: BaseGeometry, points: np.ndarray) -> np.ndarray:
    """Which points lie in the area, its edge included; checked to be the same with the points
    stored to the metre, as the database stores them (support.rounding_matters, point by
    point): an exact expectation needs no crime to cross the edge by rounding."""
    shapely.prepare(area)
    exact = shapely.intersects_xy(area, points[:, 0], points[:, 1])
    rounded = shapely.intersects_xy(area, np.round(points[:, 0]), np.round(points[:, 1]))
    moved = np.flatnonzero(exact != rounded)
    assert not moved.size, f"rounding to the metre moves {points[moved][:5]} across the edge"
    return exact


def count_inside(area: BaseGeometry, force: str, months: list[str],
                 labels: frozenset[str] | None = None) -> int:
    return int(inside_mask(area, located(force, months, labels)[1]).sum())


def per_month(months: list[date], mask: np.ndarray) -> Counter[date]:
    return Counter(m for m, kept in zip(months, mask, strict=True) if kept)


def polygonal(geometry: dict[str, Any]) -> BaseGeometry:
    """A boundary in the British National Grid; a ring that crosses itself (Anglesey's
    coastline) repaired, keeping its polygons."""
    projected = project(geometry)
    if projected.is_valid:
        return projected
    parts = shapely.get_parts(shapely.make_valid(projected))
    return shapely.union_all([p for p in parts if p.geom_type in ("Polygon", "MultiPolygon")])


@cache
def area_shapes(force: str) -> dict[str, BaseGeometry]:
    """Each local policing area of the force by code, from the boundary files themselves."""
    if force == CITY_POLICE:
        return {CITY: project(borough_features(CITY)[0]["geometry"])}
    features = json.loads(BOUNDARY_FILE.read_bytes())["features"]
    return {f["properties"]["lad20cd"]: polygonal(f["geometry"]) for f in features}


def disc(target: dict[str, Any]) -> BaseGeometry:
    return shapely.Point(*centre(target["geometry"])).buffer(target["radius_m"], quad_segs=256)


def month_keys(months: list[str]) -> list[date]:
    return [date.fromisoformat(f"{m}-01") for m in months]


# --- 1. no figure of one force counts the other's rows -----------------------------------------

@pytest.mark.parametrize(("force", "borough"), [(NORTH_WALES, GWYNEDD), (CITY_POLICE, CITY)],
                         ids=["gwynedd", "city"])
def test_hotspots_count_only_the_areas_force(world: World, force: str, borough: str) -> None:
    analyst = "nw.analyst" if force == NORTH_WALES else "city.analyst"
    answer = world.get(f"/api/v1/hotspots?borough={borough}&{FOUR}&cell_m=500", analyst)
    expected = count_inside(area_shapes(force)[borough], force, NW_MONTHS)
    assert expected > 0
    assert answer["force"] == force
    assert answer["crimes_total"] == expected
    assert sum(cell["count"] for cell in answer["cells"]) == expected
    assert answer["without_location"] == unlocated(force, NW_MONTHS)
    if force == NORTH_WALES:
        assert answer["without_location"] == NW_UNLOCATED
    assert answer["months_missing"] == []


@pytest.mark.parametrize("force", FORCES)
def test_a_forces_crime_counts_add_up_to_its_own_rows(world: World, force: str) -> None:
    analyst = "nw.analyst" if force == NORTH_WALES else "city.analyst"
    found = world.get(f"/api/v1/forces/{force}/crime-counts?{FOUR}", analyst)
    months, points = located(force, NW_MONTHS)
    keys = month_keys(NW_MONTHS)
    shapes = area_shapes(force)
    masks = {code: inside_mask(shape, points) for code, shape in shapes.items()}
    in_areas = np.sum(list(masks.values()), axis=0)
    assert in_areas.max() <= 1  # no crime in two areas: each area's count is exact
    assert {a["code"]: a["monthly"] for a in found["areas"]} == {
        code: [per_month(months, mask)[k] for k in keys] for code, mask in masks.items()}
    for area in found["areas"]:
        assert area["total"] == int(masks[area["code"]].sum())
    outside = per_month(months, in_areas == 0)
    assert found["outside_areas"]["monthly"] == [outside[k] for k in keys]
    total_rows = sum(len(rows_of(force, m)) for m in NW_MONTHS)
    assert found["without_location"] == unlocated(force, NW_MONTHS)
    assert found["outside_areas"]["total"] + sum(a["total"] for a in found["areas"]) \
        + found["without_location"] == found["rows"] == total_rows
    assert found["months_missing"] == [] and found["areas_without_boundary"] == []
    if force == NORTH_WALES:
        assert (found["rows"], found["without_location"], len(found["areas"])) == (
            NW_ROWS, NW_UNLOCATED, 6)


@pytest.mark.parametrize("force", FORCES)
def test_a_cases_crime_picture_counts_only_its_force(world: World, force: str) -> None:
    side = SIDES[force]
    found = world.get(f"/api/v1/cases/{world.objects[force].case}/crime-picture?{FOUR}",
                      side.officer)
    months, points = located(force, NW_MONTHS, side.labels)
    expected = per_month(months, inside_mask(disc(side.target), points))
    assert found["force"] == force
    assert found["monthly"] == [{"month": k.isoformat(), "count": expected[k],
                                 "no_data_reason": None} for k in month_keys(NW_MONTHS)]
    assert found["total"] == sum(expected.values()) > 0
    assert found["without_location"] == unlocated(force, NW_MONTHS, side.labels)
    assert found["months_missing"] == []


@pytest.mark.parametrize("figure", ["picture", "hotspots", "counts"])
def test_the_citys_figures_are_the_same_after_north_wales_is_loaded(world: World,
                                                                   figure: str) -> None:
    assert world.city_before[figure]["without_location"] > 0  # a real comparison
    assert city_figures(world)[figure] == world.city_before[figure]


# --- 2. the months present are per force -------------------------------------------------------

@pytest.mark.parametrize("force", FORCES)
def test_coverage_is_per_force(world: World, force: str) -> None:
    found = world.get(f"/api/v1/forces/{force}", "all.analyst")
    assert found["coverage"]["street"] == SIDES[force].months
    assert found["name"] == SIDES[force].label
    assert found["local_areas"] == (6 if force == NORTH_WALES else 1)


def test_a_month_only_the_city_has_is_refused_for_gwynedd(world: World) -> None:
    response = world.request("GET", f"/api/v1/hotspots?borough={GWYNEDD}&first=2024-05"
                                    "&last=2024-05&cell_m=500", "nw.analyst")
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "first"
    assert "North Wales Police" in error["message"]
    assert "Jan 2024 to Apr 2024" in error["message"]  # its own months, not the City's May


def test_the_same_month_is_present_for_the_city(world: World) -> None:
    answer = world.get(f"/api/v1/hotspots?borough={CITY}&first=2024-05&last=2024-05"
                       "&cell_m=500", "city.analyst")
    assert answer["crimes_total"] == count_inside(area_shapes(CITY_POLICE)[CITY], CITY_POLICE,
                                                  ["2024-05"]) > 0
    assert answer["months_missing"] == []


def test_a_period_running_into_may_misses_may_for_gwynedd(world: World) -> None:
    answer = world.get(f"/api/v1/hotspots?borough={GWYNEDD}&first=2024-03&last=2024-05"
                       "&cell_m=500", "nw.analyst")
    assert answer["months_missing"] == ["2024-05-01"]
    assert answer["crimes_total"] == count_inside(area_shapes(NORTH_WALES)[GWYNEDD],
                                                  NORTH_WALES, ["2024-03", "2024-04"]) > 0


def test_crime_counts_of_north_wales_mark_may_missing(world: World) -> None:
    found = world.get(f"/api/v1/forces/{NORTH_WALES}/crime-counts?first=2024-03&last=2024-05",
                      "nw.analyst")
    assert found["months_missing"] == ["2024-05-01"]
    assert {a["monthly"][-1] for a in found["areas"]} == {None}
    assert found["rows"] == sum(len(rows_of(NORTH_WALES, m)) for m in ("2024-03", "2024-04"))


ASSESSMENT = {"before_first": "2024-01", "before_last": "2024-02", "after_first": "2024-04",
              "after_last": "2024-05"}


def test_an_assessment_into_may_is_refused_for_north_wales(world: World) -> None:
    ref = world.objects[NORTH_WALES].case
    response = world.request("POST", f"/api/v1/cases/{ref}/assessments", "gw.officer",
                             json=ASSESSMENT)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "after_last"
    assert "May 2024" in error["message"] and "North Wales Police" in error["message"]
    assert world.get(f"/api/v1/cases/{ref}/assessments", "gw.officer") == []


def test_the_same_assessment_is_computed_for_the_city(world: World) -> None:
    side = SIDES[CITY_POLICE]
    saved = world.send("POST", f"/api/v1/cases/{world.objects[CITY_POLICE].case}/assessments",
                       side.officer, 201, json=ASSESSMENT)
    area = disc(side.target)
    assert (saved["target"]["before"], saved["target"]["after"]) == (
        count_inside(area, CITY_POLICE, ["2024-01", "2024-02"], side.labels),
        count_inside(area, CITY_POLICE, ["2024-04", "2024-05"], side.labels))
    assert [b["source"] for b in saved["batches"]] == [
        street_file_of(CITY_POLICE, m).name for m in ("2024-01", "2024-02", "2024-03",
                                                      "2024-04", "2024-05")]


# --- 3. access across the two forces -----------------------------------------------------------

def case_version(world: World, objects: Objects) -> int:
    with world.site.factory() as db:
        version = db.scalar(select(Case.version).where(Case.ref == objects.case))
    assert version is not None
    return version


def patrol_state(world: World, objects: Objects) -> tuple[Any, ...]:
    with world.site.factory() as db:
        patrol = db.get(Patrol, objects.patrol)
        assert patrol is not None
        return patrol.version, patrol.ended_at, patrol.notes


def case_change(world: World, objects: Objects) -> dict[str, Any]:
    return {"version": case_version(world, objects), "team": f"Team {fresh_word()}"}


def patrol_change(world: World, objects: Objects) -> dict[str, Any]:
    return {"version": patrol_state(world, objects)[0], "notes": f"Checked {fresh_word()}"}


def operation_version(world: World, objects: Objects) -> int:
    with world.site.factory() as db:
        operation = db.get(Operation, objects.operation)
        assert operation is not None
        return operation.version


def operation_change(world: World, objects: Objects) -> dict[str, Any]:
    return {"version": operation_version(world, objects),
            "description": f"Hotspot policing, {fresh_word()}"}


_FRESH = count(1)


def fresh_word() -> str:
    """A new value each time, so that every permitted change really changes something."""
    return f"n{next(_FRESH)}"


@dataclass(frozen=True)
class Route:
    """A route that reads or changes one object of a force."""

    name: str
    method: str
    path: str  # formatted with the force's Objects
    right: str  # who of the force reaches it: "officer", "supervisor" or "evaluator"
    page: bool = False
    body: Callable[[World, Objects], dict[str, Any]] | None = None
    state: Callable[[World, Objects], Any] | None = None  # what a change would change
    analyst: int = 200  # the every-force analyst: reads, but their role may not change
    running_patrol: bool = False  # the right person needs a running patrol to end

    def url(self, objects: Objects) -> str:
        return self.path.format(case=objects.case, patrol=objects.patrol,
                                concern=objects.concern, operation=objects.operation)


ROUTES = [
    Route("case", "GET", "/api/v1/cases/{case}", "officer"),
    Route("case-patch", "PATCH", "/api/v1/cases/{case}", "officer", body=case_change,
          state=case_version, analyst=403),
    Route("case-page", "GET", "/cases/{case}", "officer", page=True),
    Route("patrols", "GET", "/api/v1/cases/{case}/patrols", "officer"),
    Route("patrol-end", "POST", "/api/v1/cases/{case}/patrols/{patrol}/end", "officer",
          state=patrol_state, analyst=403, running_patrol=True),
    Route("patrol-patch", "PATCH", "/api/v1/cases/{case}/patrols/{patrol}", "officer",
          body=patrol_change, state=patrol_state, analyst=403),
    Route("concern", "GET", "/api/v1/concerns/{concern}", "officer"),
    Route("concern-page", "GET", "/concerns/{concern}", "officer", page=True),
    Route("export", "GET", "/api/v1/cases/{case}/export?reason=Evaluation+of+the+pilot",
          "evaluator", analyst=403),
    Route("crime-picture", "GET", f"/api/v1/cases/{{case}}/crime-picture?{FOUR}", "officer"),
    Route("operation", "GET", "/api/v1/operations/{operation}", "supervisor"),
    Route("operation-summary", "GET", "/api/v1/operations/{operation}/summary", "supervisor"),
    Route("operation-page", "GET", "/operations/{operation}", "supervisor", page=True),
    # The case's other reads, and the operation's other routes.
    Route("timeline", "GET", "/api/v1/cases/{case}/timeline", "officer"),
    Route("gate", "GET", "/api/v1/cases/{case}/gate", "officer"),
    Route("outputs", "GET", "/api/v1/cases/{case}/outputs", "officer"),
    Route("assessments", "GET", "/api/v1/cases/{case}/assessments", "officer"),
    Route("assessment-proposal", "GET", "/api/v1/cases/{case}/assessments/proposal",
          "officer"),
    Route("process", "GET", "/api/v1/cases/{case}/process", "officer"),
    Route("picture-panel", "GET", f"/cases/{{case}}?section=picture&{FOUR}", "officer",
          page=True),
    Route("operation-patch", "PATCH", "/api/v1/operations/{operation}", "supervisor",
          body=operation_change, state=operation_version),
    Route("operation-edit-page", "GET", "/operations/{operation}/edit", "supervisor",
          page=True),
    Route("operation-evaluation", "GET", "/api/v1/operations/{operation}/evaluation",
          "supervisor"),
    Route("operation-evaluation-page", "GET", "/operations/{operation}/evaluation",
          "supervisor", page=True),
    Route("operation-export", "GET",
          "/api/v1/operations/{operation}/export?reason=Evaluation+of+the+pilot", "evaluator",
          analyst=403),
    Route("stats", "GET", "/api/v1/stats?operation={operation}", "supervisor"),
]


def call(world: World, route: Route, objects: Objects, who: str) -> Response:
    url = route.url(objects)
    if route.page:
        return world.page(who).get(url)
    body = route.body(world, objects) if route.body else None
    return world.request(route.method, url, who, json=body)


def right_person(route: Route, force: str) -> str:
    return str(getattr(SIDES[force], route.right))


@pytest.mark.parametrize(("route", "force", "who"), [
    pytest.param(route, force, who, id=f"{route.name}-of-{force}-as-{who}")
    for route in ROUTES for force in FORCES for who in PEOPLE_OF[other(force)]])
def test_another_forces_object_is_not_found(world: World, route: Route, force: str,
                                            who: str) -> None:
    objects = world.objects[force]
    before = route.state(world, objects) if route.state else None
    response = call(world, route, objects, who)
    assert response.status_code == 404, (response.status_code, response.text[:300])
    if not route.page:
        assert response.json()["error"] == "not_found"
    if route.state:
        assert route.state(world, objects) == before


@pytest.mark.parametrize(("route", "force"), [
    pytest.param(route, force, id=f"{route.name}-of-{force}")
    for route in ROUTES for force in FORCES])
def test_the_right_person_of_the_force_reaches_it(world: World, route: Route,
                                                  force: str) -> None:
    objects = world.objects[force]
    who = right_person(route, force)
    if route.running_patrol:
        objects = replace(objects, patrol=running_patrol(world, SIDES[force], objects.case))
    response = call(world, route, objects, who)
    assert response.status_code == 200, (response.status_code, response.text[:300])
    if route.name.endswith("export"):
        assert response.headers["content-type"] == "application/zip"


def running_patrol(world: World, side: Side, ref: str) -> int:
    patrol = world.send("POST", f"/api/v1/cases/{ref}/patrols/start", side.officer, 201,
                        json={})
    backdate(world, patrol["id"], 11)
    return int(patrol["id"])


@pytest.mark.parametrize(("route", "force"), [
    pytest.param(route, force, id=f"{route.name}-of-{force}")
    for route in ROUTES for force in FORCES])
def test_an_analyst_of_every_force_reads_both(world: World, route: Route, force: str) -> None:
    """Never "not found": they read everything, and a change their role does not allow is
    refused with 403 (and changes nothing)."""
    objects = world.objects[force]
    before = route.state(world, objects) if route.state else None
    response = call(world, route, objects, "all.analyst")
    assert response.status_code == route.analyst, (response.status_code, response.text[:300])
    if route.analyst != 200 and route.state:
        assert route.state(world, objects) == before


@pytest.mark.parametrize(("who", "forces"), [
    ("nw.analyst", {NORTH_WALES}), ("nw.evaluator", {NORTH_WALES}),
    ("gw.supervisor", {NORTH_WALES}), ("city.supervisor", {CITY_POLICE}),
    ("city.analyst", {CITY_POLICE}), ("all.analyst", {NORTH_WALES, CITY_POLICE})])
def test_case_lists_hold_only_the_readers_force(world: World, who: str,
                                                forces: set[str]) -> None:
    listing = world.get("/api/v1/cases?limit=200", who)
    assert {c["force"] for c in listing["items"]} == forces
    assert {c["ref"] for c in listing["items"]} == {world.objects[f].case for f in forces}
    assert listing["total"] == len(forces)


@pytest.mark.parametrize(("who", "forces"), [
    ("nw.analyst", {NORTH_WALES}), ("conwy.supervisor", set()),
    ("city.supervisor", {CITY_POLICE}), ("city.evaluator", {CITY_POLICE}),
    ("all.analyst", {NORTH_WALES, CITY_POLICE})])
def test_operation_lists_hold_only_the_readers_force(world: World, who: str,
                                                     forces: set[str]) -> None:
    listing = world.get("/api/v1/operations", who)
    assert {o["force"] for o in listing} == forces
    assert {o["id"] for o in listing} == {world.objects[f].operation for f in forces}


@pytest.mark.parametrize(("who", "forces"), [
    ("nw.analyst", {NORTH_WALES}), ("city.evaluator", {CITY_POLICE}),
    ("all.analyst", {NORTH_WALES, CITY_POLICE})])
def test_concern_lists_hold_only_the_readers_force(world: World, who: str,
                                                   forces: set[str]) -> None:
    listing = world.get("/api/v1/concerns?limit=200", who)
    assert {c["id"] for c in listing["items"]} == {world.objects[f].concern for f in forces}


@pytest.mark.parametrize(("who", "borough", "name"), [
    ("gw.officer", CITY, "City of London"), ("nw.analyst", CITY, "City of London"),
    ("city.officer", GWYNEDD, "Gwynedd"), ("city.analyst", GWYNEDD, "Gwynedd")])
def test_another_forces_area_is_refused_in_the_hotspot_finder(world: World, who: str,
                                                              borough: str, name: str) -> None:
    response = world.request("GET", f"/api/v1/hotspots?borough={borough}&{FOUR}&cell_m=500",
                             who)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"field": "borough", "message": f"{name} is not an area of your force."}]


@pytest.mark.parametrize(("who", "force"), [("gw.officer", CITY_POLICE),
                                            ("nw.analyst", CITY_POLICE),
                                            ("city.analyst", NORTH_WALES)])
def test_another_forces_crime_counts_are_not_found(world: World, who: str, force: str) -> None:
    response = world.request("GET", f"/api/v1/forces/{force}/crime-counts?{FOUR}", who)
    assert response.status_code == 404, response.text
    assert response.json()["error"] == "not_found"


def test_within_a_force_the_home_area_still_scopes_cases(world: World) -> None:
    """The Conwy supervisor works in North Wales Police but not in Gwynedd: the Gwynedd case
    is not found for them, nor the operation Gwynedd's supervisor runs (the force's analyst
    reads it)."""
    objects = world.objects[NORTH_WALES]
    response = world.request("GET", f"/api/v1/cases/{objects.case}", "conwy.supervisor")
    assert response.status_code == 404
    world.send("GET", f"/api/v1/operations/{objects.operation}", "conwy.supervisor", 404)
    operation = world.get(f"/api/v1/operations/{objects.operation}", "nw.analyst")
    assert operation["borough"] == GWYNEDD and operation["cases"] == 1


# --- one force's data is changed by its own people only ----------------------------------------

def actor_of(world: World, who: str) -> Actor:
    with world.site.factory() as db:
        user = db.get(User, world.people[who].user.id)
        assert user is not None
        return Actor(user, Channel.API, "test", "127.0.0.1")


def test_an_analyst_imports_only_their_own_forces_files(world: World) -> None:
    """Rows count in every figure of the force that published them: another force's people
    never add to them, whether the file's name, the force chosen or its rows say whose."""
    city_file = street_file_of(CITY_POLICE, "2024-06")
    for sources, force in ((expand([city_file]), None),
                           (from_bytes("june.csv", city_file.read_bytes()), None),
                           (from_bytes("june.csv", city_file.read_bytes()), CITY_POLICE)):
        [report] = import_sources(world.site.factory, actor_of(world, "nw.analyst"), sources,
                                  force_id=force)
        assert (report.status, report.added, report.message) == (
            "failed", 0, "This file is City of London Police's: you import the data of your "
                         "own force only."), sources[0].name
    upload = world.page("nw.analyst").post("/data/police-uk", data={
        "csrf_token": world.people["nw.analyst"].csrf, "force": CITY_POLICE},
        files={"file": (city_file.name, city_file.read_bytes(), "text/csv")})
    assert upload.status_code == 422 and "Choose a force from the list." in upload.text
    coverage = world.get(f"/api/v1/forces/{CITY_POLICE}", "all.analyst")["coverage"]
    assert coverage["street"] == CITY_MONTHS  # June is still not present


def test_an_analyst_changes_only_their_own_forces_boundaries(world: World) -> None:
    analyst = actor_of(world, "nw.analyst")
    with world.site.factory() as db:
        before = db.scalar(select(Area.geometry).where(Area.kind == AreaKind.BOROUGH,
                                                       Area.code == CITY))
        report = import_boundaries(db, analyst, "city.geojson", geojson(
            borough_features(CITY)), AreaKind.BOROUGH)
        after = db.scalar(select(Area.geometry).where(Area.kind == AreaKind.BOROUGH,
                                                      Area.code == CITY))
    assert (report.added, report.updated, report.rejected) == (0, 0, 1)
    assert report.problems[0]["message"] == (
        "feature 1: E09000001 (City of London) is a boundary of another force's area; it was "
        "left as it is")
    assert after == before


@pytest.mark.parametrize(("who", "forces"), [("nw.analyst", {NORTH_WALES, None}),
                                             ("city.officer", {CITY_POLICE, None}),
                                             ("all.analyst", {NORTH_WALES, CITY_POLICE, None})])
def test_imports_are_listed_for_the_readers_force(world: World, who: str,
                                                  forces: set[str | None]) -> None:
    items = world.get("/api/v1/imports?limit=200", who)["items"]
    assert {item["force"] for item in items} == forces
    hidden = other(NORTH_WALES if NORTH_WALES in forces else CITY_POLICE)
    if hidden not in forces:
        with world.site.factory() as db:
            batch_id = db.scalar(select(ImportBatch.id).where(ImportBatch.force_id == hidden))
        world.send("GET", f"/api/v1/imports/{batch_id}", who, expected=404)
        assert world.page(who).get(f"/data/imports/{batch_id}").status_code == 404


def test_a_case_in_an_operation_stays_in_its_force(world: World) -> None:
    """A supervisor of every force may move a case between areas, but not out of its
    operation's force; nor link a concern to another force's case."""
    if "all.supervisor" not in world.people:
        world.add_people("all.supervisor")
    city = world.objects[CITY_POLICE]
    case = world.get(f"/api/v1/cases/{city.case}", "all.supervisor")
    refused = world.send("PATCH", f"/api/v1/cases/{city.case}", "all.supervisor", expected=422,
                         json={"version": case["version"], "borough": GWYNEDD})
    operation = world.get(f"/api/v1/operations/{city.operation}", "all.analyst")["name"]
    assert refused["errors"] == [{"field": "borough", "message": (
        f"Gwynedd is an area of another force than the case's operation ({operation}): take "
        "the case out of the operation first.")}]
    concern = world.send("POST", "/api/v1/concerns", "all.supervisor", expected=201, json={
        "borough": GWYNEDD, "raised_on": (today() - timedelta(days=1)).isoformat(),
        "raised_by_kind": "resident", "channel": "ward_panel",
        "description": "Fights outside the bars at closing time"})
    linked = world.send("POST", f"/api/v1/concerns/{concern['id']}/triage", "all.supervisor",
                        expected=422, json={"version": concern["version"], "outcome": "linked",
                                            "case": city.case})
    assert linked["errors"][0]["message"] == (
        f"{city.case} is a case of another force than the concern's: link it to one of its "
        "own force.")


def test_a_crime_picture_of_months_without_its_data_is_refused(world: World) -> None:
    ref = world.objects[NORTH_WALES].case
    refused = world.send("GET", f"/api/v1/cases/{ref}/crime-picture?first=2024-05"
                                "&last=2024-06", "gw.officer", expected=422)
    assert refused["errors"] == [{"field": "first", "message": (
        "No street-level crime of North Wales Police is imported for May 2024 to Jun 2024: "
        "choose months from Jan 2024 to Apr 2024.")}]
