"""Test set-up shared by the whole suite.

The database is SQLite by default (a temporary file) or the one named by
``POPCASE_TEST_DATABASE_URL`` (CI points it at a freshly created PostgreSQL database). The schema
is built by running the Alembic migrations, never ``create_all``, so every test also exercises
them. Each test runs inside one connection's outer transaction that is rolled back afterwards;
the application may commit freely (its commits release savepoints).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.auth.context import Actor, Channel
from app.auth.models import User, UserSession
from app.auth.roles import Role
from app.auth.service import create_token, digest
from app.cli import alembic_config
from app.db import is_sqlite, make_engine, make_session_factory, utcnow
from app.main import create_app
from app.reference.models import Borough
from app.settings import Settings
from app.web.deps import SESSION_COOKIE

WESTMINSTER, CAMDEN, CITY = "E09000033", "E09000007", "E09000001"


def _police_uk_data() -> Path:
    """The real data.police.uk files: shared/ lies beside the checkout, on developers' machines
    and in CI alike (an older layout had it at /work/shared only)."""
    beside = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "policeuk"
    for candidate in (beside, Path("/work/shared/data/policeuk")):
        if candidate.is_dir():
            return candidate
    return beside


POLICE_UK_DATA = _police_uk_data()
# Tests on the real files skip where they are missing, except in CI (POPCASE_REQUIRE_DATA=1),
# where they run and fail: CI never passes without them.
needs_data = pytest.mark.skipif(
    not POLICE_UK_DATA.is_dir() and os.environ.get("POPCASE_REQUIRE_DATA") != "1",
    reason=f"the real police.uk files ({POLICE_UK_DATA}) are not on this machine")
CHURCH_STREET = "E05013794"


def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("POPCASE_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The suite's database. Run in parallel (pytest-xdist), each worker on PostgreSQL gets a
    database of its own beside the one named (SQLite workers each have their own file)."""
    url = database_url(tmp_path_factory)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if is_sqlite(url) or not worker:
        yield url
        return
    with server_database(url, f"{make_url(url).database}_{worker}") as worker_url:
        yield worker_url


@contextmanager
def server_database(url: str, name: str) -> Iterator[str]:
    """A new, empty database ``name`` on the PostgreSQL server of ``url``, dropped after."""
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    # As `popcase db upgrade` does it: on SQLite, migrations that rebuild a table others refer
    # to run with foreign keys off (migrations/env.py), which the app's own connections never do.
    command.upgrade(alembic_config(db_url), "head")
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(bind=connection, expire_on_commit=False,
                        join_transaction_mode="create_savepoint")


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    session = session_factory()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture(scope="session", autouse=True)
def import_jobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Queued import files go to a temporary folder; no test app starts a worker loop of its
    own (a thread on the test's connection): tests run the jobs, or start a worker, by hand."""
    folder = tmp_path_factory.mktemp("import-jobs")
    saved = {name: os.environ.get(name) for name in
             ("POPCASE_IMPORT_JOBS_DIR", "POPCASE_IMPORT_WORKER_IN_SERVER")}
    os.environ["POPCASE_IMPORT_JOBS_DIR"] = str(folder)
    os.environ["POPCASE_IMPORT_WORKER_IN_SERVER"] = "off"
    yield folder
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session", autouse=True)
def attachments_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test app keeps attachment files in one temporary folder, never beside the checkout
    or the test database (files are kept by content hash, so sharing it is harmless). A test
    that counts files gives its app a folder of its own."""
    folder = tmp_path_factory.mktemp("attachments")
    previous = os.environ.get("POPCASE_ATTACHMENTS_DIR")
    os.environ["POPCASE_ATTACHMENTS_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("POPCASE_ATTACHMENTS_DIR", None)
    else:
        os.environ["POPCASE_ATTACHMENTS_DIR"] = previous


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, environment="test")


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session]) -> FastAPI:
    return create_app(settings, session_factory)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as test_client:
        yield test_client


@contextmanager
def fresh_database(db_url: str, tmp_path_factory: pytest.TempPathFactory,
                   label: str = "fresh") -> Iterator[str]:
    """A brand-new empty database of the same kind as the suite's: a SQLite file, or a new
    database on the suite's PostgreSQL server, dropped afterwards."""
    if is_sqlite(db_url):
        yield f"sqlite:///{tmp_path_factory.mktemp(label) / f'{label}.db'}"
        return
    with server_database(db_url, f"popcase_{label}_{secrets.token_hex(4)}") as url:
        yield url


@contextmanager
def migrated(url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on ``url`` after running every migration; for tests whose code commits on
    sessions of its own (imports, concurrency), so the rolled-back test connection won't do."""
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def empty_database(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(db_url, tmp_path_factory, "empty") as url:
        yield url


@pytest.fixture(scope="session")
def migrated_template(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head once per test session (per worker), for ``fresh_factory``
    to copy: running every migration for each test that needs its own database took seconds."""
    with fresh_database(db_url, tmp_path_factory, "template") as url:
        command.upgrade(alembic_config(url), "head")
        yield url


def copy_database(template: str, url: str) -> None:
    """Make ``url`` (a database nobody has connected to yet) a copy of ``template``."""
    if is_sqlite(url):
        with closing(sqlite3.connect(make_url(template).database)) as source, \
                closing(sqlite3.connect(make_url(url).database)) as target:
            source.backup(target)
        return
    # Connected to neither: a database being copied or dropped must have no one in it.
    maintenance = make_url(url).set(database="postgres")
    admin = make_engine(maintenance.render_as_string(hide_password=False)).execution_options(
        isolation_level="AUTOCOMMIT")
    name, source_name = make_url(url).database, make_url(template).database
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source_name}"'))
    finally:
        admin.dispose()


@pytest.fixture
def fresh_factory(empty_database: str, migrated_template: str
                  ) -> Iterator[sessionmaker[Session]]:
    """Sessions on ``empty_database``, now a copy of the migrated template."""
    copy_database(migrated_template, empty_database)
    engine = make_engine(empty_database)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


# --- people ------------------------------------------------------------------------------------

@dataclass
class Person:
    """A user with an API token and a signed-in page session, ready for requests."""

    user: User
    token: str
    session_secret: str
    csrf: str

    @property
    def api(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def actor(self) -> Actor:
        return Actor(self.user, Channel.API, "test", "127.0.0.1")


def create_person(db: Session, username: str, role: Role, borough: str | None = WESTMINSTER,
                  display_name: str | None = None, force: str | None = None) -> Person:
    """A user with an API token and a live page session, committed. Their force is their home
    area's, else ``force`` (None: every force)."""
    home = db.get(Borough, borough) if borough else None
    user = User(username=username, display_name=display_name or username.title(),
                role=role, borough_code=borough, force_id=home.force_id if home else force)
    db.add(user)
    db.flush()
    _token, secret = create_token(db, Actor.cli(), user, "tests")
    session_secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    db.add(UserSession(token_hash=digest(session_secret), user_id=user.id, csrf_token=csrf,
                       created_at=now, last_seen_at=now,
                       expires_at=now.replace(year=now.year + 1)))
    db.commit()
    return Person(user, secret, session_secret, csrf)


@pytest.fixture
def make_person(db: Session) -> Callable[..., Person]:
    def make(username: str, role: Role, borough: str | None = WESTMINSTER,
             display_name: str | None = None, force: str | None = None) -> Person:
        return create_person(db, username, role, borough, display_name, force)

    return make


@dataclass
class Cast:
    officer: Person  # Westminster
    supervisor: Person  # Westminster
    camden_officer: Person
    analyst: Person
    evaluator: Person
    admin: Person

    def all(self) -> list[Person]:
        return [self.officer, self.supervisor, self.camden_officer, self.analyst,
                self.evaluator, self.admin]


@pytest.fixture
def cast(make_person: Callable[..., Person]) -> Cast:
    return Cast(
        officer=make_person("pc.shah", Role.OFFICER, WESTMINSTER, "PC Amira Shah"),
        supervisor=make_person("sgt.okafor", Role.SUPERVISOR, WESTMINSTER, "Sgt Daniel Okafor"),
        camden_officer=make_person("pc.clarke", Role.OFFICER, CAMDEN, "PC Tom Clarke"),
        analyst=make_person("analyst.lee", Role.ANALYST, None, "Grace Lee"),
        evaluator=make_person("eval.morgan", Role.EVALUATOR, None, "Rhys Morgan"),
        admin=make_person("admin", Role.ADMIN, None, "Administrator"),
    )


def page_client(app: FastAPI, person: Person) -> TestClient:
    """A client signed in to the pages as ``person`` (session cookie, CSRF token known)."""
    test_client = TestClient(app, base_url="http://testserver", follow_redirects=False)
    test_client.cookies.set(SESSION_COOKIE, person.session_secret)
    return test_client


@pytest.fixture
def pages(app: FastAPI) -> Iterator[Callable[[Person], TestClient]]:
    opened: list[TestClient] = []

    def open_as(person: Person) -> TestClient:
        test_client = page_client(app, person)
        test_client.__enter__()
        opened.append(test_client)
        return test_client

    yield open_as
    for test_client in opened:
        test_client.__exit__(None, None, None)


# --- cases -------------------------------------------------------------------------------------

READY_CHEERS = {
    element: {"met": True, "evidence": f"Evidence for {element}"}
    for element in ("community", "harm", "expectation", "events", "recurring", "similarity")
}
POINT_AREA = {"name": "Church Street market",
              "geometry": {"type": "Point", "coordinates": [-0.1707, 51.5227]}, "radius_m": 250}


def new_case_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "title": "Street violence around Church Street market",
        "problem_statement": "Assaults and robberies on market days.",
        "category": "violent-crime", "borough": WESTMINSTER, "ward": CHURCH_STREET,
        "priority": "high",
    }
    body.update(overrides)
    return body


def tests_dir() -> Path:
    return Path(__file__).parent


def sqlite_only(url: str) -> bool:
    return is_sqlite(url)


# --- the browser -------------------------------------------------------------------------------
# One Chromium for the whole test process, whichever folder its tests are in: Playwright's sync
# API runs one instance per thread, and a second one finds the first's event loop and fails.

CHROMIUM = os.environ.get("POPCASE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


def browser_unavailable(reason: str) -> None:
    """Skip, or (``POPCASE_REQUIRE_BROWSER=1``, as CI sets) fail."""
    if os.environ.get("POPCASE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"POPCASE_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        browser_unavailable(f"Chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable("the playwright package is not installed")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
