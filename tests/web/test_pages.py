"""The officers' pages through HTTP: full pages without JavaScript, fragments for htmx."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.cases import service
from app.cases.schemas import CaseCreate, CaseUpdate
from app.reference.service import unknown_area
from tests.conftest import (
    CAMDEN,
    CHURCH_STREET,
    POINT_AREA,
    READY_CHEERS,
    WESTMINSTER,
    Cast,
    Person,
    new_case_body,
)

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}
Pages = Callable[[Person], TestClient]


def open_case(db: Session, person: Person, **overrides: Any) -> str:
    return service.create_case(db, person.actor,
                               CaseCreate.model_validate(new_case_body(**overrides))).ref


def edit(db: Session, person: Person, ref: str, **fields: Any) -> None:
    version = service.case_for(db, person.actor, ref).version  # type: ignore[attr-defined]
    service.update_case(db, person.actor, ref,
                        CaseUpdate.model_validate({"version": version, **fields}))


def version_of(db: Session, ref: str) -> int:
    from sqlalchemy import select

    from app.cases.models import Case
    db.expire_all()
    return db.scalar(select(Case.version).where(Case.ref == ref)) or 0


def field_error(html: str, field_id: str) -> str:
    match = re.search(rf'id="{re.escape(field_id)}-error" class="govuk-error-message">'
                      r'<span class="govuk-visually-hidden">Error:</span> ([^<]*)</p>', html)
    assert match, f"no error message for {field_id}"
    return match.group(1)


@pytest.fixture
def officer(pages: Pages, cast: Cast) -> TestClient:
    return pages(cast.officer)


# --- the list ----------------------------------------------------------------------------------

def test_case_list_shows_only_cases_in_scope(db: Session, cast: Cast, officer: TestClient
                                             ) -> None:
    mine = open_case(db, cast.officer, title="Street violence at the market")
    open_case(db, cast.camden_officer, title="Camden knife crime", borough=CAMDEN, ward=None)
    page = officer.get("/cases")
    assert page.status_code == 200
    assert mine in page.text and "Street violence at the market" in page.text
    assert "Camden knife crime" not in page.text
    assert "<strong>1</strong> case" in page.text


def test_case_list_filters_live_in_the_url(db: Session, cast: Cast, officer: TestClient) -> None:
    open_case(db, cast.officer, title="Drug dealing on the estate", category="drugs")
    open_case(db, cast.officer, title="Robberies at the station", category="robbery")
    page = officer.get("/cases?category=drugs&q=estate&sort=title")
    assert "Drug dealing on the estate" in page.text
    assert "Robberies at the station" not in page.text
    assert '<option value="drugs" selected>' in page.text
    assert 'value="estate"' in page.text


def test_case_list_answers_a_fragment_to_htmx(db: Session, cast: Cast, officer: TestClient
                                              ) -> None:
    open_case(db, cast.officer, title="Phone snatches on Edgware Road")
    full = officer.get("/cases?q=phone")
    fragment = officer.get("/cases?q=phone", headers=HTMX)
    assert full.text.lstrip().startswith("<!DOCTYPE html>")
    assert "<html" not in fragment.text and "<form" not in fragment.text
    assert fragment.text.lstrip().startswith('<div id="case-results"')
    assert "Phone snatches on Edgware Road" in fragment.text
    assert full.headers["Vary"] == fragment.headers["Vary"] == "HX-Request"


def test_case_list_ignores_bad_filters_and_says_so(officer: TestClient) -> None:
    page = officer.get("/cases?stage=finished&page=abc")
    assert page.status_code == 200
    assert "Some filters were ignored" in page.text


def test_case_list_paginates(db: Session, cast: Cast, officer: TestClient) -> None:
    for number in range(27):
        open_case(db, cast.officer, title=f"Problem {number:02d}")
    first = officer.get("/cases?sort=title")
    assert "showing 1 to 25" in first.text and 'href="/cases?sort=title&amp;page=2"' in first.text
    second = officer.get("/cases?sort=title&page=2")
    assert "Problem 25" in second.text and "Problem 26" in second.text
    assert "Problem 00" not in second.text


# --- opening a case ----------------------------------------------------------------------------

def test_new_case_form_shows_errors_beside_fields_and_keeps_input(cast: Cast,
                                                                  officer: TestClient) -> None:
    response = officer.post("/cases", data={
        "csrf_token": cast.officer.csrf, "title": "ab", "problem_statement": "Kept text",
        "category": "", "borough": WESTMINSTER, "ward": "", "priority": "high",
        "source": "officer", "team": "SNT"})
    assert response.status_code == 422
    html = response.text
    assert "There is a problem" in html
    assert field_error(html, "title") == "Enter a title of at least 3 characters."
    assert field_error(html, "category") == "Choose a crime category."
    assert 'value="ab"' in html and "Kept text</textarea>" in html
    assert 'value="high" checked' in html


def test_new_case_opens_in_scanning(cast: Cast, officer: TestClient) -> None:
    response = officer.post("/cases", data={
        "csrf_token": cast.officer.csrf, "title": "Drug dealing on the estate",
        "problem_statement": "", "category": "drugs", "borough": WESTMINSTER,
        "ward": CHURCH_STREET, "priority": "medium", "source": "community", "team": ""})
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/cases/WM-\d{4}-\d{4}\?flash=opened", location)
    page = officer.get(location)
    assert "is open in Scanning" in page.text
    assert "Write the problem statement." in page.text


def test_ward_options_follow_the_borough(officer: TestClient) -> None:
    options = officer.get(f"/wards?borough={CAMDEN}")
    assert "Camden Town" in options.text and "Church Street" not in options.text


# --- the case page -----------------------------------------------------------------------------

def test_case_page_shows_gate_checklist_and_timeline(db: Session, cast: Cast,
                                                     officer: TestClient) -> None:
    ref = open_case(db, cast.officer)
    page = officer.get(f"/cases/{ref}")
    assert page.status_code == 200
    assert "To move to Analysis" in page.text
    assert "CHEERS Community has not been assessed." in page.text
    assert f"Opened {ref} in Scanning" in page.text
    assert 'aria-current="step"' in page.text
    # Each item's link opens the form that meets it (with and without JavaScript).
    link = re.search(r'<a class="govuk-link" href="([^"]+)" hx-get="([^"]+)" '
                     r'hx-target="#section-area" hx-swap="outerHTML show:top" '
                     r'data-gate-item="target_area">Set the target area', page.text)
    assert link is not None
    assert html.unescape(link[1]) == f"/cases/{ref}?section=area&edit=1#section-area"
    opened = officer.get(html.unescape(link[1]).split("#")[0])
    assert opened.status_code == 200
    form = re.search(r'<section id="section-area".*?</section>', opened.text, re.S)
    assert form is not None and "<form" in form[0] and "app-section--editing" in form[0]
    fragment = officer.get(html.unescape(link[2]), headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section id="section-area"')
    assert "<form" in fragment.text


def test_a_gate_item_the_reader_cannot_meet_only_points_to_its_section(
        db: Session, cast: Cast, pages: Callable[[Person], TestClient]) -> None:
    ref = open_case(db, cast.officer)
    page = pages(cast.evaluator).get(f"/cases/{ref}").text  # evaluators edit no section
    assert '<a class="govuk-link" href="#section-area" data-gate-item="target_area">' in page


def test_unknown_and_out_of_scope_cases_are_404(db: Session, cast: Cast, officer: TestClient
                                                ) -> None:
    camden = open_case(db, cast.camden_officer, borough=CAMDEN, ward=None)
    for path in ("/cases/WM-2001-0001", f"/cases/{camden}"):
        response = officer.get(path)
        assert response.status_code == 404
        assert "Page not found" in response.text
        assert "Camden" not in response.text


def test_a_section_opens_for_editing_as_a_page_or_a_fragment(db: Session, cast: Cast,
                                                             officer: TestClient) -> None:
    ref = open_case(db, cast.officer)
    full = officer.get(f"/cases/{ref}?section=cheers&edit=1")
    assert "<!DOCTYPE html>" in full.text and 'name="cheers-community-met"' in full.text
    fragment = officer.get(f"/cases/{ref}?section=cheers&edit=1", headers=HTMX)
    assert fragment.text.lstrip().startswith('<section id="section-cheers"')
    assert 'name="cheers-harm-evidence"' in fragment.text and "<html" not in fragment.text
    read = officer.get(f"/cases/{ref}?section=cheers", headers=HTMX)
    assert "Not assessed" in read.text and "<form" not in read.text


def cheers_form(csrf: str, version: int, **overrides: str) -> dict[str, str]:
    form = {"csrf_token": csrf, "version": str(version)}
    for element in READY_CHEERS:
        form[f"cheers-{element}-met"] = "yes"
        form[f"cheers-{element}-evidence"] = f"Evidence for {element}"
    form.update(overrides)
    return form


def test_saving_a_section_without_javascript_redirects_back(db: Session, cast: Cast,
                                                            officer: TestClient) -> None:
    ref = open_case(db, cast.officer)
    response = officer.post(f"/cases/{ref}/sections/cheers",
                            data=cheers_form(cast.officer.csrf, 1))
    assert response.status_code == 303
    assert response.headers["location"] == f"/cases/{ref}?section=cheers#section-cheers"
    page = officer.get(f"/cases/{ref}")
    assert "Evidence for similarity" in page.text
    assert "CHEERS Community has not been assessed." not in page.text


def test_saving_a_section_with_htmx_swaps_it_and_refreshes_the_gate(db: Session, cast: Cast,
                                                                    officer: TestClient) -> None:
    ref = open_case(db, cast.officer)
    edit(db, cast.officer, ref, target_area=POINT_AREA)
    response = officer.post(f"/cases/{ref}/sections/cheers", headers=HTMX,
                            data=cheers_form(cast.officer.csrf, 2))
    assert response.status_code == 200
    html = response.text
    assert html.lstrip().startswith('<section id="section-cheers"')
    assert '<hx-partial hx-target="#gate" hx-swap="outerHTML">' in html
    assert "Ready:</strong> everything the Scanning gate needs is in place." in html
    assert '<hx-partial hx-target="#timeline"' in html and "Changed CHEERS Community" in html


def test_section_errors_come_back_in_the_form(db: Session, cast: Cast, officer: TestClient
                                              ) -> None:
    ref = open_case(db, cast.officer)
    long_text = "x" * 20001
    data = cheers_form(cast.officer.csrf, 1, **{"cheers-harm-evidence": long_text})
    fragment = officer.post(f"/cases/{ref}/sections/cheers", headers=HTMX, data=data)
    assert fragment.status_code == 422
    assert fragment.text.lstrip().startswith('<section id="section-cheers"')
    assert field_error(fragment.text, "cheers-harm-evidence") == (
        "The evidence for Harm must be 20000 characters or fewer.")
    assert "Evidence for recurring" in fragment.text  # what was typed is kept
    full = officer.post(f"/cases/{ref}/sections/cheers", data=data)
    assert full.status_code == 422 and "There is a problem" in full.text
    assert version_of(db, ref) == 1


def test_target_area_form_explains_swapped_coordinates(db: Session, cast: Cast,
                                                       officer: TestClient) -> None:
    ref = open_case(db, cast.officer)
    response = officer.post(f"/cases/{ref}/sections/area", data={
        "csrf_token": cast.officer.csrf, "version": "1", "target_area-kind": "point",
        "target_area-name": "Market", "target_area-lat": "-0.1707",
        "target_area-lng": "51.5227", "target_area-radius_m": "250"})
    assert response.status_code == 422
    assert "did you mean [-0.1707, 51.5227]?" in response.text
    bad_number = officer.post(f"/cases/{ref}/sections/area", data={
        "csrf_token": cast.officer.csrf, "version": "1", "target_area-kind": "point",
        "target_area-lat": "north", "target_area-lng": "-0.17", "target_area-radius_m": "250"})
    assert field_error(bad_number.text, "target_area-lat") == "Enter the latitude as a number."


def test_a_stale_form_is_not_saved_and_keeps_the_input(db: Session, cast: Cast,
                                                       officer: TestClient) -> None:
    ref = open_case(db, cast.officer)
    edit(db, cast.supervisor, ref, priority="low")
    response = officer.post(f"/cases/{ref}/sections/cheers", headers=HTMX,
                            data=cheers_form(cast.officer.csrf, 1))
    assert response.status_code == 409
    assert "has changed since you opened it" in response.text
    assert "Evidence for harm" in response.text
    assert 'name="version" value="2"' in response.text  # saving again is a deliberate choice
    assert version_of(db, ref) == 2


def test_moving_forward_through_the_page(db: Session, cast: Cast, officer: TestClient) -> None:
    ref = open_case(db, cast.officer)
    refused = officer.post(f"/cases/{ref}/transitions", data={
        "csrf_token": cast.officer.csrf, "form": "advance", "to": "analysis"})
    assert refused.status_code == 409
    assert "The case was not moved" in refused.text
    edit(db, cast.officer, ref, cheers=READY_CHEERS, target_area=POINT_AREA)
    moved = officer.post(f"/cases/{ref}/transitions", data={
        "csrf_token": cast.officer.csrf, "form": "advance", "to": "analysis"})
    assert moved.status_code == 303
    page = officer.get(moved.headers["location"])
    assert f"{ref} is now in Analysis." in page.text
    assert "Moved from Scanning to Analysis" in page.text


def test_sending_back_needs_a_reason(db: Session, cast: Cast, officer: TestClient) -> None:
    ref = open_case(db, cast.officer)
    edit(db, cast.officer, ref, cheers=READY_CHEERS, target_area=POINT_AREA)
    officer.post(f"/cases/{ref}/transitions", data={
        "csrf_token": cast.officer.csrf, "form": "advance", "to": "analysis"})
    refused = officer.post(f"/cases/{ref}/transitions", data={
        "csrf_token": cast.officer.csrf, "form": "back", "back-to": "scanning",
        "back-reason": "  "})
    assert refused.status_code == 422
    assert field_error(refused.text, "back-reason") == "Give a reason for moving the case back."
    back = officer.post(f"/cases/{ref}/transitions", data={
        "csrf_token": cast.officer.csrf, "form": "back", "back-to": "scanning",
        "back-reason": "The problem needs redefining"})
    assert back.status_code == 303
    assert "Reason: The problem needs redefining" in officer.get(f"/cases/{ref}").text


def test_override_form_is_offered_to_supervisors_only(db: Session, cast: Cast, pages: Pages,
                                                      officer: TestClient) -> None:
    ref = open_case(db, cast.officer)
    assert "Override the gate" not in officer.get(f"/cases/{ref}").text
    supervisor = pages(cast.supervisor)
    assert "Override the gate and move to Analysis" in supervisor.get(f"/cases/{ref}").text
    moved = supervisor.post(f"/cases/{ref}/transitions", data={
        "csrf_token": cast.supervisor.csrf, "form": "override", "to": "analysis",
        "override": "true", "override-reason": "Serious violence, analysis now"})
    assert moved.status_code == 303
    page = supervisor.get(f"/cases/{ref}")
    assert "Gate overridden" in page.text and "Serious violence, analysis now" in page.text


def test_notes_hypotheses_and_actions(db: Session, cast: Cast, officer: TestClient) -> None:
    ref = open_case(db, cast.officer)
    note = officer.post(f"/cases/{ref}/notes", headers=HTMX,
                        data={"csrf_token": cast.officer.csrf, "note-body": "Met the traders"})
    assert note.status_code == 200
    assert note.text.lstrip().startswith('<section id="timeline"')
    assert "Met the traders" in note.text
    empty = officer.post(f"/cases/{ref}/notes", headers=HTMX,
                         data={"csrf_token": cast.officer.csrf, "note-body": ""})
    assert empty.status_code == 422
    assert field_error(empty.text, "note-body") == "Enter a note."

    added = officer.post(f"/cases/{ref}/hypotheses", data={
        "csrf_token": cast.officer.csrf, "hypothesis-statement": "Cash draws robbers",
        "hypothesis-status": "open", "hypothesis-evidence": ""})
    assert added.status_code == 303
    bad = officer.post(f"/cases/{ref}/actions", headers=HTMX, data={
        "csrf_token": cast.officer.csrf, "action-title": "Fix lights",
        "action-tactic": "magic", "action-partner": "council", "action-owner": "",
        "action-due_date": "31/01/2026", "action-status": "planned", "action-notes": ""})
    assert bad.status_code == 422
    assert field_error(bad.text, "action-due_date") == (
        "Enter the due date as YYYY-MM-DD, e.g. 2026-03-27.")  # one ISO value, from a script
    assert 'value="Fix lights"' in bad.text
    good = officer.post(f"/cases/{ref}/actions", headers=HTMX, data={
        "csrf_token": cast.officer.csrf, "action-title": "Fix lights",
        "action-tactic": "natural-surveillance", "action-partner": "council",
        "action-owner": "Markets team", "action-due_date": "2020-01-31",
        "action-status": "planned", "action-notes": ""})
    assert good.status_code == 200
    assert "Overdue" in good.text and "Assist natural surveillance" in good.text


def test_pages_send_security_headers(officer: TestClient) -> None:
    response = officer.get("/cases")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    assert re.fullmatch(r"[0-9a-f]{16}", response.headers["X-Request-ID"])
    assert "<script>" not in response.text and " on" + "click=" not in response.text


def test_htmx_is_vendored_not_from_a_cdn(officer: TestClient) -> None:
    html = officer.get("/cases").text
    assert '<script src="/static/vendor/htmx/htmx.min.js' in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    script = officer.get("/static/vendor/htmx/htmx.min.js")
    assert script.status_code == 200 and b"htmx" in script.content[:200]


def test_list_refuses_unknown_places_and_follows_the_borough(db: Session, cast: Cast,
                                                             pages: Pages) -> None:
    analyst = pages(cast.analyst)
    unknown = analyst.get("/cases?borough=E09000099")
    assert unknown.status_code == 200
    assert "E09000099 is not a local policing area here" in unknown.text
    camden = analyst.get(f"/cases?borough={CAMDEN}&ward={CHURCH_STREET}", headers=HTMX)
    assert "Some filters were ignored" not in camden.text  # the ward simply no longer applies
    assert '<hx-partial hx-target="#ward" hx-swap="innerHTML">' in camden.text
    assert "Camden Town" in camden.text and "Church Street" not in camden.text


def test_api_list_refuses_unknown_places(client: TestClient, cast: Cast) -> None:
    response = client.get("/api/v1/cases?borough=E09000099&ward=E05099999",
                          headers=cast.analyst.api)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "borough", "message": unknown_area("E09000099")},
        {"field": "ward", "message": "E05099999 is not a ward of any local policing area."},
    ]
