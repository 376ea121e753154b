"""Issue 18, finding 5, replayed: someone with write access to the database drops the two
append-only triggers, deletes the newest entries of the access log and rewinds ``audit_head`` to
the last entry kept. The hash chain alone still says "intact" (shown below); the signed
checkpoints written outside the database catch it. Runs on the suite's database kind (SQLite,
or PostgreSQL with POPCASE_TEST_DATABASE_URL), each test in a database of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from app.audit.checkpoints import parse
from app.audit.models import AuditEntry, AuditHead
from app.audit.service import HASHED_FIELDS, entry_hash
from app.db import is_sqlite
from app.settings import get_settings
from tests.audit_kit import SignedLog, officer_token, read_case, signed_log
from tests.conftest import copy_database

EVERY = 5


@pytest.fixture
def log(empty_database: str, migrated_template: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[SignedLog]:
    """A log of 20-odd entries written through the API, checkpointed every 5 entries, in a
    database of its own."""
    copy_database(migrated_template, empty_database)
    with signed_log(empty_database, tmp_path, monkeypatch, every=EVERY) as signed:
        token, ref = officer_token(signed)
        read_case(get_settings(), token, ref, times=20)
        yield signed


def drop_triggers(engine: Engine) -> None:
    """The two triggers that make the log append-only, as the attacker drops them."""
    with engine.begin() as conn:
        if is_sqlite(str(engine.url)):
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_change ON audit_log"))
            conn.execute(text("DROP TRIGGER audit_log_no_truncate ON audit_log"))


def truncate(engine: Engine, keep: int) -> None:
    """Delete every entry after ``keep`` and rewrite the head to the last one kept."""
    drop_triggers(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq > :keep"), {"keep": keep})
        conn.execute(text("UPDATE audit_head SET seq = :keep, hash = (SELECT hash FROM "
                          "audit_log WHERE seq = :keep)"), {"keep": keep})


def test_a_good_log_passes_with_its_checkpoints(log: SignedLog) -> None:
    total = log.count()
    assert total > 20
    # Written by the requests themselves, after their commits: one at each multiple of 5.
    written = [parse(line).seq for line in log.lines()]
    assert written == list(range(EVERY, total + 1, EVERY))
    code, output = log.verify_with_checkpoints()
    assert code == 0, output
    assert f"{total} entries checked, and it holds all {len(written)} checkpoints" in output


def test_the_reviews_truncation_is_caught_by_the_checkpoints(log: SignedLog) -> None:
    total, keep = log.count(), 12
    truncate(log.engine, keep)

    # The finding as reported: the chain alone cannot see that it was cut short.
    code, output = log.verify()
    assert code == 0
    assert f"The access log is intact: {keep} entries checked." in output

    code, output = log.verify_with_checkpoints()
    assert code == 1
    first_lost = (keep // EVERY + 1) * EVERY  # 15: the first checkpoint past the cut
    failing = len(range(first_lost, total + 1, EVERY))
    assert "TRUNCATED OR REWRITTEN" in output
    assert (f"the log ends at entry {keep}, but the checkpoint on line {first_lost // EVERY} "
            f"(made ") in output
    assert f"records entry {first_lost}: at least {first_lost - keep} entries were removed" \
        in output
    assert f"({failing} of {len(log.lines())} checkpoints fail)" in output


def test_a_checkpoint_file_rewritten_to_match_is_refused(log: SignedLog,
                                                         tmp_path: Path) -> None:
    """The attacker also edits the checkpoint file: the later checkpoints now name the kept
    entry, without the private key to sign them."""
    keep = 12
    with log.engine.connect() as conn:
        kept_hash = conn.scalar(text("SELECT hash FROM audit_log WHERE seq = :keep"),
                                {"keep": keep})
    truncate(log.engine, keep)
    lines = log.lines()
    forged = parse(lines[2])  # entry 15
    lines[2] = forged.to_line().replace(f'"seq":{forged.seq}', f'"seq":{keep}') \
        .replace(forged.hash, kept_hash)
    rewritten = tmp_path / "rewritten.jsonl"
    rewritten.write_text("\n".join(lines[:3]) + "\n")

    code, output = log.verify_with_checkpoints(rewritten)
    assert code == 1
    assert (f"CHECKPOINT REFUSED in {rewritten}: the checkpoint on line 3 (made {forged.at}) "
            f"of entry {keep}: its signature does not verify with the public key "
            f"{forged.key}: the checkpoint was changed or forged") in output


def test_a_rewritten_chain_is_caught_by_the_checkpoints(log: SignedLog) -> None:
    """Rewriting an early entry and recomputing every hash after it (and the head's) fools the
    chain, but not a checkpoint made before."""
    drop_triggers(log.engine)
    with Session(log.engine) as db, db.begin():
        prev = "0" * 64
        for entry in db.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
            if entry.seq == 3:
                entry.actor = "someone.else"
            fields = {name: getattr(entry, name) for name in HASHED_FIELDS}
            entry.prev_hash, entry.hash = prev, entry_hash(fields, prev)
            prev = entry.hash
        db.execute(update(AuditHead).values(hash=prev))

    code, output = log.verify()
    assert code == 0, output  # the chain is consistent again
    code, output = log.verify_with_checkpoints()
    assert code == 1
    assert "entry 5 differs from the checkpoint on line 1" in output
    assert "the log was rewritten" in output

