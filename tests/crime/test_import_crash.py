"""A crash in the middle of an import: the importing process is killed (SIGKILL, as the kernel's
out-of-memory killer or a pulled plug would) after it has committed part of a file.

What it had committed is never counted: analysis reads only the rows of finished imports. The
next import, once the dead one has shown no progress for ``STALE_AFTER``, removes those rows and
marks the import failed, and importing the file again then adds every row exactly once.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.crime import importer
from app.crime.importer import done_batches
from app.crime.models import ImportBatch, ImportStatus, StreetCrime
from app.crime.queries import data_months
from app.db import utcnow

ROWS = 250_000  # several chunks and commits: seconds of work, never done before the kill
HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
          "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
FORCE = "City of London Police"


def write_street_file(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(HEADER)
        for n in range(rows):
            writer.writerow([hashlib.sha256(str(n).encode()).hexdigest(), "2024-03", FORCE,
                             FORCE, f"{-0.09 - (n % 97) / 10000:.6f}",
                             f"{51.515 + (n % 89) / 10000:.6f}", f"On or near Street {n % 97}",
                             "E01000001", "City of London 001A", "Other theft",
                             "Under investigation", ""])


def popcase(url: str, *args: str, output: int = subprocess.PIPE) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "popcase"), *args]
    env = dict(os.environ, POPCASE_DATABASE_URL=url)
    return subprocess.Popen(command, env=env, stdout=output, stderr=output)


def committed_rows(factory: sessionmaker[Session]) -> tuple[ImportStatus | None, int]:
    with factory() as db:
        status = db.scalar(select(ImportBatch.status).order_by(ImportBatch.id.desc()))
        rows = db.scalar(select(func.count()).select_from(StreetCrime)) or 0
        return status, rows


def kill_after_first_commit(process: subprocess.Popen[bytes],
                            factory: sessionmaker[Session], timeout_s: float = 120) -> int:
    """SIGKILL the import as soon as some of its rows are committed; the rows it left."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "the import ended before it could be killed"
        status, rows = committed_rows(factory)
        if status is ImportStatus.RUNNING and rows:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return rows
        time.sleep(0.02)
    process.kill()
    raise AssertionError("the import committed nothing in time")


def test_an_import_killed_part_way_leaves_nothing_counted_and_is_cleaned_up(
        empty_database: str, fresh_factory: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "2024-03-city-of-london-street.csv"
    write_street_file(path, ROWS)

    left = kill_after_first_commit(popcase(empty_database, "import", "police-uk", str(path),
                                           output=subprocess.DEVNULL),
                                   fresh_factory)

    # The dead import's rows are in the table, but nothing counts them.
    assert 0 < left < ROWS
    with fresh_factory() as db:
        batch = db.scalars(select(ImportBatch)).one()
        assert batch.status is ImportStatus.RUNNING
        assert data_months(db, "city-of-london") is None
        assert db.scalar(select(func.count()).select_from(StreetCrime)
                         .where(StreetCrime.batch_id.in_(done_batches()))) == 0
        # Time passes: no progress for longer than an import may go quiet.
        db.execute(update(ImportBatch).where(ImportBatch.id == batch.id).values(
            heartbeat_at=utcnow() - importer.STALE_AFTER - timedelta(minutes=1)))
        db.commit()

    again = popcase(empty_database, "import", "police-uk", "--json", str(path))
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err.decode()
    report = json.loads(out)
    assert (report["rows_read"], report["added"], report["already_present"]) == (ROWS, ROWS, 0)

    with fresh_factory() as db:
        dead, done = db.scalars(select(ImportBatch).order_by(ImportBatch.id)).all()
        assert dead.status is ImportStatus.FAILED
        assert dead.message == "The import stopped without finishing; nothing was kept."
        assert db.scalar(select(func.count()).select_from(StreetCrime)
                         .where(StreetCrime.batch_id == dead.id)) == 0
        assert done.status is ImportStatus.DONE
        assert db.scalar(select(func.count()).select_from(StreetCrime)) == ROWS
        period = data_months(db, "city-of-london")
        assert period is not None and period.first.isoformat() == "2024-03-01"
