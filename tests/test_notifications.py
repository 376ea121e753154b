"""Notifications: what is produced for whom (once), and each person's own list, read marks,
header count and e-mail settings, through the API and the pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.roles import Role
from app.cases import content, moves, service
from app.cases.models import Action, Case
from app.cases.schemas import ActionCreate, CaseCreate, TransitionRequest
from app.clock import LONDON
from app.community import service as community
from app.community.schemas import ConcernCreate
from app.notifications.models import Notification, NotificationKind, NotificationPreference
from app.notifications.produce import produce
from tests.conftest import CAMDEN, WESTMINSTER, Cast, Person, new_case_body

# 10:00 in London on a fixed day: "today" for every test here.
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=LONDON)
TODAY = date(2026, 12, 7)


# --- building a world --------------------------------------------------------------------------

def open_case(db: Session, person: Person, **overrides: object) -> Case:
    return service.create_case(db, person.actor, CaseCreate.model_validate(
        new_case_body(**overrides)))


def add_action(db: Session, person: Person, case: Case, *, due: date | None,
               assignee: Person | None = None, title: str = "Move the market stalls") -> Action:
    action = content.add_action(db, person.actor, case.ref, ActionCreate.model_validate(
        {"title": title, "owner": "Market manager", "due_date": due}))
    if assignee is not None:
        action.assignee_id = assignee.user.id
        db.commit()
    return action


def set_review(db: Session, case: Case, on: date) -> None:
    case.next_review_on = on
    db.commit()


def raise_concern(db: Session, person: Person, borough: str = WESTMINSTER) -> int:
    return community.record_concern(db, person.actor, ConcernCreate.model_validate({
        "borough": borough, "raised_on": "2026-12-01", "raised_by_kind": "resident",
        "raised_by": "Mrs Private Person", "channel": "ward_panel",
        "description": "Drug dealing in the stairwell of block C"})).id


def override_gate(db: Session, supervisor: Person, case: Case) -> None:
    moves.move_case(db, supervisor.actor, case.ref,
                    TransitionRequest(to="analysis", override=True, reason="Urgent"))


def notes_for(db: Session, person: Person) -> dict[str, str]:
    """The person's notifications: key -> summary."""
    return dict(db.execute(select(Notification.key, Notification.summary)
                           .where(Notification.user_id == person.user.id)).all())


def kinds_for(db: Session, person: Person) -> list[str]:
    return sorted(db.scalars(select(Notification.kind)
                             .where(Notification.user_id == person.user.id)))


def total(db: Session) -> int:
    return db.scalar(select(func.count(Notification.id))) or 0


def deactivate(db: Session, person: Person) -> None:
    user = db.get(User, person.user.id)
    assert user is not None
    user.active = False
    db.commit()


# --- producing ---------------------------------------------------------------------------------

def test_each_fact_is_notified_to_the_right_people_once(db: Session, cast: Cast,
                                                        make_person: Callable[..., Person]
                                                        ) -> None:
    other_supervisor = make_person("sgt.other", Role.SUPERVISOR, WESTMINSTER)
    camden_supervisor = make_person("sgt.camden", Role.SUPERVISOR, CAMDEN)
    case = open_case(db, cast.officer)
    assigned = add_action(db, cast.officer, case, due=date(2027, 3, 1), assignee=cast.officer)
    due = add_action(db, cast.officer, case, due=TODAY + timedelta(days=2))  # the owner's
    overdue = add_action(db, cast.officer, case, due=TODAY - timedelta(days=1),
                         assignee=cast.officer)
    add_action(db, cast.officer, case, due=TODAY + timedelta(days=3))  # not yet due
    set_review(db, case, TODAY + timedelta(days=7))
    late = open_case(db, cast.officer, title="Late review")
    set_review(db, late, TODAY - timedelta(days=1))
    concern = raise_concern(db, cast.officer)
    overridden = open_case(db, cast.officer, title="Moved on")
    override_gate(db, cast.supervisor, overridden)

    report = produce(db, now=NOW)

    officer = notes_for(db, cast.officer)
    assert set(officer) == {
        f"action_assigned:{assigned.id}:{cast.officer.user.id}",
        f"action_assigned:{overdue.id}:{cast.officer.user.id}",
        f"action_due:{due.id}:{TODAY + timedelta(days=2)}",
        f"action_overdue:{overdue.id}:{TODAY - timedelta(days=1)}",
        f"concern_routed:{concern}",
    }
    # The concern's summary names no member of the public and quotes nothing they said.
    assert "Private" not in officer[f"concern_routed:{concern}"]
    assert "stairwell" not in officer[f"concern_routed:{concern}"]
    supervisors = [notes_for(db, cast.supervisor), notes_for(db, other_supervisor)]
    for keys in supervisors:
        assert f"review_due:{case.id}:{TODAY + timedelta(days=7)}" in keys
        assert f"review_overdue:{late.id}:{TODAY - timedelta(days=1)}" in keys
        assert f"concern_routed:{concern}" in keys
    # Nobody reviews their own override: only the other supervisor is told.
    override_keys = [k for k in notes_for(db, other_supervisor) if k.startswith("override")]
    assert len(override_keys) == 1
    assert not [k for k in notes_for(db, cast.supervisor) if k.startswith("override")]
    # Other areas and roles hear nothing of Westminster's.
    for person in (camden_supervisor, cast.camden_officer, cast.analyst, cast.evaluator,
                   cast.admin):
        assert notes_for(db, person) == {}
    assert report.total == total(db)

    again = produce(db, now=NOW)
    assert again.total == 0 and total(db) == report.total


def test_a_new_due_date_is_a_new_fact(db: Session, cast: Cast) -> None:
    case = open_case(db, cast.officer)
    action = add_action(db, cast.officer, case, due=TODAY, assignee=cast.officer)
    produce(db, now=NOW)
    action.due_date = TODAY + timedelta(days=1)
    db.commit()
    produce(db, now=NOW)
    due = [k for k in notes_for(db, cast.officer) if k.startswith("action_due")]
    assert sorted(due) == [f"action_due:{action.id}:{TODAY}",
                           f"action_due:{action.id}:{TODAY + timedelta(days=1)}"]


def test_done_actions_and_closed_cases_notify_nothing(db: Session, cast: Cast) -> None:
    case = open_case(db, cast.officer)
    action = add_action(db, cast.officer, case, due=TODAY - timedelta(days=3),
                        assignee=cast.officer)
    action.status = "done"  # type: ignore[assignment]
    db.commit()
    produce(db, now=NOW)
    assert notes_for(db, cast.officer) == {}


def test_force_wide_supervisors_hear_of_an_area_without_its_own(
        db: Session, cast: Cast, make_person: Callable[..., Person]) -> None:
    force_wide = make_person("insp.met", Role.SUPERVISOR, None, force="metropolitan")
    camden_case = open_case(db, cast.camden_officer, borough=CAMDEN, ward=None)
    set_review(db, camden_case, TODAY)
    westminster_case = open_case(db, cast.officer)
    set_review(db, westminster_case, TODAY)
    produce(db, now=NOW)
    assert list(notes_for(db, force_wide)) == [f"review_due:{camden_case.id}:{TODAY}"]
    assert list(notes_for(db, cast.supervisor)) == [f"review_due:{westminster_case.id}:{TODAY}"]


def test_an_inactive_account_gets_nothing(db: Session, cast: Cast) -> None:
    case = open_case(db, cast.officer)
    add_action(db, cast.officer, case, due=TODAY, assignee=cast.officer)
    set_review(db, case, TODAY)
    raise_concern(db, cast.officer)
    deactivate(db, cast.officer)
    deactivate(db, cast.supervisor)
    produce(db, now=NOW)
    assert notes_for(db, cast.officer) == {} and notes_for(db, cast.supervisor) == {}


# --- the list, read marks and the header -------------------------------------------------------

@pytest.fixture
def noted(db: Session, cast: Cast) -> Case:
    """Three notifications for the Westminster officer: an assignment, a due and a concern."""
    case = open_case(db, cast.officer, title="Robberies at the market")
    add_action(db, cast.officer, case, due=TODAY, assignee=cast.officer)
    raise_concern(db, cast.officer)
    produce(db, now=NOW)
    return case


def test_the_api_lists_ones_own_newest_first_with_filters(client: TestClient, cast: Cast,
                                                          noted: Case) -> None:
    body = client.get("/api/v1/notifications", headers=cast.officer.api).json()
    assert body["total"] == 3 and body["unread"] == 3
    stamps = [item["created_at"] for item in body["items"]]
    assert stamps == sorted(stamps, reverse=True)
    first = next(i for i in body["items"] if i["kind"] == "action_due")
    assert first["case_ref"] == noted.ref and first["link"] == f"/cases/{noted.ref}"
    assert first["label"] == "Action due" and first["read_at"] is None
    only = client.get("/api/v1/notifications?kind=concern_routed&limit=1",
                      headers=cast.officer.api).json()
    assert only["total"] == 1 and only["items"][0]["kind"] == "concern_routed"
    bad = client.get("/api/v1/notifications?kind=gossip&limit=0", headers=cast.officer.api)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"kind", "limit"}
    # The Camden officer has none, and Westminster's are not theirs to see.
    theirs = client.get("/api/v1/notifications", headers=cast.camden_officer.api).json()
    assert theirs == {"items": [], "total": 0, "unread": 0}


def test_marking_read_is_ones_own_only(client: TestClient, cast: Cast, noted: Case) -> None:
    items = client.get("/api/v1/notifications", headers=cast.officer.api).json()["items"]
    target = items[0]["id"]
    for stranger in (cast.supervisor, cast.camden_officer, cast.admin):
        refused = client.post(f"/api/v1/notifications/{target}/read", headers=stranger.api)
        assert refused.status_code == 404
    read = client.post(f"/api/v1/notifications/{target}/read", headers=cast.officer.api)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    unread = client.get("/api/v1/notifications?unread=true", headers=cast.officer.api).json()
    assert unread["total"] == 2 and target not in [i["id"] for i in unread["items"]]
    marked = client.post("/api/v1/notifications/read-all", headers=cast.officer.api).json()
    assert marked == {"marked": 2, "unread": 0}
    assert client.get("/api/v1/notifications", headers=cast.officer.api).json()["unread"] == 0


def test_a_case_moved_out_of_reach_no_longer_shows(db: Session, client: TestClient,
                                                   cast: Cast, noted: Case) -> None:
    case = db.get(Case, noted.id)
    assert case is not None
    case.borough_code = CAMDEN
    db.commit()
    body = client.get("/api/v1/notifications", headers=cast.officer.api).json()
    assert [i["kind"] for i in body["items"]] == ["concern_routed"]
    assert "Robberies" not in str(body)
    hidden = db.scalar(select(Notification.id).where(Notification.case_id == noted.id))
    assert client.post(f"/api/v1/notifications/{hidden}/read",
                       headers=cast.officer.api).status_code == 404


def test_the_header_counts_unread_and_hides_at_zero(pages: Callable[[Person], TestClient],
                                                    cast: Cast, noted: Case) -> None:
    officer = pages(cast.officer)
    page = officer.get("/cases").text
    assert 'aria-label="Notifications, 3 unread"' in page
    assert '<span class="app-header__count" aria-hidden="true">3</span>' in page
    quiet = pages(cast.analyst).get("/cases").text
    assert 'href="/notifications"' in quiet and "app-header__count" not in quiet


def test_the_list_page_marks_read_one_and_all(pages: Callable[[Person], TestClient],
                                              client: TestClient, cast: Cast,
                                              noted: Case) -> None:
    officer = pages(cast.officer)
    page = officer.get("/notifications")
    assert page.status_code == 200
    assert page.text.count("app-notification--unread") == 3
    assert f'href="/cases/{noted.ref}"' in page.text and "Move the market stalls" in page.text
    target = client.get("/api/v1/notifications", headers=cast.officer.api).json()["items"][0]
    done = officer.post(f"/notifications/{target['id']}/read",
                        data={"csrf_token": cast.officer.csrf, "page": "1"})
    assert done.status_code == 303 and done.headers["location"] == "/notifications?flash=read"
    after = officer.get("/notifications?flash=read").text
    assert after.count("app-notification--unread") == 2
    assert "The notification is marked as read." in after
    assert 'aria-label="Notifications, 2 unread"' in after
    # Someone else's: not found; without the CSRF token: refused.
    assert pages(cast.supervisor).post(f"/notifications/{target['id']}/read", data={
        "csrf_token": cast.supervisor.csrf}).status_code == 404
    assert officer.post("/notifications/read-all").status_code == 403
    done = officer.post("/notifications/read-all", data={"csrf_token": cast.officer.csrf})
    assert done.status_code == 303
    after = officer.get("/notifications").text
    assert "app-notification--unread" not in after and "app-header__count" not in after


def test_the_list_is_paged(db: Session, pages: Callable[[Person], TestClient],
                           cast: Cast) -> None:
    case = open_case(db, cast.officer)
    for number in range(27):
        add_action(db, cast.officer, case, due=TODAY, assignee=cast.officer,
                   title=f"Action number {number}")
    produce(db, now=NOW)  # 27 assigned and 27 due
    officer = pages(cast.officer)
    first = officer.get("/notifications").text
    assert first.count('<li class="app-notification') == 25 and "Page 1 of 3" in first
    assert 'href="/notifications?page=2"' in first
    last = officer.get("/notifications?page=3").text
    assert last.count('<li class="app-notification') == 4 and "Page 3 of 3" in last
    assert officer.get("/notifications?page=x").status_code == 200


# --- e-mail settings ---------------------------------------------------------------------------

def test_preferences_through_the_api(db: Session, client: TestClient, cast: Cast) -> None:
    read = client.get("/api/v1/me/notification-preferences", headers=cast.officer.api).json()
    assert read["email"] is None and set(read["delivery"].values()) == {"off"}
    saved = client.put("/api/v1/me/notification-preferences", headers=cast.officer.api, json={
        "version": read["version"], "email": "amira.shah@met.police.uk",
        "delivery": {"action_overdue": "immediate", "review_due": "daily"}})
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["email"] == "amira.shah@met.police.uk"
    assert body["delivery"]["action_overdue"] == "immediate"
    assert body["delivery"]["review_due"] == "daily" and body["delivery"]["action_due"] == "off"
    assert body["version"] > read["version"]
    stale = client.put("/api/v1/me/notification-preferences", headers=cast.officer.api,
                       json={"version": read["version"], "email": None})
    assert stale.status_code == 409
    bad = client.put("/api/v1/me/notification-preferences", headers=cast.officer.api, json={
        "version": body["version"], "email": "someone@example.com\nBcc: x@y.z",
        "delivery": {"gossip": "daily"}})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"email", "delivery.gossip"}
    rows = db.scalars(select(NotificationPreference).where(
        NotificationPreference.user_id == cast.officer.user.id)).all()
    assert {(r.kind, r.delivery) for r in rows} == {
        (NotificationKind.ACTION_OVERDUE, "immediate"), (NotificationKind.REVIEW_DUE, "daily")}


def test_the_settings_page_saves_and_names_wrong_fields(
        pages: Callable[[Person], TestClient], client: TestClient, cast: Cast) -> None:
    officer = pages(cast.officer)
    form = officer.get("/notifications/settings")
    assert form.status_code == 200 and 'name="delivery-review_due"' in form.text
    version = client.get("/api/v1/me/notification-preferences",
                         headers=cast.officer.api).json()["version"]
    missing = officer.post("/notifications/settings", data={
        "csrf_token": cast.officer.csrf, "version": str(version), "email": "",
        "delivery-action_due": "daily"})
    assert missing.status_code == 422
    assert "There is a problem" in missing.text
    assert 'href="#email"' in missing.text and "Enter your e-mail address" in missing.text
    wrong = officer.post("/notifications/settings", data={
        "csrf_token": cast.officer.csrf, "version": str(version), "email": "not-an-address",
        "delivery-action_due": "daily"})
    assert wrong.status_code == 422 and "in the correct format" in wrong.text
    saved = officer.post("/notifications/settings", data={
        "csrf_token": cast.officer.csrf, "version": str(version),
        "email": "amira.shah@met.police.uk", "delivery-action_due": "daily",
        "delivery-review_due": "immediate"})
    assert saved.status_code == 303
    page = officer.get(saved.headers["location"]).text
    assert "Your notification settings are saved." in page
    assert 'value="amira.shah@met.police.uk"' in page
    stale = officer.post("/notifications/settings", data={
        "csrf_token": cast.officer.csrf, "version": str(version), "email": ""})
    assert stale.status_code == 409 and "changed since you opened them" in stale.text


def test_an_administrator_sets_a_persons_address(db: Session,
                                                 pages: Callable[[Person], TestClient],
                                                 cast: Cast) -> None:
    admin = pages(cast.admin)
    user = db.get(User, cast.officer.user.id)
    assert user is not None
    form = {"csrf_token": cast.admin.csrf, "version": str(user.version),
            "display_name": user.display_name, "role": "officer", "force": "",
            "borough": WESTMINSTER, "active": "yes", "email": "a.shah@met.police.uk"}
    assert admin.post(f"/admin/users/{user.username}", data=form).status_code == 303
    db.refresh(user)
    assert user.email == "a.shah@met.police.uk"
    wrong = admin.post(f"/admin/users/{user.username}", data={
        **form, "version": str(user.version), "email": "nobody"})
    assert wrong.status_code == 422 and "in the correct format" in wrong.text


def test_the_notifications_of_a_person_need_their_own_session(client: TestClient) -> None:
    assert client.get("/api/v1/notifications").status_code == 401
    assert client.get("/notifications").status_code == 303
