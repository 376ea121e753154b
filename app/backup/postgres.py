"""PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore``. The dump runs on a snapshot
exported from our own REPEATABLE READ transaction, in which the row counts of the manifest are
taken too: both see exactly the same rows while the servers keep writing. Connection details
go to the tools through libpq's environment (the password never on a command line)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL, make_url

from app.backup.manifest import BackupProblem, Manifest, snapshot
from app.db import make_engine

MAGIC = b"PGDMP"
RECIPE = ("install the PostgreSQL client tools of the server's major version (Debian: "
          "`apt-get install postgresql-client-NN`), or back up by hand: "
          "`pg_dump --format=custom --file FILE DBNAME` (restore: `pg_restore --exit-on-error "
          "--single-transaction --no-owner --dbname DBNAME FILE` into an empty database); "
          "see README, Backup and restore")
# libpq reads these from the environment: https://www.postgresql.org/docs/current/libpq-envars.html
_ENV = {"host": "PGHOST", "port": "PGPORT", "username": "PGUSER", "password": "PGPASSWORD"}


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupProblem(f"{name} is not installed: {RECIPE}")
    return found


def tool_major(path: str) -> tuple[int, str]:
    version = subprocess.run([path, "--version"], capture_output=True, text=True,
                             check=True).stdout.strip()
    match = re.search(r"\)\s*(\d+)", version)  # "pg_dump (PostgreSQL) 15.20 (Debian ...)"
    if match is None:
        raise BackupProblem(f"cannot read the version of {path}: {version!r}")
    return int(match.group(1)), version


def libpq(url: str) -> tuple[dict[str, str], str]:
    """The environment for a client tool and its ``--dbname`` (a conninfo string that
    carries the database name and URL options such as sslmode, never the password)."""
    parsed: URL = make_url(url)
    env = {**os.environ}
    for attribute, variable in _ENV.items():
        value = getattr(parsed, attribute)
        if value is not None:
            env[variable] = str(value)
    parts = {"dbname": parsed.database or ""}
    parts.update({key: str(value) for key, value in parsed.query.items()
                  if isinstance(value, str) and key != "password"})
    return env, " ".join(f"{key}={_quote(value)}" for key, value in parts.items())


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _server_major(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SHOW server_version_num")) or 0) // 10000


def backup(url: str, partial: Path) -> Manifest:
    pg_dump = tool("pg_dump")
    major, version = tool_major(pg_dump)
    env, dbname = libpq(url)
    engine = make_engine(url)
    try:
        server = _server_major(engine)
        if major < server:
            raise BackupProblem(f"{version} cannot dump a PostgreSQL {server} server: "
                                f"{RECIPE}")
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, \
                conn.begin():
            exported = conn.scalar(text("SELECT pg_export_snapshot()"))
            manifest = snapshot(conn, "postgresql")
            # Our transaction stays open (and the snapshot valid) until pg_dump is done.
            _run([pg_dump, "--format=custom", "--no-password", f"--snapshot={exported}",
                  f"--file={partial}", f"--dbname={dbname}"], env, "pg_dump")
    finally:
        engine.dispose()
    contents = listing(partial)
    if "TABLE DATA public alembic_version" not in contents:
        raise BackupProblem("pg_dump's file lists no alembic_version data: not a usable backup")
    manifest.tool = version
    return manifest


def listing(file: Path) -> str:
    """``pg_restore --list``: reading the whole table of contents checks the file's format."""
    return _run([tool("pg_restore"), "--list", str(file)], dict(os.environ), "pg_restore")


def is_dump(file: Path) -> bool:
    with file.open("rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def describe(file: Path) -> None:
    if not is_dump(file):
        raise BackupProblem(f"{file} is not a pg_dump custom-format file (a SQLite backup is "
                            "restored into a SQLite database)")
    if "TABLE DATA public alembic_version" not in listing(file):
        raise BackupProblem(f"{file} is not a popcase database (it has no migration revision)")


def is_empty(url: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return not conn.scalar(text(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"))
    finally:
        engine.dispose()


def restore(file: Path, url: str) -> Manifest:
    """Restore into the (empty) database of ``url``; what it then holds."""
    pg_restore = tool("pg_restore")
    env, dbname = libpq(url)
    # One transaction: a failure leaves the database empty, ready for another try. No owner
    # or grants: the objects belong to the role popcase connects as.
    _run([pg_restore, "--exit-on-error", "--single-transaction", "--no-owner",
          "--no-privileges", "--no-password", f"--dbname={dbname}", str(file)], env,
         "pg_restore")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return snapshot(conn, "postgresql")
    finally:
        engine.dispose()


def _run(command: list[str], env: dict[str, str], name: str) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupProblem(f"{name} failed (exit {done.returncode}): "
                            f"{done.stderr.strip() or done.stdout.strip()}")
    return done.stdout
