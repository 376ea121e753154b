"""The `popcase` command line, run through typer's runner against its own database file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.auth.models import User
from app.cases.models import Case
from app.cli import cli
from app.db import make_engine, make_session_factory
from app.main import create_app
from app.settings import Settings, get_settings


@pytest.fixture
def cli_db(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/cli.db"  # type: ignore[str-bytes-safe]
    monkeypatch.setenv("POPCASE_DATABASE_URL", url)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    yield url
    get_settings.cache_clear()


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def count(url: str, model: type) -> int:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            return db.scalar(select(func.count()).select_from(model)) or 0
    finally:
        engine.dispose()


def test_db_upgrade_is_idempotent(cli_db: str) -> None:
    code, _out, err = run("db", "upgrade")
    assert code == 0 and "Database at head" in err


def test_demo_loads_once_and_prints_sign_ins(cli_db: str) -> None:
    code, out, _err = run("demo")
    assert code == 0
    assert "11 users and 21 cases added" in out
    assert "34 data files imported (42,161 crimes)" in " ".join(out.split())
    assert "pc.shah" in out and "demo-password" in out
    users, cases = count(cli_db, User), count(cli_db, Case)
    code, out, _err = run("demo")
    assert code == 0 and "0 users and 0 cases added" in out
    assert "0 data files imported" in " ".join(out.split())
    assert (count(cli_db, User), count(cli_db, Case)) == (users, cases) == (11, 21)
    assert "0 operations added" in " ".join(out.split())
    code, _out, err = run("audit", "verify")
    assert code == 0 and "intact" in err


def test_user_create_reads_the_password_from_stdin(cli_db: str) -> None:
    code, _out, err = run("user", "create", "pc.jones", "--role", "officer", "--borough",
                          "e09000033", "--display-name", "PC Jones", "--password-stdin",
                          stdin="correct horse battery\n")
    assert code == 0, err
    assert "Created pc.jones (officer, Westminster)" in err
    client = TestClient(create_app(Settings(database_url=cli_db)), follow_redirects=False)
    with client:
        form = client.get("/sign-in")
        csrf = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        signed_in = client.post("/sign-in", data={"csrf_token": csrf, "username": "pc.jones",
                                                  "password": "correct horse battery",
                                                  "next": "/cases"})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/cases"


@pytest.mark.parametrize(("args", "message"), [
    (["--role", "chief"], "unknown role 'chief'"),
    (["--role", "officer", "--borough", "E09000099"], "Unknown local policing area E09000099"),
    (["--role", "officer", "--password-stdin"], "Use at least 10 characters"),
])
def test_user_create_refuses_bad_input(cli_db: str, args: list[str], message: str) -> None:
    code, _out, err = run("user", "create", "pc.jones", *args, stdin="short\n")
    assert code == 2
    assert message in " ".join(err.split())
    assert count(cli_db, User) == 0


def test_token_create_prints_only_the_token_and_it_works(cli_db: str) -> None:
    run("user", "create", "sgt.okafor", "--role", "supervisor", "--borough", "E09000033")
    code, out, _err = run("token", "create", "sgt.okafor")
    assert code == 0
    token = out.strip()
    assert out == token + "\n" and token.startswith("pck_") and len(token) > 40
    with TestClient(create_app(Settings(database_url=cli_db))) as client:
        response = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()["total"] == 0


def test_token_create_for_an_unknown_user_fails(cli_db: str) -> None:
    code, out, err = run("token", "create", "nobody")
    assert code == 2 and out == "" and "There is no user nobody." in err


def test_export_a_case_file_and_import_it_into_another_database(
        cli_db: str, tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _out, _err = run("demo")
    assert code == 0
    out = f"{tmp_path}/case.zip"
    code, _out, err = run("export", "case", "CL-2026-0001", "--out", out, "--reason",
                          "For the university")
    assert code == 0 and "Wrote" in err
    code, _out, err = run("export", "case", "XX-1999-0001", "--out", out)
    assert code == 2 and "There is no case XX-1999-0001." in err
    bundle = f"{tmp_path}/sentinel.zip"
    code, _out, err = run("export", "operation", "Sentinel", "--out", bundle, "--redact")
    assert code == 0 and "Wrote" in err

    other = f"sqlite:///{tmp_path}/other.db"
    monkeypatch.setenv("POPCASE_DATABASE_URL", other)
    get_settings.cache_clear()
    assert run("db", "upgrade")[0] == 0
    code, out_text, err = run("import", "case-file", out)
    assert code == 0 and out_text.strip() == "CL-2026-0001"
    assert "Imported CL-2026-0001" in err
    code, out_text, err = run("import", "case-file", out)  # again: the reference is taken
    assert code == 0 and out_text.strip() != "CL-2026-0001" and "was taken here" in err
    bad = f"{tmp_path}/bad.zip"
    with open(bad, "wb") as handle:
        handle.write(b"not a zip at all")
    code, _out, err = run("import", "case-file", bad)
    assert code == 1 and "was refused: This is not a zip file." in " ".join(err.split())
    assert count(other, Case) == 2
