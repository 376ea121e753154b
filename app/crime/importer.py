"""Importing police.uk CSV files: files, folders or monthly zip archives, streamed in chunks.

Each file is one import batch. Rows are parsed and checked one by one (a bad row is rejected
with its line number, the others go on), projected to the British National Grid a chunk at a
time, and inserted with "do nothing if this identity is already stored", so importing a file
twice adds nothing. Every chunk commits with the batch's progress, so any server process can
report on a running import; rows count for analysis only once their batch is ``done``, and a
file that fails part-way is removed whole.
"""

from __future__ import annotations

import csv
import hashlib
import io
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from functools import partial
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.audit.service import AuditAction, record
from app.auth.context import Actor
from app.auth.permissions import covers_force
from app.bounds import LineTooLong, ZipBounds, ZipRefused, bounded_lines, check_zip
from app.crime import police_uk
from app.crime.cells import recount_cells
from app.crime.models import (
    CrimeOutcome,
    ImportBatch,
    ImportKind,
    ImportStatus,
    StopSearch,
    StreetCrime,
    StreetCrimeCell,
)
from app.crime.police_uk import Row
from app.crime.projection import TO_BNG
from app.db import utcnow
from app.observability.metrics import import_finished
from app.reference.models import Force
from app.reference.service import force_named, learn_force_name
from app.settings import get_settings

CHUNK_ROWS = 20000
READ_ERRORS = (UnicodeDecodeError, csv.Error, zipfile.BadZipFile, zlib.error, EOFError,
               OSError)
COMMIT_EVERY_S = 2.0
KEPT_PROBLEMS = 200  # rejected rows listed in the report; all are counted
STALE_AFTER = timedelta(minutes=10)  # a running import with no progress for this long died
TABLES: dict[ImportKind, Table] = {
    ImportKind.STREET: StreetCrime.__table__,  # type: ignore[dict-item]  # a model's __table__ is typed FromClause; it is a Table
    ImportKind.STOP_SEARCH: StopSearch.__table__,  # type: ignore[dict-item]  # a model's __table__ is typed FromClause; it is a Table
    ImportKind.OUTCOMES: CrimeOutcome.__table__,  # type: ignore[dict-item]  # a model's __table__ is typed FromClause; it is a Table
}


# --- where the files come from -----------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """One CSV file to import: on disk, or a member of a zip archive."""

    name: str
    size: int
    opener: Callable[[], IO[bytes]]

    def sha256(self) -> str:
        digest = hashlib.sha256()
        with self.opener() as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()


class SourceError(Exception):
    pass


def expand(paths: list[Path], bounds: ZipBounds | None = None) -> list[Source]:
    """Files, folders (searched recursively for .csv and .zip) and zip archives, as CSV
    sources in a stable order. Anything else given by name is still offered, so that it is
    refused with a message rather than silently skipped. A zip archive past ``bounds`` (too
    many members, or one too large or too far compressed) is refused before it is read."""
    bounds = bounds or ZipBounds.of(get_settings())
    sources: list[Source] = []
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                if found.suffix.lower() in (".csv", ".zip") and found.is_file():
                    sources += _from_file(found, bounds)
        elif path.is_file():
            sources += _from_file(path, bounds)
        else:
            raise SourceError(f"{path} does not exist.")
    return sources


def _from_file(path: Path, bounds: ZipBounds) -> list[Source]:
    if zipfile.is_zipfile(path):
        with path.open("rb") as stream, _checked(stream, path.name, bounds) as archive:
            members = _csv_members(archive)
        return [Source(f"{path.name}:{m.filename}", m.file_size, _member_opener(path, m.filename))
                for m in members]
    return [Source(path.name, path.stat().st_size, lambda p=path: p.open("rb"))]  # type: ignore[misc]  # mypy cannot type a lambda's default


def _member_opener(path: Path, member: str) -> Callable[[], IO[bytes]]:
    def open_member() -> IO[bytes]:
        archive = zipfile.ZipFile(path)
        stream = archive.open(member)
        stream_close = stream.close

        def close() -> None:
            stream_close()
            archive.close()

        stream.close = close  # type: ignore[method-assign]  # closing it closes the archive
        return stream
    return open_member


def from_bytes(name: str, content: bytes, bounds: ZipBounds | None = None) -> list[Source]:
    """Sources from an uploaded file (a CSV, or a zip of CSVs)."""
    if zipfile.is_zipfile(io.BytesIO(content)):
        bounds = bounds or ZipBounds.of(get_settings())
        with _checked(io.BytesIO(content), name, bounds) as archive:
            return [Source(f"{name}:{m.filename}", len(data := archive.read(m)),
                           lambda d=data: io.BytesIO(d))  # type: ignore[misc]  # mypy cannot type a lambda's default
                    for m in _csv_members(archive)]
    return [Source(name, len(content), lambda: io.BytesIO(content))]


def _checked(stream: IO[bytes], name: str, bounds: ZipBounds) -> zipfile.ZipFile:
    try:
        return check_zip(stream, bounds)
    except ZipRefused as refused:
        raise SourceError(f"{name}: {refused}") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceError(f"{name} is not a zip archive that can be read ({exc}).") from None


def _csv_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return sorted((i for i in archive.infolist()
                   if not i.is_dir() and i.filename.lower().endswith(".csv")),
                  key=lambda info: info.filename)


# --- the report --------------------------------------------------------------------------------

@dataclass
class Report:
    batch_id: int
    source: str
    kind: str | None
    status: str
    message: str
    rows_read: int
    added: int
    already_present: int
    without_location: int
    rejected: int
    problems: list[dict[str, Any]]

    @classmethod
    def of(cls, batch: ImportBatch) -> Report:
        return cls(batch.id, batch.source, batch.kind.value if batch.kind else None,
                   batch.status.value, batch.message, batch.rows_read, batch.added,
                   batch.already_present, batch.without_location, batch.rejected,
                   list(batch.problems))


Progress = Callable[[ImportBatch], None]


# --- importing ---------------------------------------------------------------------------------

def import_sources(factory: sessionmaker[Session], actor: Actor, sources: list[Source],
                   progress: Progress | None = None, *,
                   force_id: str | None = None, job_id: int | None = None) -> list[Report]:
    """``force_id``: the force that published the files, for files whose name does not say
    (police.uk names them YYYY-MM-force-kind.csv) and whose rows do not either. ``job_id``:
    the import job a worker runs them for (see app.crime.jobs)."""
    reports = []
    for source in sources:
        reports.append(import_source(factory, actor, source, progress, force_id=force_id,
                                     job_id=job_id))
    if any(r.added for r in reports):
        refresh_statistics(factory, {ImportKind(r.kind) for r in reports if r.added and r.kind})
    return reports


def refresh_statistics(factory: sessionmaker[Session], kinds: set[ImportKind]) -> None:
    """Fresh planner statistics after new rows, so that the hotspot count is read from its
    covering index (SQLite samples a few hundred rows per index: cheap on any table size)."""
    with factory() as db:
        connection = db.connection()
        sqlite_db = connection.dialect.name == "sqlite"
        if sqlite_db:
            connection.exec_driver_sql("PRAGMA analysis_limit = 400")
        for kind in kinds:
            connection.exec_driver_sql(f"ANALYZE {TABLES[kind].name}")
        if ImportKind.STREET in kinds:  # without them PostgreSQL sorts the cells on disk
            connection.exec_driver_sql(f"ANALYZE {StreetCrimeCell.__tablename__}")
        db.commit()


def import_source(factory: sessionmaker[Session], actor: Actor, source: Source,
                  progress: Progress | None = None, *, force_id: str | None = None,
                  job_id: int | None = None) -> Report:
    with factory() as db:
        abandon_stale_batches(db, actor)
        batch = _start_batch(db, actor, source, force_id, job_id)
        try:
            _run(db, batch, source, actor, progress)
        except (police_uk.HeaderRefused, _FileProblem) as refused:
            _fail(db, batch, actor, str(refused))
        except BaseException:
            _fail(db, batch, actor, "The import stopped unexpectedly; nothing was kept.")
            raise
        return Report.of(batch)


class _FileProblem(Exception):
    pass


def _start_batch(db: Session, actor: Actor, source: Source,
                 force_id: str | None, job_id: int | None = None) -> ImportBatch:
    try:
        sha256, problem = source.sha256(), ""
    except READ_ERRORS as exc:  # a corrupt archive member, a vanished file
        sha256, problem = "", f"The file cannot be read ({exc})."
    named = police_uk.facts_from_name(source.name).force
    named_force = db.get(Force, named) if named else None
    chosen = db.get(Force, force_id) if force_id else None
    if force_id and chosen is None:
        problem = problem or f"There is no police force {force_id}."
    elif chosen and named_force and chosen.id != named_force.id:
        problem = problem or (f"The file's name says it is {named_force.label}'s, not "
                              f"{chosen.label}'s.")
    owner = chosen or named_force
    if owner is not None and not problem:
        problem = _not_ones_own(actor, owner)
    batch = ImportBatch(source=source.name[:500], sha256=sha256, status=ImportStatus.RUNNING,
                        bytes_total=source.size, message=problem,
                        user_id=actor.user.id if actor.user else None, actor=actor.username,
                        force_id=owner.id if owner else None, months=[], job_id=job_id)
    db.add(batch)
    db.commit()
    return batch


def _not_ones_own(actor: Actor, force: Force) -> str:
    """Why the actor may not import a force's data ("" if they may): its rows would count in
    every figure of that force. The machine's operator may import any force's."""
    if actor.user is None or covers_force(actor.user, force.id):
        return ""
    return f"This file is {force.label}'s: you import the data of your own force only."


def _run(db: Session, batch: ImportBatch, source: Source, actor: Actor,
         progress: Progress | None) -> None:
    if batch.message:
        raise _FileProblem(batch.message)
    busy = db.scalar(select(ImportBatch.id).where(
        ImportBatch.sha256 == batch.sha256, ImportBatch.status == ImportStatus.RUNNING,
        ImportBatch.id != batch.id))
    if busy:
        raise _FileProblem(f"The same file is being imported right now (import {busy}).")
    facts = police_uk.facts_from_name(source.name)
    with source.opener() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        # Lines are bounded before the csv module sees them: it would read a line whole.
        reader = csv.reader(bounded_lines(text, get_settings().csv_max_line_kb * 1024))
        try:
            header = next(reader, None)
        except LineTooLong as exc:
            raise _FileProblem(str(exc)) from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise _FileProblem(f"This is not a CSV text file ({exc}).") from None
        if header is None:
            raise _FileProblem("The file is empty.")
        kind, positions = police_uk.detect_kind(header)
        batch.kind = kind
        last_commit = time.monotonic()
        owner = _Owner(db, batch, actor)
        with _Writer(kind) as writer:
            # The writer stores one chunk while this thread parses the next: the database
            # maintains its indexes outside Python's lock, so the two share the machine.
            for chunk in _chunks(reader, raw, len(header), kind, positions, facts):
                owner.take(chunk.rows)
                rows = _prepare(batch, kind, chunk.rows)
                batch.added += writer.wait()
                writer.store(db.connection(), rows)
                batch.rows_read += chunk.read
                for line, message in chunk.problems:
                    _reject(batch, line, message)
                batch.bytes_done = chunk.position or batch.bytes_done
                # Commit (and so show progress) every few seconds: each commit rewrites the
                # index pages it touched, so committing every chunk would slow a big import.
                if time.monotonic() - last_commit >= COMMIT_EVERY_S:
                    batch.added += writer.wait()
                    batch.heartbeat_at = utcnow()
                    db.commit()
                    last_commit = time.monotonic()
                    if progress:
                        progress(batch)
            batch.added += writer.wait()
    owner.finish(facts)
    _finish(db, batch, actor)
    if progress:
        progress(batch)


class _Owner:
    """The force that published a file (its rows count for that force alone), the months it
    holds, and the force's name as its rows write it.

    The force comes from the file's name, or the one chosen for it, or else from the force its
    rows are reported by; a file whose rows are reported by another force than its name says is
    refused, as is one whose force cannot be told."""

    def __init__(self, db: Session, batch: ImportBatch, actor: Actor) -> None:
        self.db, self.batch, self.actor = db, batch, actor
        self.months: set[str] = set()
        self.names: Counter[str] = Counter()
        self.checked = False

    def take(self, rows: list[Row]) -> None:
        """Notes a chunk's months and reporting forces; stop-and-search rows (which do not
        name their force) are given the file's."""
        layout = police_uk.STORED_COLUMNS[self.batch.kind]  # type: ignore[index]  # a running batch has its kind
        month = layout.index("month")
        self.months.update(m[:7] for m in {row[month] for row in rows})
        reporters: Counter[str] = Counter()
        if "reported_by" in layout:
            by, within = layout.index("reported_by"), layout.index("falls_within")
            reporters.update(row[by] for row in rows if row[by])
            self.names.update(row[within] for row in rows
                              if row[within] and row[within] == row[by])
        if rows and not self.checked:
            self.checked = True
            self._check(reporters.most_common(1)[0][0] if reporters else "")
        if self.batch.kind is ImportKind.STOP_SEARCH:
            force = layout.index("force")
            rows[:] = [(*row[:force], self.batch.force_id or "", *row[force + 1:])
                       for row in rows]

    def _check(self, reporter: str) -> None:
        named = force_named(self.db, reporter) if reporter else None
        owner = self.db.get(Force, self.batch.force_id) if self.batch.force_id else None
        if owner is None and named is None:
            raise _FileProblem(
                "popcase cannot tell which police force published this file: keep police.uk's "
                "file name (such as 2024-01-north-wales-street.csv) or choose the force.")
        if owner is not None and named is not None and named.id != owner.id:
            raise _FileProblem(f"Its rows were reported by {reporter}, not by {owner.label}.")
        force = owner or named
        assert force is not None
        if problem := _not_ones_own(self.actor, force):
            raise _FileProblem(problem)
        self.batch.force_id = force.id

    def finish(self, facts: police_uk.FileFacts) -> None:
        if not self.months and facts.month and self.batch.kind is ImportKind.STREET:
            # A month's file with no crime in it: the month is present, with none.
            self.months.add(facts.month.isoformat()[:7])
        self.batch.months = sorted(self.months)
        if self.batch.force_id and self.names:
            learn_force_name(self.db, self.batch.force_id, self.names.most_common(1)[0][0])


@dataclass
class _Chunk:
    rows: list[Row]
    read: int
    problems: list[tuple[int, str]]
    position: int


def _chunks(reader: Any, raw: IO[bytes], width: int, kind: ImportKind,
            positions: dict[str, int], facts: police_uk.FileFacts) -> Iterator[_Chunk]:
    identities = police_uk.Identities(kind)
    parse = _parser(kind, positions, identities, facts)
    rows: list[Row] = []
    problems: list[tuple[int, str]] = []
    read, chunk_rows = 0, CHUNK_ROWS
    first_line = reader.line_num + 1  # a quoted value may span lines: report where it starts
    try:
        for row in reader:  # the hot loop of a million-row import: locals only
            line, first_line = first_line, reader.line_num + 1
            if len(row) != width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                read += 1
                problems.append((line, f"has {len(row)} values where the header has {width}"))
                continue
            read += 1
            try:
                rows.append(parse(row))
            except police_uk.RowProblem as problem:
                problems.append((line, problem.message))
                continue
            if len(rows) >= chunk_rows:
                yield _Chunk(rows, read, problems, _position(raw))
                rows, problems, read = [], [], 0
    except LineTooLong as exc:
        raise _FileProblem(str(exc)) from None
    except READ_ERRORS as exc:
        raise _FileProblem(f"The file cannot be read past line {reader.line_num} "
                           f"({exc}).") from None
    yield _Chunk(rows, read, problems, _position(raw))


def _parser(kind: ImportKind, positions: dict[str, int], identities: police_uk.Identities,
            facts: police_uk.FileFacts) -> Callable[[list[str]], Row]:
    if kind is ImportKind.STREET:
        return partial(police_uk.street_row, identities=identities)
    if kind is ImportKind.OUTCOMES:
        return lambda row: police_uk.outcome_row(row, positions, identities)
    return lambda row: police_uk.stop_search_row(row, positions, identities, facts)


def _reject(batch: ImportBatch, line: int, message: str) -> None:
    batch.rejected += 1
    if len(batch.problems) < KEPT_PROBLEMS:
        batch.problems = [*batch.problems, {"line": line, "message": message}]


def _prepare(batch: ImportBatch, kind: ImportKind, rows: list[Row]) -> list[Row]:
    """A chunk's rows as they are stored: with their British National Grid point (but
    outcomes) and their batch. Counts the rows without a location and notes the months."""
    if not rows:  # a chunk of only rejected rows, or a header-only file
        return rows
    layout = police_uk.STORED_COLUMNS[kind]
    lon, lat, month = (layout.index(c) for c in ("longitude", "latitude", "month"))
    batch.without_location += sum(row[lon] is None for row in rows)
    months = sorted({date.fromisoformat(m) for m in {row[month] for row in rows}})
    batch.first_month = min(months[0], batch.first_month or months[0])
    batch.last_month = max(months[-1], batch.last_month or months[-1])
    batch_id = batch.id
    if kind is ImportKind.OUTCOMES:
        return sorted(((*row, batch_id) for row in rows), key=itemgetter(0))
    located = [row for row in rows if row[lon] is not None]
    points = zip(*TO_BNG.transform([row[lon] for row in located], [row[lat] for row in located]),
                 strict=True) if located else iter(())
    prepared = [(*row, *(_metres(points) if row[lon] is not None else _NO_POINT), batch_id)
                for row in rows]
    # In the order of the place index (eastings across the whole force, where a month's file
    # lands at random): each of its pages is then visited once per chunk. The unique index
    # and the month index take a month's rows in a stretch of their own, small enough to
    # stay in the cache in any order.
    easting = len(layout)
    prepared.sort(key=lambda row: (row[easting] is not None, row[easting] or 0,
                                   row[easting + 1] or 0))
    return prepared


_NO_POINT = (None, None)


def _metres(points: Iterator[tuple[float, float]]) -> tuple[int, int]:
    """The next projected point, in whole metres."""
    easting, northing = next(points)
    return round(easting), round(northing)


def _stored_columns(kind: ImportKind) -> list[str]:
    extra = ["batch_id"] if kind is ImportKind.OUTCOMES else ["easting", "northing", "batch_id"]
    return [*police_uk.STORED_COLUMNS[kind], *extra]


class _Writer:
    """Stores chunks of prepared rows on a thread of its own, one at a time, in the import's
    transaction; ``wait`` returns how many rows the last chunk added (the others were already
    stored). The session's connection is used by one thread at a time: the importer waits for
    the writer before it commits or touches the database again, and hands it the connection
    of the session's current transaction with each chunk (a commit ends the transaction)."""

    def __init__(self, kind: ImportKind) -> None:
        self.kind = kind
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer")
        self.pending: Future[int] | None = None

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        # On a failure the chunk being written is waited for (and its error dropped): the
        # import's transaction is rolled back after, never while the writer uses it.
        if self.pending is not None:
            with suppress(Exception):
                self.pending.result()
        self.pool.shutdown(wait=True)

    def store(self, connection: Any, rows: list[Row]) -> None:
        """Stages the chunk in this thread (quick: a table without indexes), then merges it
        into the indexed table on the writer's thread, in one statement that runs without
        Python's lock while this thread parses the next chunk."""
        assert self.pending is None, "wait for the chunk before"
        if rows:
            driver = connection.connection.driver_connection
            postgresql = connection.dialect.name == "postgresql"
            (_stage_postgresql if postgresql else _stage_sqlite)(driver, self.kind, rows)
            self.pending = self.pool.submit(
                _merge_postgresql if postgresql else _merge_sqlite, driver, self.kind)

    def wait(self) -> int:
        pending, self.pending = self.pending, None
        return pending.result() if pending is not None else 0


def _stage_name(kind: ImportKind) -> str:
    return f"import_stage_{TABLES[kind].name}"


STAGE_CACHE_KB = 65536  # a chunk of rows (some 6 MB) stays in memory, not in a temporary file


def _stage_sqlite(driver: Any, kind: ImportKind, rows: list[Row]) -> None:
    """The chunk into a temporary table, straight to the driver (a million rows do not need a
    million rounds of SQLAlchemy's type processing). Its columns have no declared type, so
    values reach the real table exactly as bound and take its column types there."""
    if kind is ImportKind.STOP_SEARCH:
        rows = _stop_search_times_for_sqlite(rows)
    columns = _stored_columns(kind)
    stage = _stage_name(kind)
    cursor = driver.cursor()
    try:
        if cursor.execute("SELECT 1 FROM sqlite_temp_master WHERE name = ?",
                          (stage,)).fetchone() is None:
            cursor.execute(f"PRAGMA temp.cache_size = -{STAGE_CACHE_KB}")
            cursor.execute(f"CREATE TEMP TABLE {stage} ({', '.join(columns)})")
        cursor.executemany(f"INSERT INTO temp.{stage} VALUES ({', '.join('?' * len(columns))})",
                           rows)
    finally:
        cursor.close()


def _merge_sqlite(driver: Any, kind: ImportKind) -> int:
    """One insert-select of the staged rows that are new: SQLite maintains the indexes in a
    single call that releases Python's lock. (Rows inserted one by one take the lock back
    between rows, and so wait for the parsing thread to let go of it each time: the two
    threads would take turns instead of working at once.)"""
    names = ", ".join(_stored_columns(kind))
    stage = _stage_name(kind)
    cursor = driver.cursor()
    try:
        # "WHERE true": SQLite's rule for an insert-select followed by ON CONFLICT.
        cursor.execute(f"INSERT INTO {TABLES[kind].name} ({names}) SELECT {names} "
                       f"FROM temp.{stage} WHERE true ORDER BY rowid "
                       "ON CONFLICT (identity) DO NOTHING")
        added = int(cursor.rowcount)  # rows inserted: the others were already stored
        cursor.execute(f"DELETE FROM temp.{stage}")
        return added
    finally:
        cursor.close()


def _stop_search_times_for_sqlite(rows: list[Row]) -> list[Row]:
    """Times as SQLAlchemy stores them in SQLite (ISO text, UTC)."""
    at = police_uk.STORED_COLUMNS[ImportKind.STOP_SEARCH].index("occurred_at")
    return [(*row[:at], row[at].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
             *row[at + 1:]) for row in rows]


def _stage_postgresql(driver: Any, kind: ImportKind, rows: list[Row]) -> None:
    """COPY the chunk into a temporary staging table: COPY is PostgreSQL's fast path but
    cannot skip rows already stored."""
    names = ", ".join(_stored_columns(kind))
    stage = _stage_name(kind)
    cursor = driver.cursor()
    try:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} AS "
                       f"SELECT {names} FROM {TABLES[kind].name} WITH NO DATA")
        with cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()


def _merge_postgresql(driver: Any, kind: ImportKind) -> int:
    """One insert-select of what is new in the staged chunk."""
    names = ", ".join(_stored_columns(kind))
    stage = _stage_name(kind)
    cursor = driver.cursor()
    try:
        cursor.execute(f"INSERT INTO {TABLES[kind].name} ({names}) SELECT {names} FROM {stage} "
                       "ON CONFLICT (identity) DO NOTHING")
        added = int(cursor.rowcount)
        cursor.execute(f"TRUNCATE {stage}")
        return added
    finally:
        cursor.close()


def _position(raw: IO[bytes]) -> int:
    try:
        return raw.tell()
    except (OSError, ValueError):
        return 0


def _finish(db: Session, batch: ImportBatch, actor: Actor) -> None:
    batch.already_present = batch.rows_read - batch.rejected - batch.added
    batch.status = ImportStatus.DONE
    batch.finished_at = utcnow()
    batch.bytes_done = batch.bytes_total
    if batch.rows_read == 0:
        batch.message = "The file has a header but no rows."
    if batch.kind is ImportKind.STREET:  # its rows count from this commit: so do its cells
        recount_cells(db, batch.force_id, batch.months)
    record(db, actor, AuditAction.DATA_IMPORT, object_type="import",
           object_ref=str(batch.id), details=_audit_details(batch))
    db.commit()
    import_finished(batch)  # metrics and the job's log line


def _fail(db: Session, batch: ImportBatch, actor: Actor, message: str) -> None:
    db.rollback()
    batch = db.get(ImportBatch, batch.id) or batch
    counted = batch.status is ImportStatus.DONE  # failed after it finished: its rows counted
    if batch.kind in TABLES:
        table = TABLES[batch.kind]
        db.execute(delete(table).where(table.c.batch_id == batch.id))
    batch.status, batch.message, batch.finished_at = ImportStatus.FAILED, message, utcnow()
    if counted and batch.kind is ImportKind.STREET:
        recount_cells(db, batch.force_id, batch.months)
    batch.added = batch.already_present = 0
    record(db, actor, AuditAction.DATA_IMPORT, object_type="import", object_ref=str(batch.id),
           details=_audit_details(batch))
    db.commit()
    import_finished(batch)


def _audit_details(batch: ImportBatch) -> dict[str, Any]:
    return {"source": batch.source, "kind": batch.kind.value if batch.kind else None,
            "status": batch.status.value, "rows_read": batch.rows_read, "added": batch.added,
            "already_present": batch.already_present, "rejected": batch.rejected,
            "sha256": batch.sha256}


def abandon_stale_batches(db: Session, actor: Actor) -> int:
    """Imports whose process died: remove what they inserted and mark them failed. A job's
    imports are left to its lease (app.crime.jobs): the worker that takes it up clears them."""
    cutoff = utcnow() - STALE_AFTER
    stale = list(db.scalars(select(ImportBatch).where(
        ImportBatch.status == ImportStatus.RUNNING, ImportBatch.heartbeat_at < cutoff,
        ImportBatch.job_id.is_(None))))
    for batch in stale:
        if batch.kind in TABLES:
            table = TABLES[batch.kind]
            db.execute(delete(table).where(table.c.batch_id == batch.id))
        db.execute(update(ImportBatch).where(ImportBatch.id == batch.id).values(
            status=ImportStatus.FAILED, finished_at=utcnow(), added=0, already_present=0,
            message="The import stopped without finishing; nothing was kept."))
        record(db, actor, AuditAction.DATA_IMPORT, object_type="import",
               object_ref=str(batch.id), details={"source": batch.source, "status": "abandoned"})
    if stale:
        db.commit()
    return len(stale)


def done_batches(force_id: str | None = None) -> Any:
    """SQL: the ids of finished imports, whose rows analysis may count; with a force, only
    those of the files it published (a figure for an area counts its force's rows alone)."""
    query = select(ImportBatch.id).where(ImportBatch.status == ImportStatus.DONE)
    return query.where(ImportBatch.force_id == force_id) if force_id is not None else query

