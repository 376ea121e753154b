"""Issue 18, findings 8 and 9, replayed.

Finding 8: in the operation bundle's ``evaluation.csv`` every negative number came out as
``'-23.5`` (escaped twice), while the web download of the same file was right, and no test read
that file. Here every CSV popcase writes is read back and its values compared with the API's:
numbers as numbers, text protected against formula injection exactly once.

Finding 9: an action owner named "Cycle team" turned the unit "City of London Police cycle
team" into "City of London Police Action owner 1". Redaction now matches whole names only.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.context import Actor
from app.auth.roles import Role
from app.csvfile import FORMULA_LEADS, cell
from app.exports.service import export_case
from tests.conftest import Cast, Person, create_person, needs_data
from tests.crime.support import (
    CITY,
    LIVERPOOL_STREET,
    Site,
    api_call,
    load_boundaries,
    load_months,
    site,
)

ST_PAULS = {"name": "St Paul's and Cheapside",
            "geometry": {"type": "Point", "coordinates": [-0.0984, 51.5138]}, "radius_m": 300}
# Theft at Liverpool Street fell from 62 to 44 between these periods (control 50 and 50): a
# negative percentage change, the figure finding 8 saw corrupted.
PERIODS = {"before_first": "2024-01", "before_last": "2024-02", "after_first": "2024-03",
           "after_last": "2024-04"}
FORMULA_TITLE = '=HYPERLINK("http://evil.example","Thefts")'


@dataclass
class World:
    site: Site
    sergeant: Person
    evaluator: Person
    admin: Person
    client: TestClient

    def send(self, method: str, url: str, person: Person | None = None,
             expected: int = 200, **kwargs: Any) -> Any:
        return api_call(self.client, person or self.sergeant, method, url, expected, **kwargs)


@pytest.fixture(scope="module")
def world(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with site(db_url, tmp_path_factory, "csvsecurity") as crime_site:
        with crime_site.factory() as db:
            sergeant = create_person(db, "sgt.byrne", Role.SUPERVISOR, CITY, "Sgt Niamh Byrne")
            evaluator = create_person(db, "eval.morgan", Role.EVALUATOR, None, "Rhys Morgan")
            admin = create_person(db, "admin", Role.ADMIN, None, "Administrator")
        load_boundaries(crime_site.factory, (CITY,), (CITY,))
        load_months(crime_site.factory, ["2024-01", "2024-02", "2024-03", "2024-04"])
        with crime_site.client() as client:
            yield World(crime_site, sergeant, evaluator, admin, client)


def rows(content: str | bytes) -> list[dict[str, str]]:
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    return list(csv.DictReader(io.StringIO(text)))


def members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def same(written: str, value: Any) -> bool:
    """A cell read back against the API's value: a number as a number at full precision,
    nothing as empty, text as itself or, when it starts like a formula, with one apostrophe."""
    if value is None:
        return written == ""
    if isinstance(value, bool):
        return written == ("true" if value else "false")
    if isinstance(value, int | float):
        return written == cell(value) and float(written) == value
    text = str(value)
    return written == ("'" + text if text[:1] in FORMULA_LEADS else text)


def assessed_operation(world: World) -> tuple[dict[str, Any], str]:
    operation = world.send("POST", "/api/v1/operations", expected=201, json={
        "name": "Ledger", "start_date": "2024-03-01", "force": "city-of-london"})
    case = world.send("POST", "/api/v1/cases", expected=201, json={
        "title": FORMULA_TITLE, "problem_statement": "Phones taken from commuters.",
        "category": "theft-from-the-person", "borough": CITY, "target_area": LIVERPOOL_STREET})
    case = world.send("PATCH", f"/api/v1/cases/{case['ref']}", json={
        "version": case["version"], "buffer_width_m": 200, "control_area": ST_PAULS,
        "crime_types": ["theft-from-the-person", "other-theft"], "operation": operation["id"]})
    world.send("POST", f"/api/v1/cases/{case['ref']}/assessments", json=PERIODS, expected=201)
    return operation, case["ref"]


# --- finding 8 ---------------------------------------------------------------------------------

@needs_data
def test_the_evaluation_csv_in_the_bundle_and_the_download_match_the_api(world: World) -> None:
    operation, ref = assessed_operation(world)
    url = f"/api/v1/operations/{operation['id']}"
    result = world.send("GET", f"{url}/evaluation", world.evaluator)
    bundle = world.client.get(f"{url}/export?reason=Tilley%20award%20entry",
                              headers=world.evaluator.api)
    assert bundle.status_code == 200, bundle.text[:300]
    in_bundle = members(bundle.content)["evaluation.csv"]
    with world.site.client(world.evaluator) as pages:
        download = pages.get(f"/operations/{operation['id']}/evaluation.csv").content
    assert in_bundle == download  # one writer: the same bytes both ways

    api_row = result["rows"][0]
    assert api_row["target_percent_change"] < 0  # the review's case: a negative figure
    written = {row["ref"]: row for row in rows(in_bundle)}
    line = written[ref]
    for column, value in line.items():
        assert same(value, api_row[column]), (column, value, api_row[column])
    assert not line["target_percent_change"].startswith("'")
    assert float(line["target_percent_change"]) == api_row["target_percent_change"]
    assert line["title"] == "'" + FORMULA_TITLE  # protected once
    pooled = written["pooled"]
    for column in ("odds_ratio", "odds_ratio_low", "odds_ratio_high"):
        key = {"odds_ratio": "odds_ratio", "odds_ratio_low": "low",
               "odds_ratio_high": "high"}[column]
        assert same(pooled[column], result["pooled"][key]), column


@needs_data
def test_every_csv_of_a_case_file_matches_the_api(world: World) -> None:
    case = world.send("POST", "/api/v1/cases", expected=201, json={
        "title": "-5% footfall, +10 thefts", "problem_statement": "@risk commuters",
        "category": "theft-from-the-person", "borough": CITY, "target_area": LIVERPOOL_STREET})
    ref = case["ref"]
    case = world.send("PATCH", f"/api/v1/cases/{ref}", json={
        "version": case["version"], "buffer_width_m": 200, "control_area": ST_PAULS,
        "crime_types": ["theft-from-the-person"]})
    world.send("POST", f"/api/v1/cases/{ref}/actions", expected=201, json={
        "title": "+ more patrols at the ticket hall", "owner": "-1 shift short",
        "notes": "=SUM(A1:A9)", "due_date": "2024-05-01"})
    world.send("POST", f"/api/v1/cases/{ref}/patrols", expected=201, json={
        "started_at": "2024-04-02T17:05:00", "ended_at": "2024-04-02T17:19:00",
        "officers": "PC Shah", "place": "@ the ticket hall", "notes": "-"})
    world.send("POST", f"/api/v1/cases/{ref}/outputs", expected=201, json={
        "on": "2024-04-02", "counts": {"arrests": 2, "knives": 1}, "notes": "+2 stop searches"})
    world.send("POST", f"/api/v1/cases/{ref}/notes", expected=201, json={"body": "-23.5 %"})
    snapshot = world.send("POST", f"/api/v1/cases/{ref}/assessments", json=PERIODS,
                          expected=201)
    export = world.client.get(f"/api/v1/cases/{ref}/export?reason=Tilley%20award%20entry",
                              headers=world.evaluator.api)
    assert export.status_code == 200, export.text[:300]
    files = members(export.content)

    actions = world.send("GET", f"/api/v1/cases/{ref}")["actions"]
    for line, action in zip(rows(files["actions.csv"]), actions, strict=True):
        for column in ("title", "tactic", "owner", "due_date", "status", "notes"):
            assert same(line[column], action[column]), column
    assert rows(files["actions.csv"])[0]["owner"] == "'-1 shift short"

    patrols = world.send("GET", f"/api/v1/cases/{ref}/patrols")["patrols"]
    for line, patrol in zip(rows(files["patrols.csv"]), patrols, strict=True):
        for column in ("minutes", "band", "kind", "officers", "place", "live", "notes"):
            assert same(line[column], patrol[column]), column
        assert line["minutes"] == "14"

    outputs = world.send("GET", f"/api/v1/cases/{ref}/outputs")["entries"]
    written = sorted(rows(files["outputs.csv"]), key=lambda r: (r["kind"], r["count"]))
    for line, entry in zip(written, sorted(outputs, key=lambda e: (e["kind"], e["count"])),
                           strict=True):
        for column in ("on", "kind", "count", "reason", "notes"):
            assert same(line[column], entry[column]), column

    timeline = world.send("GET", f"/api/v1/cases/{ref}/timeline")
    written_notes = [r["body"] for r in rows(files["timeline.csv"]) if r["kind"] == "note"]
    api_notes = [e["body"] for e in timeline if e["kind"] == "note"]
    assert written_notes == ["'-23.5 %"] and api_notes == ["-23.5 %"]

    crimes = rows(files["crimes.csv"])
    for area in ("target", "buffer", "control"):
        for period in ("before", "after"):
            counted = [r for r in crimes if (r["area"], r["period"]) == (area, period)]
            assert len(counted) == snapshot[area][period], (area, period)
    for line in crimes:
        assert float(line["longitude"]) < 0 and not line["longitude"].startswith("'")


@needs_data
def test_the_access_log_csv_and_the_force_counts_csv_match_the_api(world: World) -> None:
    search = world.send("GET", "/api/v1/audit?action=case&limit=20", world.admin)
    exported = world.client.get("/api/v1/audit.csv?action=case", headers=world.admin.api)
    by_seq = {int(r["seq"]): r for r in rows(exported.text)}
    for entry in search["items"]:
        line = by_seq[entry["seq"]]
        for column in ("actor", "action", "object_type", "object_ref", "client_addr",
                       "prev_hash", "hash"):
            assert same(line[column], entry[column]), column
        assert json.loads(line["details"].removeprefix("'")) == entry["details"]

    counts = world.send("GET", "/api/v1/forces/city-of-london/crime-counts"
                               "?first=2024-01&last=2024-06", world.sergeant)
    with world.site.client(world.sergeant) as pages:
        download = pages.get("/data/forces/city-of-london/counts.csv?first=2024-01&last=2024-06")
    assert download.status_code == 200
    written = {(r["area_code"], r["month"]): r for r in rows(download.text)}
    months = [m[:7] for m in counts["months"]]
    for area in [*counts["areas"], counts["outside_areas"]]:
        for month, count in zip(months, area["monthly"], strict=True):
            line = written[(area["code"], month)]
            assert same(line["count"], count), (area["code"], month)
            assert line["data"] == ("no data" if count is None else "imported")


# --- finding 9 ---------------------------------------------------------------------------------

def test_an_owner_named_inside_a_unit_leaves_the_unit_whole(client: TestClient, cast: Cast,
                                                             db: Session) -> None:
    """The demo's case: the team "City of London Police cycle team", an action owned by
    "Cycle team". The owner's name is replaced where it stands alone, never inside the unit's
    name; a person's whole name inside a unit's name is still replaced."""
    officer = cast.officer.api
    case = client.post("/api/v1/cases", headers=officer, json={
        "title": "Bicycles taken from the station racks", "problem_statement": "Cut locks.",
        "category": "bicycle-theft", "borough": "E09000033",
        "team": "City of London Police cycle team"}).json()
    ref = case["ref"]
    for owner in ("Cycle team", "Mr Tariq Osei"):
        added = client.post(f"/api/v1/cases/{ref}/actions", headers=officer, json={
            "title": "D-lock exchange", "owner": owner})
        assert added.status_code == 201, added.text
    note = ("The City of London Police cycle team met the Cycle team at the racks; the Cycle "
            "team asked Mr Tariq Osei. Recycle teams are not named. Tariq will call.")
    assert client.post(f"/api/v1/cases/{ref}/notes", headers=officer,
                       json={"body": note}).status_code == 201
    content = export_case(db, Actor.cli(), ref, reason="Tilley award entry",
                          redacted=True).content
    data = json.loads(members(content)["case.json"])["case"]
    assert data["team"] == "City of London Police cycle team"
    assert [a["owner"] for a in data["actions"]] == ["Action owner 1", "Action owner 2"]
    body = next(e["body"] for e in data["timeline"] if e["kind"] == "note")
    assert body == ("The City of London Police cycle team met the Action owner 1 at the "
                    "racks; the Action owner 1 asked Action owner 2. Recycle teams are not "
                    "named. Action owner 2 will call.")


def test_names_match_at_word_boundaries_only(client: TestClient, cast: Cast, db: Session) -> None:
    """A name inside a longer word is not that name: "Ann" is not in "Annual" or "Joanne"."""
    officer = cast.officer.api
    ref = client.post("/api/v1/cases", headers=officer, json={
        "title": "Annual review", "problem_statement": "Joanne and Ann spoke.",
        "category": "anti-social-behaviour", "borough": "E09000033"}).json()["ref"]
    client.post(f"/api/v1/cases/{ref}/actions", headers=officer,
                json={"title": "Call back", "owner": "Ms Ann Lee"})
    content = export_case(db, Actor.cli(), ref, reason="Tilley award entry",
                          redacted=True).content
    data = json.loads(members(content)["case.json"])["case"]
    assert data["title"] == "Annual review"
    assert data["problem_statement"] == "Joanne and Action owner 1 spoke."
