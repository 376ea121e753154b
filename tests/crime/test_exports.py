"""Case files: a whole case exported, verified, imported into an empty database and exported
again unchanged; schema and checksums; a report with no script and no link out; redaction that
leaves none of the names; operation bundles; the disclosure in the access log.

The module has a database of its own, with the City's street crime of January to June 2024."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.audit.models import AuditEntry
from app.auth.context import Actor
from app.auth.roles import Role
from app.clock import today
from app.exports import files
from app.exports.files import CaseFileError, read_case_file
from app.exports.importer import import_case_file
from app.exports.service import export_case, export_operation, find_operation
from app.patrols.models import Patrol
from tests.conftest import Person, create_person, migrated
from tests.crime.support import CITY, LIVERPOOL_STREET, Site, load_boundaries, load_months, site
from tests.crime.test_assessment import MONTHS, PERIODS, ST_PAULS

NAMES = ["Amira", "Shah", "pc.shah", "Niamh", "Byrne", "sgt.byrne", "Ola", "Quinn", "sgt.quinn",
         "Edith", "Crawley",
         "edith@example.org", "07700 900123", "Tariq", "Osei", "Kowalski", "Grace", "analyst.lee"]


@dataclass
class World:
    site: Site
    officer: Person
    sergeant: Person
    analyst: Person
    evaluator: Person
    client: TestClient
    ref: str
    operation: int

    def send(self, method: str, url: str, person: Person, expected: int = 200,
             **kwargs: Any) -> Any:
        response = self.client.request(method, url, headers=person.api, **kwargs)
        assert response.status_code == expected, (url, response.status_code,
                                                   response.text[:400])
        return response


def _rich_case(client: TestClient, officer: Person, sergeant: Person, analyst: Person,
               other_sergeant: Person) -> str:
    """A City case with something in every part of the record."""
    def call(method: str, url: str, person: Person, body: Any = None) -> Any:
        response = client.request(method, url, headers=person.api, json=body)
        assert response.status_code in (200, 201), (url, response.text[:400])
        return response.json()

    case = call("POST", "/api/v1/cases", officer, {
        "title": "Phones and bags taken around Liverpool Street",
        "problem_statement": "Thefts from commuters on weekday evenings, reported by Edith "
                             "Crawley (07700 900123) among others.",
        "category": "theft-from-the-person", "borough": CITY, "team": "Bishopsgate sector",
        "target_area": LIVERPOOL_STREET})
    ref = case["ref"]
    cheers = {e: {"met": True, "evidence": f"Evidence for {e}"} for e in (
        "community", "harm", "expectation", "events", "recurring", "similarity")}
    call("PATCH", f"/api/v1/cases/{ref}", officer, {"version": case["version"],
                                                    "cheers": cheers})
    call("POST", f"/api/v1/cases/{ref}/transitions", officer, {"to": "analysis"})
    version = call("GET", f"/api/v1/cases/{ref}", officer)["version"]
    call("PATCH", f"/api/v1/cases/{ref}", analyst, {
        "version": version, "triangle": {
            "offender": {"who": "Two men on bicycles", "known": "Seen by PC Kowalski"},
            "victim": {"who": "Commuters with phones out"},
            "place": {"who": "The station's Bishopsgate exit"}},
        "analysis_summary": "Thefts peak at 17:00-19:00.", "baseline_start": "2024-01-01",
        "baseline_end": "2024-03-31", "buffer_width_m": 200, "control_area": ST_PAULS,
        "crime_types": ["other-theft", "theft-from-the-person"]})
    call("POST", f"/api/v1/cases/{ref}/transitions", other_sergeant,
         {"to": "response", "override": True, "reason": "Urgent: start now"})
    call("POST", f"/api/v1/cases/{ref}/hypotheses", analyst,
         {"statement": "Crowds at the exit give cover", "status": "supported"})
    queue = call("GET", "/api/v1/queue", sergeant)
    event = queue["overrides_to_review"]["items"][0]["event_id"]
    call("POST", f"/api/v1/overrides/{event}/review", sergeant, {"note": "Agreed by Sgt Byrne"})
    call("POST", f"/api/v1/cases/{ref}/reviews", sergeant, {
        "note": "Went through the plan with PC Amira Shah: start at the exit.",
        "decision": "change_approach"})
    version = call("GET", f"/api/v1/cases/{ref}", officer)["version"]
    call("PATCH", f"/api/v1/cases/{ref}", officer, {
        "version": version, "response_plan": "Patrols at the exit at the peak.",
        "planned_patrol_minutes": 60})
    call("POST", f"/api/v1/cases/{ref}/actions", officer, {
        "title": "Signs warning commuters", "tactic": "alert-conscience",
        "owner": "Mr Tariq Osei", "due_date": "2024-04-15", "status": "done"})
    day = (today() - timedelta(days=2)).isoformat()
    patrol = call("POST", f"/api/v1/cases/{ref}/patrols", officer, {
        "started_at": f"{day}T17:05", "ended_at": f"{day}T17:18",
        "officers": "PC Shah, PC Kowalski", "place": "Bishopsgate exit",
        "notes": "Spoke to Edith Crawley (edith@example.org)."})
    entries = call("POST", f"/api/v1/cases/{ref}/outputs", officer, {
        "on": day, "counts": {"arrests": 2, "knives": 1}, "patrol_id": patrol["id"]})
    call("POST", f"/api/v1/cases/{ref}/outputs/{entries[0]['id']}/corrections", sergeant,
         {"count": 1, "reason": "Counted twice"})
    concern = call("POST", "/api/v1/concerns", officer, {
        "borough": CITY, "raised_on": day, "raised_by_kind": "resident",
        "raised_by": "Mrs Edith Crawley", "contact": "edith@example.org",
        "channel": "ward_panel", "place": "Liverpool Street",
        "description": "My phone was snatched at the exit."})
    concern = call("POST", f"/api/v1/concerns/{concern['id']}/triage", officer, {
        "version": concern["version"], "outcome": "linked", "case": ref})
    call("PUT", f"/api/v1/concerns/{concern['id']}/answer", officer, {
        "version": concern["version"], "we_did": "Patrols at the exit every evening."})
    call("POST", f"/api/v1/cases/{ref}/notes", officer,
         {"body": "PC Amira Shah met Mr Osei about the signs."})
    call("POST", f"/api/v1/cases/{ref}/assessments", analyst, PERIODS)
    call("POST", f"/api/v1/cases/{ref}/assessments", analyst, PERIODS | {
        "before_first": "2024-02", "after_last": "2024-05"})
    return ref


@pytest.fixture(scope="module")
def world(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with site(db_url, tmp_path_factory, "exports") as crime_site:
        with crime_site.factory() as db:
            officer = create_person(db, "pc.shah", Role.OFFICER, CITY, "PC Amira Shah")
            sergeant = create_person(db, "sgt.byrne", Role.SUPERVISOR, CITY, "Sgt Niamh Byrne")
            analyst = create_person(db, "analyst.lee", Role.ANALYST, None, "Grace Lee")
            evaluator = create_person(db, "eval.morgan", Role.EVALUATOR, None, "Rhys Morgan")
            # The override's author: another sergeant reviews it.
            other = create_person(db, "sgt.quinn", Role.SUPERVISOR, CITY, "Sgt Ola Quinn")
        load_boundaries(crime_site.factory, (CITY,), (CITY,))
        load_months(crime_site.factory, MONTHS)
        with crime_site.client() as client:
            ref = _rich_case(client, officer, sergeant, analyst, other)
            operation = client.post("/api/v1/operations", headers=analyst.api, json={
                "name": "Sentinel", "start_date": "2024-04-01",
                "force": "city-of-london"}).json()["id"]
            case = client.get(f"/api/v1/cases/{ref}", headers=analyst.api).json()
            client.patch(f"/api/v1/cases/{ref}", headers=analyst.api,
                         json={"version": case["version"], "operation": operation})
            yield World(crime_site, officer, sergeant, analyst, evaluator, client, ref,
                        operation)


def members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def exported(world: World, redact: bool = False) -> bytes:
    response = world.send("GET", f"/api/v1/cases/{world.ref}/export", world.evaluator,
                          params={"reason": "For the Sentinel evaluation", "redact": redact})
    assert response.headers["content-type"] == "application/zip"
    return response.content


def test_a_case_file_holds_every_part_of_the_case_and_verifies(world: World) -> None:
    content = exported(world)
    found = members(content)
    assert set(found) == {"manifest.json", "case.json", "actions.csv", "partners.csv",
                          "patrols.csv", "outputs.csv", "timeline.csv", "crimes.csv", "README.txt",
                          "report.html"}
    manifest = json.loads(found["manifest.json"])
    assert manifest["format"] == "popcase-case-file" and manifest["case"] == world.ref
    assert manifest["exported_by"] == "Rhys Morgan" and manifest["redaction"]["applied"] is False
    for name, data in found.items():
        if name != "manifest.json":
            assert manifest["files"][name] == files.sha256(data), name
    case = json.loads(found["case.json"])
    jsonschema.validate(case, world.send("GET", "/api/v1/schemas/case-file.json",
                                         world.evaluator).json())
    record = case["case"]
    assert record["cheers"]["harm"]["evidence"] == "Evidence for harm"
    assert record["triangle"]["offender"]["who"] == "Two men on bicycles"
    assert [h["statement"] for h in record["hypotheses"]] == ["Crowds at the exit give cover"]
    assert record["actions"][0]["owner"] == "Mr Tariq Osei"
    assert record["patrols"][0]["minutes"] == 13
    corrected = [o for o in record["outputs"] if o["corrects"]]
    assert corrected and corrected[0]["reason"] == "Counted twice"
    assert record["outputs"][0]["patrol"] == record["patrols"][0]["key"]
    assert record["concerns"][0]["we_did"] == "Patrols at the exit every evening."
    assert [a["number"] for a in record["assessments"]] == [1, 2]
    assert record["operation"]["name"] == "Sentinel"
    kinds = [e["kind"] for e in record["timeline"]]
    assert {"created", "moved", "note", "patrol", "output", "community", "review",
            "assessment"} <= set(kinds)
    override = next(e for e in record["timeline"] if e["overridden"])
    assert override["unmet"] and override["review"]["note"] == "Agreed by Sgt Byrne"
    assert "supervisory_review" in kinds
    [review] = record["reviews"]
    assert review["decision"] == "change_approach" and review["reviewer"]["name"] == \
        "Sgt Niamh Byrne"
    assert review["note"] == "Went through the plan with PC Amira Shah: start at the exit."
    assert record["next_review_on"] == review["next_review_on"]
    read_case_file(content)  # the importer's own verification accepts it


def test_crimes_csv_lists_exactly_the_crimes_the_latest_assessment_counted(
        world: World) -> None:
    found = members(exported(world))
    latest = json.loads(found["case.json"])["case"]["assessments"][-1]["results"]
    rows = list(csv_rows(found["crimes.csv"]))
    for area in ("target", "buffer", "control"):
        for period in ("before", "after"):
            counted = sum(1 for r in rows if r["area"] == area and r["period"] == period)
            assert counted == latest["areas"][area][period], (area, period)
    assert all(r["import_source"].endswith("-city-of-london-street.csv") for r in rows)
    # The LSOA's name beside its code, where a person reads the file.
    located = [r for r in rows if r["lsoa_code"]]
    assert located and all(re.fullmatch(r"[A-Z][A-Za-z ]+ \d{3}[A-Z]", r["lsoa_name"])
                           for r in located)
    assert {r["lsoa_name"] for r in located if r["lsoa_code"] == "E01000001"} <= {
        "City of London 001A"}


def csv_rows(content: bytes) -> Iterator[dict[str, str]]:
    import csv

    yield from csv.DictReader(io.StringIO(content.decode("utf-8")))


def test_the_report_has_each_stage_and_no_script_or_link_out(world: World) -> None:
    report = members(exported(world))["report.html"].decode("utf-8")
    assert "<script" not in report.lower() and "javascript:" not in report.lower()
    assert not re.search(r"""(href|src|action)\s*=\s*["'](?!#)""", report, re.IGNORECASE)
    assert not re.search(r"url\(\s*['\"]?(https?:|//)", report)
    for heading in ("Summary", "Scanning", "Analysis", "Response", "Assessment",
                    "Supervisory reviews", "Timeline"):
        assert f">{heading}</h2>" in report
    assert "Change the approach" in report and "start at the exit." in report
    assert "Evidence for harm" in report and "Two men on bicycles" in report
    assert "Signs warning commuters" in report and "Patrols at the exit every evening." in report
    assert "Relative effect size (odds ratio)" in report and 'class="app-chart' in report
    assert '<svg class="map"' in report


def test_a_redacted_file_holds_none_of_the_names(world: World) -> None:
    plain, redacted = members(exported(world)), members(exported(world, redact=True))
    plain_text = b"".join(plain.values()).decode("utf-8")
    for name in NAMES:
        assert name.lower() in plain_text.lower(), f"{name} should be in the plain file"
    for member, data in redacted.items():
        text = data.decode("utf-8")
        for name in NAMES:
            assert not re.search(rf"(?<![\w.@]){re.escape(name)}(?![\w])", text, re.IGNORECASE), \
                (member, name)
    manifest = json.loads(redacted["manifest.json"])
    assert manifest["redaction"]["applied"] is True and manifest["redaction"]["officers"] >= 3
    case = json.loads(redacted["case.json"])["case"]
    assert case["owner"]["name"].startswith("Officer ")
    assert case["concerns"][0]["raised_by"] == "Member of the public 1"
    assert case["concerns"][0]["contact"] == "[removed]"
    assert case["actions"][0]["owner"] == "Action owner 1"
    # Stable: the same person is the same placeholder everywhere.
    recorder = case["patrols"][0]["recorded_by"]["name"]
    assert case["outputs"][0]["recorded_by"]["name"] == recorder
    read_case_file(exported(world, redact=True))


def test_export_import_and_export_again_give_the_same_case_json(
        world: World, empty_database: str) -> None:
    content = exported(world)
    with migrated(empty_database) as factory, factory() as db:
        result = import_case_file(db, Actor.cli(), content)
        assert result.ref == world.ref and result.people_added == 4  # officer, 2 sgts, analyst
        again = export_case(db, Actor.cli(), result.ref, reason="Round trip")
        twice = import_case_file(db, Actor.cli(), content)  # the ref is taken now
        assert twice.ref != world.ref and twice.original_ref == world.ref
    assert members(again.content)["case.json"] == members(content)["case.json"]


def tampered(content: bytes, name: str, change: Any) -> bytes:
    found = members(content)
    found[name] = change(found[name])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, data in found.items():
            archive.writestr(member, data)
    return buffer.getvalue()


def test_a_tampered_or_invalid_file_is_refused_whole(world: World,
                                                     empty_database: str) -> None:
    content = exported(world)
    edited = tampered(content, "case.json", lambda b: b.replace(b"Two men on bicycles",
                                                                b"Three men on bicycles"))
    with pytest.raises(CaseFileError, match=re.escape("case.json does not match its checksum")):
        read_case_file(edited)

    def reseal(data: dict[str, bytes]) -> bytes:
        manifest = json.loads(data["manifest.json"])
        manifest["files"] = {n: files.sha256(d) for n, d in data.items()
                             if n != "manifest.json"}
        data["manifest.json"] = json.dumps(manifest).encode()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for member, body in data.items():
                archive.writestr(member, body)
        return buffer.getvalue()

    found = members(content)
    case = json.loads(found["case.json"])
    case["case"]["outputs"][0]["count"] = -3
    found["case.json"] = json.dumps(case).encode()
    with pytest.raises(CaseFileError, match=r"does not follow the case file schema at "
                                            r"case/outputs/0/count"):
        read_case_file(reseal(found))
    extra = members(content) | {"payload.exe": b"MZ"}
    with pytest.raises(CaseFileError, match=re.escape(
            "payload.exe is in the file but not in its manifest")):
        read_case_file(tampered_zip(extra))
    with pytest.raises(CaseFileError, match="not a zip file"):
        read_case_file(b"not a zip")
    with migrated(empty_database) as factory, factory() as db:
        with pytest.raises(CaseFileError):
            import_case_file(db, Actor.cli(), edited)
        from app.cases.models import Case
        assert db.scalar(select(Case.id)) is None  # nothing half-imported


def tampered_zip(found: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, data in found.items():
            archive.writestr(member, data)
    return buffer.getvalue()


def test_exports_are_disclosures_logged_with_their_reason(world: World) -> None:
    world.send("GET", f"/api/v1/cases/{world.ref}/export", world.evaluator,
               params={"reason": "For the university's evaluation"})
    with world.site.factory() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "case.export")
                           .order_by(AuditEntry.seq.desc())).first()
    assert entry is not None and entry.object_ref == world.ref
    assert entry.justification == "For the university's evaluation"
    for person in (world.officer, world.sergeant, world.analyst):
        world.send("GET", f"/api/v1/cases/{world.ref}/export", person, expected=403,
                   params={"reason": "Curious"})
    missing = world.send("GET", f"/api/v1/cases/{world.ref}/export", world.evaluator,
                         expected=422)
    assert missing.json()["errors"][0]["field"] == "reason"
    # A crafted NUL is refused with the field named (PostgreSQL could not log it: it was a 500).
    for path in (f"/api/v1/cases/{world.ref}/export", "/api/v1/operations/1/export"):
        nul = world.send("GET", path, world.evaluator, expected=422,
                         params={"reason": "For\x00the evaluation"})
        assert nul.json()["errors"][0]["field"] == "reason"


def test_the_operation_bundle_holds_every_case_file_and_the_evaluation(world: World) -> None:
    response = world.send("GET", f"/api/v1/operations/{world.operation}/export",
                          world.evaluator, params={"reason": "Sentinel evaluation"})
    bundle = members(response.content)
    assert {"manifest.json", "operation.json", "evaluation.json", "evaluation.csv",
            f"cases/{world.ref}.zip"} == set(bundle)
    manifest = json.loads(bundle["manifest.json"])
    assert manifest["files"][f"cases/{world.ref}.zip"] == files.sha256(
        bundle[f"cases/{world.ref}.zip"])
    read_case_file(bundle[f"cases/{world.ref}.zip"])
    evaluation = json.loads(bundle["evaluation.json"])
    assert [row["ref"] for row in evaluation["rows"]] == [world.ref]
    assert evaluation["rows"][0]["snapshot"] == 2
    assert bundle["evaluation.csv"].decode().startswith("ref,title,borough")
    run = json.loads(bundle["operation.json"])  # who ran it, by name beside the codes
    assert (run["force"], run["borough"], run["run_by"]) == (
        "city-of-london", None, "City of London Police (force-wide)")
    with world.site.factory() as db:
        again = export_operation(db, Actor.cli(), find_operation(db, "sentinel"),
                                 reason="Command line")
    assert f"cases/{world.ref}.zip" in members(again.content)


def test_the_shipped_schema_is_the_one_the_models_make() -> None:
    assert files.published_schema() == files.generated_schema()


def test_a_running_patrol_exports_without_an_end(world: World) -> None:
    with world.site.factory() as db:
        patrol = db.scalars(select(Patrol)).first()
        assert patrol is not None
        started, ended = patrol.started_at, patrol.ended_at
        db.execute(update(Patrol).where(Patrol.id == patrol.id).values(ended_at=None))
        db.commit()
    try:
        record = json.loads(members(exported(world))["case.json"])["case"]
        assert record["patrols"][0]["ended_at"] is None
        assert record["patrols"][0]["minutes"] is None
    finally:
        with world.site.factory() as db:
            db.execute(update(Patrol).where(Patrol.started_at == started).values(
                ended_at=ended))
            db.commit()


def test_the_case_page_offers_the_case_file_to_evaluators_only(world: World) -> None:
    with world.site.client(world.evaluator) as pages:
        page = pages.get(f"/cases/{world.ref}").text
        assert "Download the case file" in page
        refused = pages.post(f"/cases/{world.ref}/export",
                             data={"csrf_token": world.evaluator.csrf, "export-reason": ""})
        assert refused.status_code == 422
        assert "Say why the case file is being disclosed" in refused.text
        download = pages.post(f"/cases/{world.ref}/export", data={
            "csrf_token": world.evaluator.csrf, "export-reason": "University evaluation",
            "redact": "yes"})
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/zip"
        assert download.headers["content-disposition"] == \
            f'attachment; filename="{world.ref}-redacted.zip"'
        assert json.loads(members(download.content)["manifest.json"])["redaction"]["applied"]
    with world.site.client(world.officer) as pages:
        assert "Download the case file" not in pages.get(f"/cases/{world.ref}").text
