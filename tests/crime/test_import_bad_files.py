"""Importing files that are not police.uk files, or that hold bad rows, or that fail part-way.

A refused file leaves nothing behind but its failed batch (with the message) and its access-log
entry; a bad row is rejected with its line number while the rest of its file is imported. Each
test gets a database of its own (``empty_database``): the importer commits from its own sessions.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session, sessionmaker

import app.crime.importer as importer
from app.audit.models import AuditEntry
from app.auth.context import Actor
from app.crime.importer import (
    Report,
    Source,
    SourceError,
    expand,
    from_bytes,
    import_source,
    import_sources,
)
from app.crime.models import (
    CrimeOutcome,
    ImportBatch,
    ImportStatus,
    StopSearch,
    StreetCrime,
)
from app.crime.police_uk import OUTCOME_COLUMNS, STOP_SEARCH_COLUMNS, STREET_COLUMNS
from app.db import utcnow
from tests.conftest import POLICE_UK_DATA, needs_data

DATA = POLICE_UK_DATA
FILES = Path(__file__).parent / "files"
BAD_STREET = FILES / "bad-rows" / "2019-01-city-of-london-street.csv"
BAD_SEARCHES = FILES / "bad-rows" / "2018-04-city-of-london-stop-and-search.csv"
OUTCOMES = FILES / "2018-04-city-of-london-outcomes.csv"
ACTOR = Actor.cli()
TABLES: list[Table] = [StreetCrime.__table__, StopSearch.__table__,  # type: ignore[list-item]
                       CrimeOutcome.__table__]
STREET_HEADER = ",".join(STREET_COLUMNS)
STREET_ROW = ("320930473d454d613ead909a28008a91a607c93f8b74339623a4cec4a252b0dd,2019-01,"
              "City of London Police,City of London Police,-0.112422,51.515381,"
              "On or near Star Yard,E01000914,Camden 028B,Bicycle theft,"
              "Investigation complete; no suspect identified,")


@pytest.fixture
def factory(fresh_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    return fresh_factory


def real(name: str) -> Path:
    return DATA / name[:7] / name


def data_rows(content: bytes) -> int:
    return len(list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))) - 1


def rows_of(factory: sessionmaker[Session], batch_id: int) -> int:
    with factory() as db:
        return sum(db.scalar(select(func.count()).select_from(t).where(
            t.c.batch_id == batch_id)) or 0 for t in TABLES)


def all_rows(factory: sessionmaker[Session]) -> int:
    with factory() as db:
        return sum(db.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES)


def batch_of(factory: sessionmaker[Session], batch_id: int) -> ImportBatch:
    with factory() as db:
        batch = db.get(ImportBatch, batch_id)
        assert batch is not None
        return batch


def audit_details(factory: sessionmaker[Session], batch_id: int) -> list[dict[str, Any]]:
    with factory() as db:
        return [e.details for e in db.scalars(select(AuditEntry).where(
            AuditEntry.action == "data.import", AuditEntry.object_ref == str(batch_id)))]


def assert_refused(factory: sessionmaker[Session], report: Report, message: str) -> None:
    """Refused whole: a failed batch holding the message, an access-log entry, no rows."""
    assert report.status == "failed"
    assert message in report.message
    assert (report.added, report.already_present) == (0, 0)
    assert rows_of(factory, report.batch_id) == 0
    batch = batch_of(factory, report.batch_id)
    assert batch.status is ImportStatus.FAILED and batch.message == report.message
    assert batch.finished_at is not None
    [details] = audit_details(factory, report.batch_id)
    assert details["status"] == "failed" and details["added"] == 0


def import_file(factory: sessionmaker[Session], path: Path) -> Report:
    [source] = expand([path])
    return import_source(factory, ACTOR, source)


# --- files refused whole -----------------------------------------------------------------------

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00"
       b"\x00\x1f\xf3\xffa\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
REFUSED = {
    "a CSV of something else": (
        "2019-01-city-of-london-street.csv",
        b"WD22CD,WD22NM,LAD22CD,LAD22NM\nE05013794,Church Street,E09000033,Westminster\n",
        'not a police.uk street, outcomes or stop-and-search CSV file: its first line is '
        '"WD22CD, WD22NM, LAD22CD, LAD22NM".'),
    "a street header without LSOA name": (
        "2019-01-city-of-london-street.csv",
        (",".join(c for c in STREET_COLUMNS if c != "LSOA name") + "\n"
         + STREET_ROW.replace(",Camden 028B", "") + "\n").encode(),
        "It looks closest to the police.uk street-level crime kind, but lacks: LSOA name."),
    "a stop-and-search header without Legislation": (
        "2018-04-city-of-london-stop-and-search.csv",
        (",".join(c for c in STOP_SEARCH_COLUMNS if c != "Legislation") + "\n"
         "Person search,2018-04-01T00:08:42+00:00,,,51.512528,-0.081281,Female,over 34,"
         "Black/African/Caribbean/Black British - Caribbean,Black,Controlled drugs,"
         "Penalty Notice for Disorder,True,False\n").encode(),
        "It looks closest to the police.uk stop and search kind, but lacks: Legislation."),
    "an outcomes header without Outcome type": (
        "2018-04-city-of-london-outcomes.csv",
        (",".join(OUTCOME_COLUMNS[:-1]) + "\n").encode(),
        'not a police.uk street, outcomes or stop-and-search CSV file: its first line is '
        '"Crime ID, Month, Reported by, Falls within, Longitude, Latitude, ...".'),
    "a PNG image": ("map.png", PNG, "This is not a CSV text file"),
    "a binary blob that is not UTF-8": (
        "2019-01-city-of-london-street.csv", bytes(range(256)) * 64,
        "This is not a CSV text file"),
    "a UTF-16 export": (
        "2019-01-city-of-london-street.csv",
        (STREET_HEADER + "\r\n" + STREET_ROW + "\r\n").encode("utf-16"),
        "This is not a CSV text file"),
    "an empty file": ("2019-01-city-of-london-street.csv", b"", "The file is empty."),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_file_that_is_not_a_police_uk_csv_is_refused_whole(
        factory: sessionmaker[Session], tmp_path: Path, case: str) -> None:
    name, content, message = REFUSED[case]
    path = tmp_path / name
    path.write_bytes(content)
    report = import_file(factory, path)
    assert_refused(factory, report, message)
    assert (report.rows_read, report.rejected, report.problems) == (0, 0, [])
    assert all_rows(factory) == 0


def test_an_outcomes_header_missing_a_column_is_told_what_it_lacks(
        factory: sessionmaker[Session]) -> None:
    [source] = from_bytes("2018-04-city-of-london-outcomes.csv",
                          (",".join(OUTCOME_COLUMNS[:-1]) + "\n").encode())
    report = import_source(factory, ACTOR, source)
    assert_refused(factory, report, "It looks closest to the police.uk outcomes kind, but lacks: "
                                    "Outcome type.")


def test_a_refused_file_does_not_stop_the_files_after_it(
        factory: sessionmaker[Session], tmp_path: Path) -> None:
    other = tmp_path / "wards.csv"
    other.write_bytes(REFUSED["a CSV of something else"][1])
    outcomes_report, refused, street_report = import_sources(
        factory, ACTOR, expand([OUTCOMES, other, BAD_STREET]))
    assert outcomes_report.status == street_report.status == "done"
    assert_refused(factory, refused, "not a police.uk")
    assert all_rows(factory) == outcomes_report.added + street_report.added > 0


def test_a_missing_path_is_refused_before_anything_is_imported(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"nowhere\.csv does not exist"):
        expand([OUTCOMES, tmp_path / "nowhere.csv"])


@pytest.mark.parametrize("header", [STREET_COLUMNS, STOP_SEARCH_COLUMNS, OUTCOME_COLUMNS],
                         ids=["street", "stop-and-search", "outcomes"])
def test_a_header_only_file_is_done_with_no_rows_and_a_message(
        factory: sessionmaker[Session], header: tuple[str, ...]) -> None:
    [source] = from_bytes("2019-01-city-of-london-file.csv",
                          (",".join(header) + "\r\n").encode())
    report = import_source(factory, ACTOR, source)
    assert (report.status, report.rows_read, report.added, report.rejected) == ("done", 0, 0, 0)
    assert report.message == "The file has a header but no rows."
    assert batch_of(factory, report.batch_id).status is ImportStatus.DONE


def test_a_file_whose_every_row_is_rejected_is_done_with_its_problems(
        factory: sessionmaker[Session]) -> None:
    bad = STREET_ROW.replace("2019-01", "2019-13")
    [source] = from_bytes("2019-13-city-of-london-street.csv",
                          f"{STREET_HEADER}\n{bad}\n{bad}\n".encode())
    report = import_source(factory, ACTOR, source)
    assert (report.status, report.rows_read, report.added, report.rejected) == ("done", 2, 0, 2)
    assert [p["line"] for p in report.problems] == [2, 3]


# --- bad rows: rejected with their line number, the others imported ----------------------------

def crlf(content: bytes) -> bytes:
    return content.replace(b"\n", b"\r\n")


@pytest.mark.parametrize("line_ending", ["LF", "CRLF"])
def test_bad_street_rows_are_rejected_with_their_line_numbers(
        factory: sessionmaker[Session], line_ending: str) -> None:
    content = BAD_STREET.read_bytes()
    assert b"\r" not in content
    [source] = from_bytes(BAD_STREET.name, content if line_ending == "LF" else crlf(content))
    report = import_source(factory, ACTOR, source)

    assert (report.status, report.kind, report.message) == ("done", "street", "")
    # Lines 10-11 are one record (a quoted Location holding a newline): 11 records in 13 lines.
    assert (report.rows_read, report.added, report.already_present, report.rejected,
            report.without_location) == (11, 3, 0, 8, 1)
    assert report.problems == [
        {"line": 3, "message": "has 7 values where the header has 12"},
        {"line": 4, "message": "Month '2019-13' is not a month (YYYY-MM)"},
        {"line": 5, "message": "Month 'January' is not a month (YYYY-MM)"},
        {"line": 6, "message": "the coordinates (abc, 51.515381) are not numbers"},
        {"line": 7, "message": "the coordinates (-0.112422, empty) are not numbers"},
        {"line": 8, "message": "the coordinates (2.352222, 48.856613) are outside the "
                               "United Kingdom"},
        {"line": 9, "message": "Crime type 'Littering' is not a police.uk crime type"},
        {"line": 12, "message": "LSOA code is longer than 9 characters"},
    ]
    assert batch_of(factory, report.batch_id).problems == report.problems
    with factory() as db:
        stored = db.execute(select(StreetCrime.crime_id, StreetCrime.category,
                                   StreetCrime.location, StreetCrime.easting,
                                   StreetCrime.northing)
                            .order_by(StreetCrime.category, StreetCrime.location)).all()
    newline = "\n" if line_ending == "LF" else "\r\n"
    assert [(c, k, place) for c, k, place, _, _ in stored] == [
        (None, "anti-social-behaviour", "No Location"),
        (None, "anti-social-behaviour",
         f"On or near Carthusian Street{newline}(Charterhouse Square side)"),
        ("320930473d454d613ead909a28008a91a607c93f8b74339623a4cec4a252b0dd", "bicycle-theft",
         "On or near Star Yard"),
    ]
    # British National Grid metres (Carthusian Street EC1, Star Yard WC2), to within 20 m.
    assert stored[0][3:] == (None, None)
    for (*_, easting, northing), (e, n) in zip(stored[1:], [(532086, 181913), (531073, 181295)],
                                              strict=True):
        assert abs(easting - e) <= 20 and abs(northing - n) <= 20


def test_a_bad_record_spanning_two_lines_is_reported_at_its_first_line(
        factory: sessionmaker[Session]) -> None:
    bad = STREET_ROW.replace("On or near Star Yard", '"On or near\nStar Yard"').replace(
        "Bicycle theft", "Nonsense")
    [source] = from_bytes("2019-01-city-of-london-street.csv",
                          f"{STREET_HEADER}\n{bad}\n{STREET_ROW}\n".encode())
    report = import_source(factory, ACTOR, source)
    assert (report.rows_read, report.added, report.rejected) == (2, 1, 1)
    assert report.problems == [
        {"line": 2, "message": "Crime type 'Nonsense' is not a police.uk crime type"}]


def test_bad_stop_and_search_rows_are_rejected_with_their_line_numbers(
        factory: sessionmaker[Session]) -> None:
    report = import_file(factory, BAD_SEARCHES)
    assert (report.status, report.kind) == ("done", "stop-and-search")
    assert (report.rows_read, report.added, report.rejected, report.without_location) \
        == (8, 3, 5, 2)
    assert report.problems == [
        {"line": 3, "message": "Date 'yesterday evening' is not a date and time (ISO 8601)"},
        {"line": 4, "message": "Date '2018-04-02T10:15:00' has no UTC offset"},
        {"line": 5, "message": "Date '2018-04-31T10:15:00+00:00' is not a date and time "
                               "(ISO 8601)"},
        {"line": 7, "message": "Gender is longer than 40 characters"},
        {"line": 8, "message": "the coordinates (empty, 51.512147) are not numbers"},
    ]
    with factory() as db:
        stored = db.execute(select(StopSearch.month, StopSearch.occurred_at,
                                   StopSearch.search_type, StopSearch.force)
                            .order_by(StopSearch.occurred_at)).all()
    assert [(m, t.isoformat(), s, f) for m, t, s, f in stored] == [
        (date(2018, 4, 1), "2018-03-31T23:30:00+00:00", "Vehicle search", "city-of-london"),
        (date(2018, 4, 1), "2018-04-01T00:08:42+00:00", "Person search", "city-of-london"),
        (date(2018, 4, 1), "2018-04-01T01:53:44+00:00", "Person search", "city-of-london"),
    ]


def test_bad_outcome_rows_and_odd_value_counts_are_rejected_with_their_line_numbers(
        factory: sessionmaker[Session]) -> None:
    lines = OUTCOMES.read_text().splitlines()
    header, good = lines[0], lines[1:3]
    no_crime_id = "," + good[0].split(",", 1)[1]
    bad_month = good[1].replace(",2018-04,", ",2018/04,")
    too_many = good[0] + ",extra"
    content = "\n".join([header, good[0], no_crime_id, bad_month, "", too_many, good[1]]) + "\n"
    [source] = from_bytes(OUTCOMES.name, content.encode())
    report = import_source(factory, ACTOR, source)
    # The blank line 5 is skipped, not counted.
    assert (report.status, report.rows_read, report.added, report.rejected) == ("done", 5, 2, 3)
    assert report.problems == [
        {"line": 3, "message": "an outcome needs the Crime ID it belongs to"},
        {"line": 4, "message": "Month '2018/04' is not a month (YYYY-MM)"},
        {"line": 6, "message": "has 11 values where the header has 10"},
    ]


def test_only_the_first_problems_are_kept_but_all_are_counted(
        factory: sessionmaker[Session]) -> None:
    bad = STREET_ROW.replace("Bicycle theft", "Jaywalking")
    content = "\n".join([STREET_HEADER, *[bad] * 250, STREET_ROW]) + "\n"
    [source] = from_bytes("2019-01-city-of-london-street.csv", content.encode())
    report = import_source(factory, ACTOR, source)
    assert (report.status, report.rows_read, report.added, report.rejected) \
        == ("done", 251, 1, 250)
    assert len(report.problems) == importer.KEPT_PROBLEMS == 200
    assert [p["line"] for p in report.problems] == list(range(2, 202))


# --- a file that fails part-way ----------------------------------------------------------------

@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commit every 500 rows, so a failing file has committed rows to remove."""
    monkeypatch.setattr(importer, "CHUNK_ROWS", 500)
    monkeypatch.setattr(importer, "COMMIT_EVERY_S", 0.0)


def watching(factory: sessionmaker[Session], source: str,
             seen: list[int]) -> Callable[[ImportBatch], None]:
    """A progress callback noting, from another session, the rows committed so far."""
    def progress(batch: ImportBatch) -> None:
        if batch.source == source and batch.status is ImportStatus.RUNNING:
            seen.append(rows_of(factory, batch.id))
    return progress


@needs_data
def test_a_file_that_turns_out_not_to_be_utf8_part_way_leaves_nothing(
        factory: sessionmaker[Session], small_chunks: None) -> None:
    name = "2018-05-metropolitan-stop-and-search.csv"
    good = real("2018-05-city-of-london-street.csv")
    content = real(name).read_bytes()
    cut = content.index(b"\n", 1_500_000) + 1  # some 6,000 rows in
    broken = content[:cut] + b"Person search,\xff\xfe\xfa,,,\n" + content[cut:]
    committed: list[int] = []

    first, failed = import_sources(factory, ACTOR,
                                   [*expand([good]), *from_bytes(name, broken)],
                                   watching(factory, name, committed))
    assert first.status == "done" and first.added == data_rows(good.read_bytes())
    assert max(committed) >= 5000  # rows were committed before the file failed...
    assert failed.message.startswith("The file cannot be read past line ")
    assert_refused(factory, failed, "'utf-8' codec can't decode byte 0xff")
    assert rows_of(factory, failed.batch_id) == 0  # ...and removed with it
    assert rows_of(factory, first.batch_id) == first.added  # the file before it stays

    again = import_file(factory, real(name))
    assert (again.status, again.added) == ("done", data_rows(content))


class FailingStream(io.BytesIO):
    """A stream whose disk goes away after ``limit`` bytes."""

    def __init__(self, content: bytes, limit: int) -> None:
        super().__init__(content)
        self.limit = limit

    def _check(self) -> None:
        if self.tell() >= self.limit:
            raise OSError(5, "Input/output error")

    def read(self, size: int | None = -1) -> bytes:
        self._check()
        return super().read(size)

    def read1(self, size: int | None = -1) -> bytes:
        self._check()
        return super().read1(size)

    def readinto(self, buffer: Any) -> int:
        self._check()
        return super().readinto(buffer)


def failing_source(name: str, content: bytes, limit: int) -> Source:
    opened = 0

    def opener() -> IO[bytes]:
        nonlocal opened
        opened += 1  # the first reading is the checksum; the import's reading fails
        return io.BytesIO(content) if opened == 1 else FailingStream(content, limit)

    return Source(name, len(content), opener)


@needs_data
def test_a_file_whose_reading_fails_part_way_leaves_nothing(
        factory: sessionmaker[Session], small_chunks: None) -> None:
    name = "2018-06-metropolitan-stop-and-search.csv"
    good = real("2018-06-city-of-london-stop-and-search.csv")
    committed: list[int] = []
    sources = [*expand([good]), failing_source(name, real(name).read_bytes(), 1_000_000)]

    # A read error ends that file (reported), not the run.
    reports = import_sources(factory, ACTOR, sources, watching(factory, name, committed))

    assert [r.status for r in reports] == ["done", "failed"]
    assert max(committed) >= 2000
    with factory() as db:
        first, failed = db.scalars(select(ImportBatch).order_by(ImportBatch.id)).all()
    assert (first.status, first.source) == (ImportStatus.DONE, good.name)
    assert rows_of(factory, first.id) == first.added == data_rows(good.read_bytes())
    assert (failed.status, failed.source) == (ImportStatus.FAILED, name)
    assert failed.message.startswith("The file cannot be read past line ")
    assert "Input/output error" in failed.message
    assert rows_of(factory, failed.id) == 0
    assert audit_details(factory, failed.id)[0]["status"] == "failed"


def test_a_corrupt_zip_member_is_refused_with_a_message(
        factory: sessionmaker[Session], tmp_path: Path) -> None:
    content = BAD_STREET.read_bytes() * 40
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("2019-01/2019-01-city-of-london-street.csv", content)
    data = bytearray(buffer.getvalue())
    data[len(data) // 3] ^= 0xFF  # inside the compressed member
    path = tmp_path / "2019-01.zip"
    path.write_bytes(bytes(data))
    [report] = import_sources(factory, ACTOR, expand([path]))
    assert_refused(factory, report, "cannot be read")


# --- stale and concurrent imports --------------------------------------------------------------

def set_running(factory: sessionmaker[Session], batch_id: int, since: timedelta) -> None:
    with factory() as db:
        db.execute(update(ImportBatch).where(ImportBatch.id == batch_id).values(
            status=ImportStatus.RUNNING, finished_at=None, heartbeat_at=utcnow() - since))
        db.commit()


def test_a_stale_running_import_is_cleaned_up_by_the_next_import(
        factory: sessionmaker[Session]) -> None:
    dead = import_file(factory, OUTCOMES)
    live = import_file(factory, BAD_SEARCHES)
    assert rows_of(factory, dead.batch_id) == 10 and rows_of(factory, live.batch_id) == 3
    # One import's process died 11 minutes ago; another is still running (heartbeat 1 min ago).
    set_running(factory, dead.batch_id, importer.STALE_AFTER + timedelta(minutes=1))
    set_running(factory, live.batch_id, timedelta(minutes=1))

    street = import_file(factory, BAD_STREET)
    assert street.status == "done"
    stale = batch_of(factory, dead.batch_id)
    assert stale.status is ImportStatus.FAILED and stale.finished_at is not None
    assert stale.message == "The import stopped without finishing; nothing was kept."
    assert (stale.added, stale.already_present) == (0, 0)
    assert rows_of(factory, dead.batch_id) == 0
    assert batch_of(factory, live.batch_id).status is ImportStatus.RUNNING
    assert rows_of(factory, live.batch_id) == 3

    # Its rows were really removed: importing the file again adds them all.
    again = import_file(factory, OUTCOMES)
    assert (again.status, again.added, again.already_present) == ("done", 10, 0)


def test_a_file_being_imported_right_now_is_refused(factory: sessionmaker[Session]) -> None:
    running = import_file(factory, BAD_SEARCHES)
    set_running(factory, running.batch_id, timedelta(seconds=5))
    copy = import_file(factory, BAD_SEARCHES)
    assert_refused(factory, copy,
                   f"The same file is being imported right now (import {running.batch_id}).")
    assert rows_of(factory, running.batch_id) == 3


# --- the same bytes under another name ---------------------------------------------------------

@needs_data
def test_identical_street_files_under_different_names_import_the_rows_once(
        factory: sessionmaker[Session], tmp_path: Path) -> None:
    original = real("2019-02-city-of-london-street.csv")
    content = original.read_bytes()
    rows = data_rows(content)
    (tmp_path / "downloads").mkdir()
    copy = tmp_path / "downloads" / "crimes (1).csv"
    copy.write_bytes(content)
    first, second = import_sources(factory, ACTOR, expand([original, copy]))
    assert (first.added, first.already_present) == (rows, 0)
    assert (second.status, second.rows_read, second.added, second.already_present) \
        == ("done", rows, 0, rows)
    [third] = import_sources(factory, ACTOR, from_bytes("upload.csv", content))
    assert (third.added, third.already_present) == (0, rows)
    assert all_rows(factory) == rows


@needs_data
@pytest.mark.parametrize("copy_name", ["2018-04-city-of-london-stop-and-search (1).csv",
                                       "2018-04-city-of-london-stop-and-search.CSV",
                                       "city-searches-april.csv"])
def test_identical_stop_and_search_files_under_different_names_import_the_rows_once(
        factory: sessionmaker[Session], tmp_path: Path, copy_name: str) -> None:
    original = real("2018-04-city-of-london-stop-and-search.csv")
    content = original.read_bytes()
    rows = data_rows(content)
    copy = tmp_path / copy_name
    copy.write_bytes(content)
    # The force is named: a stop-and-search file's rows do not say it, its name may not.
    first, second = import_sources(factory, ACTOR, expand([original, copy]),
                                   force_id="city-of-london")
    assert (first.added, first.already_present) == (rows, 0)
    assert all_rows(factory) == rows
    assert (second.status, second.rows_read, second.added, second.already_present) \
        == ("done", rows, 0, rows)
