"""A database of its own with an access log signed by checkpoints, for the tests that attack
the log the way someone with write access to the database would, and the ``popcase`` commands
pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.audit.autocheckpoint import install
from app.auth.context import Actor, Channel
from app.auth.roles import Role
from app.auth.service import NewUser, create_token, create_user
from app.cases import service
from app.cases.schemas import CaseCreate
from app.cli import cli
from app.db import make_engine, make_session_factory
from app.main import create_app
from app.settings import Settings, get_settings
from tests.conftest import WESTMINSTER, new_case_body


def run(*args: str) -> tuple[int, str, str]:
    """A ``popcase`` command: exit code, standard output, standard error."""
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@dataclass
class SignedLog:
    """The database, its engine, the key pair and the checkpoint file, with the environment
    set as an operator would set it (checkpoints every ``every`` entries)."""

    url: str
    engine: Engine
    private_key: Path
    public_key: Path
    checkpoints: Path
    every: int

    def factory(self) -> sessionmaker[Session]:
        factory = make_session_factory(self.engine)
        install(factory, get_settings())
        return factory

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.scalar(text("SELECT count(*) FROM audit_log")) or 0

    def lines(self) -> list[str]:
        return self.checkpoints.read_text().splitlines() if self.checkpoints.exists() else []

    def verify(self, *extra: str) -> tuple[int, str]:
        code, out, err = run("audit", "verify", *extra)
        return code, " ".join((out + err).split())  # rich wraps long lines on stderr

    def verify_with_checkpoints(self, file: Path | None = None) -> tuple[int, str]:
        return self.verify("--checkpoints", str(file or self.checkpoints),
                           "--public-key", str(self.public_key))


@contextmanager
def signed_log(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
               every: int = 5) -> Iterator[SignedLog]:
    """``url``: a migrated database of the test's own (``empty_database`` after
    ``copy_database`` from ``migrated_template``): the attacks below commit, and drop
    triggers."""
    private_key = tmp_path / "audit-key.pem"
    monkeypatch.setenv("POPCASE_DATABASE_URL", url)
    get_settings.cache_clear()
    code, _out, err = run("audit", "keygen", "--out", str(private_key))
    assert code == 0, err
    monkeypatch.setenv("POPCASE_AUDIT_KEY_FILE", str(private_key))
    monkeypatch.setenv("POPCASE_AUDIT_CHECKPOINT_FILE", str(tmp_path / "checkpoints.jsonl"))
    monkeypatch.setenv("POPCASE_AUDIT_CHECKPOINT_EVERY_ENTRIES", str(every))
    monkeypatch.setenv("POPCASE_AUDIT_CHECKPOINT_EVERY_MINUTES", "0")
    get_settings.cache_clear()
    engine = make_engine(url)
    try:
        yield SignedLog(url, engine, private_key, Path(f"{private_key}.pub"),
                        tmp_path / "checkpoints.jsonl", every)
    finally:
        engine.dispose()
        get_settings.cache_clear()


def officer_token(log: SignedLog) -> tuple[str, str]:
    """An officer with an API token and a case of theirs: (token, case ref)."""
    with log.factory()() as db:
        officer = create_user(db, Actor.cli(), NewUser("pc.one", Role.OFFICER, "PC One",
                                                       WESTMINSTER))
        _token, secret = create_token(db, Actor.cli(), officer, "scripts")
        case = service.create_case(db, Actor(officer, Channel.API, "req-setup", "10.0.0.7"),
                                   CaseCreate.model_validate(new_case_body()))
    return secret, case.ref


def read_case(settings: Settings, token: str, ref: str, times: int) -> None:
    """An officer's script reading the case through the API: one entry per request."""
    with TestClient(create_app(settings)) as client:
        for _ in range(times):
            response = client.get(f"/api/v1/cases/{ref}",
                                  headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.text
