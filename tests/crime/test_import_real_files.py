"""Importing the real data.police.uk files in shared/data/policeuk (see its PROVENANCE.md).

The whole folder (City of London street files 2017-2025, City of London and Metropolitan Police
stop-and-search files 2018-2020) is imported once per module into a database of its own: the
importer commits in chunks from its own sessions, so the suite's rolled-back connection cannot
be used. Every expectation is counted here from the files with the csv module, not hard-coded.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.audit.models import AuditEntry
from app.auth.context import Actor
from app.cli import cli
from app.crime.importer import Report, expand, from_bytes, import_sources
from app.crime.models import (
    CrimeOutcome,
    ImportBatch,
    ImportStatus,
    StopSearch,
    StreetCrime,
)
from app.crime.police_uk import FILE_NAME
from app.db import make_engine, make_session_factory
from app.settings import get_settings
from tests.conftest import POLICE_UK_DATA, fresh_database, migrated, needs_data

DATA = POLICE_UK_DATA
FILES = Path(__file__).parent / "files"
OUTCOMES = FILES / "2018-04-city-of-london-outcomes.csv"
ACTOR = Actor.cli()
STREET, STOP_SEARCH = "street", "stop-and-search"
# A few monthly files for the zip archive and the CLI: LF and CRLF street files, both forces'
# stop-and-search files (the 2018-09 City file has a search dated in August).
ZIPPED = ("2017-01/2017-01-city-of-london-street.csv", "2023-10/2023-10-city-of-london-street.csv",
          "2018-09/2018-09-city-of-london-stop-and-search.csv",
          "2018-05/2018-05-metropolitan-stop-and-search.csv")

pytestmark = needs_data


# --- what the files hold, counted independently of the importer --------------------------------

@dataclass(frozen=True)
class Expected:
    path: Path
    kind: str
    month: date  # from the file's name
    header: list[str]
    rows: list[dict[str, str]]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def without_location(self) -> int:
        return sum(1 for r in self.rows if not r["Longitude"].strip() and not r["Latitude"].strip())

    @property
    def crlf(self) -> bool:
        return b"\r\n" in self.path.read_bytes()[:4096]


def read_expected(path: Path) -> Expected:
    match = FILE_NAME.search(path.name)
    assert match, path
    with path.open(encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader)
        records = list(reader)
    assert all(len(r) == len(header) for r in records), path
    year, month = map(int, match["month"].split("-"))
    return Expected(path, match["kind"], date(year, month, 1), header,
                    [dict(zip(header, r, strict=True)) for r in records])


@pytest.fixture(scope="module")
def expected() -> dict[str, Expected]:
    found = sorted(DATA.rglob("*.csv"))
    assert found, DATA
    by_name = {p.name: read_expected(p) for p in found}
    assert len(by_name) == len(found), "file names repeat across the month folders"
    return by_name


@dataclass
class Imported:
    factory: sessionmaker[Session]
    reports: dict[str, Report]  # the first import, by file name


@pytest.fixture(scope="module")
def imported(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imported]:
    with fresh_database(db_url, tmp_path_factory, "import") as url, migrated(url) as factory:
        reports = import_sources(factory, ACTOR, expand([DATA]))
        by_name = {r.source: r for r in reports}
        assert len(by_name) == len(reports)
        yield Imported(factory, by_name)


def table_of(kind: str) -> Table:
    return (StreetCrime if kind == STREET else StopSearch).__table__  # type: ignore[return-value]


def count(db: Session, table: Table, *where: object) -> int:
    return db.scalar(select(func.count()).select_from(table).where(*where)) or 0  # type: ignore[arg-type]


def stored_rows(db: Session, table: Table, batch_ids: list[int]) -> list[tuple[object, ...]]:
    """A batch's rows as stored, without the row and batch ids, in identity order."""
    columns = [c for c in table.columns if c.name not in ("id", "batch_id")]
    return [tuple(r) for r in db.execute(
        select(*columns).where(table.c.batch_id.in_(batch_ids)).order_by(table.c.identity))]


# --- the first import --------------------------------------------------------------------------

def test_the_data_has_the_quirks_the_importer_must_cope_with(
        expected: dict[str, Expected]) -> None:
    files = list(expected.values())
    street = [f for f in files if f.kind == STREET]
    searches = [f for f in files if f.kind == STOP_SEARCH]
    assert street and searches
    assert any(f.crlf for f in street) and any(not f.crlf for f in street)
    assert any(not r["Crime ID"] for f in street for r in f.rows)
    assert any(r["Location"] == "No Location" for f in street for r in f.rows)
    assert any(f.without_location for f in searches)
    assert sum(len(f.rows) for f in files) > 100_000


def test_every_file_is_read_whole_and_added(imported: Imported,
                                            expected: dict[str, Expected]) -> None:
    assert sorted(imported.reports) == sorted(expected)
    wrong = []
    for name, want in expected.items():
        report = imported.reports[name]
        got = (report.status, report.message, report.kind, report.rows_read, report.added,
               report.already_present, report.without_location, report.rejected,
               report.problems)
        rows = len(want.rows)
        if got != ("done", "", want.kind, rows, rows, 0, want.without_location, 0, []):
            wrong.append((name, got, rows, want.without_location))
    assert wrong == []


def test_the_tables_hold_exactly_the_rows_of_the_files(imported: Imported,
                                                       expected: dict[str, Expected]) -> None:
    totals = Counter[str]()
    for want in expected.values():
        totals[want.kind] += len(want.rows)
    with imported.factory() as db:
        assert count(db, table_of(STREET)) == totals[STREET]
        assert count(db, table_of(STOP_SEARCH)) == totals[STOP_SEARCH]
        assert count(db, CrimeOutcome.__table__) == 0  # type: ignore[arg-type]
        per_batch = {batch_id: n for kind in (STREET, STOP_SEARCH) for batch_id, n in db.execute(
            select(table_of(kind).c.batch_id, func.count()).group_by(table_of(kind).c.batch_id))}
    assert per_batch == {imported.reports[name].batch_id: len(want.rows)
                         for name, want in expected.items()}


def test_rows_without_crime_id_or_location_are_kept(imported: Imported,
                                                    expected: dict[str, Expected]) -> None:
    street = [f for f in expected.values() if f.kind == STREET]
    searches = [f for f in expected.values() if f.kind == STOP_SEARCH]
    no_id = sum(1 for f in street for r in f.rows if not r["Crime ID"].strip())
    with imported.factory() as db:
        table = table_of(STREET)
        assert count(db, table, table.c.crime_id.is_(None)) == no_id > 0
        for kind, files in ((STREET, street), (STOP_SEARCH, searches)):
            table = table_of(kind)
            located = table.c.longitude.is_not(None)
            assert count(db, table, table.c.longitude.is_(None), table.c.latitude.is_(None),
                         table.c.easting.is_(None)) \
                == sum(f.without_location for f in files) > 0
            assert count(db, table, located, table.c.easting.is_(None)) == 0
            # City of London and Met points, projected to the British National Grid
            low_e, high_e, low_n, high_n = db.execute(select(
                func.min(table.c.easting), func.max(table.c.easting),
                func.min(table.c.northing), func.max(table.c.northing)).where(located)).one()
            assert 0 < low_e < high_e < 700_000 and 0 < low_n < high_n < 1_300_000


def test_repeated_crime_ids_are_all_kept_as_distinct_rows(
        imported: Imported, expected: dict[str, Expected]) -> None:
    in_files = Counter((r["Crime ID"], r["Month"]) for f in expected.values()
                       if f.kind == STREET for r in f.rows if r["Crime ID"])
    repeated = {key: n for key, n in in_files.items() if n > 1}
    assert repeated, "the data should repeat some Crime IDs within a month"
    table = table_of(STREET)
    with imported.factory() as db:
        stored = db.execute(select(table.c.crime_id, table.c.month, func.count())
                            .where(table.c.crime_id.is_not(None))
                            .group_by(table.c.crime_id, table.c.month)
                            .having(func.count() > 1)).all()
        distinct_identities = count(db, table) == db.scalar(
            select(func.count(func.distinct(table.c.identity))))
    assert {(crime_id, month.strftime("%Y-%m")): n for crime_id, month, n in stored} == repeated
    assert distinct_identities


def test_stop_and_search_rows_keep_the_file_month_and_their_own_time(
        imported: Imported, expected: dict[str, Expected]) -> None:
    table = table_of(STOP_SEARCH)
    outside = 0
    with imported.factory() as db:
        for name, want in expected.items():
            if want.kind != STOP_SEARCH:
                continue
            times = [datetime.fromisoformat(r["Date"]) for r in want.rows]
            outside += sum(1 for t in times if (t.year, t.month) != (want.month.year,
                                                                     want.month.month))
            stored = db.execute(select(table.c.month, table.c.occurred_at, table.c.force).where(
                table.c.batch_id == imported.reports[name].batch_id)).all()
            assert {(month, force) for month, _, force in stored} \
                == {(want.month, name.split("-", 2)[2].removesuffix("-stop-and-search.csv"))}
            assert Counter(moment for _, moment, _ in stored) == Counter(times), name
            assert all(moment.utcoffset().total_seconds() == 0 for _, moment, _ in stored)
    assert outside > 0, "the data should have searches dated outside their file's month"


def test_batches_hold_the_report_and_the_access_log_has_an_entry_per_file(
        imported: Imported, expected: dict[str, Expected]) -> None:
    with imported.factory() as db:
        for name, want in expected.items():
            report = imported.reports[name]
            batch = db.get(ImportBatch, report.batch_id)
            assert batch is not None and Report.of(batch) == report
            assert batch.status is ImportStatus.DONE and batch.finished_at is not None
            assert batch.sha256 == hashlib.sha256(want.path.read_bytes()).hexdigest()
            assert batch.bytes_total == batch.bytes_done == want.path.stat().st_size
            assert batch.actor == ACTOR.username
            months = {date.fromisoformat(r["Month"] + "-01") for r in want.rows} \
                if want.kind == STREET else {want.month}
            assert (batch.first_month, batch.last_month) == (min(months), max(months))
            entries = db.scalars(select(AuditEntry).where(
                AuditEntry.action == "data.import", AuditEntry.object_type == "import",
                AuditEntry.object_ref == str(report.batch_id))).all()
            assert len(entries) == 1, name
            assert entries[0].details == {
                "source": name, "kind": want.kind, "status": "done",
                "rows_read": len(want.rows), "added": len(want.rows), "already_present": 0,
                "rejected": 0, "sha256": batch.sha256}


# --- importing again ---------------------------------------------------------------------------

def test_importing_the_folder_again_adds_nothing(imported: Imported,
                                                 expected: dict[str, Expected]) -> None:
    with imported.factory() as db:
        before = {kind: count(db, table_of(kind)) for kind in (STREET, STOP_SEARCH)}
    reports = import_sources(imported.factory, ACTOR, expand([DATA]))
    assert sorted(r.source for r in reports) == sorted(expected)
    for report in reports:
        rows = len(expected[report.source].rows)
        assert (report.status, report.rows_read, report.added, report.already_present,
                report.rejected) == ("done", rows, 0, rows, 0), report.source
    with imported.factory() as db:
        assert {kind: count(db, table_of(kind)) for kind in (STREET, STOP_SEARCH)} == before


@pytest.mark.parametrize("change", ["byte order mark", "CRLF to LF", "LF to CRLF"])
def test_the_same_rows_with_other_line_endings_or_a_bom_add_nothing(
        imported: Imported, expected: dict[str, Expected], change: str) -> None:
    want = expected["2023-10-city-of-london-street.csv" if change == "CRLF to LF"
                    else "2017-01-city-of-london-street.csv"]
    content = want.path.read_bytes()
    assert (b"\r\n" in content) == (change == "CRLF to LF")
    content = {"byte order mark": lambda b: b"\xef\xbb\xbf" + b,
               "CRLF to LF": lambda b: b.replace(b"\r\n", b"\n"),
               "LF to CRLF": lambda b: b.replace(b"\n", b"\r\n")}[change](content)
    [report] = import_sources(imported.factory, ACTOR, from_bytes(want.name, content))
    rows = len(want.rows)
    assert (report.status, report.rows_read, report.added, report.already_present,
            report.without_location, report.rejected) \
        == ("done", rows, 0, rows, want.without_location, 0)


# --- zip archives and folders ------------------------------------------------------------------

def make_zip(path: Path, members: tuple[str, ...]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in members:
            archive.write(DATA / member, member)  # YYYY-MM/name.csv, as police.uk's archive
        archive.writestr("README.txt", "Not a CSV: skipped.")
    return path


def test_a_zip_archive_imports_the_same_rows_and_after_the_loose_files_adds_nothing(
        imported: Imported, expected: dict[str, Expected], empty_database: str,
        tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "2018-police-uk.zip", ZIPPED)
    sources = expand([archive])
    assert [s.name for s in sources] == [f"2018-police-uk.zip:{m}" for m in sorted(ZIPPED)]

    with migrated(empty_database) as factory:
        reports = import_sources(factory, ACTOR, sources)
        for report in reports:
            want = expected[report.source.rsplit("/", 1)[-1]]
            rows = len(want.rows)
            assert (report.status, report.kind, report.rows_read, report.added,
                    report.already_present, report.without_location, report.rejected) \
                == ("done", want.kind, rows, rows, 0, want.without_location, 0), report.source
            with factory() as db, imported.factory() as loose_db:
                table = table_of(want.kind)
                assert stored_rows(db, table, [report.batch_id]) == stored_rows(
                    loose_db, table, [imported.reports[want.name].batch_id])

    for report in import_sources(imported.factory, ACTOR, sources):
        rows = len(expected[report.source.rsplit("/", 1)[-1]].rows)
        assert (report.status, report.rows_read, report.added, report.already_present) \
            == ("done", rows, 0, rows), report.source
    # An uploaded archive (the web's path) is the same rows too.
    for report in import_sources(imported.factory, ACTOR,
                                 from_bytes("upload.zip", archive.read_bytes())):
        assert report.status == "done" and report.added == 0 and report.already_present > 0


def test_a_folder_import_finds_csv_files_in_sub_folders(
        imported: Imported, expected: dict[str, Expected], tmp_path: Path) -> None:
    root = tmp_path / "downloads"
    placed = {
        "2018-04-city-of-london-street.csv": root / "2018-04" / "2018-04-city-of-london-street.csv",
        "2019-06-city-of-london-stop-and-search.csv":
            root / "police" / "2019" / "2019-06" / "2019-06-city-of-london-stop-and-search.csv",
        "2024-02-city-of-london-street.csv": root / "old" / "2024-02-city-of-london-street.CSV",
    }
    for name, target in placed.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(expected[name].path, target)
    (root / "notes.txt").write_text("not data")
    (root / "police" / "boundaries.geojson").write_text("{}")
    (root / "police" / "archive").mkdir()
    make_zip(root / "police" / "archive" / "months.zip", ZIPPED[:1])

    sources = expand([root])
    assert sorted(s.name for s in sources) == sorted(
        [t.name for t in placed.values()] + [f"months.zip:{ZIPPED[0]}"])
    for report in import_sources(imported.factory, ACTOR, sources):
        rows = len(expected[report.source.rsplit("/", 1)[-1].replace(".CSV", ".csv")].rows)
        assert (report.status, report.rows_read, report.added, report.already_present) \
            == ("done", rows, 0, rows), report.source


# --- outcomes ----------------------------------------------------------------------------------

def test_outcomes_link_to_the_street_crimes_they_belong_to(
        expected: dict[str, Expected], empty_database: str) -> None:
    street = expected["2018-04-city-of-london-street.csv"]
    with OUTCOMES.open(newline="") as stream:
        outcome_rows = list(csv.DictReader(stream))
    with migrated(empty_database) as factory:
        street_report, outcomes_report = import_sources(factory, ACTOR,
                                                        expand([street.path, OUTCOMES]))
        assert street_report.added == len(street.rows)
        assert (outcomes_report.status, outcomes_report.kind, outcomes_report.rows_read,
                outcomes_report.added, outcomes_report.without_location,
                outcomes_report.rejected) \
            == ("done", "outcomes", len(outcome_rows), len(outcome_rows), 1, 0)
        with factory() as db:
            linked = db.execute(
                select(CrimeOutcome.crime_id, CrimeOutcome.outcome_type, StreetCrime.category)
                .join(StreetCrime, StreetCrime.crime_id == CrimeOutcome.crime_id)
                .order_by(CrimeOutcome.id)).all()
            assert Counter((c, o) for c, o, _ in linked) \
                == Counter((r["Crime ID"], r["Outcome type"]) for r in outcome_rows)
            assert ("10f470b80ff04be1ce72978195470fc83cd725db1b992c2078d7049b6eb3611d",
                    "Offender sent to prison", "shoplifting") in linked
        [again] = import_sources(factory, ACTOR, expand([OUTCOMES]))
        assert (again.added, again.already_present) == (0, len(outcome_rows))


# --- the command line --------------------------------------------------------------------------

@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("POPCASE_DATABASE_URL", url)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    yield url
    get_settings.cache_clear()


def test_the_command_prints_one_json_report(cli_db: str, expected: dict[str, Expected]) -> None:
    wanted = [expected[m.rsplit("/", 1)[-1]] for m in ZIPPED]
    paths = [str(w.path) for w in wanted]
    rows = sum(len(w.rows) for w in wanted)
    without_location = sum(w.without_location for w in wanted)

    result = CliRunner().invoke(cli, ["import", "police-uk", "--json", *paths])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {k: report[k] for k in ("rows_read", "added", "already_present", "without_location",
                                   "rejected", "files", "failed")} \
        == {"rows_read": rows, "added": rows, "already_present": 0,
            "without_location": without_location, "rejected": 0, "files": len(paths),
            "failed": 0}
    assert [r["source"] for r in report["reports"]] == [w.name for w in wanted]
    assert [r["rows_read"] for r in report["reports"]] == [len(w.rows) for w in wanted]

    result = CliRunner().invoke(cli, ["import", "police-uk", "--json", *paths])
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)
    assert (again["rows_read"], again["added"], again["already_present"]) == (rows, 0, rows)

    engine = make_engine(cli_db)
    try:
        with make_session_factory(engine)() as db:
            assert count(db, table_of(STREET)) + count(db, table_of(STOP_SEARCH)) == rows
    finally:
        engine.dispose()


def test_the_command_fails_when_a_file_is_refused(cli_db: str, tmp_path: Path,
                                                  expected: dict[str, Expected]) -> None:
    good = expected["2019-01-city-of-london-street.csv"]
    bad = tmp_path / "wards.csv"
    bad.write_text("WD22CD,WD22NM\nE05013794,Church Street\n")
    result = CliRunner().invoke(cli, ["import", "police-uk", "--json", str(good.path), str(bad)])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["files"], report["failed"], report["added"]) == (2, 1, len(good.rows))
    refused = report["reports"][1]
    assert refused["status"] == "failed" and "not a police.uk" in refused["message"]


def test_the_command_refuses_a_missing_path(cli_db: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["import", "police-uk", str(tmp_path / "nowhere.csv")])
    assert result.exit_code == 2
    # (The message may wrap at the terminal's width anywhere in the path.)
    assert "nowhere.csvdoesnotexist" in "".join(result.stderr.split())
    result = CliRunner().invoke(cli, ["import", "police-uk", str(tmp_path)])
    assert result.exit_code == 2
    assert "No CSV files found" in " ".join(result.stderr.split())
