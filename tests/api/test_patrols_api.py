"""Patrols and outputs over the JSON API: start and end, corrections, dosage against plan, the
10 to 15 minute band, counts refused with clear messages, corrections on the timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.roles import Role
from app.clock import LONDON, today
from app.patrols.models import Patrol
from tests.api.test_cases_api import create, patch
from tests.conftest import CAMDEN, Cast, Person


def backdate(db: Session, patrol_id: int, minutes: int) -> None:
    """As if the patrol had started ``minutes`` ago (time passing, without waiting)."""
    started = db.scalar(select(Patrol.started_at).where(Patrol.id == patrol_id))
    assert started is not None
    db.execute(update(Patrol).where(Patrol.id == patrol_id).values(
        started_at=started - timedelta(minutes=minutes)))
    db.commit()


def start(client: TestClient, person: Person, ref: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/cases/{ref}/patrols/start", json=body, headers=person.api)
    assert response.status_code == 201, response.text
    return response.json()


def entered(client: TestClient, person: Person, ref: str, start_at: str, end_at: str,
            **body: Any) -> Any:
    return client.post(f"/api/v1/cases/{ref}/patrols", headers=person.api,
                       json={"started_at": start_at, "ended_at": end_at, **body})


def days_ago(days: int, hour: int, minute: int) -> str:
    """A London wall-clock time, ``days`` before today."""
    day = today() - timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute).isoformat()


def record(client: TestClient, person: Person, ref: str, counts: dict[str, Any],
           on: str | None = None, **body: Any) -> Any:
    return client.post(f"/api/v1/cases/{ref}/outputs", headers=person.api,
                       json={"on": on or today().isoformat(), "counts": counts, **body})


# --- patrols -----------------------------------------------------------------------------------

def test_start_and_end_a_patrol_records_its_minutes_and_band(client: TestClient, cast: Cast,
                                                             db: Session) -> None:
    ref = create(client, cast.officer)["ref"]
    patrol = start(client, cast.officer, ref, kind="high_visibility")
    assert patrol["ended_at"] is None and patrol["minutes"] is None and patrol["live"]
    assert patrol["officers"] == "PC Amira Shah"  # who pressed the button, by default
    started = datetime.fromisoformat(patrol["started_at"])
    assert started.second == 0 and started.microsecond == 0  # kept to the minute

    backdate(db, patrol["id"], 12)
    ended = client.post(f"/api/v1/cases/{ref}/patrols/{patrol['id']}/end",
                        headers=cast.officer.api)
    assert ended.status_code == 200, ended.text
    assert ended.json()["minutes"] == 12 and ended.json()["band"] == "in_band"

    again = client.post(f"/api/v1/cases/{ref}/patrols/{patrol['id']}/end",
                        headers=cast.officer.api)
    assert again.status_code == 409 and "already ended" in again.json()["message"]
    summaries = [e["summary"] for e in client.get(f"/api/v1/cases/{ref}/timeline",
                                                  headers=cast.officer.api).json()]
    assert any(s.startswith("Started a high-visibility patrol") for s in summaries)
    assert any("12 min (10 to 15 minutes)" in s for s in summaries)


def test_a_second_running_patrol_is_refused_until_the_first_ends(client: TestClient,
                                                                 cast: Cast) -> None:
    first = create(client, cast.officer)["ref"]
    second = create(client, cast.officer, title="Another hotspot")["ref"]
    start(client, cast.officer, first)
    refused = client.post(f"/api/v1/cases/{second}/patrols/start", json={},
                          headers=cast.officer.api)
    assert refused.status_code == 409
    assert f"already have a patrol running on {first}" in refused.json()["message"]
    # A colleague can patrol at the same time.
    start(client, cast.supervisor, first)


def test_ending_in_the_minute_it_started_is_refused_and_a_mistake_can_be_discarded(
        client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    patrol = start(client, cast.officer, ref)
    too_soon = client.post(f"/api/v1/cases/{ref}/patrols/{patrol['id']}/end",
                           headers=cast.officer.api)
    assert too_soon.status_code == 422
    assert too_soon.json()["errors"][0]["field"] == "ended_at"
    assert "discard it" in too_soon.json()["errors"][0]["message"]
    discarded = client.delete(f"/api/v1/cases/{ref}/patrols/{patrol['id']}",
                              headers=cast.officer.api)
    assert discarded.status_code == 204
    log = client.get(f"/api/v1/cases/{ref}/patrols", headers=cast.officer.api).json()
    assert log["patrols"] == [] and log["running"] == []
    start(client, cast.officer, ref)  # free to start again


def test_a_patrol_entered_afterwards_and_corrected(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    response = entered(client, cast.officer, ref, days_ago(1, 17, 5), days_ago(1, 17, 40),
                       kind="foot", officers="PC Shah, PC Jones", place="Penfold Street")
    assert response.status_code == 201, response.text
    patrol = response.json()
    assert patrol["minutes"] == 35 and patrol["band"] == "long" and not patrol["live"]
    # London time without a zone: 17:05 in London is stored as that instant.
    started = datetime.fromisoformat(patrol["started_at"]).astimezone(LONDON)
    assert (started.hour, started.minute) == (17, 5)

    corrected = client.patch(f"/api/v1/cases/{ref}/patrols/{patrol['id']}",
                             headers=cast.officer.api,
                             json={"version": patrol["version"], "ended_at": days_ago(1, 17, 19),
                                   "reason": "End tapped late"})
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["minutes"] == 14 and corrected.json()["band"] == "in_band"
    stale = client.patch(f"/api/v1/cases/{ref}/patrols/{patrol['id']}", headers=cast.officer.api,
                         json={"version": patrol["version"], "notes": "stale"})
    assert stale.status_code == 409 and stale.json()["error"] == "stale_version"
    timeline = client.get(f"/api/v1/cases/{ref}/timeline", headers=cast.officer.api).json()
    correction = next(e for e in timeline if e["summary"].startswith("Corrected the patrol"))
    assert "17:05 to 17:40" in correction["summary"] and "17:05 to 17:19" in correction["summary"]
    assert correction["body"] == "End tapped late"


@pytest.mark.parametrize(("start_at", "end_at", "field", "words"), [
    ((1, 17, 30), (1, 17, 10), "ended_at", "must end after it starts"),
    ((1, 1, 0), (0, 0, 0), "ended_at", "at most 12 hours"),
    ((-2, 10, 0), (-2, 10, 20), "started_at", "in the future"),
])
def test_impossible_patrol_times_are_refused_with_the_reason(
        client: TestClient, cast: Cast, start_at: tuple[int, int, int],
        end_at: tuple[int, int, int], field: str, words: str) -> None:
    ref = create(client, cast.officer)["ref"]
    response = entered(client, cast.officer, ref, days_ago(*start_at), days_ago(*end_at))
    assert response.status_code == 422, response.text
    messages = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert words in messages[field]
    assert client.get(f"/api/v1/cases/{ref}/patrols",
                      headers=cast.officer.api).json()["patrols"] == []


def test_dosage_by_week_against_plan_and_visits_outside_the_band(client: TestClient,
                                                                cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    patch(client, cast.officer, ref, planned_patrol_minutes=90)
    monday = today() - timedelta(days=today().weekday())
    last_week = monday - timedelta(days=7)
    for day, (start_at, end_at) in ((last_week, ("10:00", "10:12")),
                                    (last_week, ("18:00", "18:05")),
                                    (last_week + timedelta(days=2), ("12:00", "12:30"))):
        response = entered(client, cast.officer, ref, f"{day}T{start_at}", f"{day}T{end_at}")
        assert response.status_code == 201, response.text
    log = client.get(f"/api/v1/cases/{ref}/patrols", headers=cast.officer.api).json()
    assert log["planned_minutes_per_week"] == 90 and log["band_minutes"] == [10, 15]
    weeks = {w["week_start"]: w for w in log["weeks"]}
    assert list(weeks) == [monday.isoformat(), last_week.isoformat()]  # newest first
    assert weeks[last_week.isoformat()] == {
        "week_start": last_week.isoformat(), "planned_minutes": 90, "delivered_minutes": 47,
        "visits": 3, "in_band": 1, "percent_of_plan": 52}
    assert weeks[monday.isoformat()]["delivered_minutes"] == 0
    assert log["bands"] == {"short": 1, "in_band": 1, "long": 1}
    assert sorted(p["minutes"] for p in log["outside_band"]) == [5, 30]


def test_an_officer_logs_patrols_in_their_own_borough_only(client: TestClient,
                                                          cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    camden = client.post(f"/api/v1/cases/{ref}/patrols/start", json={},
                         headers=cast.camden_officer.api)
    assert camden.status_code == 404
    for person in (cast.analyst, cast.evaluator):
        refused = client.post(f"/api/v1/cases/{ref}/patrols/start", json={},
                              headers=person.api)
        assert refused.status_code == 403
    assert client.get(f"/api/v1/cases/{ref}/patrols",
                      headers=cast.evaluator.api).status_code == 200
    own = create(client, cast.camden_officer, borough=CAMDEN, ward=None)["ref"]
    start(client, cast.camden_officer, own)


def test_a_closed_case_takes_no_patrols(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    closed = client.post(f"/api/v1/cases/{ref}/transitions", headers=cast.supervisor.api,
                         json={"to": "analysis", "reason": "Closing for the test",
                               "override": True})
    assert closed.status_code == 200
    for stage in ("response", "assessment", "closed"):
        client.post(f"/api/v1/cases/{ref}/transitions", headers=cast.supervisor.api,
                    json={"to": stage, "reason": "Closing for the test", "override": True})
    refused = client.post(f"/api/v1/cases/{ref}/patrols/start", json={},
                          headers=cast.officer.api)
    assert refused.status_code == 409 and "closed" in refused.json()["message"]


# --- outputs -----------------------------------------------------------------------------------

def test_outputs_are_recorded_one_entry_per_kind(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    response = record(client, cast.officer, ref, {"arrests": 2, "knives": 1, "firearms": 0})
    assert response.status_code == 201, response.text
    assert sorted((e["kind"], e["count"]) for e in response.json()) == [
        ("arrests", 2), ("knives", 1)]
    outputs = client.get(f"/api/v1/cases/{ref}/outputs", headers=cast.officer.api).json()
    assert outputs["totals"]["arrests"] == 2 and outputs["totals"]["knives"] == 1
    assert outputs["totals"]["firearms"] == 0 and len(outputs["totals"]) == 8
    timeline = client.get(f"/api/v1/cases/{ref}/timeline", headers=cast.officer.api).json()
    assert timeline[0]["summary"].startswith("Recorded 2 arrests and 1 knife on")


@pytest.mark.parametrize(("counts", "message"), [
    ({"arrests": -1}, "The number of arrests must be 0 or more."),
    ({"arrests": 2.5}, "Enter the number of arrests as a whole number."),
    ({"arrests": "2"}, "Enter the number of arrests as a whole number."),
    ({"arrests": True}, "Enter the number of arrests as a whole number."),
    ({"arrests": 1001}, "The number of arrests must be 1000 or less."),
])
def test_negative_or_non_integer_counts_are_refused_with_a_clear_message(
        client: TestClient, cast: Cast, counts: dict[str, Any], message: str) -> None:
    ref = create(client, cast.officer)["ref"]
    response = record(client, cast.officer, ref, {**counts, "knives": 1})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "counts.arrests", "message": message}]
    outputs = client.get(f"/api/v1/cases/{ref}/outputs", headers=cast.officer.api).json()
    assert outputs["entries"] == []  # nothing half-written: not even the knife


def test_nothing_counted_and_bad_days_are_refused(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    nothing = record(client, cast.officer, ref, {"arrests": 0})
    assert nothing.status_code == 422
    assert nothing.json()["errors"][0]["field"] == "counts"
    future = record(client, cast.officer, ref, {"arrests": 1},
                    on=(today() + timedelta(days=1)).isoformat())
    assert future.json()["errors"] == [{"field": "on", "message": "This date is in the future."}]
    unknown = record(client, cast.officer, ref, {"knifes": 1})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "counts.knifes"


def test_a_correction_is_a_new_entry_on_the_timeline_and_replaces_the_old_in_totals(
        client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    entry = record(client, cast.officer, ref, {"arrests": 3}).json()[0]
    url = f"/api/v1/cases/{ref}/outputs/{entry['id']}/corrections"
    no_reason = client.post(url, json={"count": 2}, headers=cast.officer.api)
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    same = client.post(url, json={"count": 3, "reason": "Checked"}, headers=cast.officer.api)
    assert same.status_code == 422 and "recorded already" in same.json()["errors"][0]["message"]
    corrected = client.post(url, json={"count": 2, "reason": "One arrest was counted twice"},
                            headers=cast.supervisor.api)
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["corrects"] == entry["id"]

    outputs = client.get(f"/api/v1/cases/{ref}/outputs", headers=cast.officer.api).json()
    assert outputs["totals"]["arrests"] == 2
    old = next(e for e in outputs["entries"] if e["id"] == entry["id"])
    assert old["count"] == 3 and old["corrected_by"] == corrected.json()["id"]  # kept, not lost
    twice = client.post(url, json={"count": 1, "reason": "Again"}, headers=cast.officer.api)
    assert twice.status_code == 409 and "already corrected" in twice.json()["message"]
    timeline = client.get(f"/api/v1/cases/{ref}/timeline", headers=cast.officer.api).json()
    assert timeline[0]["summary"].startswith("Corrected arrests on")
    assert timeline[0]["summary"].endswith(": 3 to 2")
    assert timeline[0]["body"] == "One arrest was counted twice"


def test_outputs_can_be_linked_to_a_patrol_of_the_same_case_only(client: TestClient,
                                                                 cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    other = create(client, cast.officer, title="Another hotspot")["ref"]
    patrol = entered(client, cast.officer, other, days_ago(1, 9, 0), days_ago(1, 9, 12)).json()
    wrong = record(client, cast.officer, ref, {"arrests": 1}, patrol_id=patrol["id"])
    assert wrong.status_code == 404
    right = record(client, cast.officer, other, {"arrests": 1}, patrol_id=patrol["id"])
    assert right.status_code == 201 and right.json()[0]["patrol_id"] == patrol["id"]


def test_patrol_times_round_trip_in_utc(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    day = today() - timedelta(days=3)
    utc_start = datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)
    response = entered(client, cast.officer, ref, utc_start.isoformat(),
                       (utc_start + timedelta(minutes=11, seconds=40)).isoformat())
    assert response.status_code == 201
    assert datetime.fromisoformat(response.json()["started_at"]) == utc_start
    assert response.json()["minutes"] == 11  # seconds dropped: kept to the minute


def test_only_the_starter_or_a_supervisor_discards_a_patrol_but_a_colleague_may_end_it(
        client: TestClient, cast: Cast, make_person: Any, db: Session) -> None:
    colleague = make_person("pc.jones", Role.OFFICER, cast.officer.user.borough_code,
                            "PC Sam Jones")
    ref = create(client, cast.officer)["ref"]
    patrol = start(client, cast.officer, ref)
    refused = client.delete(f"/api/v1/cases/{ref}/patrols/{patrol['id']}",
                            headers=colleague.api)
    assert refused.status_code == 403 and "end it instead" in refused.json()["message"]
    backdate(db, patrol["id"], 15)
    ended = client.post(f"/api/v1/cases/{ref}/patrols/{patrol['id']}/end",
                        headers=colleague.api)
    assert ended.status_code == 200 and ended.json()["minutes"] == 15
