"""/ready: 200 when the database answers at the code's migration level; 503 with a reason
while it is unreachable (a real PostgreSQL server stopped and started again) or behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.cli import alembic_config
from app.db import make_engine, make_session_factory
from app.main import create_app
from app.observability.readiness import code_head
from app.settings import Settings
from tests.conftest import fresh_database
from tests.observability.private_postgres import private_postgres
from tests.observability.scrape import value
from tests.observability.server import serving, wait_until

DEADLINE_S = 30
TOKEN = "scraper-secret-ready"


def test_ready_when_the_database_is_at_the_codes_migration_level(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database_revision": code_head(),
                               "code_revision": code_head()}
    assert client.get("/health").json() == {"status": "ok"}  # the contract, unchanged


@pytest.fixture
def empty_url(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(db_url, tmp_path_factory, "ready") as url:
        yield url


@pytest.fixture
def factory_on(empty_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(empty_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def test_not_ready_while_migrations_are_behind(empty_url: str, settings: Settings,
                                               factory_on: sessionmaker[Session]) -> None:
    client = TestClient(create_app(settings.model_copy(update={"database_url": empty_url}),
                                   factory_on))
    unmigrated = client.get("/ready")
    assert unmigrated.status_code == 503
    assert "popcase db upgrade" in unmigrated.json()["reason"]
    previous = ScriptDirectory.from_config(alembic_config(empty_url)).get_revision(
        code_head()).down_revision
    assert isinstance(previous, str)
    command.upgrade(alembic_config(empty_url), previous)
    behind = client.get("/ready")
    assert behind.status_code == 503 and behind.headers["Retry-After"]
    assert behind.json()["database_revision"] == previous
    assert f"the code needs {code_head()}" in behind.json()["reason"]
    command.upgrade(alembic_config(empty_url), "head")
    assert client.get("/ready").status_code == 200


def database_up(base: str) -> float:
    scraped = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"},
                        timeout=15)
    assert scraped.status_code == 200
    return value(scraped.text, "popcase_database_up")


def ready_status(base: str) -> int:
    try:
        return httpx.get(f"{base}/ready", timeout=15).status_code
    except httpx.TransportError:
        return 0


def test_ready_follows_a_real_postgresql_server_stopping_and_starting(tmp_path: Path) -> None:
    with private_postgres() as postgres:
        command.upgrade(alembic_config(postgres.url), "head")
        with serving(postgres.url, tmp_path / "server.log",
                     env={"POPCASE_METRICS_TOKEN": TOKEN}) as base:
            assert ready_status(base) == 200
            assert database_up(base) == 1
            postgres.stop()
            wait_until(lambda: ready_status(base) == 503, DEADLINE_S, "/ready answering 503")
            down = httpx.get(f"{base}/ready", timeout=15)
            assert down.json()["reason"] == "the database cannot be reached"
            assert httpx.get(f"{base}/health", timeout=15).status_code == 200  # alive
            assert database_up(base) == 0  # the metrics still answer, saying so
            postgres.start()
            wait_until(lambda: ready_status(base) == 200, DEADLINE_S, "/ready answering 200")
