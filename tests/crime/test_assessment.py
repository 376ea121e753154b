"""Impact assessment on real City of London data: the counts per area and period checked
against counts made here from the files (csv, pyproj, shapely), every figure against
app.sara.impact, snapshots that later imports never change, and the operation's evaluation
with its pooled effect.

The module has a database of its own: street crime of January to June 2024."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.auth.context import Actor
from app.auth.roles import Role
from app.crime.geometry import area_shape, buffer_ring
from app.crime.importer import expand, import_sources
from app.sara import impact
from tests.conftest import Person, create_person, needs_data
from tests.crime.support import (
    CITY,
    LIVERPOOL_STREET,
    THEFT,
    Site,
    api_call,
    count_in,
    load_boundaries,
    load_months,
    site,
)

pytestmark = needs_data

MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
ST_PAULS = {"name": "St Paul's and Cheapside",
            "geometry": {"type": "Point", "coordinates": [-0.0984, 51.5138]}, "radius_m": 300}
PERIODS = {"before_first": "2024-01", "before_last": "2024-03", "after_first": "2024-04",
           "after_last": "2024-06"}
THEFTS = {THEFT, "Other theft"}


@dataclass
class World:
    site: Site
    sergeant: Person
    analyst: Person
    evaluator: Person
    client: TestClient

    def send(self, method: str, url: str, person: Person | None = None,
             expected: int = 200, **kwargs: Any) -> Any:
        return api_call(self.client, person or self.sergeant, method, url, expected, **kwargs)


@pytest.fixture(scope="module")
def world(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with site(db_url, tmp_path_factory, "assessment") as crime_site:
        with crime_site.factory() as db:
            sergeant = create_person(db, "sgt.byrne", Role.SUPERVISOR, CITY, "Sgt Niamh Byrne")
            analyst = create_person(db, "analyst.lee", Role.ANALYST, None, "Grace Lee")
            evaluator = create_person(db, "eval.morgan", Role.EVALUATOR, None, "Rhys Morgan")
        load_boundaries(crime_site.factory, (CITY,), (CITY,))
        load_months(crime_site.factory, MONTHS)
        with crime_site.client() as client:
            yield World(crime_site, sergeant, analyst, evaluator, client)


def hotspot(world: World, **overrides: Any) -> str:
    """A City case with a target, a 200 m buffer and a control area."""
    body = {"title": "Phones and bags taken around Liverpool Street",
            "problem_statement": "Thefts from commuters on weekday evenings.",
            "category": "theft-from-the-person", "borough": CITY,
            "target_area": LIVERPOOL_STREET} | overrides
    case = world.send("POST", "/api/v1/cases", json=body, expected=201)
    world.send("PATCH", f"/api/v1/cases/{case['ref']}", json={
        "version": case["version"], "buffer_width_m": 200, "control_area": ST_PAULS,
        "crime_types": sorted(THEFTS_SLUGS)})
    return case["ref"]


THEFTS_SLUGS = {"theft-from-the-person", "other-theft"}


def expected_counts(months: list[str]) -> dict[str, int]:
    target = area_shape(LIVERPOOL_STREET["geometry"], LIVERPOOL_STREET["radius_m"])
    areas = {"target": target, "buffer": buffer_ring(target, 200),
             "control": area_shape(ST_PAULS["geometry"], ST_PAULS["radius_m"])}
    return {name: sum(count_in(shape, months, THEFTS).values())
            for name, shape in areas.items()}


def test_an_assessment_counts_each_area_and_period_and_works_out_every_figure(
        world: World) -> None:
    ref = hotspot(world)
    saved = world.send("POST", f"/api/v1/cases/{ref}/assessments", json=PERIODS, expected=201)
    before, after = expected_counts(MONTHS[:3]), expected_counts(MONTHS[3:])
    for name in ("target", "buffer", "control"):
        assert (saved[name]["before"], saved[name]["after"]) == (before[name], after[name]), name
    assert saved["target"]["before"] > 0 and saved["control"]["after"] > 0  # a real test
    a0, a1 = before["target"], after["target"]
    b0, b1 = before["buffer"], after["buffer"]
    c0, c1 = before["control"], after["control"]
    ratio = impact.odds_ratio(a0, a1, c0, c1)
    assert saved["odds_ratio"]["value"] == pytest.approx(ratio.value, abs=1e-9)
    assert saved["odds_ratio"]["low"] == pytest.approx(ratio.low, abs=1e-9)
    assert saved["odds_ratio"]["high"] == pytest.approx(ratio.high, abs=1e-9)
    assert saved["odds_ratio"]["value"] == pytest.approx((a0 * c1) / (a1 * c0), abs=1e-9)
    moved = impact.displacement(a0, a1, b0, b1, c0, c1)
    assert saved["displacement"]["success_measure"] == pytest.approx(a1 / c1 - a0 / c0)
    assert saved["displacement"]["buffer_displacement_measure"] == pytest.approx(
        b1 / c1 - b0 / c0)
    assert saved["displacement"]["wdq"] == (pytest.approx(moved.wdq) if moved.wdq is not None
                                            else None)
    assert saved["total_net_effect"]["value"] == pytest.approx(
        impact.total_net_effect(a0, a1, b0, b1, c0, c1))
    assert saved["odds_ratio"]["reading"] == impact.read_odds_ratio(ratio)
    assert saved["months"] == 3 and saved["number"] == 1
    assert saved["monthly"]["months"] == MONTHS
    assert sum(saved["monthly"]["target"][:3]) == a0 and sum(saved["monthly"]["control"]) \
        == c0 + c1
    assert [b["source"] for b in saved["batches"]] == [
        f"{m}-city-of-london-street.csv" for m in MONTHS]
    assert saved["areas"]["target"]["geometry"] == LIVERPOOL_STREET["geometry"]
    assert saved["changes_since_previous"] == []
    timeline = world.send("GET", f"/api/v1/cases/{ref}/timeline")
    assert timeline[0]["summary"].startswith("Saved impact assessment 1 (Jan 2024 to Mar 2024 "
                                             "against Apr 2024 to Jun 2024)")


def test_the_months_of_real_data_give_the_dispersion_and_the_count_model(
        world: World) -> None:
    """Over six real City of London months: the rate ratio, the months' dispersion (worked
    here in closed form from counts made from the files), the count model's interval that
    carries it, the odds ratio's interval inflated by it, and the design's level."""
    ref = hotspot(world, title="Thefts around Liverpool Street, months")
    saved = world.send("POST", f"/api/v1/cases/{ref}/assessments", json=PERIODS, expected=201)
    target = area_shape(LIVERPOOL_STREET["geometry"], LIVERPOOL_STREET["radius_m"])
    control = area_shape(ST_PAULS["geometry"], ST_PAULS["radius_m"])
    monthly = {name: [sum(count_in(shape, [m], THEFTS).values()) for m in MONTHS]
               for name, shape in (("target", target), ("control", control))}
    assert saved["monthly"]["target"] == monthly["target"]
    assert saved["monthly"]["control"] == monthly["control"]
    groups = [monthly["target"][:3], monthly["target"][3:], monthly["control"][:3],
              monthly["control"][3:]]
    totals = [sum(g) for g in groups]
    pearson = sum((y - sum(g) / 3) ** 2 / (sum(g) / 3) for g in groups for y in g)
    dispersion = pearson / (12 - 4)
    assert saved["model"]["dispersion"] == pytest.approx(dispersion, rel=1e-9)
    rirr = (totals[1] / totals[0]) / (totals[3] / totals[2])
    assert saved["rirr"]["value"] == pytest.approx(rirr, rel=1e-12)
    assert saved["rirr"]["value"] == pytest.approx(1 / saved["odds_ratio"]["value"], rel=1e-12)
    assert saved["rirr"]["percent_change"] == pytest.approx((rirr - 1) * 100, rel=1e-12)
    if saved["model"]["method"] == "quasi-Poisson":
        assert saved["model"]["rirr"] == pytest.approx(rirr, rel=1e-9)
        half = 1.96 * math.sqrt(sum(1 / t for t in totals) * max(dispersion, 1))
        assert (saved["model"]["low"], saved["model"]["high"]) == pytest.approx(
            (rirr * math.exp(-half), rirr * math.exp(half)), rel=1e-9)
    log, variance = saved["odds_ratio"]["log"], saved["odds_ratio"]["variance"]
    half = 1.96 * math.sqrt(variance * max(dispersion, 1))
    assert (saved["odds_ratio"]["low_adjusted"], saved["odds_ratio"]["high_adjusted"]) == \
        pytest.approx((math.exp(log - half), math.exp(log + half)), rel=1e-12)
    assert (saved["design"], saved["sms_level"]) == (
        "Before and after in the target area against a comparable control area", 3)
    codes = {w["code"] for w in saved["warnings"]}
    assert ("overdispersed" in codes) == (dispersion > impact.OVERDISPERSED)
    assert ("small_counts" in codes) == (min(totals) < impact.SMALL_CELL)
    assert saved["harm"] is None


def test_the_gate_is_met_by_a_saved_assessment_or_a_stated_reason(world: World) -> None:
    ref = hotspot(world)
    gate = world.send("GET", f"/api/v1/cases/{ref}/gate")
    assert gate["stage"] == "scanning"
    case = world.send("GET", f"/api/v1/cases/{ref}")
    for stage in ("analysis", "response", "assessment"):
        world.send("POST", f"/api/v1/cases/{ref}/transitions",
                   json={"to": stage, "reason": "Moving on for the test", "override": True})
    codes = [u["code"] for u in world.send("GET", f"/api/v1/cases/{ref}/gate")["unmet"]]
    assert "impact_evaluation" in codes
    world.send("POST", f"/api/v1/cases/{ref}/assessments", json=PERIODS, expected=201)
    codes = [u["code"] for u in world.send("GET", f"/api/v1/cases/{ref}/gate")["unmet"]]
    assert "impact_evaluation" not in codes
    other = hotspot(world, title="Another hotspot")
    for stage in ("analysis", "response", "assessment"):
        world.send("POST", f"/api/v1/cases/{other}/transitions",
                   json={"to": stage, "reason": "Moving on for the test", "override": True})
    case = world.send("GET", f"/api/v1/cases/{other}")
    world.send("PATCH", f"/api/v1/cases/{other}", json={
        "version": case["version"], "impact_none_reason": "No comparable control exists."})
    codes = [u["code"] for u in world.send("GET", f"/api/v1/cases/{other}/gate")["unmet"]]
    assert "impact_evaluation" not in codes


def synthetic_street_file(folder: Path, month: str, rows: int) -> Path:
    """A police.uk-shaped file of extra thefts at Liverpool Street (a late correction to a
    month already imported, as if the force republished it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["Crime ID", "Month", "Reported by", "Falls within", "Longitude",
                     "Latitude", "Location", "LSOA code", "LSOA name", "Crime type",
                     "Last outcome category", "Context"])
    for number in range(rows):
        writer.writerow([f"{'ab' * 30}{number:04d}", month, "City of London Police",
                         "City of London Police", "-0.082200", "51.517600",
                         "On or near Liverpool Street", "E01032739", "City of London 001F",
                         THEFT, "Under investigation", ""])
    path = folder / f"{month}-city-of-london-street-republished.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def test_a_later_import_leaves_a_saved_result_unchanged_and_recomputing_shows_the_change(
        world: World, tmp_path: Path) -> None:
    ref = hotspot(world, title="Snapshot stability")
    first = world.send("POST", f"/api/v1/cases/{ref}/assessments", json=PERIODS, expected=201)
    reports = import_sources(world.site.factory, Actor.cli(), expand(
        [synthetic_street_file(tmp_path, "2024-02", 4)]))
    assert reports[0].status == "done" and reports[0].added == 4

    again = world.send("GET", f"/api/v1/cases/{ref}/assessments/1")
    assert json.dumps(again, sort_keys=True) == json.dumps(first, sort_keys=True)

    second = world.send("POST", f"/api/v1/cases/{ref}/assessments", json=PERIODS, expected=201)
    assert second["number"] == 2
    assert second["target"]["before"] == first["target"]["before"] + 4
    changes = second["changes_since_previous"]
    assert f"Target area, before: {first['target']['before']} became " \
           f"{first['target']['before'] + 4}." in changes
    assert any(c.startswith("Data counted now and not before: 2024-02-city-of-london-street-"
                            "republished.csv") for c in changes)
    assert any(c.startswith("Odds ratio: ") for c in changes)
    listed = world.send("GET", f"/api/v1/cases/{ref}/assessments")
    assert [s["number"] for s in listed] == [2, 1]


def test_bad_periods_are_refused_with_the_field(world: World) -> None:
    ref = hotspot(world, title="Bad periods")
    url = f"/api/v1/cases/{ref}/assessments"
    for body, field, words in (
            (PERIODS | {"after_last": "2024-05"}, "after_last", "equal length"),
            (PERIODS | {"after_first": "2024-03"}, "after_first", "start after the before"),
            (PERIODS | {"before_last": "2023-12"}, "before_last", "end after it starts"),
            (PERIODS | {"after_first": "2024-07", "after_last": "2024-09"}, "after_last",
             "No street-level crime of City of London Police is imported for Jul 2024"),
            (PERIODS | {"before_first": "2024-13"}, "before_first", "is not a month")):
        response = world.send("POST", url, json=body, expected=422)
        messages = {e["field"]: e["message"] for e in response["errors"]}
        assert words in messages[field], (body, messages)
    assert world.send("GET", url) == []


def test_without_a_control_area_the_figures_say_why_they_are_missing(world: World) -> None:
    case = world.send("POST", "/api/v1/cases", expected=201, json={
        "title": "No control yet", "category": "theft-from-the-person", "borough": CITY,
        "target_area": LIVERPOOL_STREET})
    saved = world.send("POST", f"/api/v1/cases/{case['ref']}/assessments", json=PERIODS,
                       expected=201)
    assert saved["control"] is None and saved["buffer"] is None
    assert saved["odds_ratio"]["value"] is None
    assert saved["odds_ratio"]["reading"] == "Not defined: no control area was chosen."
    assert "needs a buffer ring and a control area" in saved["total_net_effect"]["reading"]
    proposal = world.send("GET", f"/api/v1/cases/{case['ref']}/assessments/proposal")
    assert any("Choose a control area" in p for p in proposal["problems"])


def test_the_proposal_splits_at_the_response_start(world: World) -> None:
    ref = hotspot(world, title="Proposal")
    proposal = world.send("GET", f"/api/v1/cases/{ref}/assessments/proposal")
    assert proposal["response_start"] is None  # not in Response: the latest months
    assert (proposal["before_first"], proposal["before_last"], proposal["after_first"],
            proposal["after_last"]) == ("2024-01", "2024-03", "2024-04", "2024-06")
    assert proposal["data_first"] == "2024-01" and proposal["data_last"] == "2024-06"
    assert proposal["problems"] == []


def test_who_may_run_and_read_assessments(world: World) -> None:
    ref = hotspot(world, title="Permissions")
    url = f"/api/v1/cases/{ref}/assessments"
    world.send("POST", url, world.evaluator, json=PERIODS, expected=403)
    world.send("POST", url, world.analyst, json=PERIODS, expected=201)
    assert len(world.send("GET", url, world.evaluator)) == 1


def test_the_operation_evaluation_pools_its_hotspots(world: World) -> None:
    operation = world.send("POST", "/api/v1/operations", world.analyst, expected=201, json={
        "name": "Sentinel", "start_date": "2024-04-01", "force": "city-of-london"})
    refs = [hotspot(world, title=f"Hotspot {n}") for n in range(2)]
    unassessed = hotspot(world, title="Not assessed yet")
    for ref in [*refs, unassessed]:
        case = world.send("GET", f"/api/v1/cases/{ref}")
        world.send("PATCH", f"/api/v1/cases/{ref}", world.analyst,
                   json={"version": case["version"], "operation": operation["id"]})
    saved = [world.send("POST", f"/api/v1/cases/{refs[0]}/assessments", json=PERIODS,
                        expected=201),
             world.send("POST", f"/api/v1/cases/{refs[1]}/assessments", json=PERIODS | {
                 "before_first": "2024-02", "after_last": "2024-05",
                 "after_first": "2024-04", "before_last": "2024-03"}, expected=201)]
    result = world.send("GET", f"/api/v1/operations/{operation['id']}/evaluation",
                        world.evaluator)
    rows = {row["ref"]: row for row in result["rows"]}
    assert set(rows) == {*refs, unassessed}
    assert rows[unassessed]["snapshot"] is None
    assert rows[unassessed]["reading"] == "No impact assessment saved yet."
    for ref, snapshot in zip(refs, saved, strict=True):
        assert rows[ref]["odds_ratio"] == snapshot["odds_ratio"]["value"]
        assert rows[ref]["target_before"] == snapshot["target"]["before"]
    expected = impact.pooled_effect([(s["odds_ratio"]["log"], s["odds_ratio"]["variance"])
                                     for s in saved])
    pooled = result["pooled"]
    assert pooled["hotspots"] == 2
    weights = [1 / s["odds_ratio"]["variance"] for s in saved]
    mean = sum(w * s["odds_ratio"]["log"] for w, s in zip(weights, saved, strict=True)) \
        / sum(weights)
    assert pooled["log"] == pytest.approx(mean, abs=1e-9)
    assert pooled["odds_ratio"] == pytest.approx(math.exp(mean), abs=1e-9)
    assert pooled["low"] == pytest.approx(expected.low, abs=1e-9)
    assert pooled["reading"] == impact.read_pooled(expected)


# --- pages -------------------------------------------------------------------------------------

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


def page_form(world: World, **fields: Any) -> dict[str, Any]:
    return {"csrf_token": world.sergeant.csrf, **fields}


def test_the_page_works_out_saves_and_shows_the_assessment(world: World) -> None:
    ref = hotspot(world, title="Assessed from the page")
    with world.site.client(world.sergeant) as pages:
        section = pages.get(f"/cases/{ref}?section=impact", headers=HTMX)
        assert section.status_code == 200
        assert 'name="before_first"' in section.text and "Work out the impact" in section.text
        bad = pages.post(f"/cases/{ref}/assessments", headers=HTMX, data=page_form(
            world, **(PERIODS | {"after_last": "2024-05"}), categories=sorted(THEFTS_SLUGS)))
        assert bad.status_code == 422
        assert "must be of equal length" in bad.text
        assert '<option value="2024-05" selected>' in bad.text  # the choice kept
        saved = pages.post(f"/cases/{ref}/assessments", data=page_form(
            world, **PERIODS, categories=sorted(THEFTS_SLUGS)))
        assert saved.status_code == 303
        assert saved.headers["location"] == (
            f"/cases/{ref}?section=impact&flash=assessed#section-impact")
        page = pages.get(f"/cases/{ref}?section=impact").text
    api = world.send("GET", f"/api/v1/cases/{ref}/assessments/1")
    assert f'data-count="target-before">{api["target"]["before"]}<' in page
    assert f'data-count="control-after">{api["control"]["after"]}<' in page
    assert f'data-figure="odds_ratio">{api["odds_ratio"]["value"]:,.2f}<' in page
    assert api["odds_ratio"]["reading"] in page.replace("&#39;", "'")
    assert '<svg id="impact-chart-1"' in page and "app-chart__line--control" in page
    assert "<script" not in page.split('<svg id="impact-chart-1"')[1].split("</svg>")[0]


def test_the_record_is_added_to_the_process_evaluation(world: World) -> None:
    ref = hotspot(world, title="Process record")
    case = world.send("GET", f"/api/v1/cases/{ref}")
    with world.site.client(world.sergeant) as pages:
        response = pages.post(f"/cases/{ref}/process-evaluation", data=page_form(
            world, version=str(case["version"])))
        assert response.status_code == 303
    case = world.send("GET", f"/api/v1/cases/{ref}")
    assert case["process_evaluation"].startswith("From the record, ")
    assert "0 actions planned, 0 done, 0 overdue" in case["process_evaluation"]
    process = world.send("GET", f"/api/v1/cases/{ref}/process")
    assert process["text"] == case["process_evaluation"]


def test_the_operation_evaluation_page_and_csv_match_the_api(world: World) -> None:
    operation = world.send("POST", "/api/v1/operations", world.analyst, expected=201, json={
        "name": "Evaluated", "start_date": "2024-04-01", "force": "city-of-london"})
    ref = hotspot(world, title="Evaluated hotspot")
    case = world.send("GET", f"/api/v1/cases/{ref}")
    world.send("PATCH", f"/api/v1/cases/{ref}", world.analyst,
               json={"version": case["version"], "operation": operation["id"]})
    world.send("POST", f"/api/v1/cases/{ref}/assessments", json=PERIODS, expected=201)
    result = world.send("GET", f"/api/v1/operations/{operation['id']}/evaluation",
                        world.evaluator)
    row = result["rows"][0]
    with world.site.client(world.evaluator) as pages:
        page = pages.get(f"/operations/{operation['id']}/evaluation").text
        download = pages.get(f"/operations/{operation['id']}/evaluation.csv")
    assert f'data-ref="{ref}"' in page and f"{row['odds_ratio']:,.2f}" in page
    assert f"Pooled effect: {result['pooled']['odds_ratio']:,.2f}" in page
    assert download.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(download.text)))
    assert lines[0][:3] == ["ref", "title", "borough"]
    by_ref = {line[0]: dict(zip(lines[0], line, strict=True)) for line in lines[1:]}
    assert float(by_ref[ref]["odds_ratio"]) == row["odds_ratio"]  # full precision
    assert int(by_ref[ref]["target_before"]) == row["target_before"]
    assert float(by_ref["pooled"]["odds_ratio"]) == result["pooled"]["odds_ratio"]
    for line in lines:
        assert not any(cell in ("inf", "nan", "-inf") for cell in line)


def test_areas_without_crime_give_undefined_figures_and_never_infinity(world: World) -> None:
    """A target on the river with a control beside it: no crime anywhere, every ratio
    undefined, and nothing in the JSON, the page or the CSV reads as infinity or NaN."""
    thames = {"name": "Mid-river by Southwark Bridge",
              "geometry": {"type": "Point", "coordinates": [-0.0950, 51.5085]}, "radius_m": 10}
    quiet = {"name": "Also mid-river", "geometry": {"type": "Point",
                                                     "coordinates": [-0.0990, 51.5082]},
             "radius_m": 10}
    case = world.send("POST", "/api/v1/cases", expected=201, json={
        "title": "Nothing happens here", "category": "bicycle-theft", "borough": CITY,
        "target_area": thames})
    world.send("PATCH", f"/api/v1/cases/{case['ref']}", json={
        "version": case["version"], "buffer_width_m": 20, "control_area": quiet})
    response = world.client.post(f"/api/v1/cases/{case['ref']}/assessments", json=PERIODS,
                                 headers=world.sergeant.api)
    assert response.status_code == 201
    saved = response.json()
    assert (saved["target"]["before"], saved["target"]["after"]) == (0, 0)
    assert saved["target"]["percent_change"] is None
    assert saved["odds_ratio"]["value"] is None and saved["displacement"]["wdq"] is None
    assert saved["total_net_effect"]["value"] is None
    assert "Infinity" not in response.text and "NaN" not in response.text
    with world.site.client(world.sergeant) as pages:
        page = pages.get(f"/cases/{case['ref']}?section=impact").text
    figures = page.split('id="impact-figures"')[1].split('id="impact-form"')[0]
    assert "not defined" in figures
    assert not re.search(r"\b(inf|infinity|nan)\b", figures, re.IGNORECASE)
