"""Shared set-up of the crime page and API tests: a database of the module's own, the real
police.uk and boundary files, and counts made independently of the app (csv, shapely, pyproj).
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

import app as app_package
from app.auth.context import Actor
from app.cli import alembic_config
from app.crime.boundaries import import_boundaries
from app.crime.importer import Report, expand, import_sources
from app.crime.models import AreaKind
from app.db import is_sqlite, make_engine, make_session_factory
from app.main import create_app
from app.settings import Settings
from app.web.deps import SESSION_COOKIE
from tests.conftest import POLICE_UK_DATA, Person, fresh_database

DATA = POLICE_UK_DATA
DEMO_DATA = Path(app_package.__file__).parent / "demo_data"
CITY, WESTMINSTER = "E09000001", "E09000033"
BISHOPSGATE = "E05009292"
# The suite's database is SQLite unless POPCASE_TEST_DATABASE_URL names another (conftest).
SQLITE = is_sqlite(os.environ.get("POPCASE_TEST_DATABASE_URL") or "sqlite://")
# A transaction that waits for SQLite's write lock gives up after this long (the app's own
# busy timeout is 15 s): only the reproductions of a lock the app holds ever wait.
SQLITE_BUSY_MS = 1000
# Liverpool Street station (a point-and-radius target area, as the demo's Broadgate case).
LIVERPOOL_STREET = {"name": "Liverpool Street station",
                    "geometry": {"type": "Point", "coordinates": [-0.0822, 51.5176]},
                    "radius_m": 300}

_TO_BNG = Transformer.from_crs(4326, 27700, always_xy=True)


# The months of real City of London data the page and API tests import, and a type in them.
MONTHS = ["2024-01", "2024-02", "2024-03"]
PERIOD = "first=2024-01&last=2024-03"
THEFT = "Theft from the person"


# --- a database of the module's own ------------------------------------------------------------

def module_database(db_url: str, tmp_path_factory: pytest.TempPathFactory,
                    label: str) -> AbstractContextManager[str]:
    """A new empty database for a whole module (conftest's ``empty_database`` is per test)."""
    return fresh_database(db_url, tmp_path_factory, label)


def migrated_engine(url: str) -> Engine:
    engine = make_engine(url)
    if is_sqlite(url):
        @event.listens_for(engine, "connect")
        def _shorter_wait(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
    command.upgrade(alembic_config(url), "head")  # as conftest's engine: foreign keys off
    return engine


@dataclass
class Site:
    """The app on a module's own database, as the brief of these tests describes it."""

    url: str
    engine: Engine
    factory: sessionmaker[Session]
    app: FastAPI

    def client(self, person: Person | None = None, **options: Any) -> TestClient:
        client = TestClient(self.app, base_url="http://testserver", follow_redirects=False,
                            **options)
        if person is not None:
            client.cookies.set(SESSION_COOKIE, person.session_secret)
        return client


@contextmanager
def site(db_url: str, tmp_path_factory: pytest.TempPathFactory, label: str) -> Iterator[Site]:
    with module_database(db_url, tmp_path_factory, label) as url:
        engine = migrated_engine(url)
        try:
            factory = make_session_factory(engine)
            app = create_app(Settings(database_url=url, environment="test"), factory)
            app.state.run_in_background = lambda job: job()  # an upload imports at once
            yield Site(url, engine, factory, app)
        finally:
            engine.dispose()


def api_call(client: TestClient, person: Person, method: str, url: str, expected: int = 200,
             **kwargs: Any) -> Any:
    """An API request made with ``person``'s token, its status checked: the JSON answer
    (None when the answer is empty)."""
    response = client.request(method, url, headers=person.api, **kwargs)
    assert response.status_code == expected, (url, response.status_code, response.text[:600])
    return response.json() if response.content else None


# --- files -------------------------------------------------------------------------------------

@cache
def _features(name: str) -> tuple[dict[str, Any], ...]:
    return tuple(json.loads((DEMO_DATA / name).read_bytes())["features"])


def features(name: str, key: str, values: tuple[str, ...]) -> list[dict[str, Any]]:
    """The features of a demo boundary file whose property ``key`` is one of ``values``."""
    found = [f for f in _features(name) if f["properties"].get(key) in values]
    assert found, (name, key, values)
    return found


def geojson(found: list[dict[str, Any]]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": found}).encode()


def borough_features(*codes: str) -> list[dict[str, Any]]:
    return features("london-boroughs.geojson", "GSS_CODE", codes)


def ward_features(borough: str) -> list[dict[str, Any]]:
    return features("london-wards-2022.geojson", "LAD22CD", (borough,))


def load_boundaries(factory: sessionmaker[Session], boroughs: tuple[str, ...],
                    ward_boroughs: tuple[str, ...]) -> None:
    with factory() as db:
        for name, kind, found in (
                ("boroughs.geojson", AreaKind.BOROUGH, borough_features(*boroughs)),
                ("wards.geojson", AreaKind.WARD,
                 [f for b in ward_boroughs for f in ward_features(b)])):
            if found:
                report = import_boundaries(db, Actor.cli(), name, geojson(found), kind)
                assert report.status == "done" and report.rejected == 0, report


def street_file(month: str, force: str = "city-of-london") -> Path:
    return DATA / month / f"{month}-{force}-street.csv"


def load_months(factory: sessionmaker[Session], months: list[str]) -> list[Report]:
    reports = import_sources(factory, Actor.cli(), expand([street_file(m) for m in months]))
    assert [r.status for r in reports] == ["done"] * len(months), reports
    return reports


# --- independent counts ------------------------------------------------------------------------

@dataclass(frozen=True)
class Crime:
    month: date
    label: str  # police.uk "Crime type"
    easting: float | None  # exact projection of police.uk's longitude and latitude
    northing: float | None


@cache
def crimes_of(month: str, force: str = "city-of-london") -> tuple[Crime, ...]:
    """A force's street file for a month, read with csv and projected with pyproj."""
    with street_file(month, force).open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    year, number = (int(part) for part in month.split("-"))
    found = []
    for row in rows:
        lon, lat = row["Longitude"].strip(), row["Latitude"].strip()
        easting = northing = None
        if lon and lat:
            easting, northing = _TO_BNG.transform(float(lon), float(lat))
        found.append(Crime(date(year, number, 1), row["Crime type"], easting, northing))
    return tuple(found)


def project(geometry: dict[str, Any]) -> BaseGeometry:
    """A WGS84 GeoJSON geometry in the British National Grid, with pyproj directly."""
    return shapely.transform(shape(geometry), lambda xy: np.column_stack(
        _TO_BNG.transform(xy[:, 0], xy[:, 1])))


def centre(point: dict[str, Any]) -> tuple[float, float]:
    return _TO_BNG.transform(*point["coordinates"][:2])


def count_in(area: BaseGeometry, months: list[str], labels: set[str] | None = None,
             rounded: bool = False) -> Counter[date]:
    """Located crimes per month whose point lies in ``area``, its edge included (``rounded``:
    with the point's coordinates rounded to the metre)."""
    shapely.prepare(area)
    counts: Counter[date] = Counter()
    for month in months:
        for crime in crimes_of(month):
            if crime.easting is None or crime.northing is None or (
                    labels and crime.label not in labels):
                continue
            easting, northing = crime.easting, crime.northing
            if rounded:
                easting, northing = round(easting), round(northing)
            if area.intersects(shapely.Point(easting, northing)):
                counts[crime.month] += 1
    return counts


def rounding_matters(area: BaseGeometry, months: list[str],
                     labels: set[str] | None = None) -> bool:
    """Whether storing police.uk points to the metre (as any database might) moves a crime
    into or out of ``area``: an exact expectation needs it not to."""
    return count_in(area, months, labels) != count_in(area, months, labels, rounded=True)


def mid(place: str) -> str:
    """A hotspot cell's place as a case's title puts it mid-sentence ("on or near Cheapside")."""
    assert place.startswith(("On or near ", "Near ")), place
    return place[0].lower() + place[1:]


# --- hotspot cells named by their streets, counted from the files ------------------------------

def locations_by_cell(files: list[Path], area: BaseGeometry, cell_m: int,
                      labels: set[str] | None = None) -> dict[tuple[int, int], Counter[str]]:
    """The police.uk "Location" texts of the located rows inside ``area`` (British National
    Grid), counted per grid cell of ``cell_m`` metres: each point rounded to the metre as the
    database stores it, then floor-divided as the grid does. Read with csv, projected with
    pyproj, placed with shapely, independently of the app."""
    shapely.prepare(area)
    found: dict[tuple[int, int], Counter[str]] = {}
    for path in files:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            for row in csv.DictReader(stream):
                lon, lat = row["Longitude"].strip(), row["Latitude"].strip()
                if not (lon and lat) or (labels and row["Crime type"] not in labels):
                    continue
                easting, northing = (round(v) for v in _TO_BNG.transform(float(lon),
                                                                          float(lat)))
                if area.intersects(shapely.Point(easting, northing)):
                    cell = (easting // cell_m, northing // cell_m)
                    found.setdefault(cell, Counter())[row["Location"]] += 1
    return found


def expected_place(locations: Counter[str]) -> str:
    """The name the brief asks for: the most frequent location with the next two, ties in
    alphabetical order ("On or near Cheapside, with Poultry and Bank")."""
    first, *others = sorted(locations, key=lambda text: (-locations[text], text))[:3]
    others = [text.removeprefix("On or near ") for text in others]
    if not others:
        return first
    return f"{first}, with " + (others[0] if len(others) == 1 else " and ".join(others))
