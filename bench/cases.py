"""Benchmark: the case list and the case page with many cases.

    python -m bench.cases [--cases 20000] [--url sqlite:///...|postgresql+psycopg://...]

Builds a fresh database (a temporary SQLite file unless --url names an empty database), fills it
with cases, four actions each (some overdue) and a timeline, then times the API list with the
filters supervisors use most, and the case page, through the whole HTTP stack in-process.
Targets at 20,000 cases on the 2-core development machine, both databases: every list p95
under 400 ms (the plain newest-first list under 100 ms), a case read p95 under 100 ms, and
under 20 MB of Python memory for a 200-case page.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from app.auth.context import Actor
from app.auth.models import User
from app.auth.roles import Role
from app.auth.service import create_token
from app.cases.models import Action, Case, CaseCheers, CaseEvent, RefCounter
from app.cli import alembic_config
from app.db import make_engine, make_session_factory
from app.main import create_app
from app.reference.models import Borough, Ward
from app.sara.cheers import CheersElement
from app.settings import Settings

CATEGORIES = ["violent-crime", "drugs", "anti-social-behaviour", "robbery", "burglary"]
STAGES = ["scanning", "analysis", "response", "assessment", "closed"]


def build(url: str, n_cases: int) -> str:
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rng = random.Random(7)
    with factory() as db:
        boroughs = {b.code: b for b in db.scalars(select(Borough))}
        wards = list(db.scalars(select(Ward)))
        supervisor = User(username="sgt.bench", display_name="Sgt Bench",
                          role=Role.SUPERVISOR, borough_code=None)
        db.add(supervisor)
        db.commit()
        _token, secret = create_token(db, Actor.cli(), supervisor, "bench")
        now = datetime.now(UTC)
        counters: dict[str, int] = {}
        for start in range(0, n_cases, 2000):
            cases, actions, cheers, events = [], [], [], []
            for i in range(start, min(start + 2000, n_cases)):
                ward = rng.choice(wards)
                prefix = boroughs[ward.borough_code].ref_prefix
                counters[prefix] = counters.get(prefix, 0) + 1
                moment = now - timedelta(minutes=i)
                cases.append({
                    "id": i + 1, "ref": f"{prefix}-2026-{counters[prefix]:05d}",
                    "ref_prefix": prefix, "ref_year": 2026, "ref_number": counters[prefix],
                    "title": f"Problem {i} near {ward.name}",
                    "problem_statement": "Recurring problem " * 20,
                    "category": rng.choice(CATEGORIES), "priority": rng.choice(
                        ["low", "medium", "high"]), "source": "officer",
                    "borough_code": ward.borough_code, "ward_code": ward.code, "team": "",
                    "owner_id": supervisor.id, "target_area_name": "", "analysis_summary": "",
                    "response_plan": "", "process_evaluation": "", "impact_evaluation": "",
                    "lessons_learned": "", "stage": rng.choice(STAGES),
                    "stage_entered_at": moment, "created_at": moment, "updated_at": moment,
                    "last_activity_at": moment, "version": 1,
                })
                for k in range(4):
                    due = date.today() + timedelta(days=rng.randint(-30, 60))
                    actions.append({"case_id": i + 1, "title": f"Action {k}", "partner": "police",
                                    "owner": "PC", "due_date": due, "status": rng.choice(
                                        ["planned", "in_progress", "done"]), "notes": "",
                                    "created_at": moment, "version": 1})
                cheers += [{"case_id": i + 1, "element": e.value, "met": True,
                            "evidence": "x"} for e in CheersElement]
                events += [{"case_id": i + 1, "at": moment, "kind": "created",
                            "summary": "Opened", "body": "", "overridden": False,
                            "details": {}} for _ in range(3)]
            db.execute(insert(Case), cases)
            db.execute(insert(Action), actions)
            db.execute(insert(CaseCheers), cheers)
            db.execute(insert(CaseEvent), events)
            db.commit()
        db.execute(insert(RefCounter), [{"prefix": p, "year": 2026, "last_number": n}
                                        for p, n in counters.items()])
        db.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")  # planner statistics, as a live database has them
    engine.dispose()
    return secret


def timed(client: TestClient, path: str, headers: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return times


def report(label: str, times: list[float]) -> None:
    times = sorted(times)
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    print(f"  {label:<44} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--url", help="an EMPTY database to fill (default: temporary SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{Path(folder) / 'bench.db'}"
        started = time.perf_counter()
        token = build(url, args.cases)
        print(f"popcase case benchmark: {args.cases} cases, {args.cases * 4} actions "
              f"({url.split(':')[0]}), built in {time.perf_counter() - started:.1f} s")
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(Settings(database_url=url))) as client:
            client.get("/api/v1/cases", headers=headers)  # warm up
            ref = client.get("/api/v1/cases?limit=1", headers=headers).json()["items"][0]["ref"]
            report("GET /api/v1/cases (first 50, newest first)",
                   timed(client, "/api/v1/cases", headers, args.runs))
            report("... ?stage=response&borough=E09000033",
                   timed(client, "/api/v1/cases?stage=response&borough=E09000033", headers,
                         args.runs))
            report("... ?overdue=true&sort=-priority",
                   timed(client, "/api/v1/cases?overdue=true&sort=-priority", headers,
                         args.runs))
            report("... ?q=church (free text)",
                   timed(client, "/api/v1/cases?q=church", headers, args.runs))
            report("... ?offset=15000 (deep page)",
                   timed(client, "/api/v1/cases?offset=15000&sort=ref", headers, args.runs))
            report(f"GET /api/v1/cases/{ref}",
                   timed(client, f"/api/v1/cases/{ref}", headers, args.runs))
            tracemalloc.start()
            client.get("/api/v1/cases?limit=200&overdue=true", headers=headers)
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"  peak Python memory for one 200-case list page: {peak / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
