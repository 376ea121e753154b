"""The partner directory over the API: agencies and contacts managed by a force's supervisors,
analysts and admins, read by its case readers, invisible to other forces; a case's partners;
an action led by a directory agency; contact details by role; retirement's erasure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.auth.roles import Role
from app.cases.models import CaseEvent, EventKind
from app.partners.models import PartnerContact
from tests.conftest import CITY, WESTMINSTER, Cast, Person, new_case_body

COUNCIL = {"name": "Westminster City Council", "kind": "council", "borough": WESTMINSTER,
           "notes": "ASB team meets on Tuesdays."}
WARDEN = {"name": "Priya Natarajan", "job_title": "ASB caseworker", "phone": "020 7641 6000",
          "email": "p.natarajan@westminster.example"}


def add_agency(client: TestClient, person: Person, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/partners", headers=person.api, json={**COUNCIL, **overrides})
    assert response.status_code == 201, response.text
    return response.json()


def add_contact(client: TestClient, person: Person, agency: int,
                **overrides: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/partners/{agency}/contacts", headers=person.api,
                           json={**WARDEN, **overrides})
    assert response.status_code == 201, response.text
    return response.json()


def open_case(client: TestClient, person: Person) -> str:
    response = client.post("/api/v1/cases", headers=person.api, json=new_case_body())
    assert response.status_code == 201, response.text
    return str(response.json()["ref"])


def test_a_supervisor_builds_the_directory_and_the_force_reads_it(
        client: TestClient, cast: Cast, db: Session) -> None:
    agency = add_agency(client, cast.supervisor)
    assert agency["force"] == "metropolitan" and agency["partner"] == "council"
    assert agency["borough_name"] == "Westminster" and agency["contacts"] == []
    contact = add_contact(client, cast.supervisor, agency["id"])
    assert contact["name"] == "Priya Natarajan" and not contact["erased"]

    listed = client.get("/api/v1/partners", headers=cast.officer.api).json()
    assert listed["total"] == 1
    assert listed["items"][0]["contacts"][0]["email"] == WARDEN["email"]
    # Evaluators read agency names but never the people.
    seen = client.get("/api/v1/partners", headers=cast.evaluator.api).json()["items"][0]
    assert seen["name"] == COUNCIL["name"] and seen["contacts"] is None
    assert client.get(f"/api/v1/partners/{agency['id']}/contacts",
                      headers=cast.evaluator.api).status_code == 403

    changed = client.patch(f"/api/v1/partners/{agency['id']}", headers=cast.analyst.api,
                           json={"version": agency["version"], "notes": "New ASB lead"})
    assert changed.status_code == 200 and changed.json()["notes"] == "New ASB lead"
    stale = client.patch(f"/api/v1/partners/{agency['id']}", headers=cast.admin.api,
                         json={"version": agency["version"], "notes": "Older"})
    assert stale.status_code == 409
    actions = set(db.scalars(select(AuditEntry.action)))
    assert {"partner.create", "partner.contact.add", "partner.list",
            "partner.update"} <= actions


def test_filters_and_retirement(client: TestClient, cast: Cast) -> None:
    council = add_agency(client, cast.supervisor)
    tfl = add_agency(client, cast.supervisor, name="Transport for London", kind="transport",
                     borough=None)
    assert tfl["partner"] == "tfl"
    by_kind = client.get("/api/v1/partners?kind=transport", headers=cast.officer.api).json()
    assert [a["name"] for a in by_kind["items"]] == ["Transport for London"]
    by_words = client.get("/api/v1/partners?q=city%20coun", headers=cast.officer.api).json()
    assert [a["id"] for a in by_words["items"]] == [council["id"]]
    retired = client.patch(f"/api/v1/partners/{tfl['id']}", headers=cast.supervisor.api,
                           json={"version": tfl["version"], "retired": True}).json()
    assert retired["retired"]
    assert client.get("/api/v1/partners", headers=cast.officer.api).json()["total"] == 1
    assert client.get("/api/v1/partners?include_retired=true",
                      headers=cast.officer.api).json()["total"] == 2


def test_only_managers_change_the_directory(client: TestClient, cast: Cast) -> None:
    agency = add_agency(client, cast.supervisor)
    assert client.post("/api/v1/partners", headers=cast.officer.api,
                       json=COUNCIL | {"name": "Another"}).status_code == 403
    assert client.post("/api/v1/partners", headers=cast.evaluator.api,
                       json=COUNCIL | {"name": "Another"}).status_code == 403
    assert client.patch(f"/api/v1/partners/{agency['id']}", headers=cast.officer.api,
                        json={"version": 1, "notes": "x"}).status_code == 403
    assert client.post(f"/api/v1/partners/{agency['id']}/contacts", headers=cast.officer.api,
                       json=WARDEN).status_code == 403


def test_another_forces_agency_is_not_found(client: TestClient, cast: Cast,
                                            make_person: Callable[..., Person]) -> None:
    city = make_person("sgt.byrne", Role.SUPERVISOR, CITY, "Sgt Byrne")
    theirs = add_agency(client, city, name="City of London Corporation", borough=CITY)
    assert theirs["force"] == "city-of-london"
    for path in (f"/api/v1/partners/{theirs['id']}", f"/api/v1/partners/{theirs['id']}/contacts"):
        assert client.get(path, headers=cast.officer.api).status_code == 404
    assert client.patch(f"/api/v1/partners/{theirs['id']}", headers=cast.supervisor.api,
                        json={"version": 1, "notes": "x"}).status_code == 404
    assert client.get("/api/v1/partners?force=city-of-london",
                      headers=cast.officer.api).json()["total"] == 0
    # A Met supervisor cannot add to the City's directory, nor name the City's area.
    refused = client.post("/api/v1/partners", headers=cast.supervisor.api,
                          json=COUNCIL | {"force": "city-of-london"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "force"
    wrong_area = client.post("/api/v1/partners", headers=cast.supervisor.api,
                             json=COUNCIL | {"borough": CITY})
    assert wrong_area.status_code == 422
    assert wrong_area.json()["errors"][0]["field"] == "borough"
    # An admin without a force names one.
    assert client.post("/api/v1/partners", headers=cast.admin.api,
                       json=COUNCIL | {"name": "Met-wide"}).status_code == 422
    assert client.post("/api/v1/partners", headers=cast.admin.api,
                       json=COUNCIL | {"name": "Met-wide", "borough": None,
                                       "force": "metropolitan"}).status_code == 201


def test_bad_input_is_a_422_naming_the_field(client: TestClient, cast: Cast) -> None:
    cases = [({"name": "", "kind": "council"}, "name"),
             ({"name": "Camden Council", "kind": "police"}, "kind"),
             ({"name": "Camden Council", "kind": "council", "borough": "nowhere"}, "borough")]
    for body, field in cases:
        response = client.post("/api/v1/partners", headers=cast.supervisor.api, json=body)
        assert response.status_code == 422, body
        assert field in {e["field"] for e in response.json()["errors"]}, response.json()
    agency = add_agency(client, cast.supervisor)
    duplicate = client.post("/api/v1/partners", headers=cast.supervisor.api, json=COUNCIL)
    assert duplicate.status_code == 422 and duplicate.json()["errors"][0]["field"] == "name"
    for body, field in [({"name": "P", **{k: v for k, v in WARDEN.items() if k != "name"}},
                         "name"), (WARDEN | {"email": "not-an-address"}, "email"),
                        (WARDEN | {"phone": "call me"}, "phone")]:
        response = client.post(f"/api/v1/partners/{agency['id']}/contacts",
                               headers=cast.supervisor.api, json=body)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["field"] == field


def test_a_case_lists_its_partners_with_roles(client: TestClient, cast: Cast,
                                              db: Session) -> None:
    agency = add_agency(client, cast.supervisor)
    contact = add_contact(client, cast.supervisor, agency["id"])
    ref = open_case(client, cast.officer)
    added = client.post(f"/api/v1/cases/{ref}/partners", headers=cast.officer.api,
                        json={"agency": agency["id"], "contact": contact["id"], "role": "lead"})
    assert added.status_code == 201, added.text
    partner = added.json()
    assert partner["role"] == "lead" and partner["contact"]["phone"] == WARDEN["phone"]
    again = client.post(f"/api/v1/cases/{ref}/partners", headers=cast.officer.api,
                        json={"agency": agency["id"]})
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "agency"

    changed = client.patch(f"/api/v1/cases/{ref}/partners/{partner['id']}",
                           headers=cast.supervisor.api,
                           json={"version": partner["version"], "role": "informed",
                                 "contact": None})
    assert changed.status_code == 200, changed.text
    assert changed.json()["role"] == "informed" and changed.json()["contact"] is None
    # People who read the case but may not change it: 403; outside its area: 404.
    assert client.post(f"/api/v1/cases/{ref}/partners", headers=cast.analyst.api,
                       json={"agency": agency["id"]}).status_code == 403
    assert client.get(f"/api/v1/cases/{ref}/partners",
                      headers=cast.camden_officer.api).status_code == 404
    assert client.delete(f"/api/v1/cases/{ref}/partners/{partner['id']}",
                         headers=cast.officer.api).status_code == 204
    assert client.get(f"/api/v1/cases/{ref}/partners", headers=cast.officer.api).json() == []
    summaries = [e.summary for e in db.scalars(select(CaseEvent).where(
        CaseEvent.kind == EventKind.PARTNER).order_by(CaseEvent.id))]
    assert summaries == ["Added partner: Westminster City Council (lead)",
                         "Changed partner: Westminster City Council (kept informed)",
                         "Removed partner: Westminster City Council"]


def test_contact_details_are_for_the_people_who_work_the_case(client: TestClient,
                                                               cast: Cast) -> None:
    agency = add_agency(client, cast.supervisor)
    contact = add_contact(client, cast.supervisor, agency["id"])
    ref = open_case(client, cast.officer)
    client.post(f"/api/v1/cases/{ref}/partners", headers=cast.officer.api,
                json={"agency": agency["id"], "contact": contact["id"], "role": "member"})
    for person in (cast.officer, cast.supervisor):
        seen = client.get(f"/api/v1/cases/{ref}/partners", headers=person.api).json()[0]
        assert seen["contact"]["name"] == WARDEN["name"] and not seen["contact_withheld"]
    for person in (cast.analyst, cast.evaluator):
        response = client.get(f"/api/v1/cases/{ref}/partners", headers=person.api)
        seen = response.json()[0]
        assert seen["contact"] is None and seen["contact_withheld"]
        assert seen["agency_name"] == COUNCIL["name"] and seen["contact_job_title"] == \
            "ASB caseworker"
        assert WARDEN["name"] not in response.text and WARDEN["email"] not in response.text


def test_an_agency_of_another_force_or_retired_is_refused_on_a_case(
        client: TestClient, cast: Cast, make_person: Callable[..., Person]) -> None:
    city = make_person("sgt.byrne", Role.SUPERVISOR, CITY, "Sgt Byrne")
    theirs = add_agency(client, city, name="City of London Corporation", borough=CITY)
    ref = open_case(client, cast.officer)
    refused = client.post(f"/api/v1/cases/{ref}/partners", headers=cast.officer.api,
                          json={"agency": theirs["id"]})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "agency"
    ours = add_agency(client, cast.supervisor)
    other_contact = add_contact(client, city, theirs["id"])
    wrong = client.post(f"/api/v1/cases/{ref}/partners", headers=cast.officer.api,
                        json={"agency": ours["id"], "contact": other_contact["id"]})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "contact"


def test_a_directory_agency_leads_an_action(client: TestClient, cast: Cast) -> None:
    tfl = add_agency(client, cast.supervisor, name="Transport for London", kind="transport",
                     borough=None)
    school = add_agency(client, cast.supervisor, name="St Marylebone School", kind="school")
    ref = open_case(client, cast.officer)
    created = client.post(f"/api/v1/cases/{ref}/actions", headers=cast.officer.api, json={
        "title": "Better lighting at the bus stands", "partner": "council",
        "partner_agency": tfl["id"]})
    assert created.status_code == 201, created.text
    action = created.json()
    assert action["partner"] == "tfl" and action["partner_agency_name"] == "Transport for London"
    changed = client.patch(f"/api/v1/cases/{ref}/actions/{action['id']}",
                           headers=cast.officer.api,
                           json={"version": action["version"], "partner_agency": school["id"]})
    assert changed.status_code == 200 and changed.json()["partner"] == "school"
    # The kind follows the agency: a kind that disagrees is not taken.
    kept = client.patch(f"/api/v1/cases/{ref}/actions/{action['id']}", headers=cast.officer.api,
                        json={"version": changed.json()["version"], "partner": "health"}).json()
    assert kept["partner"] == "school"
    cleared = client.patch(f"/api/v1/cases/{ref}/actions/{action['id']}",
                           headers=cast.officer.api,
                           json={"version": kept["version"], "partner_agency": None,
                                 "partner": "health"}).json()
    assert cleared["partner_agency"] is None and cleared["partner"] == "health"
    unknown = client.post(f"/api/v1/cases/{ref}/actions", headers=cast.officer.api, json={
        "title": "Lighting", "partner_agency": 999999})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "partner_agency"
    # Actions without an agency work as before.
    plain = client.post(f"/api/v1/cases/{ref}/actions", headers=cast.officer.api,
                        json={"title": "Leaflet drop", "partner": "council"}).json()
    assert plain["partner"] == "council" and plain["partner_agency"] is None


def test_retiring_a_contact_on_no_open_case_erases_them(client: TestClient, cast: Cast,
                                                        db: Session) -> None:
    agency = add_agency(client, cast.supervisor)
    kept = add_contact(client, cast.supervisor, agency["id"])
    gone = add_contact(client, cast.supervisor, agency["id"], name="Tom Hale",
                       email="t.hale@westminster.example")
    ref = open_case(client, cast.officer)
    client.post(f"/api/v1/cases/{ref}/partners", headers=cast.officer.api,
                json={"agency": agency["id"], "contact": kept["id"]})
    on_case = client.patch(f"/api/v1/partners/{agency['id']}/contacts/{kept['id']}",
                           headers=cast.supervisor.api,
                           json={"version": kept["version"], "retired": True}).json()
    assert on_case["retired"] and not on_case["erased"] and on_case["name"] == WARDEN["name"]
    erased = client.patch(f"/api/v1/partners/{agency['id']}/contacts/{gone['id']}",
                          headers=cast.supervisor.api,
                          json={"version": gone["version"], "retired": True}).json()
    assert erased["erased"] and erased["name"] == "Former contact"
    assert erased["email"] == "" and erased["phone"] == ""
    assert erased["job_title"] == "ASB caseworker"
    row = db.get(PartnerContact, gone["id"])
    db.refresh(row)
    assert row is not None and "Hale" not in (row.name + row.email)
    # A retired contact is not named on a case again.
    refused = client.post(f"/api/v1/cases/{open_case(client, cast.officer)}/partners",
                          headers=cast.officer.api,
                          json={"agency": agency["id"], "contact": kept["id"]})
    assert refused.status_code == 422
    # Once the case no longer names them, retiring them again erases them.
    partner = client.get(f"/api/v1/cases/{ref}/partners", headers=cast.officer.api).json()[0]
    still = client.patch(f"/api/v1/partners/{agency['id']}/contacts/{kept['id']}",
                         headers=cast.supervisor.api,
                         json={"version": on_case["version"], "retired": True}).json()
    assert not still["erased"]  # the case still names them
    client.delete(f"/api/v1/cases/{ref}/partners/{partner['id']}", headers=cast.officer.api)
    gone_now = client.patch(f"/api/v1/partners/{agency['id']}/contacts/{kept['id']}",
                            headers=cast.supervisor.api,
                            json={"version": still["version"], "retired": True}).json()
    assert gone_now["erased"] and gone_now["name"] == "Former contact"
