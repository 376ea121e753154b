"""Back up the configured database into a file, and restore such a file into an empty
database, on SQLite or PostgreSQL; each step proves itself (integrity, counts, the chain)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.audit.service import AuditAction, record, verify_chain
from app.auth.context import Actor
from app.backup import postgres, sqlite
from app.backup.manifest import (
    BackupProblem,
    Manifest,
    check_checksum,
    compare,
    manifest_path,
    read,
    sha256,
    write,
)
from app.db import is_sqlite, make_engine
from app.resources import resource_dir


@dataclass
class BackupReport:
    file: Path
    manifest_file: Path
    manifest: Manifest

    def to_json(self) -> dict[str, Any]:
        return {"file": str(self.file), "manifest": str(self.manifest_file),
                **self.manifest.to_json(), "rows": self.manifest.rows, "verified": True}


@dataclass
class RestoreReport:
    file: Path
    expected: Manifest | None  # None: no manifest beside the file, counts not compared
    restored: Manifest
    audit_entries: int
    upgrade_needed: bool
    counted_from: str  # "manifest", "file" (SQLite: the backup counted itself) or ""

    def to_json(self) -> dict[str, Any]:
        backup = self.expected.tables if self.expected else {}
        return {"file": str(self.file), "database": self.restored.database,
                "revision": self.restored.revision, "upgrade_needed": self.upgrade_needed,
                "tables": {name: {"backup": backup.get(name), "restored": rows}
                           for name, rows in self.restored.tables.items()},
                "rows": self.restored.rows, "counts_compared_with": self.counted_from or None,
                "audit_entries_verified": self.audit_entries}


def log_backup(db: Session, actor: Actor, report: BackupReport) -> None:
    """The access log records who took a copy of everything, after the copy (so the entry is
    not in it): a backup holds every case and all personal data. The copy changed nothing
    in the database, so the entry is the whole transaction: no ``use_case``."""
    m = report.manifest
    record(db, actor, AuditAction.DB_BACKUP, object_type="backup", object_ref=report.file.name,
           details={"file": str(report.file), "sha256": m.sha256, "bytes": m.bytes,
                    "revision": m.revision, "rows": m.rows, "audit_seq": m.audit_seq})
    db.commit()


def log_restore(db: Session, actor: Actor, report: RestoreReport) -> None:
    """The restored log's first new entry says where it came from (the restore itself ran
    outside this session: the entry is the whole transaction, no ``use_case``)."""
    manifest = report.expected if report.counted_from == "manifest" else None
    made = manifest.created_at if manifest else None
    record(db, actor, AuditAction.DB_RESTORE, object_type="backup", object_ref=report.file.name,
           details={"file": str(report.file), "backup_made": made,
                    "revision": report.restored.revision, "rows": report.restored.rows,
                    "audit_seq": report.audit_entries})
    db.commit()


def _kind(url: str) -> str:
    return "sqlite" if is_sqlite(url) else "postgresql"


@contextmanager
def _as_problems(doing: str) -> Iterator[None]:
    """A file or database error becomes a message for the operator, not a traceback."""
    try:
        yield
    except (OSError, sqlite3.Error, SQLAlchemyError) as exc:
        raise BackupProblem(f"{doing} failed: {exc}") from exc


def backup(url: str, file: Path) -> BackupReport:
    """Write the backup to ``file`` and its manifest beside it; neither is overwritten."""
    with _as_problems("the backup"):
        return _backup(url, file)


def restore(url: str, file: Path) -> RestoreReport:
    """Restore ``file`` into the empty database of ``url`` and prove it complete."""
    with _as_problems("the restore"):
        return _restore(url, file)


def _backup(url: str, file: Path) -> BackupReport:
    for existing in (file, manifest_path(file)):
        if existing.exists():
            raise BackupProblem(f"{existing} already exists: it is not overwritten (give each "
                                "backup a new name, e.g. with the date)")
    if not file.parent.is_dir():
        raise BackupProblem(f"there is no folder {file.parent}")
    # Written under another name first: a backup cut short never looks like a finished one.
    partial = file.with_name(f".{file.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        manifest = (sqlite.backup if is_sqlite(url) else postgres.backup)(url, partial)
        manifest.sha256, manifest.bytes = sha256(partial), partial.stat().st_size
        partial.replace(file)
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(file, write(file, manifest), manifest)


def _restore(url: str, file: Path) -> RestoreReport:
    if not file.is_file():
        raise BackupProblem(f"{file} is not a file")
    kind, expected = _kind(url), read(file)
    counted_from = "manifest" if expected else ""
    if expected is not None:
        if expected.database != kind:
            raise BackupProblem(f"{file} is a {expected.database} backup: it cannot be restored "
                                f"into a {kind} database")
        check_checksum(file, expected)
    if kind == "sqlite":
        described = sqlite.describe(file)
        if expected is None:
            expected, counted_from = described, "file"
    else:
        postgres.describe(file)
    if expected is not None:
        code_revision(expected.revision)
    if not (sqlite.is_empty(url) if kind == "sqlite" else postgres.is_empty(url)):
        raise BackupProblem("the target database is not empty: restore only into a new, empty "
                            "database (create one, point POPCASE_DATABASE_URL at it, run this "
                            "again)")
    restored = (sqlite.restore if kind == "sqlite" else postgres.restore)(file, url)
    behind = code_revision(restored.revision)
    if expected is not None:
        differences = compare(expected.tables, restored.tables)
        if differences:
            raise BackupProblem("the restored row counts differ from the backup's: "
                                + "; ".join(differences))
        if (restored.audit_seq, restored.audit_hash) != (expected.audit_seq,
                                                          expected.audit_hash):
            raise BackupProblem("the restored access log does not end where the backup's did")
    return RestoreReport(file, expected, restored, _verify_log(url, restored), behind,
                         counted_from)


def code_revision(revision: str) -> bool:
    """True when ``revision`` is behind the code's newest migration (an upgrade is needed);
    a revision this code does not know (a newer popcase's) is refused."""
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    script = ScriptDirectory.from_config(config)
    try:
        known = script.get_revision(revision)
    except (CommandError, RevisionError):
        known = None
    if known is None:
        raise BackupProblem(f"the backup is at migration revision {revision}, which this "
                            "version of popcase does not know: restore it with the newer "
                            "popcase that made it")
    return revision not in script.get_heads()


def _verify_log(url: str, restored: Manifest) -> int:
    """The access log's chain, checked in the restored database: its number of entries."""
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            report = verify_chain(db)
    finally:
        engine.dispose()
    if not report.intact:
        raise BackupProblem(f"the restored access log is BROKEN at entry {report.broken_seq}: "
                            f"{report.problem}")
    if report.checked != restored.audit_seq:
        raise BackupProblem(f"the restored access log has {report.checked} entries but its head "
                            f"records {restored.audit_seq}")
    return report.checked
