"""`popcase db backup` and `popcase db restore` through the real command, on the suite's kind
of database (SQLite's online backup API, or pg_dump/pg_restore on PostgreSQL): a backup taken
while cases and access-log entries are being written, restored into a new empty database, with
its row counts, access log and signed checkpoints checked; and the restores that are refused."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from app.auth.context import Actor, Channel
from app.auth.roles import Role
from app.auth.service import NewUser, create_user
from app.backup import postgres, sqlite
from app.cases import service
from app.cases.schemas import CaseCreate
from app.db import make_engine
from app.settings import get_settings
from tests.audit_kit import SignedLog, run, signed_log
from tests.conftest import WESTMINSTER, copy_database, fresh_database, new_case_body, sqlite_only

DEADLINE_S = 60


@pytest.fixture
def log(empty_database: str, migrated_template: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[SignedLog]:
    """A database of its own, with checkpoints signed every 5 access-log entries."""
    copy_database(migrated_template, empty_database)
    with signed_log(empty_database, tmp_path, monkeypatch, every=5) as signed:
        yield signed


@pytest.fixture
def target(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new, empty database to restore into (nothing migrated)."""
    with fresh_database(db_url, tmp_path_factory, "restored") as url:
        yield url


def use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("POPCASE_DATABASE_URL", url)
    get_settings.cache_clear()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition()`` is true, failing after a generous deadline (no fixed sleeps)."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.01)


class Writer(threading.Thread):
    """An officer opening cases one after another (each one a case row, its events and an
    access-log entry, committed together) until told to stop."""

    def __init__(self, log: SignedLog) -> None:
        super().__init__(daemon=True)
        self.factory, self.stop, self.written = log.factory(), threading.Event(), 0
        self.failure: BaseException | None = None
        with self.factory() as db:
            self.officer = create_user(db, Actor.cli(), NewUser("pc.writer", Role.OFFICER,
                                                                "PC Writer", WESTMINSTER))

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                with self.factory() as db:
                    actor = Actor(self.officer, Channel.API, f"req-{self.written}", "10.0.0.7")
                    service.create_case(db, actor, CaseCreate.model_validate(new_case_body()))
                self.written += 1
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.failure = exc

    def finish(self) -> None:
        self.stop.set()
        self.join(DEADLINE_S)
        assert not self.is_alive() and self.failure is None, self.failure


def entries(url: str, action: str) -> list[dict[str, object]]:
    """The details of the access-log entries of ``action`` in the database of ``url``."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [json.loads(row[0]) if isinstance(row[0], str) else row[0]
                    for row in conn.execute(text("SELECT details FROM audit_log "
                                                 "WHERE action = :action ORDER BY seq"),
                                            {"action": action})]
    finally:
        engine.dispose()


def signed(log: SignedLog) -> list[str]:
    """The checkpoint file's complete lines (a writer may be appending one as we read)."""
    text_ = log.checkpoints.read_text() if log.checkpoints.exists() else ""
    return [line for line in text_.splitlines(keepends=True) if line.endswith("\n")]


def cases_in(log: SignedLog) -> int:
    with log.engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM cases")) or 0


def test_a_backup_taken_while_cases_are_written_restores_whole_and_verified(
        log: SignedLog, target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backup = tmp_path / "popcase.backup"
    writer = Writer(log)
    writer.start()
    try:
        wait_for(lambda: writer.written >= 10 and len(signed(log)) >= 2, "the first writes")
        cases_before = cases_in(log)
        # Checkpoints signed before the backup began: every one is inside the backup.
        signed_before = tmp_path / "checkpoints-before.jsonl"
        signed_before.write_text("".join(signed(log)))
        code, out, err = run("db", "backup", str(backup), "--json")
        assert code == 0, err
        written_at_backup = writer.written
        report = json.loads(out)
        # Writes go on after the backup: a checkpoint beyond what the backup holds.
        wait_for(lambda: writer.written >= written_at_backup + 10
                 and json.loads(signed(log)[-1])["seq"] > report["audit_seq"],
                 "writes after the backup")
    finally:
        writer.finish()

    assert report["verified"] is True and report["sha256"]
    manifest = json.loads(Path(report["manifest"]).read_text())
    assert manifest["tables"] == report["tables"]
    assert cases_before <= report["tables"]["cases"] < cases_in(log)
    assert report["tables"]["audit_log"] == report["audit_seq"] > 0
    assert "attachments folder" in " ".join(err.split())

    use_database(monkeypatch, target)
    code, out, err = run("db", "restore", str(backup), "--json")
    assert code == 0, err
    restored = json.loads(out)
    assert restored["counts_compared_with"] == "manifest"
    assert restored["upgrade_needed"] is False
    assert {name: counts["restored"] for name, counts in restored["tables"].items()} \
        == report["tables"]
    assert all(counts["backup"] == counts["restored"] for counts in restored["tables"].values())
    assert restored["audit_entries_verified"] == report["audit_seq"]

    # The copy is in the source's access log (after the copy), the restore in the target's.
    taken = entries(log.url, "db.backup")
    assert [entry["audit_seq"] for entry in taken] == [report["audit_seq"]]
    assert taken[0]["sha256"] == report["sha256"]
    assert [entry["audit_seq"] for entry in entries(target, "db.restore")] \
        == [report["audit_seq"]]
    code, message = log.verify()
    assert code == 0 and f"{report['audit_seq'] + 1} entries checked" in message, message
    code, message = log.verify_with_checkpoints(signed_before)
    assert code == 0, message
    # The checkpoints signed after the backup name entries the restore does not have: the
    # verification says so (the README tells operators to start a new checkpoint file).
    code, message = log.verify_with_checkpoints()
    assert code == 1 and "TRUNCATED OR REWRITTEN" in message, message


def test_the_restore_prints_each_table_s_counts(log: SignedLog, target: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    backup = tmp_path / "quiet.backup"
    code, out, err = run("db", "backup", str(backup))
    assert code == 0, err
    assert out.startswith("Backed up ") and "the copy is verified" in out
    use_database(monkeypatch, target)
    code, out, err = run("db", "restore", str(backup))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["table", "backup", "restored"]
    boroughs = next(line.split() for line in lines if line.startswith("boroughs "))
    assert boroughs[1] == boroughs[2] and int(boroughs[1]) >= 33  # London, from the start
    assert "row counts match the backup's manifest" in lines[-1]
    assert "the access log is intact" in lines[-1]


def test_a_restore_into_a_database_that_is_not_empty_is_refused(
        log: SignedLog, tmp_path: Path) -> None:
    backup = tmp_path / "popcase.backup"
    assert run("db", "backup", str(backup))[0] == 0
    cases_then = cases_in(log)
    code, _out, err = run("db", "restore", str(backup))  # into the database it came from
    assert code == 1
    assert "the target database is not empty" in " ".join(err.split())
    assert cases_in(log) == cases_then
    assert log.verify()[0] == 0


def test_a_backup_never_overwrites_and_a_damaged_or_foreign_file_is_refused(
        log: SignedLog, target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backup = tmp_path / "popcase.backup"
    assert run("db", "backup", str(backup))[0] == 0
    before = backup.read_bytes()
    code, _out, err = run("db", "backup", str(backup))
    assert code == 1 and "already exists: it is not overwritten" in " ".join(err.split())
    assert backup.read_bytes() == before

    use_database(monkeypatch, target)
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(before[:-1] + bytes([before[-1] ^ 1]))
    shutil.copyfile(f"{backup}.manifest.json", f"{damaged}.manifest.json")
    code, _out, err = run("db", "restore", str(damaged))
    assert code == 1 and "does not match the checksum" in " ".join(err.split())

    foreign = tmp_path / "notes.txt"
    foreign.write_text("not a database\n")
    code, _out, err = run("db", "restore", str(foreign))
    assert code == 1 and "is not a" in err

    future = json.loads(Path(f"{backup}.manifest.json").read_text())
    future["revision"] = "9999"
    Path(f"{backup}.manifest.json").write_text(json.dumps(future))
    code, _out, err = run("db", "restore", str(backup))
    assert code == 1 and "which this version of popcase does not know" in " ".join(err.split())
    # Nothing was restored by any refusal: the target is still empty.
    assert (sqlite.is_empty if sqlite_only(target) else postgres.is_empty)(target)


def test_an_older_backup_restores_and_asks_for_an_upgrade(
        db_url: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    backup = tmp_path / "old.backup"
    with fresh_database(db_url, tmp_path_factory, "older") as older, \
            fresh_database(db_url, tmp_path_factory, "newer") as newer:
        use_database(monkeypatch, older)
        assert run("db", "upgrade", "0017")[0] == 0
        code, out, err = run("db", "backup", str(backup), "--json")
        assert code == 0, err
        assert json.loads(out)["revision"] == "0017"
        use_database(monkeypatch, newer)
        code, out, err = run("db", "restore", str(backup), "--json")
        assert code == 0, err
        assert json.loads(out)["upgrade_needed"] is True
        assert "run `popcase db upgrade` before serving" in " ".join(err.split())
        assert run("db", "upgrade")[0] == 0
        assert run("audit", "verify")[0] == 0


def test_without_pg_dump_the_command_gives_the_recipe(
        log: SignedLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if sqlite_only(log.url):
        pytest.skip("SQLite needs no external tool")
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    code, _out, err = run("db", "backup", str(tmp_path / "x.backup"))
    message = " ".join(err.split())
    assert code == 1 and "pg_dump is not installed" in message
    assert "pg_dump --format=custom" in message
    assert not (tmp_path / "x.backup").exists()


def test_a_backup_without_its_manifest_restores_but_says_counts_were_not_compared(
        log: SignedLog, target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backup = tmp_path / "bare.backup"
    assert run("db", "backup", str(backup))[0] == 0
    Path(f"{backup}.manifest.json").unlink()
    use_database(monkeypatch, target)
    code, out, err = run("db", "restore", str(backup))
    assert code == 0, err
    # SQLite counts the backup file itself; a pg_dump file can only be counted once restored.
    expected = ("row counts match the file's own" if sqlite_only(target)
                else "row counts not compared")
    assert f"no manifest beside the file: {expected}" in out
    assert log.verify()[0] == 0


def test_a_database_that_is_not_popcase_s_is_not_backed_up(
        target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_database(monkeypatch, target)  # nothing migrated (on SQLite: no file at all)
    code, _out, err = run("db", "backup", str(tmp_path / "x.backup"))
    message = " ".join(err.split())
    assert code == 1
    assert "there is no database at" in message or "not a popcase database" in message
    assert list(tmp_path.glob("*x.backup*")) == []


def test_pg_tools_get_the_password_from_the_environment_never_their_arguments() -> None:
    env, dbname = postgres.libpq("postgresql+psycopg://popcase:s3cr%27t%20pw@db.example:6543/"
                                 "pop'case?sslmode=verify-full")
    assert env["PGPASSWORD"] == "s3cr't pw" and env["PGUSER"] == "popcase"
    assert env["PGHOST"] == "db.example" and env["PGPORT"] == "6543"
    assert "s3cr" not in dbname
    assert dbname == "dbname='pop\\'case' sslmode='verify-full'"
