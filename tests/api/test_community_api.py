"""Community concerns over the JSON API: recording, the triage queue, each of the three triage
outcomes, and "you said, we did" on the case."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.clock import today
from tests.api.test_cases_api import create
from tests.conftest import CAMDEN, CHURCH_STREET, WESTMINSTER, Cast, Person


def concern_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "borough": WESTMINSTER, "ward": CHURCH_STREET,
        "raised_on": (today() - timedelta(days=3)).isoformat(),
        "raised_by_kind": "business", "raised_by": "Market traders' association",
        "contact": "chair@traders.example", "channel": "ward_panel",
        "place": "Penfold Street walkway",
        "description": "Young men gather on the walkway at pack-up and intimidate traders.",
    }
    body.update(overrides)
    return body


def raise_concern(client: TestClient, person: Person, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/concerns", json=concern_body(**overrides),
                           headers=person.api)
    assert response.status_code == 201, response.text
    return response.json()


def triage(client: TestClient, person: Person, concern: dict[str, Any], **body: Any) -> Any:
    return client.post(f"/api/v1/concerns/{concern['id']}/triage", headers=person.api,
                       json={"version": concern["version"], **body})


def test_a_concern_is_recorded_and_its_contact_is_shown_only_to_those_who_record(
        client: TestClient, cast: Cast) -> None:
    concern = raise_concern(client, cast.officer)
    assert concern["triage_outcome"] is None and concern["case"] is None
    assert concern["contact"] == "chair@traders.example"
    assert concern["ward_name"] == "Church Street" and concern["recorded_by"] == "pc.shah"
    for reader in (cast.analyst, cast.evaluator):
        read = client.get(f"/api/v1/concerns/{concern['id']}", headers=reader.api)
        assert read.status_code == 200 and read.json()["contact"] is None
    hidden = client.get(f"/api/v1/concerns/{concern['id']}", headers=cast.camden_officer.api)
    assert hidden.status_code == 404
    assert hidden.json()["message"] == f"There is no concern {concern['id']}."


def test_a_concern_is_refused_outside_ones_borough_and_without_its_facts(
        client: TestClient, cast: Cast) -> None:
    other = client.post("/api/v1/concerns", headers=cast.officer.api,
                        json=concern_body(borough=CAMDEN, ward=None))
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "borough"
    bad = client.post("/api/v1/concerns", headers=cast.officer.api, json=concern_body(
        channel="carrier pigeon", description="", raised_on="yesterday"))
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"channel", "description", "raised_on"}
    refused = client.post("/api/v1/concerns", headers=cast.evaluator.api, json=concern_body())
    assert refused.status_code == 403


def test_the_triage_queue_lists_untriaged_concerns_oldest_first(client: TestClient,
                                                                cast: Cast) -> None:
    newer = raise_concern(client, cast.officer, raised_on=today().isoformat())
    older = raise_concern(client, cast.officer,
                          raised_on=(today() - timedelta(days=9)).isoformat())
    raise_concern(client, cast.camden_officer, borough=CAMDEN, ward=None)
    queue = client.get("/api/v1/concerns?status=awaiting", headers=cast.officer.api).json()
    assert [c["id"] for c in queue["items"]] == [older["id"], newer["id"]]
    assert queue["total"] == 2  # the Camden concern is not in Westminster's queue
    everything = client.get("/api/v1/concerns", headers=cast.analyst.api).json()
    assert everything["total"] == 3


def test_triage_link_to_an_existing_case_and_answer_it(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    concern = raise_concern(client, cast.officer)
    linked = triage(client, cast.officer, concern, outcome="linked", case=ref.lower())
    assert linked.status_code == 200, linked.text
    assert linked.json()["triage_outcome"] == "linked" and linked.json()["case"] == ref

    again = triage(client, cast.officer, linked.json(), outcome="not_police", reason="Oops")
    assert again.status_code == 409 and "already triaged" in again.json()["message"]

    answered = client.put(f"/api/v1/concerns/{concern['id']}/answer", headers=cast.officer.api,
                          json={"version": linked.json()["version"],
                                "we_did": "High-visibility patrols at pack-up on Fridays and "
                                          "Saturdays; the council fixed the walkway lights."})
    assert answered.status_code == 200, answered.text
    assert answered.json()["answered_at"] is not None
    on_case = client.get(f"/api/v1/concerns?case={ref}", headers=cast.officer.api).json()
    assert [c["id"] for c in on_case["items"]] == [concern["id"]]
    assert on_case["items"][0]["we_did"].startswith("High-visibility patrols")
    summaries = [e["summary"] for e in client.get(f"/api/v1/cases/{ref}/timeline",
                                                  headers=cast.officer.api).json()]
    assert any(s.startswith(f"Community concern {concern['id']} linked") for s in summaries)
    assert any(s.startswith(f"You said, we did (concern {concern['id']})") for s in summaries)


def test_triage_to_a_case_out_of_reach_is_refused(client: TestClient, cast: Cast) -> None:
    camden = create(client, cast.camden_officer, borough=CAMDEN, ward=None)["ref"]
    concern = raise_concern(client, cast.officer)
    for ref in (camden, "WM-1999-0001", None):
        response = triage(client, cast.officer, concern, outcome="linked", case=ref)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "case"


def test_triage_into_a_new_scanning_case_in_one_transaction(client: TestClient, cast: Cast,
                                                            db: Session) -> None:
    concern = raise_concern(client, cast.officer)
    cases_before = db.scalar(select(func.count()).select_from(Case))
    missing = triage(client, cast.officer, concern, outcome="new_case")
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} == {"title", "category"}
    assert db.scalar(select(func.count()).select_from(Case)) == cases_before

    opened = triage(client, cast.officer, concern, outcome="new_case",
                    title="Intimidation of traders at pack-up", category="public-order")
    assert opened.status_code == 200, opened.text
    ref = opened.json()["case"]
    case = client.get(f"/api/v1/cases/{ref}", headers=cast.officer.api).json()
    assert case["stage"] == "scanning" and case["source"] == "community"
    assert case["ward"] == CHURCH_STREET and case["owner"] == "pc.shah"
    assert case["problem_statement"].startswith("Young men gather on the walkway")
    assert "Place: Penfold Street walkway." in case["problem_statement"]


def test_triage_closed_as_not_a_police_matter_needs_a_reason(client: TestClient,
                                                             cast: Cast) -> None:
    concern = raise_concern(client, cast.officer, description="Bins not collected on time.")
    no_reason = triage(client, cast.officer, concern, outcome="not_police")
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    closed = triage(client, cast.officer, concern, outcome="not_police",
                    reason="Passed to the council's waste team.")
    assert closed.status_code == 200 and closed.json()["case"] is None
    queue = client.get("/api/v1/concerns?status=awaiting", headers=cast.officer.api).json()
    assert queue["total"] == 0
    cannot_answer = client.put(f"/api/v1/concerns/{concern['id']}/answer",
                               headers=cast.officer.api,
                               json={"version": closed.json()["version"], "we_did": "Nothing"})
    assert cannot_answer.status_code == 409


def test_stale_triage_is_refused(client: TestClient, cast: Cast) -> None:
    concern = raise_concern(client, cast.officer)
    stale = triage(client, cast.officer, {**concern, "version": concern["version"] + 5},
                   outcome="not_police", reason="Council matter")
    assert stale.status_code == 409 and stale.json()["error"] == "stale_version"
