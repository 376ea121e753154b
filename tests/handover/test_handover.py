"""Handing a person's open work over, through the JSON API: all of it to one person, case by
case, refused whole, failing half-way, and who may do it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.auth.roles import Role
from app.cases.models import Action, Case, CaseEvent, EventKind
from app.handover import service as handover_service
from app.notifications.models import Notification, NotificationKind
from app.sara.responses import ActionStatus
from app.sara.stages import Stage
from tests.conftest import CAMDEN, WESTMINSTER, Cast, Person
from tests.handover.world import add_actions, add_cases, deactivate, snapshot


@pytest.fixture
def jones(make_person: Callable[..., Person]) -> Person:
    return make_person("pc.jones", Role.OFFICER, WESTMINSTER, "PC Ben Jones")


@pytest.fixture
def ali(make_person: Callable[..., Person]) -> Person:
    return make_person("pc.ali", Role.OFFICER, WESTMINSTER, "PC Sara Ali")


def hand_over(client: TestClient, by: Person, username: str, **body: Any) -> Any:
    return client.post(f"/api/v1/users/{username}/handover", json=body, headers=by.api)


def open_of(db: Session, person: Person) -> tuple[list[int], list[int]]:
    """Ids of the open cases a person owns and the open actions assigned to them."""
    cases = db.scalars(select(Case.id).where(Case.owner_id == person.user.id,
                                             Case.stage != Stage.CLOSED))
    actions = db.scalars(select(Action.id).where(
        Action.assignee_id == person.user.id,
        Action.status.in_([ActionStatus.PLANNED, ActionStatus.IN_PROGRESS])))
    return list(cases), list(actions)


def test_two_hundred_cases_go_to_one_person_in_one_step(
        client: TestClient, db: Session, cast: Cast, jones: Person, ali: Person) -> None:
    shah = cast.officer
    cases = add_cases(db, shah.user, 200)
    on_her_cases = add_actions(db, cases[:50], shah.user)
    on_alis_case = add_actions(db, add_cases(db, ali.user, 1, first=901), shah.user)
    done = add_actions(db, cases[:1], shah.user, status=ActionStatus.DONE)
    closed = add_cases(db, shah.user, 1, first=950, stage=Stage.CLOSED)
    deactivate(db, shah.user)
    before = snapshot(db)

    started = time.perf_counter()
    response = hand_over(client, cast.supervisor, "pc.shah", to="pc.jones")
    seconds = time.perf_counter() - started

    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["cases"], result["actions"]) == (200, 51)
    assert len(result["refs"]) == 201 and result["dry_run"] is False
    assert [(r["username"], len(r["cases"]), len(r["actions"]))
            for r in result["recipients"]] == [("pc.jones", 200, 51)]
    print(f"\nhand-over of 200 cases and 51 actions: {seconds:.3f} s")
    assert seconds < 10
    # Nothing of hers is left open; what was done or closed stays as it was.
    assert open_of(db, shah) == ([], [])
    assert set(open_of(db, jones)[0]) == set(cases)
    assert set(open_of(db, jones)[1]) == set(on_her_cases + on_alis_case)
    after = snapshot(db)
    assert after.assignees[done[0]] == shah.user.id and after.owners[closed[0]] == shah.user.id
    assert all(after.case_versions[c] == before.case_versions[c] + 1 for c in cases)
    assert after.case_versions[closed[0]] == before.case_versions[closed[0]]
    # Every case touched has its timeline event (Ali's case too: an action left it).
    events = db.scalars(select(CaseEvent).where(CaseEvent.kind == EventKind.HANDOVER)).all()
    assert len(events) == 201 and {e.case_id for e in events} >= set(cases)
    first = next(e for e in events if e.case_id == cases[0])
    assert first.summary == ("Handed over from PC Amira Shah to PC Ben Jones by Sgt Daniel "
                             "Okafor, with 1 action")
    assert first.actor_id == cast.supervisor.user.id
    assert first.details["handover"] == result["handover"]
    alis = next(e for e in events if e.case_id not in cases)
    assert alis.summary == "1 action handed over from PC Amira Shah by Sgt Daniel Okafor"
    # One access-log entry with the totals and refs.
    log = db.scalars(select(AuditEntry).where(AuditEntry.action == "user.handover")).all()
    assert len(log) == 1 and log[0].object_ref == "pc.shah"
    assert (log[0].details["cases"], log[0].details["actions"]) == (200, 51)
    assert len(log[0].details["refs"]) == 201
    # The recipient is told; the deactivated officer is not.
    told = db.scalars(select(Notification).where(
        Notification.kind == NotificationKind.HANDED_OVER)).all()
    assert [(n.user_id, n.key) for n in told] == [
        (jones.user.id, f"handed_over:{result['handover']}:{jones.user.id}")]
    assert told[0].summary == ("Sgt Daniel Okafor handed you 200 cases and 51 actions from "
                               "PC Amira Shah")
    assert told[0].link == "/cases?owner=pc.jones"
    # An open form on a moved case is stale now.
    stale = client.patch(f"/api/v1/cases/WM-{2019}-0001", headers=jones.api,
                         json={"version": 1, "title": "Changed on an old form"})
    assert stale.status_code == 409
    # And there is nothing left to hand over.
    again = hand_over(client, cast.supervisor, "pc.shah", to="pc.jones")
    assert again.status_code == 422


def test_case_by_case_with_a_default(client: TestClient, db: Session, cast: Cast,
                                     jones: Person, ali: Person) -> None:
    shah = cast.officer
    first, second, third = add_cases(db, shah.user, 3)
    follows, named = add_actions(db, [first, second], shah.user)
    response = hand_over(client, cast.supervisor, "pc.shah", to="pc.jones",
                         cases={"wm-2019-0001": "pc.ali"}, actions={str(named): "sgt.okafor"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert {r["username"]: (r["cases"], r["actions"]) for r in result["recipients"]} == {
        "pc.ali": (["WM-2019-0001"], [follows]),
        "pc.jones": (["WM-2019-0002", "WM-2019-0003"], []),
        "sgt.okafor": ([], [named]),
    }
    owners = dict(db.execute(select(Case.id, Case.owner_id)).all())
    assert (owners[first], owners[second], owners[third]) == (
        ali.user.id, jones.user.id, jones.user.id)
    assignees = dict(db.execute(select(Action.id, Action.assignee_id)).all())
    assert (assignees[follows], assignees[named]) == (ali.user.id, cast.supervisor.user.id)
    body = db.scalar(select(CaseEvent.body).where(CaseEvent.case_id == second,
                                                  CaseEvent.kind == EventKind.HANDOVER))
    assert body == f"Action “Action on case {second}” to Sgt Daniel Okafor"
    # Everyone involved is told, the officer whose work moved too (her account is active).
    told = {n.user_id for n in db.scalars(select(Notification).where(
        Notification.kind == NotificationKind.HANDED_OVER))}
    assert told == {ali.user.id, jones.user.id, cast.supervisor.user.id, shah.user.id}


def test_a_dry_run_answers_the_plan_and_changes_nothing(client: TestClient, db: Session,
                                                       cast: Cast, jones: Person) -> None:
    add_actions(db, add_cases(db, cast.officer.user, 4), cast.officer.user)
    before = snapshot(db)
    response = hand_over(client, cast.supervisor, "pc.shah", to="pc.jones", dry_run=True)
    assert response.status_code == 200
    assert (response.json()["cases"], response.json()["actions"]) == (4, 4)
    assert response.json()["handover"] == ""
    assert snapshot(db) == before


def test_one_recipient_not_allowed_refuses_the_whole_step(
        client: TestClient, db: Session, cast: Cast, jones: Person) -> None:
    add_actions(db, add_cases(db, cast.officer.user, 200)[::4], cast.officer.user)
    before = snapshot(db)
    # The 150th case goes to an officer of another area: nothing moves, and it says why.
    response = hand_over(client, cast.supervisor, "pc.shah", to="pc.jones",
                         cases={"WM-2019-0150": "pc.clarke"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{
        "field": "cases.WM-2019-0150",
        "message": "PC Tom Clarke cannot take WM-2019-0150: it is in Westminster, outside "
                   "their area."}]
    assert snapshot(db) == before
    # Everything wrong at once: an unknown default, a case that is not hers, an action too.
    response = hand_over(client, cast.supervisor, "pc.shah", to="pc.nobody",
                         cases={"WM-2019-0999": "pc.jones"}, actions={"999999": "pc.jones"})
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["cases.WM-2019-0999", "actions.999999", "to"]
    # Nobody named at all.
    response = hand_over(client, cast.supervisor, "pc.shah")
    assert response.status_code == 422 and len(response.json()["errors"]) == 200
    # An analyst cannot own cases.
    response = hand_over(client, cast.supervisor, "pc.shah", to="analyst.lee")
    assert response.json()["errors"][0]["message"] == (
        "Grace Lee cannot take cases or actions: they go to officers or supervisors.")
    assert snapshot(db) == before


def test_a_failure_in_the_middle_of_the_step_leaves_nothing_changed(
        client: TestClient, db: Session, cast: Cast, jones: Person, ali: Person,
        monkeypatch: pytest.MonkeyPatch) -> None:
    cases = add_cases(db, cast.officer.user, 200)
    add_actions(db, cases[::2], cast.officer.user)
    before = snapshot(db)
    calls: list[str] = []

    def failing_notify(*args: Any, **kwargs: Any) -> bool:
        # By now owners, assignees, timelines and the access log are written.
        calls.append(kwargs["key"])
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return True

    monkeypatch.setattr(handover_service, "notify", failing_notify)
    with pytest.raises(RuntimeError):
        hand_over(client, cast.supervisor, "pc.shah", to="pc.jones",
                  cases={"WM-2019-0150": "pc.ali"})
    assert len(calls) == 2
    assert snapshot(db) == before


def test_who_may_hand_work_over(client: TestClient, db: Session, cast: Cast, jones: Person,
                                make_person: Callable[..., Person]) -> None:
    add_cases(db, cast.officer.user, 2)
    camden_sergeant = make_person("sgt.byrne", Role.SUPERVISOR, CAMDEN, "Sgt Niamh Byrne")
    before = snapshot(db)
    for person in (cast.officer, cast.analyst, cast.evaluator, cast.admin):
        assert hand_over(client, person, "pc.shah", to="pc.jones").status_code == 403
    refused = hand_over(client, camden_sergeant, "pc.shah", to="pc.jones")
    assert refused.status_code == 403
    assert "areas you do not supervise" in refused.json()["message"]
    assert hand_over(client, cast.supervisor, "pc.gone", to="pc.jones").status_code == 404
    assert snapshot(db) == before
    # A sergeant whose work spans two areas is refused by a sergeant who covers one.
    add_cases(db, cast.officer.user, 1, first=500, borough=CAMDEN, prefix="CA")
    refused = hand_over(client, cast.supervisor, "pc.shah", to="pc.jones")
    assert refused.status_code == 403 and "(1 of 3 cases and actions)" in \
        refused.json()["message"]


def test_open_work_lists_what_the_reader_may_see(client: TestClient, db: Session,
                                                 cast: Cast) -> None:
    cases = add_cases(db, cast.officer.user, 3)
    add_actions(db, cases[:1], cast.officer.user)
    add_cases(db, cast.officer.user, 1, first=500, borough=CAMDEN, prefix="CA")
    seen = client.get("/api/v1/users/pc.shah/open-work", headers=cast.supervisor.api).json()
    assert (seen["total_cases"], seen["total_actions"], seen["elsewhere"]) == (3, 1, 1)
    assert [c["ref"] for c in seen["cases"]] == ["WM-2019-0001", "WM-2019-0002",
                                                "WM-2019-0003"]
    assert seen["actions"][0]["follows_case"] is True and seen["active"] is True
    camden = client.get("/api/v1/users/pc.shah/open-work", headers=cast.camden_officer.api)
    assert camden.status_code == 200
    assert (camden.json()["total_cases"], camden.json()["elsewhere"]) == (1, 4)
    assert client.get("/api/v1/users/pc.shah/open-work",
                      headers=cast.admin.api).status_code == 403
    assert client.get("/api/v1/users/nobody/open-work",
                      headers=cast.supervisor.api).status_code == 404


def test_a_deactivated_officers_work_waits_in_the_queue_until_handed_over(
        client: TestClient, db: Session, cast: Cast, jones: Person, ali: Person) -> None:
    cases = add_cases(db, cast.officer.user, 5)
    add_actions(db, add_cases(db, ali.user, 2, first=900), cast.officer.user)
    queue = lambda: client.get(f"/api/v1/queue?borough={WESTMINSTER}",  # noqa: E731
                               headers=cast.supervisor.api).json()["departed_owners"]
    assert queue() == []  # an active officer's work is hers to carry
    deactivate(db, cast.officer.user)
    assert queue() == [{"username": "pc.shah", "display_name": "PC Amira Shah", "cases": 5,
                        "actions": 2, "link": "/people/pc.shah/handover"}]
    camden = client.get(f"/api/v1/queue?borough={CAMDEN}", headers=cast.supervisor.api)
    assert camden.json()["departed_owners"] == []
    assert hand_over(client, cast.supervisor, "pc.shah", to="pc.jones").status_code == 200
    assert queue() == [] and len(cases) == 5


def test_work_that_changes_hands_meanwhile_stops_the_step(
        client: TestClient, db: Session, cast: Cast, jones: Person, ali: Person,
        monkeypatch: pytest.MonkeyPatch) -> None:
    cases = add_cases(db, cast.officer.user, 5)
    before = snapshot(db)
    planned = handover_service.plan_handover

    def plan_then_someone_else_moves_a_case(session: Session, *args: Any) -> Any:
        plan = planned(session, *args)
        # Between the checks and the writes, another supervisor gives a case to Ali.
        session.execute(update(Case).where(Case.id == cases[3]).values(owner_id=ali.user.id))
        return plan

    monkeypatch.setattr(handover_service, "plan_handover", plan_then_someone_else_moves_a_case)
    response = hand_over(client, cast.supervisor, "pc.shah", to="pc.jones")
    assert response.status_code == 409
    assert "nothing was moved" in response.json()["message"]
    assert snapshot(db) == before
