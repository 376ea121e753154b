"""The database going away, and coming back.

The app here runs on an engine of its own (as in production), on a fresh migrated database, not
on the suite's rolled-back test connection: what is tested is what the pool does with dead
connections.

* While the database cannot be reached, the API answers 503 ``database_unavailable`` with a
  ``Retry-After`` header, and pages answer a 503 error page (for htmx, a message and no swap).
* A connection killed in the middle of a request (PostgreSQL: ``pg_terminate_backend``) gives
  the same answers, and nothing the request meant to write is written.
* When the database returns, the next request succeeds: no restart.

On PostgreSQL the outage is real: the database stops accepting connections and every backend
on it is terminated. An embedded SQLite file cannot go away under an open connection (the
connection keeps the file open), so there the outage is a file that cannot be opened: its
folder is moved away and the app's pool is emptied, as after a restart on a missing disk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.auth.roles import Role
from app.db import is_busy, is_conflict, is_sqlite, make_engine
from app.main import create_app
from app.settings import Settings
from app.web.deps import SESSION_COOKIE
from tests.conftest import WESTMINSTER, Person, create_person, new_case_body


class Outage:
    """Cuts the app off its database, and lets it back."""

    def __init__(self, url: str, app_engine: Engine) -> None:
        self.url, self.app_engine = url, app_engine
        self.name = make_url(url).database or ""

    def begin(self) -> None:
        if is_sqlite(self.url):
            folder = Path(self.name).parent
            folder.rename(folder.with_name(folder.name + "-away"))
            self.app_engine.pool.dispose()
            return
        with self._server() as conn:
            conn.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"),
                         {"name": self.name})

    def end(self) -> None:
        if is_sqlite(self.url):
            folder = Path(self.name).parent
            folder.with_name(folder.name + "-away").rename(folder)
            return
        with self._server() as conn:
            conn.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true'))

    @contextmanager
    def _server(self) -> Iterator[Connection]:
        admin = make_engine(make_url(self.url).set(database="postgres").render_as_string(
            hide_password=False)).execution_options(isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                yield conn
        finally:
            admin.dispose()


@pytest.fixture
def officer(fresh_factory: sessionmaker[Session]) -> Person:
    with fresh_factory() as db:
        return create_person(db, "pc.shah", Role.OFFICER, WESTMINSTER, "PC Amira Shah")


@pytest.fixture
def app(empty_database: str, fresh_factory: sessionmaker[Session]) -> FastAPI:
    return create_app(Settings(database_url=empty_database, environment="test"))


def app_engine(app: FastAPI) -> Engine:
    return app.state.session_factory.kw["bind"]


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client
    app_engine(app).dispose()


@pytest.fixture
def outage(empty_database: str, app: FastAPI) -> Iterator[Outage]:
    cut = Outage(empty_database, app_engine(app))
    yield cut
    if not _reachable(empty_database):  # a test failed during the outage
        cut.end()


def _reachable(url: str) -> bool:
    if is_sqlite(url):
        return Path(make_url(url).database or "").exists()
    engine = make_engine(url)
    try:
        with engine.connect():
            return True
    except Exception:
        return False
    finally:
        engine.dispose()


def signed_in(client: TestClient, person: Person) -> TestClient:
    client.cookies.set(SESSION_COOKIE, person.session_secret)
    return client


def assert_api_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "database_unavailable"
    assert "nothing was changed" in response.json()["message"]
    assert int(response.headers["Retry-After"]) > 0


def assert_page_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "popcase cannot reach its database" in response.text
    assert "Nothing was saved" in response.text
    assert "Traceback" not in response.text


def test_an_outage_answers_503_and_the_app_recovers_when_the_database_returns(
        client: TestClient, officer: Person, outage: Outage) -> None:
    assert client.get("/api/v1/cases", headers=officer.api).status_code == 200
    signed_in(client, officer)
    assert client.get("/cases").status_code == 200

    outage.begin()
    assert_api_unavailable(client.get("/api/v1/cases", headers=officer.api))
    assert_api_unavailable(client.post("/api/v1/cases", headers=officer.api,
                                       json=new_case_body()))
    assert_page_unavailable(client.get("/cases"))
    htmx = client.get("/cases", headers={"HX-Request": "true"})
    assert htmx.status_code == 503 and htmx.headers["HX-Reswap"] == "none"
    assert "Nothing was saved" in htmx.headers["HX-Trigger"]
    assert_page_unavailable(client.post("/cases", data={"csrf_token": officer.csrf,
                                                        "title": "Street violence"}))
    assert client.get("/health").status_code == 200  # the process itself is alive

    outage.end()
    listed = client.get("/api/v1/cases", headers=officer.api)
    assert listed.status_code == 200, listed.text
    assert listed.json()["total"] == 0  # the refused POST wrote nothing
    assert client.get("/cases").status_code == 200


@pytest.fixture
def kill_mid_request(empty_database: str, app: FastAPI) -> Iterator[Callable[[str], None]]:
    """Arms a kill: the next statement starting with ``prefix`` finds its connection's
    backend terminated by the server, as in a failover or an administrator's restart."""
    if is_sqlite(empty_database):
        pytest.skip("an open SQLite connection cannot lose its database")
    armed: list[str] = []
    outage = Outage(empty_database, app_engine(app))

    def before(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        if armed and statement.lstrip().upper().startswith(armed[0]):
            armed.clear()
            pid = conn.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
            with outage._server() as server:
                server.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    event.listen(app_engine(app), "before_cursor_execute", before)
    yield armed.append
    event.remove(app_engine(app), "before_cursor_execute", before)


def test_a_connection_killed_mid_request_answers_503_writes_nothing_and_recovers(
        client: TestClient, officer: Person, kill_mid_request: Callable[[str], None]) -> None:
    case = client.post("/api/v1/cases", headers=officer.api, json=new_case_body())
    assert case.status_code == 201, case.text
    ref = case.json()["ref"]

    kill_mid_request("INSERT INTO CASE_EVENTS")
    assert_api_unavailable(client.post(f"/api/v1/cases/{ref}/notes", headers=officer.api,
                                       json={"body": "Lost to the failover"}))
    timeline = client.get(f"/api/v1/cases/{ref}/timeline", headers=officer.api)
    assert timeline.status_code == 200, timeline.text
    assert "Lost to the failover" not in timeline.text

    signed_in(client, officer)
    kill_mid_request("SELECT")
    assert_page_unavailable(client.get(f"/cases/{ref}"))
    page = client.get(f"/cases/{ref}")
    assert page.status_code == 200 and case.json()["title"] in page.text


def test_the_503_is_documented_on_every_api_operation(client: TestClient,
                                                       officer: Person) -> None:
    document = client.get("/openapi.json", headers=officer.api).json()
    undocumented = [f"{method.upper()} {path}"
                    for path, operations in document["paths"].items()
                    for method, operation in operations.items()
                    if "503" not in operation["responses"]]
    assert not undocumented


@pytest.mark.parametrize(("orig", "conflict", "busy"), [
    (sqlite3.OperationalError("database is locked"), False, True),
    (sqlite3.OperationalError("unable to open database file"), False, False),
    (psycopg.errors.SerializationFailure("could not serialize access"), True, False),
    (psycopg.errors.DeadlockDetected("deadlock detected"), True, False),
    (psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"), False, True),
    (psycopg.errors.AdminShutdown("terminating connection"), False, False),
    (psycopg.OperationalError("connection refused"), False, False),
], ids=["sqlite locked", "sqlite cannot open", "pg serialisation", "pg deadlock",
        "pg lock timeout", "pg shutdown", "pg refused"])
def test_database_errors_are_told_apart(orig: Exception, conflict: bool, busy: bool) -> None:
    """A conflict is a 409 (try again); busy and unreachable are a 503 (wait, then retry)."""
    exc = OperationalError("SELECT 1", {}, orig)
    assert (is_conflict(exc), is_busy(exc)) == (conflict, busy)
