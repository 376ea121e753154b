"""Partner pages: the directory (add, change, retire, contacts, 422s naming the field), and the
case page's partner section (add, change, remove with htmx; contact details by role)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.partners.models import CasePartner, PartnerAgency, PartnerContact
from tests.conftest import WESTMINSTER, Cast, Person, new_case_body

HTMX = {"HX-Request": "true"}


def agency_form(csrf: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf, "name": "Westminster City Council", "kind": "council",
            "borough": WESTMINSTER, "notes": "ASB team meets on Tuesdays.", **fields}


def contact_form(csrf: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf, "contact-name": "Priya Natarajan",
            "contact-job_title": "ASB caseworker", "contact-phone": "020 7641 6000",
            "contact-email": "p.natarajan@westminster.example", **fields}


def test_a_supervisor_keeps_the_directory(pages: Callable[[Person], TestClient], cast: Cast,
                                          db: Session) -> None:
    page = pages(cast.supervisor)
    assert page.get("/partners/new").status_code == 200
    refused = page.post("/partners", data=agency_form(cast.supervisor.csrf, name="", kind=""))
    assert refused.status_code == 422
    assert 'href="#name"' in refused.text and 'href="#kind"' in refused.text
    created = page.post("/partners", data=agency_form(cast.supervisor.csrf))
    assert created.status_code == 303, created.text
    agency = db.scalars(select(PartnerAgency)).one()
    assert created.headers["location"] == f"/partners/{agency.id}?flash=created"

    bad = page.post(f"/partners/{agency.id}/contacts",
                    data=contact_form(cast.supervisor.csrf, **{"contact-email": "nope"}))
    assert bad.status_code == 422 and 'href="#contact-email"' in bad.text
    added = page.post(f"/partners/{agency.id}/contacts", data=contact_form(cast.supervisor.csrf))
    assert added.status_code == 303
    shown = page.get(f"/partners/{agency.id}").text
    assert "Priya Natarajan" in shown and 'href="tel:02076416000"' in shown

    edit = page.get(f"/partners/{agency.id}/edit")
    assert edit.status_code == 200 and "Westminster City Council" in edit.text
    saved = page.post(f"/partners/{agency.id}", data=agency_form(
        cast.supervisor.csrf, version="1", notes="New lead from January"))
    assert saved.status_code == 303
    stale = page.post(f"/partners/{agency.id}", data=agency_form(
        cast.supervisor.csrf, version="1", notes="Older"))
    assert stale.status_code == 409 and "changed since you opened it" in stale.text

    contact = db.scalars(select(PartnerContact)).one()
    assert page.get(f"/partners/{agency.id}/contacts/{contact.id}/edit").status_code == 200
    erased = page.post(f"/partners/{agency.id}/contacts/{contact.id}", data={
        "csrf_token": cast.supervisor.csrf, "version": "1", "retired": "yes"})
    assert erased.headers["location"].endswith("flash=contact-erased#contacts")
    assert "Priya" not in page.get(f"/partners/{agency.id}").text

    retired = page.post(f"/partners/{agency.id}/retirement", data={
        "csrf_token": cast.supervisor.csrf, "version": "2", "retired": "yes"})
    assert retired.status_code == 303
    assert "Westminster City Council" not in page.get("/partners").text
    assert "Westminster City Council" in page.get("/partners?retired=yes").text


def test_officers_read_the_directory_and_evaluators_see_no_people(
        pages: Callable[[Person], TestClient], cast: Cast, db: Session) -> None:
    supervisor = pages(cast.supervisor)
    supervisor.post("/partners", data=agency_form(cast.supervisor.csrf))
    agency_id = db.scalars(select(PartnerAgency.id)).one()
    supervisor.post(f"/partners/{agency_id}/contacts", data=contact_form(cast.supervisor.csrf))

    officer = pages(cast.officer)
    assert "Westminster City Council" in officer.get("/partners?kind=council").text
    assert "Priya Natarajan" in officer.get(f"/partners/{agency_id}").text
    assert "Add an agency" not in officer.get("/partners").text
    assert officer.get("/partners/new").status_code == 403
    evaluator = pages(cast.evaluator).get(f"/partners/{agency_id}")
    assert evaluator.status_code == 200 and "Priya" not in evaluator.text


def test_the_case_section_adds_changes_and_removes_partners(
        pages: Callable[[Person], TestClient], client: TestClient, cast: Cast,
        db: Session) -> None:
    supervisor = pages(cast.supervisor)
    supervisor.post("/partners", data=agency_form(cast.supervisor.csrf))
    agency = db.scalars(select(PartnerAgency)).one()
    supervisor.post(f"/partners/{agency.id}/contacts", data=contact_form(cast.supervisor.csrf))
    contact = db.scalars(select(PartnerContact)).one()
    ref = client.post("/api/v1/cases", headers=cast.officer.api,
                      json=new_case_body()).json()["ref"]

    page = pages(cast.officer)
    shown = page.get(f"/cases/{ref}")
    assert 'id="section-partners"' in shown.text and "Add a partner agency" in shown.text
    missing = page.post(f"/cases/{ref}/partners", headers=HTMX, data={
        "csrf_token": cast.officer.csrf, "partner-agency": "", "partner-role": "lead"})
    assert missing.status_code == 422 and 'href="#partner-agency"' in missing.text
    added = page.post(f"/cases/{ref}/partners", headers=HTMX, data={
        "csrf_token": cast.officer.csrf, "partner-agency": str(agency.id),
        "partner-contact": str(contact.id), "partner-role": "lead"})
    assert added.status_code == 200, added.text
    assert "Priya Natarajan" in added.text and "Added partner" in added.text  # timeline too
    partner = db.scalars(select(CasePartner)).one()

    analyst = pages(cast.analyst).get(f"/cases/{ref}").text
    assert "Westminster City Council" in analyst and "Priya" not in analyst
    assert "ASB caseworker" in analyst

    changed = page.post(f"/cases/{ref}/partners/{partner.id}", headers=HTMX, data={
        "csrf_token": cast.officer.csrf, "version": "1", f"partner{partner.id}-role": "informed",
        f"partner{partner.id}-contact": ""})
    assert changed.status_code == 200 and "Kept informed" in changed.text
    assert "No contact named" in changed.text
    removed = page.post(f"/cases/{ref}/partners/{partner.id}/removal",
                        data={"csrf_token": cast.officer.csrf})
    assert removed.status_code == 303
    assert db.scalars(select(CasePartner)).all() == []


def test_an_action_form_names_its_lead_agency(pages: Callable[[Person], TestClient],
                                              client: TestClient, cast: Cast,
                                              db: Session) -> None:
    pages(cast.supervisor).post("/partners", data=agency_form(
        cast.supervisor.csrf, name="Transport for London", kind="transport", borough=""))
    agency = db.scalars(select(PartnerAgency)).one()
    ref = client.post("/api/v1/cases", headers=cast.officer.api,
                      json=new_case_body()).json()["ref"]
    page = pages(cast.officer)
    assert "Lead partner agency" in page.get(f"/cases/{ref}?section=actions").text
    added = page.post(f"/cases/{ref}/actions", headers=HTMX, data={
        "csrf_token": cast.officer.csrf, "action-title": "CCTV at the bus stands",
        "action-partner": "police", "action-partner_agency": str(agency.id),
        "action-status": "planned"})
    assert added.status_code == 200, added.text
    assert "Led by Transport for London" in added.text
    action = client.get(f"/api/v1/cases/{ref}", headers=cast.officer.api).json()["actions"][0]
    assert action["partner"] == "tfl" and action["partner_agency"] == agency.id
