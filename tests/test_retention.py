"""Retention under MoPI over HTTP: a closed case gets its review date from the force's period,
a supervisor retains it (with the next date and a reason), then disposes of it. After the
disposal a walk over every text column of every table in the database (by reflection, the
search index's tables included) finds none of the case's personal data; its figures are
intact; the access log records the disposal and its chain still verifies; the exports made
before are listed. Officers are refused, another force's reviewers are told it does not exist,
and a force's admin sets the periods."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import (
    JSON,
    Column,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    cast,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from app.assessment.models import AssessmentSnapshot
from app.attachments.models import Attachment
from app.audit.models import AuditEntry
from app.audit.service import verify_chain
from app.auth.roles import Role
from app.cases.models import Case
from app.clock import today
from app.patrols.models import OutputEntry, Patrol
from app.sara.retention import add_months
from app.settings import Settings
from tests.api.test_community_api import concern_body
from tests.attachments_kit import phone_photo
from tests.conftest import CITY, Cast, Person, new_case_body

REPORTER = "Margaret Ellison"
EMAIL = "margaret.ellison@example.org"
PHONE = "07700 900123"
WITNESS = "Mr Tariq Osei"
CONTACT = "Priya Natarajan"
# What must be gone from every table after the disposal (the partner contact is checked
# everywhere but the force's partner directory, which keeps its own people).
PERSONAL = [REPORTER, "Ellison", EMAIL, PHONE, "900123", "Tariq", "Osei"]


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, environment="test",
                    attachments_dir=str(tmp_path / "attachments"), attachment_max_mb=1,
                    attachment_max_side=4000)


@pytest.fixture
def folder(settings: Settings) -> Path:
    return Path(settings.attachments_dir)


def ok(response: Any, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def worked_case(client: TestClient, cast: Cast) -> str:
    """A violent-crime case holding personal data everywhere a case keeps text: a concern's
    reporter and contact, names in the statement, a note, an action and a patrol, a partner
    contact, and a photo with its camera metadata."""
    officer, sup = cast.officer.api, cast.supervisor.api
    ref = ok(client.post("/api/v1/cases", headers=officer, json=new_case_body(
        problem_statement=f"{REPORTER} reports fights outside her flat every night.")))["ref"]
    concern = ok(client.post("/api/v1/concerns", headers=officer, json=concern_body(
        raised_by_kind="resident", raised_by=REPORTER, contact=f"{EMAIL}, {PHONE}",
        description=f"Fights outside my flat. {REPORTER}, {PHONE}")))
    ok(client.post(f"/api/v1/concerns/{concern['id']}/triage", headers=officer, json={
        "version": concern["version"], "outcome": "linked", "case": ref}), 200)
    ok(client.post(f"/api/v1/cases/{ref}/notes", headers=officer, json={
        "body": f"Called {REPORTER} back on {PHONE} ({EMAIL}). {WITNESS} saw it too; "
                f"{CONTACT} will share the council's CCTV."}))
    ok(client.post(f"/api/v1/cases/{ref}/actions", headers=officer, json={
        "title": f"Meet {WITNESS} about his shop's camera", "owner": WITNESS,
        "notes": "Tariq Osei opens at 7."}))
    agency = ok(client.post("/api/v1/partners", headers=sup, json={
        "name": "Westminster City Council", "kind": "council"}))
    contact = ok(client.post(f"/api/v1/partners/{agency['id']}/contacts", headers=sup, json={
        "name": CONTACT, "job_title": "ASB caseworker", "phone": "020 7641 6000"}))
    ok(client.post(f"/api/v1/cases/{ref}/partners", headers=officer, json={
        "agency": agency["id"], "contact": contact["id"], "role": "lead"}))
    yesterday = today() - timedelta(days=1)
    ok(client.post(f"/api/v1/cases/{ref}/patrols", headers=officer, json={
        "started_at": f"{yesterday}T17:00", "ended_at": f"{yesterday}T17:12",
        "notes": f"Spoke to {WITNESS} at the shop."}))
    ok(client.post(f"/api/v1/cases/{ref}/outputs", headers=officer, json={
        "on": yesterday.isoformat(), "counts": {"arrests": 2, "stop_searches": 3}}))
    ok(client.post(f"/api/v1/cases/{ref}/attachments", headers=officer,
                   data={"caption": f"The door {REPORTER} described"},
                   files={"file": ("IMG_0001.jpg", phone_photo(), "application/octet-stream")}))
    return str(ref)


def close(client: TestClient, supervisor: Person, ref: str) -> None:
    for stage in ("analysis", "response", "assessment", "closed"):
        ok(client.post(f"/api/v1/cases/{ref}/transitions", headers=supervisor.api, json={
            "to": stage, "reason": "Handled by the council", "override": True}), 200)


FIGURES = {"counts": {"target_before": 40, "target_after": 22}, "odds_ratio": {"value": 1.62}}


def snapshot(db: Session, ref: str) -> int:
    """An impact assessment's figures as the case keeps them (set straight into the table:
    computing one needs crime data, which this test is not about)."""
    case = db.scalars(select(Case).where(Case.ref == ref)).one()
    row = AssessmentSnapshot(
        case_id=case.id, number=1, before_first=date(2025, 1, 1), before_last=date(2025, 6, 1),
        after_first=date(2025, 7, 1), after_last=date(2025, 12, 1), categories=["violent-crime"],
        areas={}, batches=[],
        results=FIGURES,
        note=f"Fewer fights since {WITNESS}'s camera went up.")
    db.add(row)
    db.commit()
    return row.id


def leftovers(db: Session, needles: list[str],
              skip: frozenset[tuple[str, str]] = frozenset()) -> list[str]:
    """Every (table.column: needle) where a text column of any table still holds a needle
    (case-insensitive), found by reflecting the database as it is. Binary columns too: SQLite's
    full-text index keeps its terms in blobs, PostgreSQL's in tsvectors."""
    metadata = MetaData()
    metadata.reflect(bind=db.connection())
    found = []
    for table in metadata.sorted_tables:
        for column in table.columns:
            if (table.name, column.name) in skip or not isinstance(
                    column.type, String | Text | JSON | LargeBinary | TSVECTOR | NullType):
                continue
            if isinstance(column.type, LargeBinary):
                found += _in_blobs(db, table, column, needles)
                continue
            as_text = func.lower(cast(column, Text))
            for needle in needles:
                hit = db.scalar(select(func.count()).select_from(table).where(
                    or_(as_text.contains(needle.lower()))))
                if hit:
                    found.append(f"{table.name}.{column.name}: {needle}")
    return found


def _in_blobs(db: Session, table: Table, column: Column[Any], needles: list[str]) -> list[str]:
    blobs = [bytes(b).lower() for b in db.scalars(select(column)) if b is not None]
    return [f"{table.name}.{column.name}: {needle}" for needle in needles
            if any(needle.lower().encode() in blob for blob in blobs)]


def test_review_retain_then_dispose_erases_personal_data_and_keeps_figures(
        client: TestClient, cast: Cast, db: Session, folder: Path) -> None:
    ref = worked_case(client, cast)
    export = client.get(f"/api/v1/cases/{ref}/export", headers=cast.evaluator.api,
                        params={"reason": "For the force's evaluation of the market"})
    assert export.status_code == 200, export.text
    snapshot_id = snapshot(db, ref)
    assert leftovers(db, [REPORTER])  # the walk finds the data while it is there
    close(client, cast.supervisor, ref)

    record = ok(client.get(f"/api/v1/cases/{ref}/retention", headers=cast.supervisor.api), 200)
    closed_on = date.fromisoformat(record["closed_on"])
    assert record["period_months"] == 120  # violent crime: MoPI group 2's ten years
    assert date.fromisoformat(record["retention_review_on"]) == add_months(closed_on, 120)
    assert [e["reason"] for e in record["exports"]] == [
        "For the force's evaluation of the market"]
    assert record["exports"][0]["by"] == "eval.morgan" and not record["exports"][0]["redacted"]

    # The queue: due within 30 days it is not; every closed case awaiting review, it is.
    assert ok(client.get("/api/v1/retention/queue", headers=cast.supervisor.api), 200)[
        "total"] == 0
    queue = ok(client.get("/api/v1/retention/queue?due=all", headers=cast.supervisor.api), 200)
    assert [i["ref"] for i in queue["items"]] == [ref]

    # Retain: a reason and a later date, or refused with the field named.
    bad = client.post(f"/api/v1/cases/{ref}/retention/reviews", headers=cast.supervisor.api,
                      json={"decision": "retain", "reason": "Civil claim pending"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "next_review_on"
    next_on = today() + timedelta(days=365)
    kept = ok(client.post(f"/api/v1/cases/{ref}/retention/reviews",
                          headers=cast.supervisor.api, json={
                              "decision": "retain", "reason": "Civil claim pending",
                              "next_review_on": next_on.isoformat()}))
    assert kept["next_review_on"] == next_on.isoformat() and kept["erased"] is None
    assert ok(client.get(f"/api/v1/cases/{ref}/retention", headers=cast.supervisor.api),
              200)["retention_review_on"] == next_on.isoformat()

    # Later: dispose.
    original = db.scalars(select(Attachment).where(Attachment.case_id == db.scalar(
        select(Case.id).where(Case.ref == ref)))).one()
    assert (folder / original.sha256[:2] / original.sha256).is_file()
    disposed = ok(client.post(f"/api/v1/cases/{ref}/retention/reviews",
                              headers=cast.supervisor.api, json={
                                  "decision": "dispose",
                                  "reason": f"Claim settled; {REPORTER} moved away."}))
    assert disposed["erased"]["concern_reporters"] == 1
    assert disposed["erased"]["partner_contacts_unlinked"] == 1
    assert disposed["erased"]["attachment_files"] == 1
    assert REPORTER not in disposed["reason"]
    db.expire_all()

    # No personal data of the case is left in any table.
    assert leftovers(db, PERSONAL) == []
    assert leftovers(db, [CONTACT], skip=frozenset({("partner_contacts", "name")})) == []
    # The original file (with its camera metadata) is gone; the shown copy stays.
    assert not (folder / original.sha256[:2] / original.sha256).exists()
    assert (folder / original.shown_sha256[:2] / original.shown_sha256).is_file()

    # The figures are intact.
    case = db.scalars(select(Case).where(Case.ref == ref)).one()
    assert case.stage.value == "closed" and case.disposed_at is not None
    assert case.category == "violent-crime" and case.retention_review_on is None
    patrol = db.scalars(select(Patrol).where(Patrol.case_id == case.id)).one()
    assert patrol.ended_at is not None
    assert (patrol.ended_at - patrol.started_at) == timedelta(minutes=12)
    assert sorted((o.kind.value, o.count) for o in db.scalars(
        select(OutputEntry).where(OutputEntry.case_id == case.id))) == [
        ("arrests", 2), ("stop_searches", 3)]
    kept_snapshot = db.get_one(AssessmentSnapshot, snapshot_id)
    assert kept_snapshot.results == FIGURES
    assert "Osei" not in kept_snapshot.note and "camera" in kept_snapshot.note
    read = ok(client.get(f"/api/v1/cases/{ref}", headers=cast.supervisor.api), 200)
    assert read["title"] == "Street violence around Church Street market"

    # The access log records the disposal, and its chain is unbroken.
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "case.dispose",
                                                AuditEntry.object_ref == ref)).one()
    assert entry.actor == "sgt.okafor" and entry.details["erased"] == disposed["erased"]
    assert verify_chain(db).intact
    # The review page still lists what left before the disposal; nothing more to review.
    record = ok(client.get(f"/api/v1/cases/{ref}/retention", headers=cast.supervisor.api), 200)
    assert len(record["exports"]) == 1
    assert [r["decision"] for r in record["reviews"]] == ["dispose", "retain"]
    again = client.post(f"/api/v1/cases/{ref}/retention/reviews", headers=cast.supervisor.api,
                        json={"decision": "dispose", "reason": "Twice"})
    assert again.status_code == 409
    reopen = client.post(f"/api/v1/cases/{ref}/transitions", headers=cast.supervisor.api,
                         json={"to": "response", "reason": "Back again"})
    assert reopen.status_code == 409
    # A file exported after the disposal carries what is left: placeholders, the shown photo
    # (without the snapshot set by hand, whose few figures the export's report cannot draw).
    db.delete(kept_snapshot)
    db.commit()
    after = client.get(f"/api/v1/cases/{ref}/export", headers=cast.evaluator.api,
                       params={"reason": "The evaluation's final figures"})
    assert after.status_code == 200, after.text
    assert b"Ellison" not in after.content
    original_download = client.get(
        f"/api/v1/cases/{ref}/attachments/{original.id}/original", headers=cast.officer.api)
    assert original_download.status_code == 404
    assert "disposed of" in original_download.json()["message"]


def test_reviewers_only_within_their_scope(client: TestClient, cast: Cast,
                                           make_person: Any) -> None:
    ref = ok(client.post("/api/v1/cases", headers=cast.officer.api,
                         json=new_case_body()))["ref"]
    close(client, cast.supervisor, ref)
    body = {"decision": "dispose", "reason": "Period over"}
    for person, status in ((cast.officer, 403), (cast.analyst, 403), (cast.evaluator, 403),
                           (cast.camden_officer, 404)):
        assert client.get(f"/api/v1/cases/{ref}/retention",
                          headers=person.api).status_code == status
        assert client.post(f"/api/v1/cases/{ref}/retention/reviews", headers=person.api,
                           json=body).status_code == status
    assert client.get("/api/v1/retention/queue", headers=cast.officer.api).status_code == 403
    city = make_person("sgt.city", Role.SUPERVISOR, CITY)
    city_admin = make_person("admin.city", Role.ADMIN, None, force="city-of-london")
    for person in (city, city_admin):
        assert client.get(f"/api/v1/cases/{ref}/retention",
                          headers=person.api).status_code == 404
        assert client.post(f"/api/v1/cases/{ref}/retention/reviews", headers=person.api,
                           json=body).status_code == 404
        queue = ok(client.get("/api/v1/retention/queue?due=all", headers=person.api), 200)
        assert ref not in [i["ref"] for i in queue["items"]]
    # The Metropolitan Police's admin (every force's, here) reviews it: records management.
    assert ok(client.get("/api/v1/retention/queue?due=all&force=metropolitan",
                         headers=cast.admin.api), 200)["items"][0]["ref"] == ref
    open_ref = ok(client.post("/api/v1/cases", headers=cast.officer.api,
                              json=new_case_body()))["ref"]
    assert client.post(f"/api/v1/cases/{open_ref}/retention/reviews",
                       headers=cast.supervisor.api, json=body).status_code == 409


def test_an_admin_sets_the_periods_and_reopening_clears_the_date(
        client: TestClient, cast: Cast, make_person: Any) -> None:
    periods = ok(client.get("/api/v1/forces/metropolitan/retention-periods",
                            headers=cast.officer.api), 200)
    assert periods["months"]["anti-social-behaviour"] == 72 and periods["customised"] == []
    assert client.put("/api/v1/forces/metropolitan/retention-periods",
                      headers=cast.supervisor.api,
                      json={"months": {"violent-crime": 24}}).status_code == 403
    city_admin = make_person("admin.city", Role.ADMIN, None, force="city-of-london")
    assert client.put("/api/v1/forces/metropolitan/retention-periods",
                      headers=city_admin.api,
                      json={"months": {"violent-crime": 24}}).status_code == 403
    wrong = client.put("/api/v1/forces/metropolitan/retention-periods",
                       headers=cast.admin.api, json={"months": {"knife-crime": 24}})
    assert wrong.status_code == 422 and "knife-crime" in wrong.text
    changed = ok(client.put("/api/v1/forces/metropolitan/retention-periods",
                            headers=cast.admin.api, json={"months": {"violent-crime": 24}}),
                 200)
    assert changed["months"]["violent-crime"] == 24 and changed["customised"] == [
        "violent-crime"]

    ref = ok(client.post("/api/v1/cases", headers=cast.officer.api,
                         json=new_case_body()))["ref"]
    close(client, cast.supervisor, ref)
    record = ok(client.get(f"/api/v1/cases/{ref}/retention", headers=cast.admin.api), 200)
    assert record["retention_review_on"] == add_months(
        date.fromisoformat(record["closed_on"]), 24).isoformat()
    ok(client.post(f"/api/v1/cases/{ref}/transitions", headers=cast.supervisor.api,
                   json={"to": "response", "reason": "It came back"}), 200)
    record = ok(client.get(f"/api/v1/cases/{ref}/retention", headers=cast.admin.api), 200)
    assert record["retention_review_on"] is None and record["closed_on"] is None
