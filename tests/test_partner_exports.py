"""Partners in the case file: carried with their contacts for the command line's operator,
by job title only for an evaluator (who does not see contacts), replaced by placeholders when
redacted (in free text too, without garbling the places and agencies named), and brought back
by the importer."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.context import Actor
from app.cases.models import Action, Case
from app.exports.importer import import_case_file
from app.exports.service import export_case
from app.partners.models import CasePartner, PartnerAgency, PartnerContact
from tests.conftest import Cast, new_case_body

NOTE = ("Spoke to Sam London at Transport for London (sam.london@tfl.example, 020 7222 1234) "
        "about the City of London Police cycle team. Sam will send the CCTV.")


def members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def case_json(content: bytes) -> dict[str, Any]:
    return json.loads(members(content)["case.json"])["case"]


def partnered_case(client: TestClient, cast: Cast) -> str:
    """A case with Transport for London leading (contact Sam London) and an action it leads."""
    sup = cast.supervisor.api
    tfl = client.post("/api/v1/partners", headers=sup, json={
        "name": "Transport for London", "kind": "transport"}).json()
    sam = client.post(f"/api/v1/partners/{tfl['id']}/contacts", headers=sup, json={
        "name": "Sam London", "job_title": "Community safety manager",
        "phone": "020 7222 1234", "email": "sam.london@tfl.example"}).json()
    ref = client.post("/api/v1/cases", headers=cast.officer.api,
                      json=new_case_body()).json()["ref"]
    added = client.post(f"/api/v1/cases/{ref}/partners", headers=cast.officer.api,
                        json={"agency": tfl["id"], "contact": sam["id"], "role": "lead"})
    assert added.status_code == 201, added.text
    action = client.post(f"/api/v1/cases/{ref}/actions", headers=cast.officer.api, json={
        "title": "CCTV at the bus stands", "partner_agency": tfl["id"], "notes": NOTE})
    assert action.status_code == 201, action.text
    assert client.post(f"/api/v1/cases/{ref}/notes", headers=cast.officer.api,
                       json={"body": NOTE}).status_code == 201
    return str(ref)


def test_the_operators_file_carries_contacts_and_imports_back(client: TestClient, cast: Cast,
                                                              db: Session) -> None:
    ref = partnered_case(client, cast)
    content = export_case(db, Actor.cli(), ref, reason="Moving to the new server").content
    case = case_json(content)
    partner = case["partners"][0]
    assert partner["agency"]["name"] == "Transport for London" and partner["role"] == "lead"
    assert partner["contact"]["email"] == "sam.london@tfl.example"
    assert case["actions"][0]["partner_agency"] == "Transport for London"
    assert b"Sam London" in members(content)["partners.csv"]
    report = members(content)["report.html"].decode("utf-8")
    assert "<td>Transport for London</td><td>Transport operator</td><td>Lead</td>" in report

    imported = import_case_file(db, Actor.cli(), content)
    copy = db.scalar(select(Case).where(Case.ref == imported.ref))
    assert copy is not None and copy.ref != ref
    rows = list(db.scalars(select(CasePartner).where(CasePartner.case_id == copy.id)))
    assert [(r.agency.name, r.role.value, r.contact.name if r.contact else None)
            for r in rows] == [("Transport for London", "lead", "Sam London")]
    # Matched in the directory, not added twice.
    assert db.scalar(select(PartnerAgency.id).where(
        PartnerAgency.name == "Transport for London").limit(2)) is not None
    assert len(list(db.scalars(select(PartnerAgency)))) == 1
    assert len(list(db.scalars(select(PartnerContact)))) == 1
    action = db.scalar(select(Action).where(Action.case_id == copy.id))
    assert action is not None and action.partner_agency is not None
    assert action.partner.value == "tfl"


def test_an_evaluators_file_names_contacts_by_job_title_only(client: TestClient,
                                                             cast: Cast) -> None:
    ref = partnered_case(client, cast)
    response = client.get(f"/api/v1/cases/{ref}/export", headers=cast.evaluator.api,
                          params={"reason": "For the evaluation"})
    assert response.status_code == 200, response.text
    found = members(response.content)
    contact = json.loads(found["case.json"])["case"]["partners"][0]["contact"]
    assert contact == {"name": "Partner contact 1", "job_title": "Community safety manager",
                       "phone": "", "email": ""}
    assert b"sam.london@tfl.example" not in found["partners.csv"]
    manifest = json.loads(found["manifest.json"])
    assert manifest["redaction"]["partner_contacts"].startswith("withheld")


def test_redaction_removes_contacts_and_their_names_in_free_text(client: TestClient,
                                                                 cast: Cast,
                                                                 db: Session) -> None:
    ref = partnered_case(client, cast)
    content = export_case(db, Actor.cli(), ref, reason="Tilley award entry",
                          redacted=True).content
    found = members(content)
    for name, data in found.items():
        text = data.decode("utf-8", "replace")
        assert "Sam London" not in text and "sam.london" not in text, name
        assert "7222 1234" not in text, name
    case = json.loads(found["case.json"])["case"]
    assert case["partners"][0]["contact"] == {
        "name": "Partner contact 1", "job_title": "Community safety manager", "phone": "",
        "email": ""}
    assert case["partners"][0]["agency"]["name"] == "Transport for London"
    notes = case["actions"][0]["notes"]
    # The person is gone; the agency and the police unit that share a word with them are not
    # garbled (issue 18, item 9).
    assert notes.startswith("Spoke to Partner contact 1 at Transport for London (")
    assert "City of London Police cycle team" in notes
    assert "Partner contact 1 will send the CCTV" in notes
    manifest = json.loads(found["manifest.json"])
    assert manifest["redaction"]["applied"] and manifest["redaction"]["partner_contacts"] == 1
    # A redacted file brings the partners back without the placeholder person.
    imported = import_case_file(db, Actor.cli(), content)
    copy = db.scalar(select(Case).where(Case.ref == imported.ref))
    assert copy is not None
    rows = list(db.scalars(select(CasePartner).where(CasePartner.case_id == copy.id)))
    assert [(r.agency.name, r.contact_id) for r in rows] == [("Transport for London", None)]


def test_redaction_keeps_the_names_of_forces_and_areas_a_contact_shares(
        client: TestClient, cast: Cast, db: Session) -> None:
    """The file names no place with "London" in it here: the force and area names the
    database knows are kept whole all the same."""
    sup = cast.supervisor.api
    council = client.post("/api/v1/partners", headers=sup, json={
        "name": "Westminster City Council", "kind": "council"}).json()
    sam = client.post(f"/api/v1/partners/{council['id']}/contacts", headers=sup,
                      json={"name": "Sam London", "job_title": "Markets officer"}).json()
    ref = client.post("/api/v1/cases", headers=cast.officer.api,
                      json=new_case_body()).json()["ref"]
    client.post(f"/api/v1/cases/{ref}/partners", headers=cast.officer.api,
                json={"agency": council["id"], "contact": sam["id"]})
    client.post(f"/api/v1/cases/{ref}/notes", headers=cast.officer.api, json={
        "body": "Sam London will ask the City of London Police cycle team. London is "
                "named, Sam is not."})
    content = export_case(db, Actor.cli(), ref, reason="Tilley award entry",
                          redacted=True).content
    notes = [e["body"] for e in case_json(content)["timeline"] if e["kind"] == "note"]
    assert notes == ["Partner contact 1 will ask the City of London Police cycle team. London "
                     "is named, Partner contact 1 is not."]
