"""SQLite: the online backup API, from a read transaction held on the source so that the copy
is one consistent snapshot while the server goes on writing (WAL: readers never block
writers, and a held snapshot keeps the stepped copy from restarting at each commit)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from sqlalchemy import Connection, create_engine
from sqlalchemy.engine import make_url

from app.backup.manifest import BackupProblem, Manifest, snapshot

MAGIC = b"SQLite format 3\x00"
# Pages copied per step (4 KB pages: 4 MB a step), so the copy can yield between steps.
STEP_PAGES = 1024


def database_path(url: str) -> Path:
    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupProblem(f"cannot back up or restore the SQLite database {name or '(none)'}: "
                            "give POPCASE_DATABASE_URL a file, e.g. sqlite:///popcase.db")
    return Path(name)


def is_sqlite_file(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(len(MAGIC)) == MAGIC


@contextmanager
def _sqlalchemy(path: Path, *, read_only: bool) -> Iterator[Connection]:
    """A SQLAlchemy connection on a file (read-only: never creates or changes it)."""
    uri = f"file:{path.resolve()}{'?mode=ro' if read_only else ''}"
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def integrity(path: Path) -> str:
    with closing(sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)) as conn:
        rows = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    return "ok" if rows == ["ok"] else "; ".join(rows[:5])


def backup(url: str, partial: Path) -> Manifest:
    """Copy the database of ``url`` into ``partial`` (a new file); its manifest, counted on
    the copy itself."""
    source_path = database_path(url)
    if not source_path.is_file():
        raise BackupProblem(f"there is no database at {source_path}")
    with closing(sqlite3.connect(source_path, isolation_level=None, timeout=15)) as source, \
            closing(sqlite3.connect(partial, isolation_level=None)) as target:
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()  # takes the snapshot
        source.backup(target, pages=STEP_PAGES)
        source.execute("ROLLBACK")
        # One self-contained file: no -wal beside it when it is opened later.
        target.execute("PRAGMA journal_mode=DELETE")
    problem = integrity(partial)
    if problem != "ok":
        raise BackupProblem(f"the copy failed its integrity check: {problem}")
    with _sqlalchemy(partial, read_only=True) as conn:
        manifest = snapshot(conn, "sqlite")
    manifest.tool = f"sqlite {sqlite3.sqlite_version}"
    return manifest


def describe(file: Path) -> Manifest:
    """What a backup file holds, read from the file itself (read-only)."""
    if not is_sqlite_file(file):
        raise BackupProblem(f"{file} is not a SQLite database (a PostgreSQL backup is restored "
                            "into a PostgreSQL database)")
    problem = integrity(file)
    if problem != "ok":
        raise BackupProblem(f"{file} fails SQLite's integrity check: {problem}")
    with _sqlalchemy(file, read_only=True) as conn:
        try:
            return snapshot(conn, "sqlite")
        except BackupProblem:
            raise BackupProblem(f"{file} is not a popcase database (it has no migration "
                                "revision)") from None


def is_empty(url: str) -> bool:
    path = database_path(url)
    wal = path.with_name(f"{path.name}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return False  # a write-ahead log left beside it would be replayed into the restore
    if not path.exists() or path.stat().st_size == 0:
        return True
    with closing(sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)) as conn:
        objects: int = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        return objects == 0


def restore(file: Path, url: str) -> Manifest:
    """Copy the backup into the (empty) database of ``url``; what it then holds."""
    target_path = database_path(url)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(f"file:{file.resolve()}?mode=ro", uri=True)) as source, \
            closing(sqlite3.connect(target_path, isolation_level=None)) as target:
        source.backup(target, pages=STEP_PAGES)
        target.execute("PRAGMA journal_mode=WAL")  # as popcase runs it
    with _sqlalchemy(target_path, read_only=True) as conn:
        return snapshot(conn, "sqlite")
