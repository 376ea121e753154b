"""The sidecar ``FILE.manifest.json`` written beside every backup: what was captured (row
counts per table, the migration revision, the access log's head) and the file's checksum."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, inspect, quoted_name, select, table, text
from sqlalchemy.sql.functions import count

from app.db import utcnow

FORMAT = "popcase-backup"
VERSION = 1


class BackupProblem(Exception):
    """A backup or restore that must stop; the message tells the operator what to do."""


@dataclass
class Manifest:
    database: str  # "sqlite" or "postgresql"
    revision: str
    tables: dict[str, int]
    audit_seq: int
    audit_hash: str
    sha256: str = ""
    bytes: int = 0
    tool: str = ""
    created_at: str = field(default_factory=lambda: utcnow().isoformat(timespec="seconds"))

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **asdict(self)}


def manifest_path(backup: Path) -> Path:
    return backup.with_name(f"{backup.name}.manifest.json")


def write(backup: Path, manifest: Manifest) -> Path:
    path = manifest_path(backup)
    path.write_text(json.dumps(manifest.to_json(), indent=2, sort_keys=True) + "\n")
    return path


def read(backup: Path) -> Manifest | None:
    """The manifest beside ``backup``, or None when there is none."""
    path = manifest_path(backup)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        if data.pop("format", None) != FORMAT or data.pop("version", None) != VERSION:
            raise ValueError("not a popcase backup manifest of version 1")
        manifest = Manifest(**data)
    except (ValueError, TypeError) as exc:
        raise BackupProblem(f"{path} is not a readable backup manifest: {exc}") from None
    return manifest


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_checksum(backup: Path, manifest: Manifest) -> None:
    if manifest.sha256 and sha256(backup) != manifest.sha256:
        raise BackupProblem(f"{backup} does not match the checksum in its manifest: the file "
                            "was changed or damaged after the backup")


def table_counts(conn: Connection) -> dict[str, int]:
    """Rows per table of the default schema, as ``conn``'s transaction sees them."""
    names = sorted(inspect(conn).get_table_names())
    return {name: conn.scalar(select(count()).select_from(table(quoted_name(name, True))))
            or 0 for name in names}


def revision_of(conn: Connection) -> str | None:
    if "alembic_version" not in inspect(conn).get_table_names():
        return None
    revision: str | None = conn.scalar(text("SELECT version_num FROM alembic_version"))
    return revision


def audit_head(conn: Connection) -> tuple[int, str]:
    row = conn.execute(text("SELECT seq, hash FROM audit_head WHERE id = 1")).first()
    return (row.seq, row.hash) if row else (0, "")


def snapshot(conn: Connection, database: str) -> Manifest:
    """The manifest of what ``conn``'s transaction sees (the checksum comes later)."""
    revision = revision_of(conn)
    if revision is None:
        raise BackupProblem("the database has no migration revision: it is not a popcase "
                            "database (run `popcase db upgrade` to make one)")
    seq, hash_ = audit_head(conn)
    return Manifest(database=database, revision=revision, tables=table_counts(conn),
                    audit_seq=seq, audit_hash=hash_)


def compare(expected: dict[str, int], found: dict[str, int]) -> list[str]:
    """Human-readable differences between two sets of row counts (empty: they match)."""
    problems = []
    for name in sorted(expected.keys() | found.keys()):
        want, got = expected.get(name), found.get(name)
        if want != got:
            problems.append(f"{name}: {'no table' if want is None else want} in the backup, "
                            f"{'no table' if got is None else got} restored")
    return problems
