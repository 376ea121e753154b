"""Benchmark: exporting a busy case's case file.

    python -m bench.exports [--crimes 10000] [--patrols 500] [--url EMPTY_DB]

Builds a fresh database (a temporary SQLite file unless --url names an empty database) with one
City of London case: its target, buffer and control areas, ``--crimes`` street crimes inside
them over the two periods of a saved impact assessment, ``--patrols`` patrols with outputs, and
a timeline; then times the whole export (case.json, the CSVs with every crime, report.html,
zip) and a redacted one. Target on the 2-core development machine: under 2 seconds each.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import random
import statistics
import tempfile
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from alembic import command
from pyproj import Transformer

from app.assessment.schemas import AssessmentRequest
from app.assessment.service import run_assessment
from app.auth.context import Actor, Channel
from app.auth.models import User
from app.auth.roles import Role
from app.cases import service
from app.cases.schemas import CaseCreate, CaseUpdate
from app.cli import alembic_config
from app.crime.cells import recount_cells
from app.crime.models import ImportBatch, ImportKind, ImportStatus, StreetCrime
from app.db import make_engine, make_session_factory
from app.exports.service import export_case
from app.patrols.models import OutputEntry, Patrol
from app.sara.patrols import OutputKind

CITY = "E09000001"
TARGET = (-0.0822, 51.5176)
CONTROL = (-0.0984, 51.5138)
MONTHS = [date(2024, m, 1) for m in range(1, 13)]
_TO_BNG = Transformer.from_crs(4326, 27700, always_xy=True)
_TO_WGS84 = Transformer.from_crs(27700, 4326, always_xy=True)


def build(url: str, n_crimes: int, n_patrols: int) -> str:
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    rng = random.Random(11)
    with make_session_factory(engine)() as db:
        sergeant = User(username="sgt.bench", display_name="Sgt Bench",
                        role=Role.SUPERVISOR, borough_code=CITY)
        db.add(sergeant)
        db.commit()
        actor = Actor(sergeant, Channel.CLI, operator="bench")
        case = service.create_case(db, actor, CaseCreate(
            title="Thefts around Liverpool Street", category="theft-from-the-person",
            borough=CITY, problem_statement="Phones taken from commuters.",
            target_area={"name": "Liverpool Street", "radius_m": 300, "geometry": {
                "type": "Point", "coordinates": list(TARGET)}}))
        service.update_case(db, actor, case.ref, CaseUpdate(
            version=case.version, buffer_width_m=200, control_area={
                "name": "St Paul's", "radius_m": 300,
                "geometry": {"type": "Point", "coordinates": list(CONTROL)}}))
        batch = ImportBatch(kind=ImportKind.STREET, source="bench-street.csv",
                            sha256=hashlib.sha256(b"bench").hexdigest(),
                            status=ImportStatus.DONE, first_month=MONTHS[0],
                            last_month=MONTHS[-1], finished_at=datetime.now(UTC),
                            actor="bench", force_id="city-of-london",
                            months=[f"{month:%Y-%m}" for month in MONTHS])
        db.add(batch)
        db.flush()
        crimes = []
        for number in range(n_crimes):
            centre = TARGET if number % 3 else CONTROL
            easting, northing = _TO_BNG.transform(*centre)
            # Inside the target and its 200 m ring (500 m), or inside the control (300 m).
            reach = 490 if centre is TARGET else 290
            distance, angle = reach * math.sqrt(rng.random()), rng.random() * 2 * math.pi
            lon, lat = _TO_WGS84.transform(easting + distance * math.cos(angle),
                                           northing + distance * math.sin(angle))
            e, n = _TO_BNG.transform(lon, lat)
            crimes.append(StreetCrime(
                identity=hashlib.blake2b(f"bench-{number}".encode(), digest_size=16).digest(),
                crime_id=f"{number:064d}", month=MONTHS[number % 12],
                reported_by="City of London Police", falls_within="City of London Police",
                longitude=round(lon, 6), latitude=round(lat, 6), easting=round(e),
                northing=round(n), location="On or near Liverpool Street",
                category="theft-from-the-person", last_outcome="Under investigation",
                batch_id=batch.id))
        db.add_all(crimes)
        db.flush()
        recount_cells(db, batch.force_id, batch.months)  # as the importer does for its files
        start = datetime(2026, 1, 5, 17, 0, tzinfo=UTC)
        for number in range(n_patrols):
            began = start + timedelta(hours=7 * number)
            patrol = Patrol(case_id=case.id, started_at=began,
                            ended_at=began + timedelta(minutes=rng.randint(5, 25)),
                            officers="Sgt Bench", place="Bishopsgate exit",
                            recorded_by_id=sergeant.id)
            db.add(patrol)
            db.flush()
            if number % 2:
                db.add(OutputEntry(case_id=case.id, on_date=began.date(),
                                   kind=rng.choice(list(OutputKind)), count=1,
                                   patrol_id=patrol.id, recorded_by_id=sergeant.id))
        db.commit()
        run_assessment(db, actor, case.ref, AssessmentRequest(
            before_first="2024-01", before_last="2024-06", after_first="2024-07",
            after_last="2024-12"))
        ref = case.ref
    engine.dispose()
    return ref


def time_exports(url: str, ref: str, runs: int) -> dict[str, list[float]]:
    engine = make_engine(url)
    timings: dict[str, list[float]] = {"plain": [], "redacted": []}
    size, crimes = {}, 0
    try:
        for _ in range(runs):
            for kind in timings:
                with make_session_factory(engine)() as db:
                    began = time.perf_counter()
                    result = export_case(db, Actor.cli(), ref, reason="Benchmark",
                                         redacted=kind == "redacted")
                    timings[kind].append(time.perf_counter() - began)
                    size[kind] = len(result.content)
                    with zipfile.ZipFile(io.BytesIO(result.content)) as archive:
                        crimes = archive.read("crimes.csv").count(b"\n") - 1
    finally:
        engine.dispose()
    print(f"crimes.csv: {crimes:,} crimes of the target, buffer and control areas")
    for kind, values in timings.items():
        print(f"{kind:>9} export: median {statistics.median(values):.2f} s, "
              f"max {max(values):.2f} s over {runs} runs; {size[kind] / 1e6:.1f} MB zipped")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crimes", type=int, default=10_000)
    parser.add_argument("--patrols", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--url", help="an EMPTY database (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{Path(folder) / 'bench.db'}"
        began = time.perf_counter()
        ref = build(url, args.crimes, args.patrols)
        print(f"built {ref}: {args.crimes:,} crimes, {args.patrols} patrols in "
              f"{time.perf_counter() - began:.1f} s ({url.split(':')[0]})")
        timings = time_exports(url, ref, args.runs)
        slowest = max(max(v) for v in timings.values())
        print(f"target: under 2 s each — {'met' if slowest < 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
