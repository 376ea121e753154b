"""Randomised hotspots for an operation, end to end: an allocation in matched pairs by baseline
crime, recorded with its seed and repeatable from it, never changed; patrols on comparison
hotspots flagged; and the group comparison over a constructed dataset whose true effect is
known (police.uk-format street files written here: the patrolled hotspots' crime multiplied by
0.6 from the month patrols began).

The module has a database of its own, with the City of London's boundary."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.auth.context import Actor, Channel
from app.auth.roles import Role
from app.crime.importer import expand, import_sources
from app.errors import Conflict
from app.operations import allocation as service
from app.operations.models import Allocation, AllocationUnit
from app.operations.schemas import AllocationCreate
from app.sara import allocation as rules
from app.sara.count_models import Unit, group_model
from tests.conftest import Person, create_person, needs_data
from tests.crime.support import CITY, Site, api_call, load_boundaries, site

pytestmark = needs_data

# Ten places in the City, each at least 250 m from the next: the hotspots' centres.
PLACES = {
    "Bank": (-0.0890, 51.5134), "Liverpool Street": (-0.0823, 51.5178),
    "St Paul's": (-0.0984, 51.5138), "Aldgate": (-0.0755, 51.5142),
    "Moorgate": (-0.0886, 51.5186), "Fenchurch Street": (-0.0786, 51.5116),
    "Blackfriars": (-0.1037, 51.5116), "Barbican": (-0.0977, 51.5201),
    "Monument": (-0.0862, 51.5101), "Guildhall": (-0.0919, 51.5156),
}
BASELINE = [f"2021-{m:02d}" for m in range(1, 13)]
AFTER = [f"2022-{m:02d}" for m in range(1, 13)]
TRUE_EFFECT = 0.6
VIOLENCE = "Violence and sexual offences"


@dataclass
class World:
    site: Site
    analyst: Person
    sergeant: Person
    officer: Person
    evaluator: Person
    client: TestClient
    files: Path
    levels: dict[str, float]  # each place's mean monthly crime

    def send(self, method: str, url: str, person: Person | None = None,
             expected: int = 200, **kwargs: Any) -> Any:
        return api_call(self.client, person or self.analyst, method, url, expected, **kwargs)


def write_month(folder: Path, month: str, crimes: dict[str, int], rng: np.random.Generator,
                ) -> Path:
    """A police.uk street file of the month: ``crimes[place]`` crimes within 30 m of each
    place's centre."""
    path = folder / f"{month}-city-of-london-street.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["Crime ID", "Month", "Reported by", "Falls within", "Longitude",
                         "Latitude", "Location", "LSOA code", "LSOA name", "Crime type",
                         "Last outcome category", "Context"])
        for place, count in crimes.items():
            lng, lat = PLACES[place]
            for n in range(count):
                ident = hashlib.sha256(f"{month}:{place}:{n}".encode()).hexdigest()
                writer.writerow([ident, month, "City of London Police", "City of London Police",
                                 f"{lng + rng.uniform(-3e-4, 3e-4):.6f}",
                                 f"{lat + rng.uniform(-2e-4, 2e-4):.6f}",
                                 f"On or near {place}", "E01000001", "City of London 001A",
                                 VIOLENCE, "Under investigation", ""])
    return path


def import_files(world: World, paths: list[Path]) -> None:
    reports = import_sources(world.site.factory, Actor.cli(), expand(paths))
    assert [r.status for r in reports] == ["done"] * len(paths), reports


@pytest.fixture(scope="module")
def world(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with site(db_url, tmp_path_factory, "allocation") as crime_site:
        with crime_site.factory() as db:
            people = (create_person(db, "analyst.rao", Role.ANALYST, None, "Priya Rao",
                                    force="city-of-london"),
                      create_person(db, "sgt.hale", Role.SUPERVISOR, CITY, "Sgt Tom Hale"),
                      create_person(db, "pc.okafor", Role.OFFICER, CITY, "PC Ada Okafor"),
                      create_person(db, "eval.khan", Role.EVALUATOR, None, "Sami Khan"))
        load_boundaries(crime_site.factory, (CITY,), ())
        rng = np.random.default_rng(20211)
        levels = {place: float(rng.gamma(4.0, 3.0)) + 2 for place in PLACES}
        files = tmp_path_factory.mktemp("allocation-files")
        world = World(crime_site, *people, crime_site.client(), files, levels)
        import_files(world, [write_month(files, m, {p: int(rng.poisson(levels[p]))
                                                    for p in PLACES}, rng) for m in BASELINE])
        with world.client:
            yield world


def operation_of_hotspots(world: World, name: str, places: list[str]) -> tuple[int, list[str]]:
    operation = world.send("POST", "/api/v1/operations", expected=201, json={
        "name": name, "force": "city-of-london", "start_date": "2026-12-01"})
    refs = []
    for place in places:
        lng, lat = PLACES[place]
        case = world.send("POST", "/api/v1/cases", world.sergeant, expected=201, json={
            "title": f"Violence at {place}", "problem_statement": "Fights at closing time.",
            "category": "violent-crime", "borough": CITY,
            "target_area": {"name": place, "geometry": {"type": "Point",
                                                        "coordinates": [lng, lat]},
                            "radius_m": 80}})
        world.send("PATCH", f"/api/v1/cases/{case['ref']}", json={
            "version": case["version"], "operation": operation["id"]})
        refs.append(case["ref"])
    return operation["id"], refs


def actor(person: Person) -> Actor:
    return Actor(user=person.user, channel=Channel.API, client_addr="test")


def test_an_allocation_in_matched_pairs_is_recorded_and_repeatable_from_its_seed(
        world: World) -> None:
    operation, refs = operation_of_hotspots(world, "Nightlight", list(PLACES)[:8])
    made = world.send("POST", f"/api/v1/operations/{operation}/allocation", expected=201,
                      json={"cases": refs, "method": "pairs", "seed": 424242})
    assert (made["method"], made["block_size"], made["seed"]) == ("pairs", 2, 424242)
    assert made["made_by"] == "analyst.rao"
    assert (made["design"], made["sms_level"]) == (
        "Hotspots randomly allocated to treatment and comparison", 5)
    # The baseline is the twelve months of data before patrols start, counted per hotspot.
    assert (made["baseline_first"], made["baseline_last"]) == ("2021-01-01", "2021-12-01")
    assert made["starts"] >= f"{date.today():%Y-%m}-01"
    counted = {h["ref"]: h["baseline"] for h in made["hotspots"]}
    assert sorted(counted) == sorted(refs)
    places = dict(zip(refs, list(PLACES)[:8], strict=True))
    assert counted == {ref: sum(_file_count(world.files, m, places[ref]) for m in BASELINE)
                       for ref in refs}
    # Repeat it from the record with nothing but the recipe it states.
    again = rules.allocate([rules.Candidate(ref, n) for ref, n in counted.items()], 424242, 2)
    assert {p.key: p.group.value for p in again} == {h["ref"]: h["group"]
                                                     for h in made["hotspots"]}
    for block in {h["block"] for h in made["hotspots"]}:
        sides = [h["group"] for h in made["hotspots"] if h["block"] == block]
        assert sorted(sides) == ["comparison", "patrolled"]
    assert made["balance"]["patrolled"]["hotspots"] == 4
    assert "SHA-256" in made["repeat"] and "424242" in made["repeat"]
    # The operation's evaluation carries it; patrols have not started, so no result yet.
    evaluation = world.send("GET", f"/api/v1/operations/{operation}/evaluation",
                            world.evaluator)
    assert evaluation["allocation"]["seed"] == 424242 and evaluation["sms_level"] == 5
    assert evaluation["allocation"]["evaluation"]["rirr"] is None
    assert evaluation["allocation"]["evaluation"]["reading"].startswith("Not yet: no crime data")


def test_the_allocation_cannot_be_made_again_or_changed(world: World) -> None:
    operation, refs = operation_of_hotspots(world, "Nightlight two", list(PLACES)[:4])
    url = f"/api/v1/operations/{operation}/allocation"
    world.send("POST", url, expected=201, json={"cases": refs})
    again = world.send("POST", url, expected=409, json={"cases": refs, "seed": 1})
    assert "cannot be made again" in again["message"]
    for method in ("PUT", "PATCH", "DELETE"):
        world.send(method, url, expected=405, json={"cases": refs})
    # The cases stay in the operation...
    case = world.send("GET", f"/api/v1/cases/{refs[0]}")
    refused = world.send("PATCH", f"/api/v1/cases/{refs[0]}", expected=422,
                         json={"version": case["version"], "operation": None})
    assert "randomised" in refused["errors"][0]["message"]
    # ...and not even the database session can change or delete the record.
    with world.site.factory() as db:
        unit = db.scalars(select(AllocationUnit).join(Allocation).where(
            Allocation.operation_id == operation)).first()
        assert unit is not None
        unit.arm = "patrolled" if unit.arm == "comparison" else "comparison"
        with pytest.raises(Conflict):
            db.flush()
        db.rollback()
        made = db.scalar(select(Allocation).where(Allocation.operation_id == operation))
        db.delete(made)
        with pytest.raises(Conflict):
            db.flush()


def test_only_supervisors_and_analysts_randomise_and_bad_requests_are_named(
        world: World) -> None:
    operation, refs = operation_of_hotspots(world, "Nightlight three", list(PLACES)[:5])
    url = f"/api/v1/operations/{operation}/allocation"
    world.send("POST", url, world.officer, expected=403, json={"cases": refs})
    world.send("POST", url, world.evaluator, expected=403, json={"cases": refs})
    few = world.send("POST", url, expected=422, json={"cases": refs[:3]})
    assert few["errors"][0]["field"] == "cases"
    assert "at least 4 hotspots" in few["errors"][0]["message"]
    outsider = world.send("POST", "/api/v1/cases", world.sergeant, expected=201, json={
        "title": "Not in the operation", "problem_statement": "Elsewhere.",
        "category": "violent-crime", "borough": CITY})
    wrong = world.send("POST", url, expected=422, json={"cases": [*refs, outsider["ref"]]})
    assert f"{outsider['ref']} is not a case of Nightlight three." in [
        e["message"] for e in wrong["errors"]]
    early = world.send("POST", url, expected=422, json={"cases": refs, "starts": "2021-06"})
    assert early["errors"][0]["field"] == "starts"
    gap = world.send("POST", url, expected=422, json={
        "cases": refs, "baseline_first": "2020-06", "baseline_last": "2021-03"})
    assert "No street-level crime of City of London Police is imported for Jun 2020" in \
        gap["errors"][0]["message"]
    world.send("GET", url, expected=404)


def test_patrols_on_comparison_hotspots_are_flagged(world: World) -> None:
    """Made two hours ago: a patrol an hour ago on a comparison hotspot is flagged, one from
    before the allocation is not."""
    operation, refs = operation_of_hotspots(world, "Nightlight four", list(PLACES)[:4])
    with world.site.factory() as db:
        made = service.make_allocation(db, actor(world.analyst), operation,
                                       AllocationCreate(cases=refs, seed=77),
                                       now=datetime.now(UTC) - timedelta(hours=2))
        groups = {u.case.ref: u.group.value for u in made.units}
    comparison = next(ref for ref, group in groups.items() if group == "comparison")
    patrolled = next(ref for ref, group in groups.items() if group == "patrolled")

    def patrol(ago: timedelta) -> dict[str, Any]:
        started = (datetime.now(UTC) - ago).replace(second=0, microsecond=0)
        return {"started_at": started.isoformat(),
                "ended_at": (started + timedelta(minutes=12)).isoformat(), "kind": "foot"}

    body = patrol(timedelta(hours=1))
    earlier = world.send("POST", f"/api/v1/cases/{comparison}/patrols", world.sergeant,
                         expected=201, json=patrol(timedelta(hours=3)))
    assert earlier["flagged"] is False
    flagged = world.send("POST", f"/api/v1/cases/{comparison}/patrols", world.sergeant,
                         expected=201, json=body)
    assert flagged["flagged"] is True
    fine = world.send("POST", f"/api/v1/cases/{patrolled}/patrols", world.sergeant,
                      expected=201, json=body)
    assert fine["flagged"] is False
    log = world.send("GET", f"/api/v1/cases/{comparison}/patrols", world.sergeant)
    assert "comparison hotspot" in log["comparison_hotspot"]
    assert world.send("GET", f"/api/v1/cases/{patrolled}/patrols",
                      world.sergeant)["comparison_hotspot"] is None
    read = world.send("GET", f"/api/v1/operations/{operation}/allocation")
    assert read["patrols_on_comparison"] == 1
    assert "comparison_patrolled" in {w["code"] for w in read["warnings"]}
    assert next(h for h in read["hotspots"] if h["ref"] == comparison)["patrols_since"] == 1
    # The case files say each case's group, and which patrols were flagged.
    schema = world.send("GET", "/api/v1/schemas/case-file.json")
    for ref in (comparison, patrolled):
        case = case_json(world, ref)
        jsonschema.validate(case, schema)
        drawn = case["case"]["operation"]["allocation"]
        assert (drawn["group"], drawn["seed"], drawn["method"]) == (groups[ref], 77, "pairs")
        assert drawn["made_by"]["username"] == "analyst.rao"
        assert [p["flagged"] for p in case["case"]["patrols"]] == (
            [False, True] if ref == comparison else [False])
    report = case_file(world, comparison)["report.html"].decode()
    said = " ".join(re.sub(r"<[^>]+>", " ", re.search(
        r'<p id="allocation">(.*?)</p>', report, re.S)[1]).split())
    assert said.startswith("Randomised to comparison: no extra patrols in Operation Nightlight "
                           "four's allocation of ")
    assert "(matched pairs by crime in Jan 2021 to Dec 2021, seed 77; block " in said
    assert said.endswith("1 patrol logged here since the allocation was flagged: each weakens "
                         "the comparison.")
    assert "Randomised to patrols in Operation Nightlight four" in " ".join(re.sub(
        r"<[^>]+>", " ", case_file(world, patrolled)["report.html"].decode()).split())
    outsider = world.send("POST", "/api/v1/cases", world.sergeant, expected=201, json={
        "title": "In no operation", "problem_statement": "Elsewhere.",
        "category": "violent-crime", "borough": CITY})
    assert case_json(world, outsider["ref"])["case"]["operation"] is None


def case_file(world: World, ref: str) -> dict[str, bytes]:
    response = world.client.get(f"/api/v1/cases/{ref}/export", headers=world.evaluator.api,
                                params={"reason": "To check the allocation travels"})
    assert response.status_code == 200, response.text[:300]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def case_json(world: World, ref: str) -> Any:
    return json.loads(case_file(world, ref)["case.json"])


def test_the_group_comparison_recovers_a_known_effect(world: World) -> None:
    """Allocated in December 2021 (the record's time is history's, as the demo's), patrols
    from January 2022; the constructed after months cut the patrolled hotspots' crime by 40%.
    The evaluation's counts are the files' and its model is the group model of those counts;
    its interval holds the true rate ratio of 0.6."""
    places = list(PLACES)
    operation, refs = operation_of_hotspots(world, "Nightlight known effect", places)
    place_of = dict(zip(refs, places, strict=True))
    with world.site.factory() as db:
        made = service.make_allocation(
            db, actor(world.analyst), operation,
            AllocationCreate(cases=refs, method=rules.Method.BLOCKS, block_size=4, seed=5,
                             starts="2022-01"),
            now=datetime(2021, 12, 10, 12, tzinfo=UTC))
        groups = {u.case.ref: u.group for u in made.units}
    rng = np.random.default_rng(2022)
    after_files, truth = [], {place: [] for place in places}
    for month in AFTER:
        crimes = {place_of[ref]: int(rng.poisson(world.levels[place_of[ref]] * (
            TRUE_EFFECT if group is rules.Group.PATROLLED else 1.0)))
            for ref, group in groups.items()}
        after_files.append(write_month(world.files, month, crimes, rng))
        for place, n in crimes.items():
            truth[place].append(n)
    import_files(world, after_files)
    result = world.send("GET", f"/api/v1/operations/{operation}/evaluation",
                        world.evaluator)["allocation"]
    assert result["starts"] == "2022-01-01" and result["sms_level"] == 5
    figures = result["evaluation"]
    assert (figures["after_first"], figures["after_last"]) == ("2022-01-01", "2022-12-01")
    assert figures["months_without_data"] == []
    patrolled_after = sum(sum(truth[place_of[r]]) for r, g in groups.items()
                          if g is rules.Group.PATROLLED)
    assert figures["patrolled"]["after"] == patrolled_after
    # The same model worked on the monthly counts read back from the files written here.
    series = {ref: [_file_count(world.files, m, place_of[ref]) for m in BASELINE + AFTER]
              for ref in refs}
    assert [series[r][12:] for r in refs] == [truth[place_of[r]] for r in refs]
    expected = group_model([Unit(series[r], groups[r] is rules.Group.PATROLLED)
                            for r in refs], 12)
    assert figures["rirr"] == pytest.approx(expected.rirr, rel=1e-6)
    assert figures["low"] <= TRUE_EFFECT <= figures["high"]
    assert figures["high"] < 1  # the effect is large enough to be seen
    assert figures["reading"].startswith("Crime at the patrolled hotspots fell by")
    assert math.isfinite(figures["dispersion"])
    with world.site.client(world.evaluator) as evaluator:
        rows = list(csv.reader(io.StringIO(evaluator.get(
            f"/operations/{operation}/evaluation.csv").text)))
    randomised = next(r for r in rows if r[0] == "randomised")
    columns = rows[0]
    assert float(randomised[columns.index("odds_ratio")]) == pytest.approx(
        1 / figures["rirr"], rel=1e-12)
    assert float(randomised[columns.index("odds_ratio_low")]) == pytest.approx(
        1 / figures["high"], rel=1e-12)
    assert "5 patrolled against 5 comparison hotspots (rate ratio" in randomised[1]


def _file_count(folder: Path, month: str, place: str) -> int:
    with (folder / f"{month}-city-of-london-street.csv").open(encoding="utf-8") as f:
        return sum(1 for row in csv.DictReader(f) if row["Location"] == f"On or near {place}")


# --- the pages ------------------------------------------------------------------------------------

def test_the_allocation_page_makes_it_once_and_names_a_bad_choice_beside_its_field(
        world: World) -> None:
    operation, refs = operation_of_hotspots(world, "Nightlight pages", list(PLACES)[:6])
    url = f"/operations/{operation}/allocation"
    with world.site.client(world.officer) as officer:
        page = officer.get(url).text
        assert "have not been randomised" in page and "Randomise the hotspots</button>" not in page
    with world.site.client(world.analyst) as analyst:
        form = analyst.get(url).text
        assert all(f'value="{ref}" checked' in form for ref in refs)
        assert "It is done once" in form
        few = analyst.post(url, data={"csrf_token": world.analyst.csrf, "cases": refs[:2],
                                      "method": "pairs"})
        assert few.status_code == 422
        assert 'id="cases-error"' in few.text and "Choose at least 4 hotspots" in few.text
        assert f'value="{refs[0]}" checked' in few.text and f'value="{refs[3]}" checked' \
            not in few.text  # the choice is kept
        bad = analyst.post(url, data={"csrf_token": world.analyst.csrf, "cases": refs,
                                      "method": "blocks", "block_size": "40"})
        assert bad.status_code == 422 and 'id="block_size-error"' in bad.text
        made = analyst.post(url, data={"csrf_token": world.analyst.csrf, "cases": refs,
                                       "method": "blocks", "block_size": "3", "seed": "9"})
        assert made.status_code == 303 and made.headers["location"].endswith("?flash=made")
        shown = analyst.get(made.headers["location"]).text
        assert "This allocation is final." in shown and "Blocks of 3" in shown
        assert "Maryland scale level 5" in shown and "Seed <code" in shown
        groups = {h["ref"]: h["group"] for h in world.send(
            "GET", f"/api/v1/operations/{operation}/allocation")["hotspots"]}
        for ref, group in groups.items():
            assert f'data-ref="{ref}" data-group="{group}"' in shown
        again = analyst.post(url, data={"csrf_token": world.analyst.csrf, "cases": refs})
        assert again.status_code == 303 and again.headers["location"].endswith("flash=taken")
        evaluation = analyst.get(f"/operations/{operation}/evaluation").text
        assert "Randomised: patrolled against comparison hotspots" in evaluation
        assert "Maryland scale level 5" in evaluation
        detail = analyst.get(f"/operations/{operation}").text
        assert "Randomised hotspots: patrolled against comparison" in detail
    read = world.send("GET", f"/api/v1/operations/{operation}/allocation")
    comparison = next(h["ref"] for h in read["hotspots"] if h["group"] == "comparison")
    with world.site.client(world.officer) as officer:
        case_page = officer.get(f"/cases/{comparison}").text
        assert "Comparison hotspot" in case_page and "no extra patrols" in case_page
