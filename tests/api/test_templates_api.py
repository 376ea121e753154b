"""Problem templates over the API: a case opened from one carries its content and version; a
later version or retirement leaves that case alone; managing is for supervisors and analysts
of the template's force."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.auth.roles import Role
from app.clock import today
from app.sara.problem import Priority
from app.sara.reviews import DEFAULT_CADENCE_DAYS
from app.sara.templates import STREET_DRUG_MARKET
from tests.conftest import CITY, Cast, Person, new_case_body

PROMPTS = {e: f"What about {e} here?" for e in
           ("community", "harm", "expectation", "events", "recurring", "similarity")}


def template_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "slug": "bike-theft-at-stations", "name": "Bicycle theft at stations",
        "category": "bicycle-theft", "priority": "low", "summary": "Bikes stolen from racks.",
        "cheers_prompts": PROMPTS,
        "hypotheses": ["Racks let thieves cut cheap locks unseen."],
        "responses": [{"technique": "target-harden", "why": "Better racks and locks."}],
        "actions": [{"title": "Survey the racks", "tactic": None, "partner": "council",
                     "due_in_days": 10}],
        "review_every_days": None,
    }
    body.update(overrides)
    return body


def open_from(client: TestClient, person: Person, template: str, **fields: Any) -> Any:
    body = new_case_body(template=template, **fields)
    for name in ("category", "priority"):
        if name not in fields:
            body.pop(name)
    return client.post("/api/v1/cases", json=body, headers=person.api)


def new_version(client: TestClient, person: Person, slug: str, version: int,
                **changes: Any) -> Any:
    current = client.get(f"/api/v1/templates/{slug}", headers=person.api).json()["current"]
    body = {k: current[k] for k in ("name", "category", "priority", "summary",
                                    "cheers_prompts", "hypotheses", "responses", "actions",
                                    "review_every_days")}
    return client.patch(f"/api/v1/templates/{slug}", headers=person.api, json={
        **body, "version": version, "change_note": "Sharper hypotheses", **changes})


def test_a_case_opened_from_a_template_carries_its_content(
        client: TestClient, cast: Cast, db: Session) -> None:
    response = open_from(client, cast.supervisor, "street-drug-market")
    assert response.status_code == 201, response.text
    case = response.json()
    shipped = STREET_DRUG_MARKET.content
    assert case["template"] == {"slug": "street-drug-market", "name": "Street drug market",
                                "version": 1}
    assert case["category"] == "drugs" and case["priority"] == "high"
    assert [h["statement"] for h in case["hypotheses"]] == list(shipped.hypotheses)
    assert {h["status"] for h in case["hypotheses"]} == {"open"}
    assert [(a["title"], a["tactic"], a["partner"], a["due_date"]) for a in case["actions"]] == [
        (a.title, a.tactic, a.partner.value, (today() + timedelta(days=a.due_in_days)).isoformat())
        for a in shipped.actions]
    timeline = client.get(f"/api/v1/cases/{case['ref']}/timeline",
                          headers=cast.supervisor.api).json()
    opened = next(e for e in timeline if e["kind"] == "created")
    assert opened["summary"].endswith("from template Street drug market, version 1")
    entry = db.scalars(select(AuditEntry).where(AuditEntry.object_ref == case["ref"],
                                                AuditEntry.action == "case.create")).one()
    assert entry.details == {"template": "street-drug-market", "version": 1}


def test_what_the_user_gives_wins_over_the_template(client: TestClient, cast: Cast) -> None:
    case = open_from(client, cast.officer, "street-drug-market", category="violent-crime",
                     priority="low").json()
    assert (case["category"], case["priority"]) == ("violent-crime", "low")
    assert len(case["hypotheses"]) == 4


def test_review_date_from_the_template_or_the_force_cadence(
        client: TestClient, cast: Cast, db: Session) -> None:
    from app.cases.models import Case

    ref = open_from(client, cast.supervisor, "street-drug-market").json()["ref"]
    assert db.scalar(select(Case.next_review_on).where(Case.ref == ref)) == \
        today() + timedelta(days=14)
    created = client.post("/api/v1/templates", headers=cast.analyst.api, json=template_body())
    assert created.status_code == 201, created.text
    # A template without its own cadence: the force's table, by the case's priority.
    opened = open_from(client, cast.supervisor, "bike-theft-at-stations").json()
    assert db.scalar(select(Case.next_review_on).where(Case.ref == opened["ref"])) == \
        today() + timedelta(days=DEFAULT_CADENCE_DAYS[Priority(opened["priority"])])


def test_a_new_version_and_retirement_leave_earlier_cases_alone(
        client: TestClient, cast: Cast) -> None:
    national = client.post("/api/v1/templates", headers=cast.analyst.api, json=template_body())
    assert national.status_code == 201
    first = open_from(client, cast.supervisor, "bike-theft-at-stations").json()

    changed = new_version(client, cast.analyst, "bike-theft-at-stations", 1,
                          name="Cycle theft at stations", category="other-theft",
                          hypotheses=["Thieves follow the commuter peak."],
                          actions=[{"title": "Count racks", "partner": "police",
                                    "due_in_days": 3}])
    assert changed.status_code == 200, changed.text
    read = changed.json()
    assert read["current_version"] == 2 and read["name"] == "Cycle theft at stations"
    assert [v["version"] for v in read["versions"]] == [1, 2]
    assert read["versions"][1]["change_note"] == "Sharper hypotheses"
    old = client.get("/api/v1/templates/bike-theft-at-stations/versions/1",
                     headers=cast.officer.api).json()
    assert old["name"] == "Bicycle theft at stations" and old["category"] == "bicycle-theft"

    second = open_from(client, cast.supervisor, "bike-theft-at-stations").json()
    assert second["template"]["version"] == 2 and second["category"] == "other-theft"
    assert [a["title"] for a in second["actions"]] == ["Count racks"]

    retired = client.post("/api/v1/templates/bike-theft-at-stations/retirement",
                          headers=cast.analyst.api, json={"retired": True})
    assert retired.status_code == 200 and retired.json()["retired"] is True
    again = client.get(f"/api/v1/cases/{first['ref']}", headers=cast.supervisor.api).json()
    for field in ("template", "category", "hypotheses", "actions", "priority"):
        assert again[field] == first[field]
    assert again["template"]["name"] == "Bicycle theft at stations"

    refused = open_from(client, cast.supervisor, "bike-theft-at-stations")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "template"
    assert "retired" in refused.json()["errors"][0]["message"]
    listed = client.get("/api/v1/templates", headers=cast.officer.api).json()
    assert "bike-theft-at-stations" not in [t["slug"] for t in listed["items"]]
    everything = client.get("/api/v1/templates?include_retired=true",
                            headers=cast.officer.api).json()
    assert "bike-theft-at-stations" in [t["slug"] for t in everything["items"]]
    back = client.post("/api/v1/templates/bike-theft-at-stations/retirement",
                       headers=cast.analyst.api, json={"retired": False})
    assert back.json()["retired"] is False
    assert open_from(client, cast.supervisor, "bike-theft-at-stations").status_code == 201


def test_a_stale_version_is_refused(client: TestClient, cast: Cast) -> None:
    assert new_version(client, cast.analyst, "street-drinking", 1).status_code == 200
    stale = new_version(client, cast.analyst, "street-drinking", 1, summary="Late edit")
    assert stale.status_code == 409
    assert "changed since you opened it" in stale.json()["message"]


def test_bad_input_names_the_fields(client: TestClient, cast: Cast) -> None:
    bad = client.post("/api/v1/templates", headers=cast.analyst.api, json=template_body(
        slug="Not a slug!", category="knife-crime", hypotheses=[],
        responses=[{"technique": "wishful-thinking", "why": "Because"}],
        actions=[{"title": "Act", "due_in_days": 1000}], review_every_days=0))
    assert bad.status_code == 422
    errors = {e["field"]: e["message"] for e in bad.json()["errors"]}
    assert errors["hypotheses"] == "Enter at least one hypothesis."
    fields = set(errors)
    assert {"slug", "category", "hypotheses", "responses.0.technique",
            "actions.0.due_in_days", "review_every_days"} <= fields
    missing = client.post("/api/v1/templates", headers=cast.analyst.api, json=template_body(
        cheers_prompts={"community": "Who?"}))
    assert missing.status_code == 422
    assert {"field": "cheers_prompts.harm", "message": "Enter a prompt for Harm."} in \
        missing.json()["errors"]
    twice = client.post("/api/v1/templates", headers=cast.analyst.api,
                        json=template_body(slug="street-drinking"))
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "slug"
    unknown = open_from(client, cast.officer, "no-such-template")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "template"
    neither = client.post("/api/v1/cases", headers=cast.officer.api,
                          json={k: v for k, v in new_case_body().items() if k != "category"})
    assert neither.status_code == 422 and neither.json()["errors"][0]["field"] == "category"


def test_who_may_manage(client: TestClient, cast: Cast,
                        make_person: Callable[..., Person]) -> None:
    # Officers and evaluators read templates but manage none; the admin reads no case data.
    for person in (cast.officer, cast.evaluator):
        assert client.get("/api/v1/templates/street-drinking",
                          headers=person.api).status_code == 200
        assert client.post("/api/v1/templates", headers=person.api,
                           json=template_body()).status_code == 403
        assert new_version(client, person, "street-drinking", 1).status_code == 403
    assert client.get("/api/v1/templates", headers=cast.admin.api).status_code == 403
    # A Westminster supervisor belongs to the Met: national templates are not theirs to
    # change, but they copy one to their force and adapt it there.
    assert new_version(client, cast.supervisor, "street-drinking", 1).status_code == 403
    copied = client.post("/api/v1/templates/street-drinking/copies", headers=cast.supervisor.api,
                         json={"slug": "met-street-drinking"})
    assert copied.status_code == 201, copied.text
    assert copied.json()["force"] == "metropolitan"
    assert copied.json()["versions"][0]["change_note"].startswith(
        "Copied from Street drinking, version 1")
    assert new_version(client, cast.supervisor, "met-street-drinking", 1).status_code == 200
    # The City of London Police neither see nor change the Met's template.
    city = make_person("sgt.city", Role.SUPERVISOR, CITY)
    assert client.get("/api/v1/templates/met-street-drinking",
                      headers=city.api).status_code == 404
    body = {k: v for k, v in template_body().items() if k != "slug"}
    assert client.patch("/api/v1/templates/met-street-drinking", headers=city.api, json={
        **body, "version": 2, "change_note": "Ours now"}).status_code == 404
    assert "met-street-drinking" not in [
        t["slug"] for t in client.get("/api/v1/templates", headers=city.api).json()["items"]]
    assert open_from(client, city, "met-street-drinking",
                     borough=CITY, ward=None).status_code == 422
    # The analyst without a force manages national templates and reads every force's.
    assert client.get("/api/v1/templates/met-street-drinking",
                      headers=cast.analyst.api).status_code == 200
    assert client.post("/api/v1/templates/street-drinking/copies", headers=cast.analyst.api,
                       json={"slug": "analyst-copy"}).status_code == 422


def test_the_case_file_names_the_template(client: TestClient, cast: Cast, db: Session) -> None:
    import io
    import json
    import zipfile

    from app.auth.context import Actor
    from app.exports.importer import import_case_file

    ref = open_from(client, cast.officer, "street-drug-market").json()["ref"]
    plain = client.post("/api/v1/cases", json=new_case_body(), headers=cast.officer.api).json()
    params = {"reason": "For the template evaluation"}

    def members(case_ref: str) -> dict[str, bytes]:
        response = client.get(f"/api/v1/cases/{case_ref}/export", params=params,
                              headers=cast.evaluator.api)
        assert response.status_code == 200, response.text
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            return {name: archive.read(name) for name in archive.namelist()}

    found = members(ref)
    case = json.loads(found["case.json"])["case"]
    assert case["template"] == {"slug": "street-drug-market", "name": "Street drug market",
                                "version": 1}
    assert "Opened from the problem template Street drug market, version 1" in \
        found["report.html"].decode()
    assert json.loads(members(plain["ref"])["case.json"])["case"]["template"] is None
    # Imported where the same template version exists, the case points at it again.
    content = client.get(f"/api/v1/cases/{ref}/export", params=params,
                         headers=cast.evaluator.api).content
    imported = import_case_file(db, Actor.cli(), content)
    again = client.get(f"/api/v1/cases/{imported.ref}", headers=cast.supervisor.api).json()
    assert again["template"] == case["template"]
