"""`popcase notify`: produce and send, as cron runs it; twice, and in two processes at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.auth.context import Actor, Channel
from app.auth.models import User
from app.cases import content, service
from app.cases.schemas import ActionCreate, CaseCreate
from app.cli import cli
from app.clock import today
from app.db import make_engine, make_session_factory
from app.notifications import service as notifications
from app.notifications.models import Notification
from app.notifications.schemas import PreferencesUpdate
from app.settings import get_settings
from tests.conftest import new_case_body
from tests.mailbox import Mailbox, free_port, smtp_server

ROOT = Path(__file__).resolve().parent.parent
TITLE = "Knife carrying outside the academy gates"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


@pytest.fixture
def notify_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated database file with an officer who has an overdue action and wants overdue
    actions by e-mail at once."""
    url = f"sqlite:///{tmp_path}/notify.db"
    monkeypatch.setenv("POPCASE_DATABASE_URL", url)
    for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_STARTTLS", "BASE_URL"):
        monkeypatch.delenv(f"POPCASE_{name}", raising=False)
    get_settings.cache_clear()
    assert run("db", "upgrade")[0] == 0
    assert run("user", "create", "pc.shah", "--role", "officer", "--borough", "E09000033")[0] == 0
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            user = db.scalar(select(User).where(User.username == "pc.shah"))
            assert user is not None
            user.email = "amira.shah@met.police.uk"
            db.commit()
            officer = Actor(user, Channel.API)
            case = service.create_case(db, officer, CaseCreate.model_validate(
                new_case_body(title=TITLE)))
            content.add_action(db, officer, case.ref, ActionCreate.model_validate(
                {"title": "Weapon sweep of the park", "due_date": today() - timedelta(days=1)}))
            notifications.set_preferences(db, officer, PreferencesUpdate(
                version=user.version, email=user.email,
                delivery={"action_overdue": "immediate"}))  # type: ignore[dict-item]
    finally:
        engine.dispose()
    yield url
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def use_smtp(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    monkeypatch.setenv("POPCASE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("POPCASE_SMTP_PORT", str(port))
    monkeypatch.setenv("POPCASE_SMTP_STARTTLS", "false")
    monkeypatch.setenv("POPCASE_SMTP_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("POPCASE_BASE_URL", "https://popcase.example.police.uk")
    get_settings.cache_clear()


def notifications_in(url: str) -> int:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            return db.scalar(select(func.count(Notification.id))) or 0
    finally:
        engine.dispose()


def test_notify_produces_and_sends_once(notify_db: str, mailbox: Mailbox,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    use_smtp(monkeypatch, mailbox.port)
    code, out, _err = run("notify", "--json")
    assert code == 0
    first = json.loads(out)
    # The case owner's overdue action (no assignee: the owner carries it).
    assert first["produced"] == 1 and first["produced_by_kind"] == {"action_overdue": 1}
    assert (first["emails_sent"], first["digests_sent"], first["failures"]) == (1, 0, 0)
    [mail] = mailbox.received
    assert mail.rcpt_tos == ["amira.shah@met.police.uk"]
    assert "https://popcase.example.police.uk/cases/" in mail.body and TITLE not in mail.body
    code, out, _err = run("notify")
    assert code == 0
    assert "0 notifications produced" in out
    assert "0 e-mails sent, 0 daily digests sent, 0 failed" in out
    assert len(mailbox.received) == 1 and notifications_in(notify_db) == 1


def test_notify_fails_when_the_server_cannot_be_reached(notify_db: str, mailbox: Mailbox,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    use_smtp(monkeypatch, free_port())
    code, out, err = run("notify", "--json")
    assert code == 1
    assert json.loads(out)["smtp_unreachable"] is True
    assert "could not be reached" in " ".join(err.split())
    use_smtp(monkeypatch, mailbox.port)
    code, out, _err = run("notify", "--json")
    assert code == 0 and json.loads(out)["emails_sent"] == 1


def test_notify_without_a_mail_server_only_produces(notify_db: str) -> None:
    code, out, _err = run("notify")
    assert code == 0
    assert "1 notifications produced" in out and "E-mail is off" in out


def test_two_notify_processes_at_once_produce_and_send_once(
        notify_db: str, mailbox: Mailbox) -> None:
    env = {**os.environ, "POPCASE_DATABASE_URL": notify_db, "POPCASE_SMTP_HOST": "127.0.0.1",
           "POPCASE_SMTP_PORT": str(mailbox.port), "POPCASE_SMTP_STARTTLS": "false"}
    command = [sys.executable, "-c", "from app.cli import main; main()", "notify", "--json"]
    processes = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        reports.append(json.loads(out))
    assert sum(r["produced"] for r in reports) == 1
    assert sum(r["emails_sent"] for r in reports) == 1
    assert len(mailbox.received) == 1 and notifications_in(notify_db) == 1
