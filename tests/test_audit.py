"""The access log: the right entry for each kind of access, written in the request's
transaction with its request id and client address; append-only in the database; a hash chain
that ``popcase audit verify`` checks; and a CSV export that spreadsheets cannot execute."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from alembic import command
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.audit.models import AuditEntry, AuditHead
from app.audit.service import verify_chain
from app.auth.context import Actor, Channel
from app.auth.models import ApiToken, UserSession
from app.auth.roles import Role
from app.auth.service import NewUser, create_token, create_user, digest
from app.cases import content, moves, service
from app.cases.schemas import CaseCreate, CaseUpdate, NoteCreate, TransitionRequest
from app.cli import alembic_config, cli
from app.db import make_engine, make_session_factory
from app.settings import get_settings
from app.web.deps import SESSION_COOKIE, SIGNIN_CSRF_COOKIE
from tests.conftest import POINT_AREA, READY_CHEERS, WESTMINSTER, Cast, Person, new_case_body

PASSWORD = "correct horse battery staple"
TEST_CLIENT_ADDR = "testclient"  # what Starlette's TestClient gives as the client's address


def entries_of(db: Session, response: Response) -> list[AuditEntry]:
    """The entries written while answering ``response`` (found by its X-Request-ID)."""
    request_id = response.headers["X-Request-ID"]
    db.expire_all()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.request_id == request_id)
                           .order_by(AuditEntry.seq)))


def the_entry(db: Session, response: Response, action: str, *, actor: str,
              object_ref: str = "", justification: str = "",
              object_type: str | None = None) -> AuditEntry:
    entries = [e for e in entries_of(db, response) if e.action == action]
    assert len(entries) == 1, (action, [(e.action, e.object_ref) for e in
                                        entries_of(db, response)])
    entry = entries[0]
    assert entry.actor == actor
    assert entry.object_ref == object_ref
    assert entry.justification == justification
    assert entry.request_id == response.headers["X-Request-ID"]
    assert entry.client_addr == TEST_CLIENT_ADDR
    if object_type is not None:
        assert entry.object_type == object_type
    return entry


def new_case(db: Session, person: Person, stage: str = "scanning") -> str:
    case = service.create_case(db, person.actor, CaseCreate.model_validate(
        new_case_body(target_area=POINT_AREA)))
    if stage == "analysis":
        service.update_case(db, person.actor, case.ref, CaseUpdate.model_validate(
            {"version": case.version, "cheers": READY_CHEERS}))
        moves.move_case(db, person.actor, case.ref, TransitionRequest.model_validate(
            {"to": "analysis"}))
    return case.ref


def page_post(client: TestClient, person: Person, url: str,
              data: dict[str, str] | None = None) -> Response:
    return client.post(url, data={**(data or {}), "csrf_token": person.csrf})


# --- sign-in and sign-out ----------------------------------------------------------------------

@pytest.fixture
def walker(db: Session) -> str:
    create_user(db, Actor.cli(), NewUser("pc.walker", Role.OFFICER, "PC Walker", WESTMINSTER,
                                         PASSWORD))
    return "pc.walker"


def sign_in(client: TestClient, username: str, password: str) -> Response:
    client.get("/sign-in")
    return client.post("/sign-in", data={
        "username": username, "password": password, "next": "/cases",
        "csrf_token": client.cookies.get(SIGNIN_CSRF_COOKIE) or ""})


def test_sign_in_sign_out_and_failures_are_logged(client: TestClient, db: Session,
                                                  walker: str) -> None:
    failed = sign_in(client, walker, "not the password")
    assert failed.status_code == 401
    entry = the_entry(db, failed, "signin.failed", actor=walker, object_ref=walker,
                      object_type="user")
    assert entry.actor_id is None and entry.details == {"failures": 1}

    unknown = sign_in(client, "Nobody.Here", "not the password")
    entry = the_entry(db, unknown, "signin.failed", actor="nobody.here",
                      object_ref="nobody.here")
    assert entry.actor_id is None

    ok = sign_in(client, walker, PASSWORD)
    assert ok.status_code == 303
    entry = the_entry(db, ok, "signin", actor=walker, object_ref=walker, object_type="user")
    assert entry.actor_id is not None

    secret = ok.cookies[SESSION_COOKIE]
    csrf = db.scalar(select(UserSession.csrf_token)
                     .where(UserSession.token_hash == digest(secret)))
    out = client.post("/sign-out", data={"csrf_token": csrf or ""})
    assert out.status_code == 303
    the_entry(db, out, "signout", actor=walker, object_ref=walker)


def test_a_throttled_sign_in_is_logged_as_refused(client: TestClient, db: Session,
                                                  walker: str) -> None:
    for _ in range(3):
        sign_in(client, walker, "not the password")
    refused = sign_in(client, walker, PASSWORD)
    assert refused.status_code == 429
    entry = the_entry(db, refused, "signin.throttled", actor=walker, object_ref=walker)
    assert entry.details["retry_after"] == int(refused.headers["Retry-After"])
    assert entry.details["failures"] == 3 and entry.client_addr == "testclient"


def test_the_request_id_sent_by_a_proxy_is_kept(client: TestClient, db: Session,
                                                cast: Cast) -> None:
    response = client.get("/api/v1/cases", headers={**cast.analyst.api,
                                                    "X-Request-ID": "proxy-req-000123"})
    assert response.headers["X-Request-ID"] == "proxy-req-000123"
    the_entry(db, response, "case.list", actor=cast.analyst.user.username)
    bad = client.get("/api/v1/cases", headers={**cast.analyst.api,
                                               "X-Request-ID": "bad id\r\nwith junk"})
    assert re.fullmatch(r"[0-9a-f]{16}", bad.headers["X-Request-ID"])


# --- cases -------------------------------------------------------------------------------------

def test_case_reads_are_logged(client: TestClient, db: Session, cast: Cast,
                               pages: Any) -> None:
    ref = new_case(db, cast.officer)
    api = client.get(f"/api/v1/cases/{ref}", headers=cast.analyst.api)
    assert api.status_code == 200
    the_entry(db, api, "case.view", actor="analyst.lee", object_ref=ref, object_type="case")

    page = pages(cast.supervisor).get(f"/cases/{ref}")
    assert page.status_code == 200
    the_entry(db, page, "case.view", actor="sgt.okafor", object_ref=ref)

    listed = client.get("/api/v1/cases?stage=scanning", headers=cast.evaluator.api)
    entry = the_entry(db, listed, "case.list", actor="eval.morgan", object_type="case")
    assert entry.details["total"] == 1
    assert entry.details["filters"]["stage"] == ["scanning"]

    list_page = pages(cast.officer).get("/cases")
    the_entry(db, list_page, "case.list", actor="pc.shah")


def test_reading_a_case_out_of_scope_logs_no_view(client: TestClient, db: Session,
                                                  cast: Cast) -> None:
    ref = new_case(db, cast.officer)
    response = client.get(f"/api/v1/cases/{ref}", headers=cast.camden_officer.api)
    assert response.status_code == 404
    assert entries_of(db, response) == []


def test_case_changes_are_logged(client: TestClient, db: Session, cast: Cast,
                                 pages: Any) -> None:
    created = client.post("/api/v1/cases", json=new_case_body(), headers=cast.officer.api)
    assert created.status_code == 201
    ref = created.json()["ref"]
    the_entry(db, created, "case.create", actor="pc.shah", object_ref=ref, object_type="case")

    updated = client.patch(f"/api/v1/cases/{ref}", headers=cast.officer.api,
                           json={"version": 1, "priority": "low", "team": "Church St SNT"})
    assert updated.status_code == 200
    entry = the_entry(db, updated, "case.update", actor="pc.shah", object_ref=ref)
    assert sorted(entry.details["fields"]) == ["priority", "team"]

    note = client.post(f"/api/v1/cases/{ref}/notes", headers=cast.supervisor.api,
                       json={"body": "Spoke to the market traders."})
    assert note.status_code == 201
    the_entry(db, note, "case.note", actor="sgt.okafor", object_ref=ref)

    reason = "Urgent: three stabbings this month; finish scanning in parallel."
    moved = client.post(f"/api/v1/cases/{ref}/transitions", headers=cast.supervisor.api,
                        json={"to": "analysis", "override": True, "reason": reason})
    assert moved.status_code == 200, moved.text
    entry = the_entry(db, moved, "case.move", actor="sgt.okafor", object_ref=ref,
                      justification=reason)
    assert entry.details["override"] is True
    assert (entry.details["from"], entry.details["to"]) == ("scanning", "analysis")
    assert "target_area" in entry.details["unmet"]

    hypothesis = client.post(f"/api/v1/cases/{ref}/hypotheses", headers=cast.analyst.api,
                             json={"statement": "Offenders come from the nearby estate."})
    assert hypothesis.status_code == 201
    entry = the_entry(db, hypothesis, "case.hypothesis.add", actor="analyst.lee",
                      object_ref=ref)
    assert entry.details == {"hypothesis": hypothesis.json()["id"]}

    action = client.post(f"/api/v1/cases/{ref}/actions", headers=cast.officer.api,
                         json={"title": "Better lighting on the north side"})
    assert action.status_code == 201
    entry = the_entry(db, action, "case.action.add", actor="pc.shah", object_ref=ref)
    assert entry.details == {"action": action.json()["id"]}

    # The same through the pages.
    officer = pages(cast.officer)
    page_created = page_post(officer, cast.officer, "/cases", {
        "title": "Drug dealing in the estate stairwells", "category": "drugs",
        "borough": WESTMINSTER, "priority": "medium", "source": "community"})
    assert page_created.status_code == 303
    page_ref = page_created.headers["Location"].split("/")[2].split("?")[0]
    the_entry(db, page_created, "case.create", actor="pc.shah", object_ref=page_ref)
    page_note = page_post(officer, cast.officer, f"/cases/{page_ref}/notes",
                          {"note-body": "Residents' meeting on Tuesday."})
    assert page_note.status_code == 303
    the_entry(db, page_note, "case.note", actor="pc.shah", object_ref=page_ref)
    back = page_post(pages(cast.supervisor), cast.supervisor, f"/cases/{ref}/transitions", {
        "form": "back", "back-to": "scanning", "back-reason": "Re-scan the market days."})
    assert back.status_code == 303
    the_entry(db, back, "case.move", actor="sgt.okafor", object_ref=ref,
              justification="Re-scan the market days.")


def test_a_refused_change_is_not_logged_as_done(client: TestClient, db: Session,
                                                cast: Cast) -> None:
    ref = new_case(db, cast.officer)
    response = client.post(f"/api/v1/cases/{ref}/transitions", headers=cast.officer.api,
                           json={"to": "analysis", "override": True, "reason": "Because"})
    assert response.status_code == 403  # only a supervisor can override
    assert entries_of(db, response) == []


# --- administration ----------------------------------------------------------------------------

def test_administration_is_logged(client: TestClient, db: Session, cast: Cast,
                                  pages: Any) -> None:
    admin = pages(cast.admin)
    created = page_post(admin, cast.admin, "/admin/users", {
        "username": "pc.new", "display_name": "PC New", "role": "officer",
        "borough": WESTMINSTER, "password": "a long first password"})
    assert created.status_code == 303
    entry = the_entry(db, created, "user.create", actor="admin", object_ref="pc.new",
                      object_type="user")
    assert entry.details == {"role": "officer", "borough": WESTMINSTER, "force": "metropolitan"}

    issued = page_post(admin, cast.admin, "/admin/tokens", {"user": "pc.new",
                                                            "name": "nightly report"})
    assert issued.status_code == 200
    token_id = db.scalar(select(ApiToken.id).where(ApiToken.name == "nightly report"))
    entry = the_entry(db, issued, "token.create", actor="admin", object_ref=str(token_id),
                      object_type="token")
    assert entry.details == {"user": "pc.new", "name": "nightly report"}

    revoked = page_post(admin, cast.admin, f"/admin/tokens/{token_id}/revoke")
    assert revoked.status_code == 303
    the_entry(db, revoked, "token.revoke", actor="admin", object_ref=str(token_id))

    searched = client.get("/api/v1/audit?action=token&user=admin", headers=cast.admin.api)
    assert searched.status_code == 200
    entry = the_entry(db, searched, "audit.search", actor="admin", object_type="audit_log")
    assert entry.details["query"] == {"action": "token", "actor": "admin"}
    assert entry.details["total"] == searched.json()["total"] == 2

    page_search = admin.get("/admin/audit?action=user.create")
    assert page_search.status_code == 200
    the_entry(db, page_search, "audit.search", actor="admin")

    exported = client.get("/api/v1/audit.csv?action=token", headers=cast.admin.api)
    assert exported.status_code == 200
    entry = the_entry(db, exported, "audit.export", actor="admin", object_type="audit_log")
    assert entry.details["query"] == {"action": "token"}
    page_export = admin.get("/admin/audit.csv?action=token")
    assert page_export.status_code == 200
    the_entry(db, page_export, "audit.export", actor="admin")


def test_a_refused_audit_search_is_not_run(client: TestClient, db: Session,
                                           cast: Cast) -> None:
    response = client.get("/api/v1/audit", headers=cast.supervisor.api)
    assert response.status_code == 403
    assert entries_of(db, response) == []


def test_the_chain_is_intact_after_all_this(client: TestClient, db: Session,
                                            cast: Cast) -> None:
    ref = new_case(db, cast.officer, "analysis")
    client.get(f"/api/v1/cases/{ref}", headers=cast.supervisor.api)
    client.get("/api/v1/audit.csv", headers=cast.admin.api)
    db.expire_all()
    report = verify_chain(db)
    assert report.intact, report.problem
    assert report.checked == db.scalar(select(func.count()).select_from(AuditEntry))


# --- append-only in the database ---------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET object_ref = 'XX-2026-0001' WHERE seq = (SELECT max(seq) FROM "
    "audit_log)",
    "UPDATE audit_log SET justification = 'changed'",
    "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)",
    "DELETE FROM audit_log",
])
def test_the_database_refuses_to_change_the_log(db: Session, cast: Cast,
                                                statement: str) -> None:
    before = db.scalar(select(func.count()).select_from(AuditEntry))
    assert before  # the cast's tokens were logged
    with pytest.raises(DBAPIError) as refused, db.begin_nested():
        db.execute(text(statement))
    assert "the access log is append-only" in str(refused.value)
    # The test transaction survives (the savepoint was rolled back), with the log unchanged.
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == before
    assert verify_chain(db).intact


def test_postgresql_refuses_truncate(db: Session, cast: Cast, db_url: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has no TRUNCATE (DELETE without WHERE is covered above)")
    with pytest.raises(DBAPIError) as refused, db.begin_nested():
        db.execute(text("TRUNCATE audit_log CASCADE"))
    assert "the access log is append-only" in str(refused.value)
    assert db.scalar(select(func.count()).select_from(AuditEntry))


# --- popcase audit verify ----------------------------------------------------------------------

@pytest.fixture
def log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A database file of its own, migrated, with a few entries written through the services,
    and the CLI pointed at it."""
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with make_session_factory(engine)() as db:
        officer = create_user(db, Actor.cli(), NewUser("pc.one", Role.OFFICER, "PC One",
                                                       WESTMINSTER))
        create_token(db, Actor.cli(), officer, "scripts")
        actor = Actor(officer, Channel.API, "req-0001", "10.0.0.7")
        case = service.create_case(db, actor, CaseCreate.model_validate(new_case_body()))
        service.view_case(db, actor, case.ref)
        content.add_note(db, actor, case.ref, NoteCreate(body="First visit."))
        service.view_case(db, actor, case.ref)
    monkeypatch.setenv("POPCASE_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        yield engine
    finally:
        get_settings.cache_clear()
        engine.dispose()


def verify() -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", "verify"])
    return result.exit_code, result.output


def log_rows(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [(row.seq, row.object_ref) for row in
                conn.execute(text("SELECT seq, object_ref FROM audit_log ORDER BY seq"))]


def tamper(engine: Engine, *statements: str, **params: Any) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), params)


def test_verify_passes_an_intact_log(log_file: Engine) -> None:
    code, output = verify()
    assert code == 0, output
    assert f"intact: {len(log_rows(log_file))} entries checked" in output


def test_verify_finds_a_changed_entry(log_file: Engine) -> None:
    rows = log_rows(log_file)
    seq, original = next((s, ref) for s, ref in rows if ref.startswith("WM-"))
    assert seq < len(rows)  # not the last one: the entries after it still link to it
    with pytest.raises(DBAPIError):  # while the trigger is there, the change is refused
        tamper(log_file, "UPDATE audit_log SET object_ref = 'WM-2020-0999' WHERE seq = :seq",
               seq=seq)
    tamper(log_file, "DROP TRIGGER audit_log_no_update",
           "UPDATE audit_log SET object_ref = 'WM-2020-0999' WHERE seq = :seq", seq=seq)
    code, output = verify()
    assert code != 0
    assert f"BROKEN at entry {seq}:" in output
    assert "changed after it was written" in output
    assert f"({seq - 1} entries before it are intact)" in output

    # Putting the value back restores the chain: the check is exact, not approximate.
    tamper(log_file, "UPDATE audit_log SET object_ref = :ref WHERE seq = :seq",
           ref=original, seq=seq)
    assert verify()[0] == 0


def test_verify_finds_a_recomputed_entry(log_file: Engine) -> None:
    """Someone who changes an entry and recomputes its own hash still breaks the next link."""
    from app.audit.service import HASHED_FIELDS, entry_hash

    with make_session_factory(log_file)() as db:
        entry = db.scalar(select(AuditEntry).where(AuditEntry.seq == 2))
        assert entry is not None
        fields = {name: getattr(entry, name) for name in HASHED_FIELDS}
        fields["actor"] = "someone.else"
        forged = entry_hash(fields, entry.prev_hash)
    tamper(log_file, "DROP TRIGGER audit_log_no_update",
           "UPDATE audit_log SET actor = 'someone.else', hash = :hash WHERE seq = 2",
           hash=forged)
    code, output = verify()
    assert code != 0
    assert "BROKEN at entry 3:" in output and "does not link to entry 2" in output


def test_verify_finds_a_deleted_last_entry(log_file: Engine) -> None:
    last = len(log_rows(log_file))
    with pytest.raises(DBAPIError):
        tamper(log_file, "DELETE FROM audit_log WHERE seq = :seq", seq=last)
    tamper(log_file, "DROP TRIGGER audit_log_no_delete",
           "DELETE FROM audit_log WHERE seq = :seq", seq=last)
    code, output = verify()
    assert code != 0
    assert f"BROKEN at entry {last}:" in output
    assert "entries were removed" in output


def test_verify_finds_a_deleted_middle_entry(log_file: Engine) -> None:
    tamper(log_file, "DROP TRIGGER audit_log_no_delete", "DELETE FROM audit_log WHERE seq = 3")
    code, output = verify()
    assert code != 0
    assert "BROKEN at entry 3: entry 3 is missing (next found: 4)" in output


def test_verify_finds_a_rewound_head(log_file: Engine) -> None:
    """Deleting the last entry and rewinding the head's position to match (without forging
    the head's hash) is caught too."""
    with log_file.connect() as conn:
        seq = conn.scalar(select(AuditHead.seq))
    tamper(log_file, "DROP TRIGGER audit_log_no_delete",
           "DELETE FROM audit_log WHERE seq = :seq",
           "UPDATE audit_head SET seq = seq - 1", seq=seq)
    code, output = verify()
    assert code != 0
    assert f"BROKEN at entry {seq}:" in output


# --- CSV export --------------------------------------------------------------------------------

@pytest.mark.parametrize("dangerous", ["=HYPERLINK(\"https://evil.example\",\"x\")",
                                       "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)"])
def test_the_csv_export_neutralises_formulas(client: TestClient, db: Session, cast: Cast,
                                              pages: Any, dangerous: str) -> None:
    ref = new_case(db, cast.officer)
    moved = client.post(f"/api/v1/cases/{ref}/transitions", headers=cast.supervisor.api,
                        json={"to": "analysis", "override": True, "reason": dangerous})
    assert moved.status_code == 200, moved.text
    for export in (client.get(f"/api/v1/audit.csv?action=case.move&object_ref={quote(ref)}",
                              headers=cast.admin.api),
                   pages(cast.admin).get(f"/admin/audit.csv?action=case.move&object_ref={ref}")):
        assert export.status_code == 200
        assert export.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in export.headers["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(export.text)))
        assert len(rows) == 1
        assert rows[0]["justification"] == "'" + dangerous
        assert rows[0]["object_ref"] == ref
        assert rows[0]["actor"] == "sgt.okafor"
