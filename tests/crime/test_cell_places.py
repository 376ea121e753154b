"""A hotspot cell whose crimes carry no location text is named by its centre, and so is the case
opened on it: the City's real January 2024 file with its Location column emptied."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from fastapi.testclient import TestClient

from app.auth.context import Actor
from app.auth.roles import Role
from app.crime.importer import expand, import_sources
from app.db import make_session_factory
from app.main import create_app
from app.sara.problem import CATEGORIES
from app.settings import Settings
from app.web.deps import SESSION_COOKIE
from tests.conftest import create_person, needs_data
from tests.crime.support import CITY, load_boundaries, migrated_engine, street_file

pytestmark = needs_data


def without_locations(folder: Path) -> Path:
    source = street_file("2024-01")
    target = folder / source.name
    with source.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({**row, "Location": ""} for row in rows)
    return target


def centre(geometry: dict[str, object]) -> str:
    ring = geometry["coordinates"][0][:-1]  # type: ignore[index]
    lon = sum(p[0] for p in ring) / len(ring)
    lat = sum(p[1] for p in ring) / len(ring)
    return f"{lat:.5f}, {lon:.5f}"


def test_cells_without_location_text_are_named_by_their_centre(empty_database: str,
                                                               tmp_path: Path) -> None:
    engine = migrated_engine(empty_database)
    try:
        factory = make_session_factory(engine)
        with factory() as db:
            sergeant = create_person(db, "sgt.byrne", Role.SUPERVISOR, CITY)
        load_boundaries(factory, (CITY,), ())
        reports = import_sources(factory, Actor.cli(), expand([without_locations(tmp_path)]))
        assert [r.status for r in reports] == ["done"]
        app = create_app(Settings(database_url=empty_database, environment="test"), factory)
        with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
            client.cookies.set(SESSION_COOKIE, sergeant.session_secret)
            query = f"borough={CITY}&first=2024-01&last=2024-01&cell_m=250&top_k=5"
            answer = client.get(f"/api/v1/hotspots?{query}", headers=sergeant.api).json()
            top = answer["cells"][0]
            chosen = client.get(f"/hotspots/cases/new?{query}&col={top['col']}"
                                f"&row={top['row']}")
            assert chosen.status_code == 200, chosen.text[:300]
            assert f"Near {centre(top['geometry'])}" in chosen.text
            proposed = re.findall(r'name="case_category" type="radio" value="([a-z-]+)"'
                                  r'[^>]*checked', chosen.text)
            opened = client.post("/hotspots/cases", data={
                "csrf_token": sergeant.csrf, "borough": CITY, "first": "2024-01",
                "last": "2024-01", "cell_m": "250", "top_k": "5", "col": str(top["col"]),
                "row": str(top["row"]), "case_category": proposed[0]})
            assert opened.status_code == 303, opened.text[:300]
            ref = opened.headers["location"].split("/")[2].split("?")[0]
            case = client.get(f"/api/v1/cases/{ref}", headers=sergeant.api).json()
    finally:
        engine.dispose()
    shown = answer["cells"][:20]
    assert len(shown) == 20
    assert [c["place"] for c in shown] == [f"Near {centre(c['geometry'])}" for c in shown]
    assert case["title"].startswith(f"Hotspot near {centre(top['geometry'])}: "
                                    f"{CATEGORIES[proposed[0]].lower()} (City of London, cell ")
    assert case["target_area"]["name"] == (f"250 m grid cell near {centre(top['geometry'])}, "
                                           "ranked 1 in City of London (all crime)")
