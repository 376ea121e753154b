"""An operation with known figures: two Westminster hotspots and one in Camden, with patrols,
outputs and concerns on known days, and a case outside the operation with outputs of its own.
Shared by the API and page tests, which check their figures against it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.clock import today
from app.db import utcnow
from tests.api.test_cases_api import create, patch
from tests.api.test_community_api import raise_concern, triage
from tests.api.test_patrols_api import days_ago, entered, record
from tests.conftest import CAMDEN, Cast, Person


def new_operation(client: TestClient, person: Person, **overrides: Any) -> dict[str, Any]:
    body = {"name": "Nightingale", "unit": "Violence Suppression Unit", "force": "metropolitan",
            "start_date": (today() - timedelta(days=60)).isoformat(), **overrides}
    response = client.post("/api/v1/operations", json=body, headers=person.api)
    assert response.status_code == 201, response.text
    return response.json()


def join(client: TestClient, person: Person, ref: str, operation: dict[str, Any]) -> None:
    patch(client, person, ref, operation=operation["id"])


def build_nightingale(client: TestClient, cast: Cast, db: Session) -> dict[str, Any]:
    """Two Westminster hotspots and one in Camden, with patrols, outputs and concerns on
    known days; a case outside the operation with outputs of its own."""
    operation = new_operation(client, cast.analyst)
    market = create(client, cast.officer)["ref"]
    estate = create(client, cast.officer, title="Drug dealing on the estate",
                    category="drugs")["ref"]
    camden = create(client, cast.camden_officer, borough=CAMDEN, ward=None,
                    title="Knife carrying at the station")["ref"]
    outside = create(client, cast.officer, title="Not in the operation")["ref"]
    for ref in (market, estate, camden):
        join(client, cast.analyst, ref, operation)
    # The cases existed for the whole period (planned dosage counts from their opening).
    db.execute(update(Case).values(created_at=utcnow() - timedelta(days=90)))
    db.commit()
    patch(client, cast.officer, market, planned_patrol_minutes=70)
    patch(client, cast.camden_officer, camden, planned_patrol_minutes=140)
    day = (today() - timedelta(days=10)).isoformat()
    early = (today() - timedelta(days=40)).isoformat()
    for person, ref, counts, on in (
            (cast.officer, market, {"arrests": 2, "knives": 1}, day),
            (cast.officer, market, {"arrests": 1, "stop_searches": 4}, early),
            (cast.officer, estate, {"drug_seizures": 3, "arrests": 1}, day),
            (cast.camden_officer, camden, {"knives": 2, "firearms": 1}, day),
            (cast.officer, outside, {"arrests": 5}, day)):
        assert record(client, person, ref, counts, on=on).status_code == 201
    for person, ref, (start_at, end_at) in (
            (cast.officer, market, (days_ago(10, 17, 0), days_ago(10, 17, 12))),
            (cast.officer, market, (days_ago(9, 17, 0), days_ago(9, 17, 30))),
            (cast.camden_officer, camden, (days_ago(10, 20, 0), days_ago(10, 20, 6)))):
        assert entered(client, person, ref, start_at, end_at).status_code == 201
    for person, ref, answer in ((cast.officer, market, True), (cast.officer, estate, False)):
        concern = raise_concern(client, person)
        linked = triage(client, person, concern, outcome="linked", case=ref).json()
        if answer:
            client.put(f"/api/v1/concerns/{concern['id']}/answer", headers=person.api,
                       json={"version": linked["version"], "we_did": "Patrols at pack-up."})
    return {"operation": operation, "market": market, "estate": estate, "camden": camden,
            "outside": outside, "day": day, "early": early}
