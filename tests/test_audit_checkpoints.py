"""Signed checkpoints of the access log: the key and its handling, `popcase audit checkpoint`,
the automatic ones (every N entries after the commit, every M minutes from the server, from
several processes into one file) and what `popcase audit verify --checkpoints` refuses. The
attack of the security review is replayed in tests/security/test_audit_truncation.py."""

from __future__ import annotations

import base64
import logging
import multiprocessing
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.autocheckpoint import AutoCheckpoints, CheckpointLoop, install
from app.audit.checkpoints import (
    Checkpoint,
    NothingToCheckpoint,
    checkpoint_now,
    parse,
    sign,
)
from app.audit.keys import KeyProblem, SigningKey, generate, load_public, verifies
from app.audit.models import AuditEntry, AuditHead
from app.audit.service import AuditAction, record
from app.auth.context import Actor
from app.main import create_app
from app.settings import Settings, get_settings
from tests.audit_kit import SignedLog, officer_token, read_case, run, signed_log
from tests.checkpoint_writer import append_many
from tests.conftest import Cast, copy_database


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Tests here change POPCASE_ variables: no cached settings before or after."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def key(tmp_path: Path) -> SigningKey:
    signing, _public = generate(tmp_path / "key.pem")
    return signing


def auto_settings(key_dir: Path, destination: str, every: int = 3,
                  minutes: float = 0) -> Settings:
    return Settings(audit_key_file=str(key_dir / "key.pem"), audit_checkpoint_file=destination,
                    audit_checkpoint_every_entries=every, audit_checkpoint_every_minutes=minutes)


def log_entries(factory: sessionmaker[Session], count: int, *, per_transaction: int = 1) -> None:
    for _ in range(count):
        with factory() as db:
            for _ in range(per_transaction):
                record(db, Actor.cli(), AuditAction.STATS_VIEW)
            db.commit()


def head(factory: sessionmaker[Session]) -> tuple[int, str]:
    with factory() as db:
        row = db.execute(select(AuditHead.seq, AuditHead.hash)).one()
        return row.seq, row.hash


def checkpoints_in(path: Path) -> list[Checkpoint]:
    return [parse(line) for line in path.read_text().splitlines()] if path.exists() else []


# --- the key -----------------------------------------------------------------------------------

def test_keygen_makes_a_private_key_for_its_owner_only_and_never_overwrites(
        tmp_path: Path) -> None:
    private = tmp_path / "audit.pem"
    code, out, err = run("audit", "keygen", "--out", str(private))
    assert code == 0, err
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    public = load_public(Path(f"{private}.pub"))
    assert b"PRIVATE" not in Path(f"{private}.pub").read_bytes()
    assert out.strip() in err and len(out.strip()) == 16  # the key id, also on stderr
    before = private.read_bytes()
    code, _out, err = run("audit", "keygen", "--out", str(private))
    assert code == 2 and "already exists: it is not overwritten" in err
    assert private.read_bytes() == before
    assert load_public(private).public_bytes_raw() == public.public_bytes_raw()


def test_the_key_may_come_from_the_environment(tmp_path: Path, key: SigningKey) -> None:
    raw = key.private.private_bytes(serialization.Encoding.Raw,
                                    serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
    pem = (tmp_path / "key.pem").read_text()
    from app.audit.keys import signing_key

    for value in (base64.b64encode(raw).decode(), pem):
        found = signing_key(Settings(audit_key=value))
        assert found is not None and found.id == key.id
    for bad, message in (("not a key!", "neither a PEM key nor base64"),
                         (base64.b64encode(b"short").decode(), "must be 32 bytes")):
        with pytest.raises(KeyProblem, match=message):
            signing_key(Settings(audit_key=bad))


def test_a_key_that_is_set_but_unreadable_stops_the_server(tmp_path: Path,
                                                           db_url: str) -> None:
    missing = tmp_path / "nowhere.pem"
    with pytest.raises(KeyProblem, match=f"cannot read the signing key {missing}"):
        create_app(Settings(database_url=db_url, audit_key_file=str(missing),
                            audit_checkpoint_file=str(tmp_path / "cp.jsonl")))
    (tmp_path / "rsa.pem").write_text("-----BEGIN PRIVATE KEY-----\nnot base64\n"
                                      "-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyProblem, match="not an unencrypted PEM private key"):
        create_app(Settings(database_url=db_url, audit_key_file=str(tmp_path / "rsa.pem"),
                            audit_checkpoint_file=str(tmp_path / "cp.jsonl")))


# --- checkpoints every N entries, after the commit ----------------------------------------------

def test_a_checkpoint_is_written_after_the_commit_that_crosses_each_nth_entry(
        session_factory: sessionmaker[Session], tmp_path: Path, key: SigningKey) -> None:
    file = tmp_path / "cp.jsonl"
    install(session_factory, auto_settings(tmp_path, str(file), every=3))
    start, _hash = head(session_factory)
    log_entries(session_factory, 7)
    expected = [seq for seq in range(start + 1, start + 8) if seq % 3 == 0]
    written = checkpoints_in(file)
    assert [c.seq for c in written] == expected
    with session_factory() as db:
        for checkpoint in written:
            assert verifies(key.public, checkpoint.signature(), checkpoint.signed_bytes())
            assert checkpoint.hash == db.scalar(select(AuditEntry.hash)
                                                .where(AuditEntry.seq == checkpoint.seq))


def test_a_transaction_of_several_entries_checkpoints_its_last(
        session_factory: sessionmaker[Session], tmp_path: Path, key: SigningKey) -> None:
    file = tmp_path / "cp.jsonl"
    install(session_factory, auto_settings(tmp_path, str(file), every=3))
    start, _hash = head(session_factory)
    log_entries(session_factory, 1, per_transaction=7)  # crosses two multiples of 3 at once
    end, end_hash = head(session_factory)
    assert end == start + 7
    assert [(c.seq, c.hash) for c in checkpoints_in(file)] == [(end, end_hash)]


def test_nothing_rolled_back_is_ever_checkpointed(session_factory: sessionmaker[Session],
                                                  tmp_path: Path, key: SigningKey) -> None:
    file = tmp_path / "cp.jsonl"
    install(session_factory, auto_settings(tmp_path, str(file), every=2))
    with session_factory() as db:  # crosses a multiple of 2, then rolls back
        for _ in range(3):
            record(db, Actor.cli(), AuditAction.STATS_VIEW)
        db.flush()
        db.rollback()
    with session_factory() as db:  # the same inside a savepoint; the transaction commits
        with db.begin_nested() as nested:
            for _ in range(3):
                record(db, Actor.cli(), AuditAction.STATS_VIEW)
            db.flush()
            nested.rollback()
        db.commit()
    assert checkpoints_in(file) == []
    log_entries(session_factory, 2)
    (seq, hash_), written = head(session_factory), checkpoints_in(file)
    assert [(c.seq, c.hash) for c in written] == [(seq, hash_)]


def test_requests_write_checkpoints_to_standard_output_for_a_witness(
        app_settings_stdout: Settings, session_factory: sessionmaker[Session], cast: Cast,
        capsys: pytest.CaptureFixture[str], key: SigningKey) -> None:
    app = create_app(app_settings_stdout, session_factory)
    capsys.readouterr()
    with TestClient(app) as client:
        for _ in range(4):
            assert client.get("/api/v1/cases", headers=cast.analyst.api).status_code == 200
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(lines) == 2  # four entries, every second one
    seq, hash_ = head(session_factory)
    assert (parse(lines[-1]).seq, parse(lines[-1]).hash) == (seq, hash_)


@pytest.fixture
def app_settings_stdout(settings: Settings, tmp_path: Path, key: SigningKey) -> Settings:
    return settings.model_copy(update=auto_settings(tmp_path, "-", every=2).model_dump(
        include={"audit_key_file", "audit_checkpoint_file", "audit_checkpoint_every_entries",
                 "audit_checkpoint_every_minutes"}))


def test_a_checkpoint_that_cannot_be_written_never_fails_the_request(
        session_factory: sessionmaker[Session], tmp_path: Path, key: SigningKey,
        caplog: pytest.LogCaptureFixture) -> None:
    install(session_factory, auto_settings(tmp_path, str(tmp_path / "no-such-dir" / "cp"),
                                           every=1))
    before, _hash = head(session_factory)
    with caplog.at_level(logging.ERROR, logger="popcase.audit"):
        log_entries(session_factory, 1)
    assert head(session_factory)[0] == before + 1  # committed all the same
    assert "could not write the access log's checkpoint" in caplog.text


# --- checkpoints every M minutes, from the server -----------------------------------------------

def test_the_timed_loop_checkpoints_a_grown_log_once_across_processes(
        session_factory: sessionmaker[Session], tmp_path: Path, key: SigningKey) -> None:
    file = tmp_path / "cp.jsonl"
    auto = AutoCheckpoints.from_settings(auto_settings(tmp_path, str(file), every=0,
                                                       minutes=30))
    assert auto is not None
    first, second = CheckpointLoop(session_factory, auto), CheckpointLoop(session_factory, auto)
    log_entries(session_factory, 1)
    written = first.tick()
    assert written is not None and (written.seq, written.hash) == head(session_factory)
    assert first.tick() is None  # the log has not grown
    log_entries(session_factory, 1)
    assert second.tick() is None  # another process wrote one minutes ago
    assert len(checkpoints_in(file)) == 1
    # Half an interval later, whichever process comes first writes the grown head.
    quick = CheckpointLoop(session_factory, AutoCheckpoints(auto.key, auto.witness, 0, 0.0001))
    later = quick.tick()
    assert later is not None and later.seq == written.seq + 1
    assert [c.seq for c in checkpoints_in(file)] == [written.seq, later.seq]


def test_the_server_runs_the_loop_only_when_asked(settings: Settings, tmp_path: Path,
                                                  key: SigningKey,
                                                  session_factory: sessionmaker[Session]
                                                  ) -> None:
    timed = settings.model_copy(update={
        "audit_key_file": str(tmp_path / "key.pem"),
        "audit_checkpoint_file": str(tmp_path / "cp.jsonl"),
        "audit_checkpoint_every_minutes": 5.0})
    for config, running in ((settings, False), (timed, True)):
        app = create_app(config, session_factory)
        with TestClient(app):
            loop = app.state.checkpoint_loop
            assert (loop is not None and loop.thread.is_alive()) is running
        assert loop is None or not loop.thread.is_alive()


def test_several_processes_append_whole_lines_to_one_file(tmp_path: Path,
                                                          key: SigningKey) -> None:
    file, pem = tmp_path / "cp.jsonl", (tmp_path / "key.pem").read_bytes()
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=append_many, args=(str(file), pem, n * 1000 + 1, 60))
               for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    written = checkpoints_in(file)
    assert sorted(c.seq for c in written) == [n * 1000 + i for n in range(4)
                                              for i in range(1, 61)]
    assert all(verifies(key.public, c.signature(), c.signed_bytes()) for c in written)


# --- the commands, on a database of their own ---------------------------------------------------

@pytest.fixture
def log(empty_database: str, migrated_template: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[SignedLog]:
    copy_database(migrated_template, empty_database)
    with signed_log(empty_database, tmp_path, monkeypatch, every=4) as signed:
        token, ref = officer_token(signed)
        read_case(get_settings(), token, ref, times=6)
        yield signed


def test_checkpoint_prints_a_signed_checkpoint_and_appends_it(log: SignedLog,
                                                              tmp_path: Path) -> None:
    before = log.lines()
    code, out, err = run("audit", "checkpoint")
    assert code == 0, err
    printed = parse(out.strip())
    with log.engine.connect() as conn:
        assert (printed.seq, printed.hash) == tuple(conn.execute(select(AuditHead.seq,
                                                                        AuditHead.hash)).one())
    assert printed.seq == log.count()
    assert verifies(load_public(log.public_key), printed.signature(), printed.signed_bytes())
    assert log.lines() == [*before, out.strip()]
    assert f"appended to {log.checkpoints}" in " ".join(err.split())
    elsewhere = tmp_path / "witness.jsonl"
    code, out, _err = run("audit", "checkpoint", "--file", str(elsewhere))
    assert code == 0 and elsewhere.read_text() == out
    code, output = log.verify_with_checkpoints(elsewhere)
    assert code == 0, output


def test_checkpoint_needs_a_key(log: SignedLog, monkeypatch: pytest.MonkeyPatch,
                                tmp_path: Path) -> None:
    monkeypatch.delenv("POPCASE_AUDIT_KEY_FILE")
    get_settings.cache_clear()
    code, out, err = run("audit", "checkpoint")
    assert code == 2 and out == ""
    assert "no signing key: set POPCASE_AUDIT_KEY_FILE" in " ".join(err.split())
    monkeypatch.setenv("POPCASE_AUDIT_KEY_FILE", str(tmp_path / "missing.pem"))
    get_settings.cache_clear()
    code, out, err = run("audit", "checkpoint")
    assert code == 2 and "cannot read the signing key" in " ".join(err.split())


def test_an_empty_log_has_no_checkpoint(fresh_factory: sessionmaker[Session],
                                        key: SigningKey) -> None:
    with fresh_factory() as db, pytest.raises(NothingToCheckpoint, match="the access log is "
                                                                         "empty"):
        checkpoint_now(db, key)


def test_verify_refuses_checkpoints_signed_with_another_key(log: SignedLog,
                                                            tmp_path: Path) -> None:
    other, _public = generate(tmp_path / "other.pem")
    with log.engine.connect() as conn:
        seq, hash_ = conn.execute(select(AuditHead.seq, AuditHead.hash)).one()
    file = tmp_path / "other.jsonl"
    file.write_text(sign(other, seq, hash_).to_line() + "\n")
    code, output = log.verify_with_checkpoints(file)
    assert code == 1
    assert ("the checkpoint on line 1 (made " in output
            and f"of entry {seq} names key {other.id}, not the public key given" in output)
    # The right key for it passes: the refusal was the key's, nothing else.
    code, output = log.verify("--checkpoints", str(file), "--public-key",
                              str(tmp_path / "other.pem.pub"))
    assert code == 0, output


@pytest.mark.parametrize(("content", "message"), [
    ("not json\n", "line 1 is not a checkpoint: not JSON"),
    ('{"v": 1, "seq": 0}\n', "line 1 is not a checkpoint: its seq is not a positive"),
    ('\n{"v": 2}\n', "line 2 is not a checkpoint: not a version 1 checkpoint"),
])
def test_verify_refuses_a_malformed_checkpoint_file(log: SignedLog, tmp_path: Path,
                                                    content: str, message: str) -> None:
    file = tmp_path / "bad.jsonl"
    file.write_text(content)
    code, output = log.verify_with_checkpoints(file)
    assert code == 1 and message in output


def test_verify_with_checkpoints_needs_a_public_key_and_a_file(
        log: SignedLog, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    code, output = log.verify_with_checkpoints(empty)
    assert code == 1 and "the file holds no checkpoint" in output
    code, output = log.verify_with_checkpoints(tmp_path / "absent.jsonl")
    assert code == 2 and "absent.jsonl is not a file" in output
    # Without --public-key: POPCASE_AUDIT_PUBLIC_KEY_FILE, else the signing key's own.
    assert log.verify("--checkpoints", str(log.checkpoints))[0] == 0
    monkeypatch.delenv("POPCASE_AUDIT_KEY_FILE")
    get_settings.cache_clear()
    code, output = log.verify("--checkpoints", str(log.checkpoints))
    assert code == 2 and "no public key to check the checkpoints with" in output
    monkeypatch.setenv("POPCASE_AUDIT_PUBLIC_KEY_FILE", str(log.public_key))
    get_settings.cache_clear()
    code, output = log.verify("--checkpoints", str(log.checkpoints))
    assert code == 0, output
