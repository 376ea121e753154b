"""Logs: one JSON line per request with its request id (the access log's), user id, route
template, status and timings; job lines; and no personal data from journeys that carry the
demo's names, contact details and case text."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.clock import today
from app.demo_partners import AGENCIES
from tests.conftest import WESTMINSTER, Cast, new_case_body, page_client
from tests.observability.conftest import LogLines

# From the demo (app/demo.py, app/demo_partners.py, app/demo_operation.py).
CASE_TITLE = "Phone snatches by moped riders on Edgware Road"
PROBLEM = ("Mobile phones snatched from pedestrians by riders on mopeds and e-bikes along the "
           "southern end of Edgware Road, evenings.")
COUNCIL = AGENCIES[0]
CONTACT_NAME, CONTACT_TITLE, CONTACT_PHONE, CONTACT_EMAIL = COUNCIL.contacts[0]
RAISED_BY = "Tenant of block D"
CONCERN_CONTACT = "Via the tenants' association"
CONCERN_TEXT = ("Needles left in the stairwell most mornings; children use these stairs to get "
                "to school.")


def test_each_request_is_one_json_line_with_the_access_logs_request_id(
        client: TestClient, cast: Cast, db: Session, log_lines: LogLines) -> None:
    created = client.post("/api/v1/cases", headers={**cast.officer.api,
                                                   "X-Request-ID": "obs-create-0001"},
                          json=new_case_body())
    assert created.status_code == 201
    ref = created.json()["ref"]
    read = client.get(f"/api/v1/cases/{ref}", headers={**cast.officer.api,
                                                      "X-Request-ID": "obs-read-0002"})
    assert read.status_code == 200
    listed = client.get("/api/v1/cases?q=market&stage=scanning", headers=cast.officer.api)
    assert listed.status_code == 200

    lines = {line["request_id"]: line for line in log_lines.requests()}
    for request_id, method, route, status in (
            ("obs-create-0001", "POST", "/api/v1/cases", 201),
            ("obs-read-0002", "GET", "/api/v1/cases/{ref}", 200)):
        line = lines[request_id]
        assert (line["method"], line["route"], line["status"]) == (method, route, status)
        assert line["user_id"] == cast.officer.user.id
        assert line["duration_ms"] >= line["db_ms"] > 0 and line["db_statements"] > 0
        # The access log's entries of that request carry the same id and the same person.
        entries = db.scalars(select(AuditEntry).where(AuditEntry.request_id == request_id))
        actors = {entry.actor_id for entry in entries}
        assert actors == {cast.officer.user.id}
    listing = lines[listed.headers["X-Request-ID"]]
    assert listing["route"] == "/api/v1/cases"
    assert "market" not in log_lines.text() and "q=" not in log_lines.text()
    assert ref not in log_lines.text()  # route templates, never the values in the path


def test_an_error_page_shows_the_request_id_of_its_log_line(
        client: TestClient, cast: Cast, log_lines: LogLines) -> None:
    officer = page_client(client.app, cast.officer)  # type: ignore[arg-type]
    response = officer.get("/cases/WM-2026-9999", headers={"X-Request-ID": "obs-missing-0003"})
    assert response.status_code == 404
    assert "obs-missing-0003" in response.text
    line = next(line for line in log_lines.requests()
                if line["request_id"] == "obs-missing-0003")
    assert (line["route"], line["status"], line["user_id"]) == (
        "/cases/{ref}", 404, cast.officer.user.id)
    unknown = officer.get("/no/such/page/pc.shah")
    assert unknown.status_code == 404
    line = next(line for line in log_lines.requests()
                if line["request_id"] == unknown.headers["X-Request-ID"])
    assert line["route"] == "unmatched" and "pc.shah" not in log_lines.text()


def test_journeys_with_the_demos_personal_data_leave_none_of_it_in_the_logs(
        client: TestClient, cast: Cast, log_lines: LogLines) -> None:
    officer, supervisor = cast.officer, cast.supervisor
    # A case with the demo's case text, read on its page and found by a search.
    case = client.post("/api/v1/cases", headers=officer.api,
                       json=new_case_body(title=CASE_TITLE, problem_statement=PROBLEM,
                                          category="theft-from-the-person"))
    assert case.status_code == 201
    ref = case.json()["ref"]
    assert client.post(f"/api/v1/cases/{ref}/notes", headers=officer.api,
                       json={"body": f"Spoke to {CONTACT_NAME} on {CONTACT_PHONE}"}
                       ).status_code == 201
    pages = page_client(client.app, officer)  # type: ignore[arg-type]
    assert pages.get(f"/cases/{ref}").status_code == 200
    assert pages.get("/cases", params={"q": "moped riders"}).status_code == 200
    # A partner agency and its contact, from the demo's directory, then searched for.
    agency = client.post("/api/v1/partners", headers=supervisor.api, json={
        "name": COUNCIL.name, "kind": COUNCIL.kind.value, "borough": WESTMINSTER,
        "notes": COUNCIL.notes})
    assert agency.status_code == 201, agency.text
    contact = client.post(f"/api/v1/partners/{agency.json()['id']}/contacts",
                          headers=supervisor.api, json={
                              "name": CONTACT_NAME, "job_title": CONTACT_TITLE,
                              "phone": CONTACT_PHONE, "email": CONTACT_EMAIL})
    assert contact.status_code == 201, contact.text
    assert client.get("/api/v1/partners", headers=officer.api,
                      params={"q": CONTACT_NAME}).status_code == 200
    # A concern from a member of the public, with how to reach them.
    concern = client.post("/api/v1/concerns", headers=officer.api, json={
        "borough": WESTMINSTER, "raised_on": (today() - timedelta(days=2)).isoformat(),
        "raised_by_kind": "resident", "raised_by": RAISED_BY, "contact": CONCERN_CONTACT,
        "channel": "street_briefing", "place": "Lisson Green, block D stairwell",
        "description": CONCERN_TEXT})
    assert concern.status_code == 201, concern.text
    assert client.get(f"/api/v1/concerns/{concern.json()['id']}",
                      headers=officer.api).status_code == 200
    # Refused input that carries personal data is not echoed into the logs either.
    refused = client.post("/api/v1/concerns", headers=officer.api, json={
        "borough": WESTMINSTER, "raised_on": "not a date", "raised_by_kind": "resident",
        "raised_by": CONTACT_NAME, "contact": CONTACT_EMAIL, "channel": "online",
        "description": CONCERN_TEXT})
    assert refused.status_code == 422

    text = log_lines.text()
    assert len(log_lines.requests()) >= 10  # the journeys were logged ...
    personal = [CASE_TITLE, PROBLEM, "moped", CONTACT_NAME, CONTACT_PHONE, CONTACT_EMAIL,
                RAISED_BY, CONCERN_CONTACT, CONCERN_TEXT, "Lisson Green", "stairwell",
                *(p.user.display_name for p in cast.all()), officer.user.username,
                supervisor.user.username]
    for value in personal:  # ... and none of this is in them
        assert value.lower() not in text.lower(), f"{value!r} is in the logs"
