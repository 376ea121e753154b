"""Sign-in groups: the identity-provider groups an administrator gives a role and scope, over
the API and the admin page, and which one wins when a person is in several."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.auth.models import SignInGroup
from app.auth.roles import Role
from app.auth.signin_groups import access_for
from tests.conftest import CAMDEN, WESTMINSTER, Cast, Person


def test_admins_add_list_and_remove_groups_over_the_api(client: TestClient, cast: Cast,
                                                        db: Session) -> None:
    added = client.post("/api/v1/sign-in-groups", headers=cast.admin.api, json={
        "group": "0b7f-westminster-officers", "role": "officer", "borough": WESTMINSTER})
    assert added.status_code == 201
    body = added.json()
    assert (body["role"], body["borough"], body["force"]) == ("officer", WESTMINSTER,
                                                              "metropolitan")
    listed = client.get("/api/v1/sign-in-groups", headers=cast.admin.api).json()
    assert [g["group"] for g in listed] == ["0b7f-westminster-officers"]
    assert client.delete(f"/api/v1/sign-in-groups/{body['id']}",
                         headers=cast.admin.api).status_code == 204
    assert client.get("/api/v1/sign-in-groups", headers=cast.admin.api).json() == []
    actions = list(db.scalars(select(AuditEntry.action).where(
        AuditEntry.object_ref == "0b7f-westminster-officers").order_by(AuditEntry.seq)))
    assert actions == ["signin_group.add", "signin_group.remove"]


def test_bad_groups_are_refused_naming_the_field(client: TestClient, cast: Cast) -> None:
    client.post("/api/v1/sign-in-groups", headers=cast.admin.api,
                json={"group": "taken", "role": "analyst"})
    cases = [({"group": "taken", "role": "analyst"}, "group"),
             ({"group": "admins", "role": "admin", "borough": CAMDEN}, "force"),
             ({"group": "nowhere", "role": "officer", "borough": "E09999999"}, "borough"),
             ({"group": "elsewhere", "role": "officer", "force": "atlantis"}, "force"),
             ({"group": "nul\x00group", "role": "officer"}, "group")]
    for body, field in cases:
        refused = client.post("/api/v1/sign-in-groups", headers=cast.admin.api, json=body)
        assert refused.status_code == 422, body
        assert [e["field"] for e in refused.json()["errors"]] == [field], body


def test_the_admin_page_adds_a_group_and_shows_errors_by_field(
        pages: Callable[[Person], TestClient], cast: Cast, db: Session) -> None:
    admin = pages(cast.admin)
    form = {"csrf_token": cast.admin.csrf, "group": "camden-supervisors", "role": "supervisor",
            "force": "", "borough": CAMDEN}
    assert admin.post("/admin/sign-in-groups", data=form).status_code == 303
    page = admin.get("/admin/sign-in-groups")
    assert "camden-supervisors" in page.text and "Camden" in page.text
    refused = admin.post("/admin/sign-in-groups", data={**form, "role": ""})
    assert refused.status_code == 422
    assert "Choose the role this group gives." in refused.text
    assert "already gives a role" in refused.text
    row = db.scalar(select(SignInGroup).where(SignInGroup.group == "camden-supervisors"))
    assert row is not None and row.role is Role.SUPERVISOR


def test_the_group_with_the_most_access_wins(db: Session) -> None:
    db.add_all([SignInGroup(group="b-officers", role=Role.OFFICER, borough_code=WESTMINSTER,
                            force_id="metropolitan"),
                SignInGroup(group="z-supervisors", role=Role.SUPERVISOR, borough_code=CAMDEN,
                            force_id="metropolitan"),
                SignInGroup(group="a-supervisors", role=Role.SUPERVISOR,
                            borough_code=WESTMINSTER, force_id="metropolitan")])
    db.flush()
    assert access_for(db, ["b-officers", "z-supervisors", "a-supervisors"]).group == \
        "a-supervisors"  # type: ignore[union-attr]
    assert access_for(db, ["b-officers", "unknown"]).role is Role.OFFICER  # type: ignore[union-attr]
    assert access_for(db, ["unknown"]) is None
    assert access_for(db, []) is None
