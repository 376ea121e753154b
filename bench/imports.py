"""Benchmark: importing a million police.uk-shaped rows, then a hotspot run over them.

    python -m bench.imports [--rows 1000000] [--url EMPTY_DATABASE_URL]

Writes twelve monthly street-level CSV files shaped like the Metropolitan Police's (Crime IDs,
anti-social behaviour rows without one, about 2% of rows without a location, snap points
clustered like a city's) and imports them with `popcase import police-uk --json FOLDER` in a
process of its own, which gives the command's own time (start-up included) and peak memory.
Beside it, in the same run, `sqlite3`'s own `.import` of the same files into a table without
indexes (the Debian package sqlite3; skipped with a note where the command is absent) gives the
floor: the ratio is popcase's rate over its rate. Then one file is imported again (it must add
nothing), and the hotspots of Westminster over the year (and Camden's) are found, ranked by
crimes and, with a made-up harm-weight table, by harm; then over the Metropolitan Police's whole
force area (every generated crime, around the City of London's hole in it), at 250 m and 100 m,
three times each.
Targets (PASS or FAIL): at least 100,000 rows/s on SQLite and 150,000 on PostgreSQL; peak memory
under 200 MB; the hotspot grid with Gi* over a million points under 2 s, by either ranking; the
force-wide search by crimes under 1 s, median of three runs at each cell size.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from alembic import command
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.context import Actor
from app.cli import alembic_config
from app.crime.boundaries import import_boundaries
from app.crime.hotspots import HotspotQuery, compute, study_area
from app.crime.importer import expand, import_sources
from app.crime.models import Area, AreaKind
from app.db import make_engine, make_session_factory
from app.harm import service as harm
from app.harm.schemas import HarmTableCreate
from app.sara.problem import CATEGORIES

DEMO_DATA = Path(__file__).resolve().parent.parent / "app" / "demo_data"
# The force areas of England and Wales (police.uk's data folder beside the checkout).
FORCE_AREAS = next((path for path in (
    Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "policeuk"
    / "boundaries" / "police-force-areas.geojson",
    Path("/work/shared/data/policeuk/boundaries/police-force-areas.geojson"))
    if path.is_file()), None)
MET_AREA = "E23000001"
FORCE_SECONDS = 1.0  # a force-wide search by crimes, median of three runs
HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
          "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
FORCE = "Metropolitan Police Service"
HOTSPOT_SECONDS = 2.0  # the grid with Gi* over a year of a borough's crime, either ranking
ROWS_PER_SECOND = {"sqlite": 100_000, "postgresql": 150_000}
PEAK_MB = 200
OUTCOMES = ["Investigation complete; no suspect identified", "Unable to prosecute suspect",
            "Status update unavailable", "Under investigation", "Offender given a caution"]


def write_files(folder: Path, rows: int, seed: int = 11) -> list[Path]:
    rng = random.Random(seed)
    labels = list(CATEGORIES.values())
    # Snap points: a few thousand street locations around central London, some much busier.
    points = [(round(-0.19 + rng.random() * 0.13, 6), round(51.49 + rng.random() * 0.06, 6))
              for _ in range(6000)]
    weights = [rng.paretovariate(1.2) for _ in points]
    files = []
    per_month = rows // 12
    for month in range(1, 13):
        path = folder / f"2024-{month:02d}-metropolitan-street.csv"
        count = per_month if month < 12 else rows - per_month * 11
        chosen = rng.choices(range(len(points)), weights=weights, k=count)
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(HEADER)
            for index, spot in enumerate(chosen):
                label = rng.choice(labels)
                asb = label == "Anti-social behaviour"
                crime_id = "" if asb else hashlib.sha256(
                    f"{month}-{index}".encode()).hexdigest()
                lon, lat = points[spot]
                located = rng.random() > 0.02
                writer.writerow([
                    crime_id, f"2024-{month:02d}", FORCE, FORCE,
                    f"{lon:.6f}" if located else "", f"{lat:.6f}" if located else "",
                    f"On or near Street {spot}" if located else "No Location",
                    "E01004736" if located else "", "Westminster 018A" if located else "",
                    label, "" if asb else rng.choice(OUTCOMES), ""])
        files.append(path)
    return files


def popcase_import(url: str, folder: Path) -> tuple[dict[str, int], float, float]:
    """``popcase import police-uk --json FOLDER`` in a process of its own: its report, its
    seconds (start-up included) and its peak memory in MB."""
    command = [sys.executable, "-c", "from app.cli import main; main()",
               "import", "police-uk", "--json", str(folder)]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=dict(os.environ, POPCASE_DATABASE_URL=url),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"popcase import failed: {output[-2000:].decode(errors='replace')}")
    return json.loads(output), seconds, usage.ru_maxrss / 1024


def sqlite3_import(files: list[Path], folder: Path) -> float | None:
    """Seconds that the sqlite3 command takes to `.import` the files (each in a transaction
    of its own, as popcase imports each file) into a table without indexes, with popcase's own
    settings (write-ahead log, synchronous NORMAL); None without the command."""
    if shutil.which("sqlite3") is None:
        return None
    database = folder / "sqlite3-import.db"
    script = ["PRAGMA journal_mode = WAL;", "PRAGMA synchronous = NORMAL;",
              "CREATE TABLE crimes (" + ", ".join(f'"{c}"' for c in HEADER) + ");", ".mode csv",
              *(f".import --skip 1 '{path}' crimes" for path in files)]
    started = time.perf_counter()
    subprocess.run(["sqlite3", str(database)], input="\n".join(script).encode(), check=True,
                   stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    database.unlink()
    return seconds


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--url", help="an EMPTY database (default: temporary SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "files"
        folder.mkdir()
        started = time.perf_counter()
        files = write_files(folder, args.rows)
        print(f"wrote {args.rows:,} rows in 12 files in {time.perf_counter() - started:.1f} s")
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        dialect = url.split(":")[0].split("+")[0]
        command.upgrade(alembic_config(url), "head")
        floor = sqlite3_import(files, Path(tmp))
        report, seconds, peak = popcase_import(url, folder)
        rate, target = report["rows_read"] / seconds, ROWS_PER_SECOND[dialect]
        print(f"import ({dialect}): {report['rows_read']:,} rows in {seconds:.1f} s = "
              f"{rate:,.0f} rows/s; added {report['added']:,}, without location "
              f"{report['without_location']:,}, rejected {report['rejected']}; peak memory "
              f"{peak:.0f} MB")
        if floor is not None:
            print(f"sqlite3 .import of the same files (no indexes): {floor:.1f} s = "
                  f"{args.rows / floor:,.0f} rows/s; popcase/sqlite3 ratio "
                  f"{rate / (args.rows / floor):.2f}")
        else:
            print("sqlite3 .import: the sqlite3 command is not installed "
                  "(apt-get install sqlite3), no floor measured")
        print(f"target: at least {target:,} rows/s on {dialect} — {verdict(rate >= target)}")
        print(f"target: peak memory under {PEAK_MB} MB — {verdict(peak < PEAK_MB)} "
              f"({peak:.0f} MB)")
        engine = make_engine(url)
        factory = make_session_factory(engine)
        started = time.perf_counter()
        again = import_sources(factory, Actor.cli(), expand([folder])[:1])
        print(f"re-import of one file: added {again[0].added}, already present "
              f"{again[0].already_present:,} in {time.perf_counter() - started:.1f} s — "
              f"{verdict(again[0].added == 0)}")
        hotspot_run(factory)
        engine.dispose()


def hotspot_run(factory: sessionmaker[Session]) -> None:
    """The finder over the whole generated year and the boroughs the points fall in, ranked by
    crimes and (with a made-up harm-weight table) by harm."""
    with factory() as db:
        import_boundaries(db, Actor.cli(), "london-boroughs.geojson",
                          (DEMO_DATA / "london-boroughs.geojson").read_bytes(), AreaKind.BOROUGH)
        harm.load_table(db, Actor.cli(), "metropolitan", HarmTableCreate(
            name="Made-up index", version="bench", source="Invented for the benchmark",
            weights={slug: float(n + 1) for n, slug in enumerate(CATEGORIES)}))
        slowest = 0.0
        by_crimes: dict[tuple[str, int], float] = {}
        for borough, cell, rank_by in (("E09000033", 250, "crimes"), ("E09000033", 100, "crimes"),
                                       ("E09000007", 250, "crimes"), ("E09000033", 250, "harm")):
            query = HotspotQuery(first=date(2024, 1, 1), last=date(2024, 12, 1),
                                 borough=borough, cell_m=cell, top_k=10, rank_by=rank_by)
            study = study_area(db, Actor.cli(), query)
            started = time.perf_counter()
            answer = compute(db, query, study)
            seconds = time.perf_counter() - started
            slowest = max(slowest, seconds)
            if rank_by == "crimes":
                by_crimes[borough, cell] = seconds
                top, floor = f"top cell {answer.cells[0].count:,}", ""
            else:  # the same search ranked by crimes is its floor: harm counts it too
                top = f"top cell harm {answer.cells[0].harm:,.0f}"
                floor = f" ({seconds / by_crimes[borough, cell]:.1f}x the ranking by crimes)"
            print(f"hotspots {study.area.name}, {cell} m cells, 2024, by {rank_by}: "
                  f"{answer.crimes_total:,} crimes in {answer.study_cells:,} cells, "
                  f"{top}, PAI {answer.pai:.2f}: {seconds:.2f} s{floor}")
        print(f"target: every hotspot search under {HOTSPOT_SECONDS:.0f} s — "
              f"{'PASS' if slowest < HOTSPOT_SECONDS else 'FAIL'} (slowest {slowest:.2f} s)")
        force_run(db)


def force_run(db: Session) -> None:
    """The finder over the Metropolitan Police's whole force area and year, by crimes at 250 m
    and 100 m (and by harm at 250 m, for the record), three runs each."""
    if FORCE_AREAS is None:
        print("force-wide hotspots: not run (police-force-areas.geojson not found) — FAIL")
        return
    features = [f for f in json.loads(FORCE_AREAS.read_bytes())["features"]
                if f["properties"].get("gss_code") == MET_AREA]
    import_boundaries(db, Actor.cli(), FORCE_AREAS.name, json.dumps(
        {"type": "FeatureCollection", "features": features}).encode(), AreaKind.FORCE)
    area_id = db.scalar(select(Area.id).where(Area.kind == AreaKind.FORCE,
                                              Area.code == MET_AREA))
    medians = []
    for cell, rank_by in ((250, "crimes"), (100, "crimes"), (250, "harm")):
        query = HotspotQuery(first=date(2024, 1, 1), last=date(2024, 12, 1), area_id=area_id,
                             cell_m=cell, top_k=10, rank_by=rank_by)
        study = study_area(db, Actor.cli(), query)
        runs, cpu = [], []
        for _ in range(3):
            started, cpu_started = time.perf_counter(), time.process_time()
            answer = compute(db, query, study)
            runs.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        if rank_by == "crimes":
            medians.append(statistics.median(runs))
        # CPU seconds beside the wall clock's: on a shared machine the difference is waiting.
        print(f"hotspots {study.area.name} (whole force area), {cell} m cells, 2024, by "
              f"{rank_by}: {answer.crimes_total:,} crimes in {answer.study_cells:,} cells, top "
              f"cell {answer.cells[0].count:,}: "
              + ", ".join(f"{seconds:.2f}" for seconds in runs) + " s (CPU "
              + ", ".join(f"{seconds:.2f}" for seconds in cpu) + " s)")
    print(f"target: a force-wide search by crimes under {FORCE_SECONDS:.0f} s (median of three, "
          f"250 m and 100 m) — {'PASS' if max(medians) < FORCE_SECONDS else 'FAIL'} "
          f"(slowest median {max(medians):.2f} s)")


if __name__ == "__main__":
    main()
