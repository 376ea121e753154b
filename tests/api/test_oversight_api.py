"""Operations, their figures, the statistics endpoint and the work queue over the JSON API.
Figures are checked against what the test itself recorded, across cases, boroughs and
periods."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.auth.roles import Role
from app.cases.models import Case
from app.clock import today
from app.db import utcnow
from tests.api.test_cases_api import create, patch
from tests.conftest import CAMDEN, WESTMINSTER, Cast, Person
from tests.operation_world import build_nightingale, join, new_operation


def summary(client: TestClient, person: Person, operation: dict[str, Any] | None = None,
            **params: Any) -> dict[str, Any]:
    url = f"/api/v1/operations/{operation['id']}/summary" if operation else "/api/v1/stats"
    response = client.get(url, params=params, headers=person.api)
    assert response.status_code == 200, response.text
    return response.json()


# --- operations --------------------------------------------------------------------------------

def test_supervisors_and_analysts_set_up_operations(client: TestClient, cast: Cast) -> None:
    operation = new_operation(client, cast.analyst)
    assert operation["cases"] == 0 and operation["version"] == 1
    for person in (cast.officer, cast.evaluator):
        refused = client.post("/api/v1/operations", headers=person.api,
                              json={"name": "Other", "start_date": "2026-01-01"})
        assert refused.status_code == 403
    twice = client.post("/api/v1/operations", headers=cast.supervisor.api,
                        json={"name": "nightingale", "start_date": "2026-01-01"})
    assert twice.status_code == 422
    assert twice.json()["errors"][0]["message"] == \
        "There is already an operation called Nightingale."
    backwards = client.post("/api/v1/operations", headers=cast.supervisor.api, json={
        "name": "Backwards", "start_date": "2026-05-01", "end_date": "2026-04-01"})
    assert backwards.status_code == 422
    # The analyst's operation is the force's: a Westminster supervisor reads it, changes it not.
    refused = client.patch(f"/api/v1/operations/{operation['id']}", headers=cast.supervisor.api,
                           json={"version": 1, "description": "Hotspots worked locally"})
    assert refused.status_code == 403
    changed = client.patch(f"/api/v1/operations/{operation['id']}", headers=cast.analyst.api,
                           json={"version": 1, "description": "Hotspots worked locally"})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    stale = client.patch(f"/api/v1/operations/{operation['id']}", headers=cast.analyst.api,
                         json={"version": 1, "unit": "Late"})
    assert stale.status_code == 409


def test_a_case_joins_an_operation_through_the_case_update(client: TestClient,
                                                           cast: Cast) -> None:
    operation = new_operation(client, cast.supervisor)
    ref = create(client, cast.officer)["ref"]
    current = client.get(f"/api/v1/cases/{ref}", headers=cast.officer.api).json()
    refused = client.patch(f"/api/v1/cases/{ref}", headers=cast.officer.api,
                           json={"version": current["version"], "operation": operation["id"]})
    assert refused.status_code == 403
    join(client, cast.analyst, ref, operation)  # chosen centrally
    case = client.get(f"/api/v1/cases/{ref}", headers=cast.officer.api).json()
    assert case["operation"] == operation["id"] and case["operation_name"] == "Nightingale"
    listed = client.get(f"/api/v1/cases?operation={operation['id']}",
                        headers=cast.officer.api).json()
    assert [c["ref"] for c in listed["items"]] == [ref]
    unknown = client.patch(f"/api/v1/cases/{ref}", headers=cast.supervisor.api,
                           json={"version": case["version"], "operation": 999999})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "operation"
    timeline = client.get(f"/api/v1/cases/{ref}/timeline", headers=cast.officer.api).json()
    assert timeline[0]["summary"] == "Changed operation (joined Nightingale)"


# --- figures -----------------------------------------------------------------------------------

@pytest.fixture
def nightingale(client: TestClient, cast: Cast, db: Session) -> dict[str, Any]:
    return build_nightingale(client, cast, db)


def test_operation_totals_across_its_cases_and_boroughs(client: TestClient, cast: Cast,
                                                        nightingale: dict[str, Any]) -> None:
    figures = summary(client, cast.analyst, nightingale["operation"])
    assert figures["operation"] == {"id": nightingale["operation"]["id"], "name": "Nightingale"}
    assert figures["scope"] == "all"
    assert figures["period"]["first"] == nightingale["operation"]["start_date"]
    assert figures["period"]["last"] == today().isoformat()
    assert figures["cases"]["total"] == 3 and figures["cases"]["by_stage"]["scanning"] == 3
    assert [(b["name"], b["total"]) for b in figures["cases"]["by_borough"]] == [
        ("Camden", 1), ("Westminster", 2)]
    totals = figures["outputs"]["totals"]
    assert (totals["arrests"], totals["knives"], totals["firearms"], totals["stop_searches"],
            totals["drug_seizures"]) == (4, 3, 1, 4, 3)  # not the 5 arrests outside it
    assert figures["outputs"]["total"] == 15
    months = {m["month"]: m for m in figures["outputs"]["by_month"]}
    assert sum(m["counts"]["arrests"] for m in months.values()) == 4
    assert months[nightingale["day"][:7]]["counts"]["knives"] == 3
    patrols = figures["patrols"]
    assert (patrols["visits"], patrols["delivered_minutes"], patrols["delivered_hours"]) == \
        (3, 48, 0.8)
    assert (patrols["in_band"], patrols["shorter"], patrols["longer"]) == (1, 1, 1)
    days = figures["period"]["days"]
    planned = (70 + 140) * days / 7
    assert patrols["planned_minutes"] == round(planned)
    assert patrols["planned_hours"] == round(planned / 60, 1)
    assert patrols["percent_of_plan"] == round(100 * 48 / planned)
    assert figures["concerns"] == {"received": 2, "answered": 1, "unanswered": 1,
                                   "awaiting_triage": None}


def test_a_borough_supervisor_sees_only_their_borough_in_the_totals(
        client: TestClient, cast: Cast, nightingale: dict[str, Any]) -> None:
    figures = summary(client, cast.supervisor, nightingale["operation"])
    assert figures["scope"] == WESTMINSTER and figures["cases"]["total"] == 2
    assert figures["outputs"]["totals"]["knives"] == 1  # Camden's two knives are not theirs
    assert [b["borough"] for b in figures["cases"]["by_borough"]] == [WESTMINSTER]


def test_figures_follow_the_borough_stage_and_period_filters(
        client: TestClient, cast: Cast, nightingale: dict[str, Any]) -> None:
    camden = summary(client, cast.analyst, nightingale["operation"], borough=CAMDEN)
    assert camden["cases"]["total"] == 1 and camden["outputs"]["total"] == 3
    assert camden["patrols"]["delivered_minutes"] == 6
    recent = summary(client, cast.analyst, nightingale["operation"],
                     **{"from": nightingale["day"], "to": nightingale["day"]})
    assert recent["period"]["days"] == 1
    assert recent["outputs"]["totals"]["arrests"] == 3  # not the early one
    assert recent["outputs"]["totals"]["stop_searches"] == 0
    assert recent["patrols"]["visits"] == 2  # the patrols of that day only
    analysis = summary(client, cast.analyst, nightingale["operation"], stage="analysis")
    assert analysis["cases"]["total"] == 0 and analysis["outputs"]["total"] == 0
    everything = summary(client, cast.analyst)  # /stats over every case
    assert everything["operation"] is None
    assert everything["outputs"]["totals"]["arrests"] == 9
    assert everything["concerns"]["awaiting_triage"] == 0


def test_a_correction_changes_the_totals(client: TestClient, cast: Cast,
                                         nightingale: dict[str, Any]) -> None:
    outputs = client.get(f"/api/v1/cases/{nightingale['market']}/outputs",
                         headers=cast.officer.api).json()
    knives = next(e for e in outputs["entries"] if e["kind"] == "knives")
    response = client.post(
        f"/api/v1/cases/{nightingale['market']}/outputs/{knives['id']}/corrections",
        json={"count": 0, "reason": "It was a screwdriver"}, headers=cast.officer.api)
    assert response.status_code == 201
    figures = summary(client, cast.analyst, nightingale["operation"])
    assert figures["outputs"]["totals"]["knives"] == 2


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2026-05-01", "to": "2026-04-01"}, "to"),
    ({"from": "1999-12-31"}, "from"),
    ({"to": "2101-01-01"}, "to"),
    ({"borough": "E09000099"}, "borough"),
    ({"borough": "Westminster"}, "borough"),
    ({"from": "yesterday"}, "from"),
])
def test_bad_filters_are_refused_with_the_field(client: TestClient, cast: Cast,
                                                params: dict[str, str], field: str) -> None:
    response = client.get("/api/v1/stats", params=params, headers=cast.analyst.api)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_an_unknown_operation_is_404(client: TestClient, cast: Cast) -> None:
    response = client.get("/api/v1/operations/424242/summary", headers=cast.analyst.api)
    assert response.status_code == 404


def test_a_closed_case_plans_no_patrols_after_it_closed(client: TestClient, cast: Cast,
                                                        db: Session) -> None:
    ref = create(client, cast.officer)["ref"]
    patch(client, cast.officer, ref, planned_patrol_minutes=70)
    db.execute(update(Case).where(Case.ref == ref).values(
        created_at=utcnow() - timedelta(days=30)))
    db.commit()
    for stage in ("analysis", "response", "assessment", "closed"):
        client.post(f"/api/v1/cases/{ref}/transitions", headers=cast.supervisor.api,
                    json={"to": stage, "reason": "Closing for the test", "override": True})
    db.execute(update(Case).where(Case.ref == ref).values(
        stage_entered_at=utcnow() - timedelta(days=10)))
    db.commit()
    first = (today() - timedelta(days=20)).isoformat()
    patrols = summary(client, cast.officer, **{"from": first})["patrols"]
    assert patrols["planned_minutes"] == 110  # 11 days open in the period, at 10 a day


def test_no_plan_and_no_patrols_give_no_percentage(client: TestClient, cast: Cast) -> None:
    create(client, cast.officer)
    patrols = summary(client, cast.officer)["patrols"]
    assert patrols["planned_minutes"] == 0 and patrols["percent_of_plan"] is None


# --- the work queue ----------------------------------------------------------------------------

def test_the_work_queue_lists_what_needs_attention(
        client: TestClient, cast: Cast, db: Session,
        make_person: Callable[..., Person]) -> None:
    quiet = create(client, cast.officer, title="Gone quiet")["ref"]
    busy = create(client, cast.officer, title="Busy")["ref"]
    action = client.post(f"/api/v1/cases/{busy}/actions", headers=cast.officer.api, json={
        "title": "Fix the lights", "owner": "Council", "tactic": "natural-surveillance",
        "due_date": (today() - timedelta(days=5)).isoformat()}).json()
    db.execute(update(Case).where(Case.ref == quiet).values(
        last_activity_at=utcnow() - timedelta(days=40),
        stage_entered_at=utcnow() - timedelta(days=100)))
    db.commit()
    moved = client.post(f"/api/v1/cases/{busy}/transitions", headers=cast.supervisor.api,
                        json={"to": "analysis", "reason": "Urgent: start the analysis now",
                              "override": True})
    assert moved.status_code == 200
    create(client, cast.camden_officer, borough=CAMDEN, ward=None)

    # The other Westminster sergeant reviews it: nobody reviews their own override.
    second = make_person("sgt.adeyemi", Role.SUPERVISOR, WESTMINSTER, "Sgt Funmi Adeyemi")
    own = client.get("/api/v1/queue", headers=cast.supervisor.api).json()
    assert own["overrides_to_review"]["total"] == 0 and own["own_overrides_waiting"] == 1
    queue = client.get("/api/v1/queue", headers=second.api).json()
    assert queue["own_overrides_waiting"] == 0
    assert queue["borough"] == WESTMINSTER
    assert [(a["ref"], a["action_id"], a["days_overdue"])
            for a in queue["overdue_actions"]["items"]] == [(busy, action["id"], 5)]
    assert [c["ref"] for c in queue["inactive_cases"]["items"]] == [quiet]
    assert queue["inactive_cases"]["items"][0]["days"] == 40
    assert [c["ref"] for c in queue["stuck_cases"]["items"]] == [quiet]
    overrides = queue["overrides_to_review"]["items"]
    assert [(o["ref"], o["reason"]) for o in overrides] == [
        (busy, "Urgent: start the analysis now")]
    assert overrides[0]["unmet"] and overrides[0]["by"] == "Sgt Daniel Okafor"
    shorter = client.get("/api/v1/queue?stuck_days=200", headers=cast.supervisor.api).json()
    assert shorter["stuck_cases"]["total"] == 0

    event = overrides[0]["event_id"]
    assert client.post(f"/api/v1/overrides/{event}/review", json={"note": "Fine"},
                       headers=cast.officer.api).status_code == 403
    assert client.post(f"/api/v1/overrides/{event}/review", json={},
                       headers=cast.camden_officer.api).status_code == 404
    mine = client.post(f"/api/v1/overrides/{event}/review", json={"note": "Fine by me"},
                       headers=cast.supervisor.api)
    assert mine.status_code == 403
    assert mine.json()["message"] == ("You overrode this gate yourself: another supervisor of "
                                      "Westminster reviews it.")
    reviewed = client.post(f"/api/v1/overrides/{event}/review",
                           json={"note": "Agreed: the analyst had the data ready."},
                           headers=second.api)
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["ref"] == busy and reviewed.json()["reviewed_by"] == "sgt.adeyemi"
    again = client.post(f"/api/v1/overrides/{event}/review", json={}, headers=second.api)
    assert again.status_code == 409
    after = client.get("/api/v1/queue", headers=second.api).json()
    assert after["overrides_to_review"]["total"] == 0
    # The case says which stage was left with its gate unmet, and what it lacked then.
    read = client.get(f"/api/v1/cases/{busy}", headers=cast.officer.api).json()
    assert read["overridden_stages"] == ["scanning"]
    [override] = read["overrides"]
    assert (override["from_stage"], override["to_stage"], override["by"], override["reason"],
            override["reviewed_by"]) == ("scanning", "analysis", "sgt.okafor",
                                         "Urgent: start the analysis now", "sgt.adeyemi")
    assert override["unmet"] == overrides[0]["unmet"] and override["unmet"]
    quiet_read = client.get(f"/api/v1/cases/{quiet}", headers=cast.officer.api).json()
    assert (quiet_read["overrides"], quiet_read["overridden_stages"]) == ([], [])
    own = client.get("/api/v1/queue", headers=cast.supervisor.api).json()
    assert own["own_overrides_waiting"] == 0
    summaries = [e["summary"] for e in client.get(f"/api/v1/cases/{busy}/timeline",
                                                  headers=cast.officer.api).json()]
    assert summaries[0].startswith("Reviewed the gate override of")


def test_not_an_override_is_404(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    timeline = client.get(f"/api/v1/cases/{ref}/timeline", headers=cast.officer.api).json()
    assert timeline
    response = client.post("/api/v1/overrides/1/review", json={}, headers=cast.supervisor.api)
    assert response.status_code == 404


def test_force_wide_readers_see_every_borough_in_the_queue(client: TestClient,
                                                           cast: Cast) -> None:
    queue = client.get(f"/api/v1/queue?borough={CAMDEN}", headers=cast.analyst.api).json()
    assert queue["borough"] == CAMDEN
    everywhere = client.get("/api/v1/queue", headers=cast.analyst.api).json()
    assert everywhere["borough"] is None
