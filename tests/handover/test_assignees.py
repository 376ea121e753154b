"""Action assignees: who may carry an action, what the API and the case file say, and the
notification the assignee gets."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.roles import Role
from app.notifications.models import Notification, NotificationKind
from tests.api.test_cases_api import create
from tests.conftest import WESTMINSTER, Cast, Person
from tests.handover.world import deactivate


@pytest.fixture
def jones(make_person: Callable[..., Person]) -> Person:
    return make_person("pc.jones", Role.OFFICER, WESTMINSTER, "PC Ben Jones")


def add(client: TestClient, person: Person, ref: str, **fields: Any) -> Any:
    return client.post(f"/api/v1/cases/{ref}/actions", headers=person.api,
                       json={"title": "Council to fix the lighting", **fields})


def assigned_notes(db: Session) -> list[tuple[int, str, str]]:
    return [(n.user_id, n.key, n.summary) for n in db.scalars(
        select(Notification).where(Notification.kind == NotificationKind.ACTION_ASSIGNED)
        .order_by(Notification.id))]


def test_an_assignee_is_shown_and_told(client: TestClient, db: Session, cast: Cast,
                                       jones: Person,
                                       pages: Callable[[Person], TestClient]) -> None:
    ref = create(client, cast.officer)["ref"]
    response = add(client, cast.supervisor, ref, assignee="PC.Jones")
    assert response.status_code == 201, response.text
    action = response.json()
    assert action["assignee"] == {"username": "pc.jones", "display_name": "PC Ben Jones"}
    assert assigned_notes(db) == [(jones.user.id, f"action_assigned:{action['id']}:"
                                                  f"{jones.user.id}",
                                   f"Sgt Daniel Okafor assigned you an action on {ref}: "
                                   "Council to fix the lighting")]
    case = client.get(f"/api/v1/cases/{ref}", headers=cast.officer.api).json()
    assert case["actions"][0]["assignee"]["username"] == "pc.jones"
    # Re-assigning tells the new assignee; clearing tells nobody; taking it oneself neither.
    moved = client.patch(f"/api/v1/cases/{ref}/actions/{action['id']}", headers=jones.api,
                         json={"version": action["version"], "assignee": "pc.shah"})
    assert moved.status_code == 200 and moved.json()["assignee"]["username"] == "pc.shah"
    cleared = client.patch(f"/api/v1/cases/{ref}/actions/{action['id']}", headers=jones.api,
                           json={"version": moved.json()["version"], "assignee": None})
    assert cleared.json()["assignee"] is None
    own = add(client, cast.officer, ref, assignee="pc.shah")
    assert own.json()["assignee"]["username"] == "pc.shah"
    assert [n[0] for n in assigned_notes(db)] == [jones.user.id, cast.officer.user.id]
    # The page shows it beside the action, and offers the area's people to choose from.
    page = pages(cast.officer).get(f"/cases/{ref}?section=actions")
    assert page.status_code == 200
    assert "Assigned to PC Amira Shah" in page.text and "Not assigned" in page.text
    assert '<option value="pc.jones">PC Ben Jones</option>' in page.text
    assert 'value="pc.clarke"' not in page.text


def test_the_page_form_assigns_an_action(client: TestClient, db: Session, cast: Cast,
                                         jones: Person,
                                         pages: Callable[[Person], TestClient]) -> None:
    ref = create(client, cast.officer)["ref"]
    browser = pages(cast.officer)
    form = {"csrf_token": cast.officer.csrf, "action-title": "Council to fix the lighting",
            "action-partner": "council", "action-status": "planned"}
    saved = browser.post(f"/cases/{ref}/actions", data={**form, "action-assignee": "pc.jones"})
    assert saved.status_code == 303
    assert [n[0] for n in assigned_notes(db)] == [jones.user.id]
    refused = browser.post(f"/cases/{ref}/actions",
                           data={**form, "action-assignee": "pc.clarke"})
    assert refused.status_code == 422
    assert "PC Tom Clarke cannot carry an action in Westminster" in refused.text


def test_only_active_officers_and_supervisors_of_the_area_carry_actions(
        client: TestClient, db: Session, cast: Cast, jones: Person) -> None:
    ref = create(client, cast.officer)["ref"]
    deactivate(db, jones.user)
    for username, message in [
        ("pc.clarke", "PC Tom Clarke cannot carry an action in Westminster: actions are "
                      "assigned to officers or supervisors of the case's area."),
        ("analyst.lee", "Grace Lee cannot carry an action in Westminster: actions are "
                        "assigned to officers or supervisors of the case's area."),
        ("pc.jones", "There is no active user pc.jones."),
        ("pc.nobody", "There is no active user pc.nobody."),
    ]:
        response = add(client, cast.officer, ref, assignee=username)
        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "assignee", "message": message}]
    action = add(client, cast.officer, ref).json()
    refused = client.patch(f"/api/v1/cases/{ref}/actions/{action['id']}",
                           headers=cast.officer.api,
                           json={"version": action["version"], "assignee": "pc.clarke"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "assignee"
    assert assigned_notes(db) == []


def member(content: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return archive.read(name)


def zipped_case(content: bytes) -> dict[str, Any]:
    return json.loads(member(content, "case.json"))["case"]


def test_the_case_file_names_the_assignee_unless_redacted(client: TestClient,
                                                          cast: Cast, jones: Person) -> None:
    ref = create(client, cast.officer)["ref"]
    assert add(client, cast.officer, ref, assignee="pc.jones").status_code == 201
    params = {"reason": "For the evaluation"}
    plain = client.get(f"/api/v1/cases/{ref}/export", params=params, headers=cast.evaluator.api)
    assert plain.status_code == 200, plain.text
    assert zipped_case(plain.content)["actions"][0]["assignee"] == {
        "username": "pc.jones", "name": "PC Ben Jones"}
    assert b"PC Ben Jones" in member(plain.content, "actions.csv")
    assert b"<td>PC Ben Jones</td>" in member(plain.content, "report.html")
    redacted = client.get(f"/api/v1/cases/{ref}/export", params={**params, "redact": True},
                          headers=cast.evaluator.api)
    assignee = zipped_case(redacted.content)["actions"][0]["assignee"]
    assert assignee["name"].startswith("Officer ") and "jones" not in redacted.text.lower()
    assert b"Ben Jones" not in redacted.content
