"""/metrics: Prometheus text for the configured scraper only, with counters that match what
was done: requests by route template, access-log entries, imports, checkpoint age."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.checkpoints import Witness, sign
from app.audit.keys import generate
from app.audit.models import AuditEntry
from app.auth.context import Actor
from app.crime.importer import from_bytes, import_sources
from app.crime.models import ImportBatch, ImportStatus
from app.crime.police_uk import STREET_COLUMNS
from app.db import utcnow
from app.main import create_app
from app.notifications.runner import run_once
from app.settings import Settings
from tests.conftest import Cast, new_case_body
from tests.mailbox import Mailbox
from tests.observability.conftest import LogLines
from tests.observability.scrape import sample, value
from tests.test_notification_mail import World, mailbox, opt_in, settings_for, world

__all__ = ["mailbox", "world"]  # fixtures shared with the e-mail tests

TOKEN = "scraper-secret-0123456789"
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}
REQUESTS = "popcase_http_request_duration_seconds_count"
STREET_ROWS = [
    ",".join(STREET_COLUMNS),
    "aa11,2024-01,City of London Police,City of London Police,-0.112422,51.515381,"
    "On or near Star Yard,E01000914,Camden 028B,Bicycle theft,Under investigation,",
    "bb22,2024-01,City of London Police,City of London Police,-0.0901,51.5155,"
    "On or near Moorgate,E01032739,City of London 001F,Shoplifting,Under investigation,",
    ",2024-01,City of London Police,City of London Police,,,No Location,,,"
    "Anti-social behaviour,,",
]


@pytest.fixture
def metrics_app(settings: Settings, session_factory: sessionmaker[Session]
                ) -> Callable[..., FastAPI]:
    def make(**changes: object) -> FastAPI:
        return create_app(settings.model_copy(update=changes), session_factory)
    return make


@pytest.fixture
def scraped(metrics_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(metrics_app(metrics_token=TOKEN)) as client:
        yield client


def scrape(client: TestClient) -> str:
    response = client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_metrics_do_not_exist_until_a_scraper_is_configured(
        metrics_app: Callable[..., FastAPI]) -> None:
    assert TestClient(metrics_app()).get("/metrics", headers=SCRAPER).status_code == 404


def test_a_scraper_needs_the_token(scraped: TestClient) -> None:
    missing = scraped.get("/metrics")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert scraped.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert "popcase_" not in missing.text


def test_a_scraper_needs_an_allowed_address(metrics_app: Callable[..., FastAPI]) -> None:
    app = metrics_app(metrics_allow="10.20.0.0/16, 192.0.2.7")
    inside = TestClient(app, client=("10.20.3.4", 40000))
    outside = TestClient(app, client=("10.21.3.4", 40000))
    assert inside.get("/metrics").status_code == 200
    assert outside.get("/metrics").status_code == 403
    both = metrics_app(metrics_allow="192.0.2.7", metrics_token=TOKEN)
    assert TestClient(both, client=("192.0.2.7", 1)).get("/metrics").status_code == 401
    assert TestClient(both, client=("192.0.2.8", 1)).get(
        "/metrics", headers=SCRAPER).status_code == 403
    assert TestClient(both, client=("192.0.2.7", 1)).get(
        "/metrics", headers=SCRAPER).status_code == 200


def test_counters_match_the_requests_and_access_log_entries_of_a_journey(
        scraped: TestClient, cast: Cast, db: Session) -> None:
    before = scrape(scraped)
    entries_before = db.scalar(select(func.count()).select_from(AuditEntry)) or 0
    for _ in range(7):
        assert scraped.get("/health").status_code == 200
    created = scraped.post("/api/v1/cases", headers=cast.officer.api, json=new_case_body())
    ref = created.json()["ref"]
    for _ in range(3):
        assert scraped.get(f"/api/v1/cases/{ref}", headers=cast.officer.api).status_code == 200
    assert scraped.get("/api/v1/cases/WM-2026-9999", headers=cast.officer.api
                       ).status_code == 404
    after = scrape(scraped)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew(REQUESTS, route="/health", method="GET", status="200") == 7
    assert grew(REQUESTS, route="/api/v1/cases", method="POST", status="201") == 1
    assert grew(REQUESTS, route="/api/v1/cases/{ref}", method="GET", status="200") == 3
    assert grew(REQUESTS, route="/api/v1/cases/{ref}", method="GET", status="404") == 1
    assert grew(REQUESTS, route="/metrics", method="GET", status="200") == 1  # the first
    entries = (db.scalar(select(func.count()).select_from(AuditEntry)) or 0) - entries_before
    assert entries >= 4 and grew("popcase_access_log_entries_total") == entries
    assert ref not in after


def test_imports_rows_and_failures_are_counted_and_running_ones_read_from_the_database(
        fresh_factory: sessionmaker[Session], settings: Settings, log_lines: LogLines) -> None:
    app = create_app(settings.model_copy(update={"metrics_token": TOKEN}), fresh_factory)
    client = TestClient(app)
    before = scrape(client)
    assert sample(before, "popcase_imports_running") == 0
    content = ("\r\n".join(STREET_ROWS) + "\r\n").encode()
    reports = import_sources(fresh_factory, Actor.cli(), [
        *from_bytes("2024-01-city-of-london-street.csv", content),
        *from_bytes("2024-02-city-of-london-street.csv", b"not,a,police.uk\nfile,at,all\n")])
    assert [r.added for r in reports] == [3, 0]
    with fresh_factory() as db:
        db.add(ImportBatch(source="running.csv", sha256="0" * 64, status=ImportStatus.RUNNING,
                           months=[]))
        db.commit()
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("popcase_import_rows_total", kind="street") == 3
    assert grew("popcase_imports_finished_total", status="done") == 1
    assert grew("popcase_import_failures_total") == 1
    assert sample(after, "popcase_imports_running") == 1
    jobs = [line for line in log_lines.parsed() if line.get("job") == "import"]
    assert [(j["status"], j["kind"], j["added"]) for j in jobs] == [
        ("done", "street", 3), ("failed", None, 0)]
    assert all(j["import_id"] and j["duration_ms"] is not None for j in jobs)
    assert "city-of-london-street.csv" not in log_lines.text()  # ids, not file names


def test_checkpoint_age_is_read_from_the_checkpoint_file(
        metrics_app: Callable[..., FastAPI], tmp_path: Path, cast: Cast,
        log_lines: LogLines) -> None:
    key, _public = generate(tmp_path / "audit-key.pem")
    checkpoints = tmp_path / "checkpoints.jsonl"
    app = metrics_app(metrics_token=TOKEN, audit_key_file=str(tmp_path / "audit-key.pem"),
                      audit_checkpoint_file=str(checkpoints),
                      audit_checkpoint_every_entries=1)
    client = TestClient(app)
    assert sample(scrape(client), "popcase_audit_checkpoint_age_seconds") is None  # none yet
    Witness(checkpoints).write(sign(key, 3, "a" * 64, at=utcnow() - timedelta(hours=2)))
    Witness(checkpoints).write(sign(key, 9, "b" * 64, at=utcnow() - timedelta(minutes=5)))
    age = sample(scrape(client), "popcase_audit_checkpoint_age_seconds")
    assert age is not None and 300 <= age < 7200  # the newest one's
    # A change writes access-log entries; with a checkpoint every entry, one follows the commit.
    assert client.post("/api/v1/cases", headers=cast.officer.api,
                       json=new_case_body()).status_code == 201
    age = sample(scrape(client), "popcase_audit_checkpoint_age_seconds")
    assert age is not None and age < 300
    written = [line for line in log_lines.parsed() if line.get("job") == "checkpoint"]
    assert written and written[-1]["trigger"] == "entries" and written[-1]["seq"] >= 1


def test_notification_emails_sent_are_counted_and_each_run_is_a_job_line(
        world: World, mailbox: Mailbox, settings: Settings, log_lines: LogLines) -> None:
    client = TestClient(create_app(settings.model_copy(update={"metrics_token": TOKEN}),
                                   world.factory))
    before = scrape(client)
    opt_in(world, world.officer, action_overdue="immediate", action_assigned="immediate")
    report = run_once(world.factory, settings_for(mailbox))
    assert report.mail.emails_sent >= 1 and len(mailbox.received) == report.mail.emails_sent
    after = scrape(client)
    assert (value(after, "popcase_notifications_sent_total", kind="email")
            - value(before, "popcase_notifications_sent_total", kind="email")
            ) == report.mail.emails_sent
    runs = [line for line in log_lines.parsed() if line.get("job") == "notify"]
    assert len(runs) == 1 and runs[0]["status"] == "done"
    assert runs[0]["emails_sent"] == report.mail.emails_sent
    ours = [line for line in log_lines.parsed() if line["logger"] != "mail.log"]  # not aiosmtpd's
    assert ours and "amira.shah@met.police.uk" not in str(ours)
