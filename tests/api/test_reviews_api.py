"""Review cadence and supervisory reviews over the JSON API: the force's table (defaults, an
admin's change, 422s, another force's admin refused), the review dates a case gets as it
opens, changes priority, closes and reopens, reviews recorded and refused, and overdue
reviews leading the work queue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.auth.roles import Role
from app.cases.models import Case
from app.clock import today
from app.reviews.models import CaseReview
from tests.api.test_cases_api import create, move, patch
from tests.conftest import Cast, Person

CADENCE = "/api/v1/forces/metropolitan/review-cadence"


def review(client: TestClient, person: Person, ref: str, **body: Any) -> Any:
    return client.post(f"/api/v1/cases/{ref}/reviews", headers=person.api,
                       json={"note": "Plan on track; patrols delivered.",
                             "decision": "continue", **body})


def case_json(client: TestClient, person: Person, ref: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/cases/{ref}", headers=person.api)
    assert response.status_code == 200
    return response.json()


def close_by_override(client: TestClient, supervisor: Person, ref: str) -> None:
    for stage in ("analysis", "response", "assessment", "closed"):
        moved = move(client, supervisor, ref, stage, reason="Handled elsewhere", override=True)
        assert moved.status_code == 200, moved.text


def set_due(db: Session, ref: str, days_from_today: int) -> None:
    db.execute(update(Case).where(Case.ref == ref).values(
        next_review_on=today() + timedelta(days=days_from_today)))
    db.commit()


# --- the cadence table -------------------------------------------------------------------------

def test_a_force_without_its_own_table_uses_the_defaults(client: TestClient, cast: Cast) -> None:
    for person in (cast.officer, cast.admin):
        body = client.get(CADENCE, headers=person.api).json()
        assert (body["high"], body["medium"], body["low"]) == (14, 28, 56)
        assert body["customised"] is False
    assert client.get("/api/v1/forces/nowhere/review-cadence",
                      headers=cast.admin.api).status_code == 404


def test_an_admin_changes_the_cadence_and_new_cases_follow_it(
        client: TestClient, cast: Cast, db: Session) -> None:
    changed = client.put(CADENCE, headers=cast.admin.api,
                         json={"high": 7, "medium": 21, "low": 42})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["high"], changed.json()["medium"], changed.json()["low"]) == \
        (7, 21, 42)
    assert client.get(CADENCE, headers=cast.officer.api).json()["customised"] is True
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "force.review_cadence")
                       ).one()
    assert entry.object_ref == "metropolitan" and entry.details["high"] == [14, 7]
    medium = create(client, cast.officer, priority="medium")
    assert medium["next_review_on"] == (today() + timedelta(days=21)).isoformat()
    # Another force's cases keep the defaults.
    assert client.get("/api/v1/forces/city-of-london/review-cadence",
                      headers=cast.admin.api).json()["medium"] == 28


def test_only_admins_change_the_cadence(client: TestClient, cast: Cast) -> None:
    body = {"high": 10, "medium": 20, "low": 40}
    for person in (cast.officer, cast.supervisor, cast.analyst, cast.evaluator):
        assert client.put(CADENCE, headers=person.api, json=body).status_code == 403
    assert client.get(CADENCE, headers=cast.admin.api).json()["high"] == 14


def test_another_forces_admin_cannot_change_it(client: TestClient, cast: Cast,
                                               make_person: Callable[..., Person]) -> None:
    city_admin = make_person("admin.city", Role.ADMIN, None, "City Admin",
                             force="city-of-london")
    body = {"high": 10, "medium": 20, "low": 40}
    refused = client.put(CADENCE, headers=city_admin.api, json=body)
    assert refused.status_code == 403
    assert "another force" in refused.json()["message"]
    assert client.get(CADENCE, headers=cast.admin.api).json()["high"] == 14
    own = client.put("/api/v1/forces/city-of-london/review-cadence", headers=city_admin.api,
                     json=body)
    assert own.status_code == 200 and own.json()["high"] == 10


def test_cadence_values_out_of_range_are_422_naming_each_field(client: TestClient,
                                                               cast: Cast) -> None:
    response = client.put(CADENCE, headers=cast.admin.api,
                          json={"high": 0, "medium": 366, "low": "often"})
    assert response.status_code == 422
    messages = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert messages == {
        "high": "The days between reviews of high priority cases must be 1 or more.",
        "medium": "The days between reviews of medium priority cases must be 365 or less.",
        "low": "Enter the days between reviews of low priority cases as a whole number."}
    missing = client.put(CADENCE, headers=cast.admin.api, json={"high": 7, "medium": 21})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "low"
    assert client.get(CADENCE, headers=cast.admin.api).json()["customised"] is False


# --- the dates a case gets ---------------------------------------------------------------------

def test_a_new_case_is_due_for_review_one_cadence_after_opening(client: TestClient,
                                                                 cast: Cast) -> None:
    for priority, days in (("high", 14), ("medium", 28), ("low", 56)):
        body = create(client, cast.officer, priority=priority)
        assert body["next_review_on"] == (today() + timedelta(days=days)).isoformat()
        assert body["review_overdue"] is False and body["review_days_overdue"] == 0


def test_a_change_of_priority_counts_the_new_cadence_from_the_last_review(
        client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer, priority="medium")["ref"]
    # No review yet: from the opening day.
    assert patch(client, cast.officer, ref, priority="high")["next_review_on"] == \
        (today() + timedelta(days=14)).isoformat()
    assert review(client, cast.supervisor, ref,
                  next_review_on=(today() + timedelta(days=3)).isoformat()).status_code == 201
    # From the review (today), not from the date it chose.
    assert patch(client, cast.officer, ref, priority="low")["next_review_on"] == \
        (today() + timedelta(days=56)).isoformat()
    # A change of other fields leaves the date alone.
    before = case_json(client, cast.officer, ref)["next_review_on"]
    assert patch(client, cast.officer, ref, title="Renamed")["next_review_on"] == before


def test_closing_clears_the_review_date_and_reopening_sets_it_again(
        client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer, priority="high")["ref"]
    close_by_override(client, cast.supervisor, ref)
    closed = case_json(client, cast.officer, ref)
    assert closed["next_review_on"] is None and closed["review_overdue"] is False
    reopened = move(client, cast.supervisor, ref, "response", reason="It came back")
    assert reopened.json()["next_review_on"] == (today() + timedelta(days=14)).isoformat()


# --- recording reviews -------------------------------------------------------------------------

def test_a_supervisor_records_a_review(client: TestClient, cast: Cast, db: Session) -> None:
    ref = create(client, cast.officer, priority="high")["ref"]
    set_due(db, ref, -3)
    assert case_json(client, cast.officer, ref)["review_days_overdue"] == 3
    version = case_json(client, cast.officer, ref)["version"]
    made = review(client, cast.supervisor, ref, decision="change_approach",
                  note="Move the patrols to pack-up time.")
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["decision"] == "change_approach"
    assert body["decision_label"] == "Change the approach"
    assert body["reviewer"] == "sgt.okafor" and body["ref"] == ref
    assert body["due_on"] == (today() - timedelta(days=3)).isoformat()
    assert body["days_late"] == 3
    # The default next date: today plus the cadence of the priority.
    assert body["next_review_on"] == (today() + timedelta(days=14)).isoformat()
    case = case_json(client, cast.officer, ref)
    assert case["next_review_on"] == body["next_review_on"]
    assert case["review_overdue"] is False
    assert case["version"] == version  # an open form of the case is not made stale
    timeline = client.get(f"/api/v1/cases/{ref}/timeline", headers=cast.officer.api).json()
    event = timeline[0]
    assert event["kind"] == "supervisory_review" and event["actor"] == "sgt.okafor"
    assert event["body"] == "Move the patrols to pack-up time."
    assert event["summary"].startswith("Supervisory review: Change the approach, 3 days late")
    assert event["details"]["review"] == body["id"]
    assert db.scalars(select(AuditEntry).where(AuditEntry.action == "case.review",
                                               AuditEntry.object_ref == ref)).one()
    listed = client.get(f"/api/v1/cases/{ref}/reviews", headers=cast.evaluator.api)
    assert listed.status_code == 200 and [r["id"] for r in listed.json()] == [body["id"]]


def test_review_input_is_checked(client: TestClient, cast: Cast, db: Session) -> None:
    ref = create(client, cast.officer, priority="high")["ref"]

    def errors(**body: Any) -> dict[str, str]:
        response = review(client, cast.supervisor, ref, **body)
        assert response.status_code == 422, response.text
        return {e["field"]: e["message"] for e in response.json()["errors"]}

    assert errors(note="", decision="maybe") == {"note": "Enter a note.",
                                                 "decision": "Choose a decision."}
    assert errors(next_review_on=today().isoformat()) == {
        "next_review_on": "The next review must be after today."}
    far = today() + timedelta(days=29)  # more than twice the high cadence
    assert "twice the cadence" in errors(next_review_on=far.isoformat())["next_review_on"]
    assert errors(next_review_on="2026-02-30") == {
        "next_review_on": "30 February 2026 is not a real date."}
    assert db.scalar(select(CaseReview.id)) is None
    later = review(client, cast.supervisor, ref, next_review_on=far.isoformat(),
                   reason_for_later="The market is closed for a month.")
    assert later.status_code == 201 and later.json()["next_review_on"] == far.isoformat()
    beyond = today() + timedelta(days=400)
    assert "within 365 days" in errors(next_review_on=beyond.isoformat(),
                                       reason_for_later="Why not")["next_review_on"]


def test_only_the_areas_supervisors_review_and_never_their_own_case(
        client: TestClient, cast: Cast, make_person: Callable[..., Person]) -> None:
    ref = create(client, cast.officer)["ref"]
    for person, status in ((cast.officer, 403), (cast.analyst, 403), (cast.evaluator, 403),
                           (cast.camden_officer, 404), (cast.admin, 404)):
        assert review(client, person, ref).status_code == status, person.user.username
    camden_sergeant = make_person("sgt.camden", Role.SUPERVISOR, "E09000007")
    assert review(client, camden_sergeant, ref).status_code == 404
    own = create(client, cast.supervisor)["ref"]
    refused = review(client, cast.supervisor, own)
    assert refused.status_code == 403
    assert "another supervisor" in refused.json()["message"]


def test_a_closed_case_is_not_reviewed(client: TestClient, cast: Cast) -> None:
    ref = create(client, cast.officer)["ref"]
    close_by_override(client, cast.supervisor, ref)
    refused = review(client, cast.supervisor, ref)
    assert refused.status_code == 409
    assert "closed" in refused.json()["message"]
    assert client.get(f"/api/v1/cases/{ref}/reviews", headers=cast.officer.api).json() == []


# --- the work queue and the case list ----------------------------------------------------------

def test_overdue_reviews_lead_the_work_queue(client: TestClient, cast: Cast,
                                             db: Session) -> None:
    late = {days: create(client, cast.officer, title=f"Late by {days}")["ref"]
            for days in (2, 30, 9)}
    for days, ref in late.items():
        set_due(db, ref, -days)
    soon = create(client, cast.officer, title="Due soon")["ref"]
    set_due(db, soon, 5)
    later = create(client, cast.officer, title="Due later")["ref"]
    set_due(db, later, 20)
    closed = create(client, cast.officer, title="Closed")["ref"]
    close_by_override(client, cast.supervisor, closed)

    queue = client.get("/api/v1/queue", headers=cast.supervisor.api)
    assert queue.status_code == 200
    body = queue.json()
    assert list(body)[:2] == ["reviews_overdue", "reviews_due_soon"]
    overdue = body["reviews_overdue"]
    assert overdue["total"] == 3
    assert [(i["ref"], i["days_overdue"]) for i in overdue["items"]] == [
        (late[30], 30), (late[9], 9), (late[2], 2)]
    assert [i["ref"] for i in body["reviews_due_soon"]["items"]] == [soon]
    assert body["reviews_due_soon"]["items"][0]["days_left"] == 5
    # The Camden officer's queue has none of Westminster's.
    assert client.get("/api/v1/queue", headers=cast.camden_officer.api).json()[
        "reviews_overdue"]["total"] == 0

    listed = client.get("/api/v1/cases", params={"review": "overdue"},
                        headers=cast.supervisor.api).json()
    assert sorted(i["ref"] for i in listed["items"]) == sorted(late.values())
    assert all(i["review_overdue"] for i in listed["items"])
    assert client.get("/api/v1/cases", params={"review": "soon"},
                      headers=cast.supervisor.api).status_code == 422
