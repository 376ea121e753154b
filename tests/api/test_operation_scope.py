"""Who runs an operation, over the JSON API: an operation belongs to the local policing area
that runs it (or to its force as a whole); only that area's supervisors and the force's
analysts change it; it is read where its owner's cases are read, and unknown elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.auth.roles import Role
from tests.api.test_cases_api import create, patch
from tests.conftest import CAMDEN, CITY, WESTMINSTER, Cast, Person


def post(client: TestClient, person: Person, expected: int, **body: Any) -> dict[str, Any]:
    body = {"name": "Nightingale", "start_date": "2026-04-01", **body}
    response = client.post("/api/v1/operations", json=body, headers=person.api)
    assert response.status_code == expected, response.text
    return response.json()


def change(client: TestClient, person: Person, operation: dict[str, Any],
           **fields: Any) -> Any:
    return client.patch(f"/api/v1/operations/{operation['id']}", headers=person.api,
                        json={"version": operation["version"], **fields})


@pytest.fixture
def camden_supervisor(make_person: Callable[..., Person]) -> Person:
    return make_person("sgt.patel", Role.SUPERVISOR, CAMDEN, "Sgt Ravi Patel")


@pytest.fixture
def city_operation(client: TestClient, cast: Cast) -> dict[str, Any]:
    """The City of London Police's operation, run by the City."""
    return post(client, cast.analyst, 201, name="Lantern", force="city-of-london", borough=CITY)


def test_an_operation_is_run_by_its_creators_area_by_default(client: TestClient,
                                                             cast: Cast) -> None:
    mine = post(client, cast.supervisor, 201, force="metropolitan")
    assert (mine["borough"], mine["borough_name"], mine["force"]) == (
        WESTMINSTER, "Westminster", "metropolitan")
    assert mine["can_change"] is True
    central = post(client, cast.analyst, 201, name="Central", force="metropolitan")
    assert (central["borough"], central["borough_name"]) == (None, None)  # the force's
    for_westminster = post(client, cast.analyst, 201, name="Church Street",
                           force="metropolitan", borough=WESTMINSTER)
    assert for_westminster["borough"] == WESTMINSTER


def test_one_sets_up_operations_only_for_an_owner_one_could_change(client: TestClient,
                                                                  cast: Cast) -> None:
    camden = post(client, cast.supervisor, 422, borough=CAMDEN)
    assert camden["errors"] == [{"field": "borough", "message": (
        "You cannot run an operation for Camden. Choose your own area, Westminster.")}]
    force_wide = post(client, cast.supervisor, 422, borough=None)
    assert force_wide["errors"] == [{"field": "borough", "message": (
        "Only those who work across the force set up or run a force-wide operation. Choose "
        "your own area, Westminster.")}]
    city = post(client, cast.supervisor, 422, force="city-of-london", borough=CITY)
    assert city["errors"][0]["field"] == "force"
    mixed = post(client, cast.analyst, 422, force="city-of-london", borough=WESTMINSTER)
    assert mixed["errors"] == [{"field": "borough", "message": (
        "Westminster is an area of another force than City of London Police.")}]
    unknown = post(client, cast.analyst, 422, borough="E09000099")
    assert unknown["errors"][0]["field"] == "borough"
    assert client.get("/api/v1/operations", headers=cast.analyst.api).json() == []


def test_a_westminster_supervisor_cannot_touch_the_city_of_londons_operation(
        client: TestClient, cast: Cast, city_operation: dict[str, Any]) -> None:
    """The issue's case: renaming another force's operation. It is not theirs to read either,
    so it answers as a case out of scope does: not found."""
    url = f"/api/v1/operations/{city_operation['id']}"
    renamed = change(client, cast.supervisor, city_operation, name="Renamed")
    assert renamed.status_code == 404
    assert renamed.json() == {"error": "not_found",
                              "message": f"There is no operation {city_operation['id']}."}
    assert client.get(url, headers=cast.supervisor.api).status_code == 404
    assert client.get("/api/v1/operations", headers=cast.supervisor.api).json() == []
    unchanged = client.get(url, headers=cast.analyst.api).json()
    assert unchanged["name"] == "Lantern" and unchanged["version"] == 1
    assert change(client, cast.analyst, city_operation, name="Lantern II").status_code == 200


def test_readers_of_a_force_wide_operation_are_refused_its_changes(client: TestClient,
                                                                   cast: Cast) -> None:
    central = post(client, cast.analyst, 201, name="Central", force="metropolitan")
    for person in (cast.supervisor, cast.officer, cast.camden_officer, cast.evaluator):
        read = client.get(f"/api/v1/operations/{central['id']}", headers=person.api)
        assert read.status_code == 200 and read.json()["can_change"] is False
    refused = change(client, cast.supervisor, central, unit="Westminster's now")
    assert refused.status_code == 403
    assert refused.json() == {"error": "forbidden", "message": (
        "Operation Central is run by Metropolitan Police as a whole: only its analysts and "
        "the supervisors who work across the force change it.")}
    ref = create(client, cast.officer)["ref"]
    version = client.get(f"/api/v1/cases/{ref}", headers=cast.officer.api).json()["version"]
    joining = client.patch(f"/api/v1/cases/{ref}", headers=cast.supervisor.api,
                           json={"version": version, "operation": central["id"]})
    assert joining.status_code == 403
    allocation = client.post(f"/api/v1/operations/{central['id']}/allocation",
                             headers=cast.supervisor.api, json={"cases": [ref]})
    assert allocation.status_code == 403
    assert client.get(f"/api/v1/operations/{central['id']}",
                      headers=cast.analyst.api).json()["version"] == 1


def test_an_areas_operation_is_its_supervisors_and_unknown_elsewhere(
        client: TestClient, cast: Cast, camden_supervisor: Person) -> None:
    mine = post(client, cast.supervisor, 201)
    refused = change(client, cast.officer, mine, unit="Officer's unit")
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        "Operation Nightingale is run by Westminster: only Westminster's supervisors and "
        "Metropolitan Police's analysts change it.")
    assert change(client, camden_supervisor, mine, unit="Camden's").status_code == 404
    assert client.get(f"/api/v1/operations/{mine['id']}",
                      headers=cast.camden_officer.api).status_code == 404
    changed = change(client, cast.supervisor, mine, unit="Westminster NPT")
    assert changed.status_code == 200 and changed.json()["unit"] == "Westminster NPT"
    by_analyst = change(client, cast.analyst, changed.json(), description="Market hotspots")
    assert by_analyst.status_code == 200


def test_only_the_owners_cases_join_its_operation(
        client: TestClient, cast: Cast, make_person: Callable[..., Person]) -> None:
    mine = post(client, cast.supervisor, 201)
    westminster = create(client, cast.officer)["ref"]
    camden = create(client, cast.camden_officer, borough=CAMDEN, ward=None)["ref"]
    patch(client, cast.analyst, westminster, operation=mine["id"])
    version = client.get(f"/api/v1/cases/{camden}", headers=cast.analyst.api).json()["version"]
    outside = client.patch(f"/api/v1/cases/{camden}", headers=cast.analyst.api,
                           json={"version": version, "operation": mine["id"]})
    assert outside.status_code == 422
    assert outside.json()["errors"] == [{"field": "operation", "message": (
        "Nightingale is run by Westminster: only its cases can join it, not one in Camden.")}]
    # Nor does a case of the operation move out of Westminster while in it (a supervisor who
    # works across the force could move it otherwise).
    met = make_person("sgt.met", Role.SUPERVISOR, None, "Sgt Met", force="metropolitan")
    version = client.get(f"/api/v1/cases/{westminster}", headers=met.api).json()["version"]
    supervisor_move = client.patch(f"/api/v1/cases/{westminster}", headers=met.api,
                                   json={"version": version, "borough": CAMDEN,
                                         "owner": None})
    assert supervisor_move.status_code == 422
    assert supervisor_move.json()["errors"] == [{"field": "borough", "message": (
        "Nightingale is run by Westminster, which holds only its own cases: take the case out "
        "of the operation first.")}]


def test_an_operation_is_handed_to_an_area_that_holds_all_its_cases(
        client: TestClient, cast: Cast) -> None:
    central = post(client, cast.analyst, 201, name="Central", force="metropolitan")
    westminster = create(client, cast.officer)["ref"]
    camden = create(client, cast.camden_officer, borough=CAMDEN, ward=None)["ref"]
    for ref in (westminster, camden):
        patch(client, cast.analyst, ref, operation=central["id"])
    refused = change(client, cast.analyst, central, borough=WESTMINSTER)
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "borough", "message": (
        "1 of the operation's cases lie outside Westminster: an area runs only an operation "
        "of its own cases.")}]
    patch(client, cast.analyst, camden, operation=None)
    handed = change(client, cast.analyst, central, borough=WESTMINSTER)
    assert handed.status_code == 200 and handed.json()["borough_name"] == "Westminster"
    # Now Westminster's: its supervisor changes it, and may not give it back to the force.
    back = change(client, cast.supervisor, handed.json(), borough=None)
    assert back.status_code == 422 and back.json()["errors"][0]["field"] == "borough"


def test_the_list_holds_what_one_may_read_and_filters_by_owner(
        client: TestClient, cast: Cast, city_operation: dict[str, Any],
        camden_supervisor: Person) -> None:
    westminster = post(client, cast.supervisor, 201, name="Church Street")
    camden = post(client, camden_supervisor, 201, name="Camden Town")
    central = post(client, cast.analyst, 201, name="Central", force="metropolitan")

    def names(person: Person, query: str = "") -> set[str]:
        response = client.get(f"/api/v1/operations{query}", headers=person.api)
        assert response.status_code == 200, response.text
        return {o["name"] for o in response.json()}

    assert names(cast.officer) == {westminster["name"], central["name"]}
    assert names(cast.camden_officer) == {camden["name"], central["name"]}
    assert names(cast.analyst) == {"Church Street", "Camden Town", "Central", "Lantern"}
    assert names(cast.analyst, f"?borough={CAMDEN}") == {"Camden Town"}
    assert names(cast.analyst, "?force=city-of-london") == {city_operation["name"]}
    assert names(cast.officer, f"?borough={CAMDEN}") == set()
    unknown = client.get("/api/v1/operations?borough=E09000099", headers=cast.analyst.api)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "borough"
    bad = client.get("/api/v1/operations?borough=Westminster", headers=cast.analyst.api)
    assert bad.status_code == 422
