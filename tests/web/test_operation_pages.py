"""Operation pages for those who run an operation and those who only read it, and names (not
ONS codes) wherever a person reads an area: the header, lists, filters, dashboards, the access
log; a North Wales user included."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.roles import Role
from app.reference.models import Borough
from tests.api.test_cases_api import create, patch
from tests.conftest import CAMDEN, CITY, WESTMINSTER, Cast, Person
from tests.web.test_pages import Pages, field_error

GSS = re.compile(r"\b[EW]0[5-9]\d{6}\b")
ANGLESEY = "W06000001"


def visible_text(page: str) -> str:
    """What a reader sees: the page without its tags (and so without attribute values)."""
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def header(page: str) -> str:
    found = re.search(r'<span class="app-header__user">(.*?)</span></span>', page, re.S)
    assert found, "no signed-in user in the header"
    return visible_text(found.group(1))


def options(page: str, select_id: str) -> list[str]:
    found = re.search(rf'<select[^>]* id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert found, f"no select {select_id}"
    return [visible_text(o) for o in re.findall(r"<option[^>]*>(.*?)</option>", found.group(1))]


def new_operation(client: TestClient, person: Person, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/operations", headers=person.api, json={
        "name": "Nightingale", "start_date": "2026-04-01", **body})
    assert response.status_code == 201, response.text
    return response.json()


def form(person: Person, **fields: str) -> dict[str, str]:
    return {"csrf_token": person.csrf, **fields}


# --- who changes an operation ------------------------------------------------------------------

def test_a_reader_of_a_force_wide_operation_is_offered_no_change(
        client: TestClient, pages: Pages, cast: Cast) -> None:
    central = new_operation(client, cast.analyst, force="metropolitan")
    supervisor = pages(cast.supervisor)
    page = supervisor.get(f"/operations/{central['id']}")
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "Run by Metropolitan Police (force-wide)" in text
    assert f'href="/operations/{central["id"]}/edit"' not in page.text
    assert f'action="/operations/{central["id"]}/cases"' not in page.text
    assert ("Only Metropolitan Police's analysts and the supervisors who work across it change "
            "this operation or add its cases.") in text
    assert supervisor.get(f"/operations/{central['id']}/edit").status_code == 403
    ref = create(client, cast.officer)["ref"]
    refused = supervisor.post(f"/operations/{central['id']}/cases",
                              data=form(cast.supervisor, ref=ref))
    assert refused.status_code == 403
    assert "only its analysts and the supervisors who work across the force change it" in \
        visible_text(refused.text)
    allocation = supervisor.get(f"/operations/{central['id']}/allocation").text
    assert "Add hotspot cells as candidates" not in allocation
    assert "Metropolitan Police's analysts can allocate them" in visible_text(allocation)
    assert supervisor.post(f"/operations/{central['id']}/allocation", data=form(
        cast.supervisor, method="pairs")).status_code == 403
    listed = visible_text(supervisor.get("/operations").text)
    assert "Operation Nightingale" in listed and "Yours to change" not in listed


def test_an_areas_supervisor_runs_its_operation_from_the_pages(
        client: TestClient, pages: Pages, cast: Cast) -> None:
    supervisor = pages(cast.supervisor)
    form_page = supervisor.get("/operations/new").text
    assert options(form_page, "borough") == ["Westminster"]  # their own area, nothing else
    created = supervisor.post("/operations", data=form(
        cast.supervisor, name="Church Street", borough=WESTMINSTER, start_date="2026-04-01"))
    assert created.status_code == 303
    operation = created.headers["location"].split("/")[2].split("?")[0]
    page = supervisor.get(f"/operations/{operation}")
    assert "Run by Westminster" in visible_text(page.text)
    assert f'href="/operations/{operation}/edit"' in page.text
    assert f'action="/operations/{operation}/cases"' in page.text
    ref = create(client, cast.officer)["ref"]
    assert supervisor.post(f"/operations/{operation}/cases",
                           data=form(cast.supervisor, ref=ref)).status_code == 303
    assert "Yours to change" in visible_text(supervisor.get("/operations").text)
    # The Camden officer does not read Westminster's operation: not found, as its cases.
    assert pages(cast.camden_officer).get(f"/operations/{operation}").status_code == 404
    # Another area's owner is refused on the form, naming the field.
    camden = supervisor.post("/operations", data=form(
        cast.supervisor, name="Camden Town", borough=CAMDEN, start_date="2026-04-01"))
    assert camden.status_code == 422
    assert field_error(camden.text, "borough") == (
        "You cannot run an operation for Camden. Choose your own area, Westminster.")


def test_the_analyst_chooses_the_area_or_the_force_and_hands_it_over(
        client: TestClient, pages: Pages, cast: Cast) -> None:
    analyst = pages(cast.analyst)
    choices = options(analyst.get("/operations/new").text, "borough")
    assert choices[0] == "The whole force (force-wide)"
    assert "Westminster" in choices and "Camden" in choices and WESTMINSTER not in choices
    created = analyst.post("/operations", data=form(
        cast.analyst, name="Central", force="metropolitan", borough="",
        start_date="2026-04-01"))
    assert created.status_code == 303
    operation = created.headers["location"].split("/")[2].split("?")[0]
    edit = analyst.get(f"/operations/{operation}/edit").text
    assert options(edit, "borough")[0] == "The whole force (force-wide)"
    handed = analyst.post(f"/operations/{operation}", data=form(
        cast.analyst, name="Central", start_date="2026-04-01", borough=WESTMINSTER,
        version="1"))
    assert handed.status_code == 303
    assert "Run by Westminster" in visible_text(analyst.get(f"/operations/{operation}").text)
    # Now the Westminster supervisor's to change.
    assert pages(cast.supervisor).get(f"/operations/{operation}/edit").status_code == 200


def test_the_city_of_londons_operation_is_unknown_to_a_westminster_supervisor(
        client: TestClient, pages: Pages, cast: Cast) -> None:
    lantern = new_operation(client, cast.analyst, name="Lantern", force="city-of-london",
                            borough=CITY)
    supervisor = pages(cast.supervisor)
    for url in (f"/operations/{lantern['id']}", f"/operations/{lantern['id']}/edit",
                f"/operations/{lantern['id']}/allocation"):
        assert supervisor.get(url).status_code == 404, url
    renamed = supervisor.post(f"/operations/{lantern['id']}", data=form(
        cast.supervisor, name="Renamed", start_date="2026-04-01", version="1"))
    assert renamed.status_code == 404
    assert "Lantern" not in supervisor.get("/operations").text
    assert client.get(f"/api/v1/operations/{lantern['id']}",
                      headers=cast.analyst.api).json()["name"] == "Lantern"


def test_the_operation_list_filters_by_the_area_that_runs_it(
        client: TestClient, pages: Pages, cast: Cast,
        make_person: Callable[..., Person]) -> None:
    camden_sgt = make_person("sgt.patel", Role.SUPERVISOR, CAMDEN, "Sgt Ravi Patel")
    new_operation(client, cast.supervisor, name="Church Street")
    new_operation(client, camden_sgt, name="Camden Town")
    new_operation(client, cast.analyst, name="Central", force="metropolitan")
    analyst = pages(cast.analyst)
    page = analyst.get(f"/operations?borough={CAMDEN}").text
    assert "Camden" in options(page, "borough") and CAMDEN not in options(page, "borough")
    text = visible_text(page)
    assert "Operation Camden Town" in text and "Run by Camden" in text
    assert "Church Street" not in text and "Operation Central" not in text
    everything = visible_text(analyst.get("/operations").text)
    assert "Run by Metropolitan Police (force-wide)" in everything
    bad = visible_text(analyst.get("/operations?borough=nowhere").text)
    assert "The area filter was ignored" in bad and "Operation Central" in bad
    # One who works in one area has nothing to filter.
    assert 'id="borough"' not in pages(cast.officer).get("/operations").text


# --- names, not codes --------------------------------------------------------------------------

@pytest.fixture
def anglesey(db: Session) -> Borough:
    """A North Wales area whose boundary file gave its Welsh name."""
    area = Borough(code=ANGLESEY, name="Isle of Anglesey", name_welsh="Ynys Môn",
                   ref_prefix="YM", force_id="north-wales")
    db.add(area)
    db.commit()
    return area


def test_the_header_names_the_area_or_force_never_its_code(
        pages: Pages, cast: Cast, make_person: Callable[..., Person], anglesey: Borough) -> None:
    assert header(pages(cast.officer).get("/cases").text) == "PC Amira Shah Officer, Westminster"
    assert header(pages(cast.camden_officer).get("/cases").text) == \
        "PC Tom Clarke Officer, Camden"
    welsh = make_person("pc.hughes", Role.OFFICER, ANGLESEY, "PC Siân Hughes")
    assert header(pages(welsh).get("/cases").text) == \
        "PC Siân Hughes Officer, Isle of Anglesey / Ynys Môn"
    nw_analyst = make_person("analyst.wyn", Role.ANALYST, None, "Wyn Analyst",
                             force="north-wales")
    assert header(pages(nw_analyst).get("/cases").text) == \
        "Wyn Analyst Analyst, North Wales Police"


def test_lists_filters_and_dashboards_show_names(
        client: TestClient, pages: Pages, cast: Cast, db: Session,
        make_person: Callable[..., Person], anglesey: Borough) -> None:
    ref = create(client, cast.officer)["ref"]
    central = new_operation(client, cast.analyst, force="metropolitan")
    patch(client, cast.analyst, ref, operation=central["id"])
    welsh = make_person("pc.hughes", Role.OFFICER, ANGLESEY, "PC Siân Hughes")
    create(client, welsh, borough=ANGLESEY, ward=None, title="Shoplifting in Holyhead",
           category="shoplifting")
    analyst = pages(cast.analyst)
    for url in ("/cases", f"/cases?borough={WESTMINSTER}", "/dashboard",
                f"/dashboard?borough={WESTMINSTER}", "/operations", f"/operations/{central['id']}",
                "/queue", f"/queue?borough={ANGLESEY}", "/concerns"):
        page = analyst.get(url)
        assert page.status_code == 200, url
        assert not GSS.findall(visible_text(page.text)), (url, GSS.findall(
            visible_text(page.text)))
    cases = analyst.get("/cases").text
    assert "Isle of Anglesey / Ynys Môn" in options(cases, "borough")
    assert "Westminster" in visible_text(cases)
    dashboard = visible_text(analyst.get(f"/dashboard?borough={WESTMINSTER}").text)
    assert "Westminster" in dashboard
    welsh_page = pages(welsh)
    for url in ("/cases", "/dashboard", "/queue", "/operations"):
        text = visible_text(welsh_page.get(url).text)
        assert not GSS.findall(text), (url, GSS.findall(text))
    assert "Isle of Anglesey / Ynys Môn" in visible_text(welsh_page.get("/cases").text)


def test_the_access_log_names_the_areas_it_records(pages: Pages, cast: Cast) -> None:
    pages(cast.supervisor).get(f"/queue?borough={WESTMINSTER}")  # logged under the area
    log = visible_text(pages(cast.admin).get("/admin/audit?action=queue.view").text)
    assert f"Westminster ({WESTMINSTER})" in log
