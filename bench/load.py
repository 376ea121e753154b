"""Benchmark: the real server, several worker processes, many people at once.

    python -m bench.load [--url DATABASE_URL] [--reuse] [--cases 10000] [--crimes 1000000]
                         [--workers 2] [--users 50] [--duration 60] [--think 2] [--warmup 10]
                         [--compare-url POSTGRESQL_URL]

Builds a database: a temporary SQLite file (removed afterwards) unless --url names one. A
PostgreSQL database named by --url that does not exist yet is created; a --url database is never
dropped, so the next run can take it with --reuse (which skips the build when the database
already holds cases and crimes; without --reuse a non-empty database is refused). The build is
bench.cases' cases (four actions each, CHEERS, a timeline), bench.imports' police.uk-shaped
street crimes imported through the real importer, the borough and ward boundaries, and target
areas on the cases of Westminster, Camden and the City, where the generated crimes fall.

Then it starts `popcase serve --workers N` on a free loopback port, creates --users people with
their own identities (officers and supervisors of Westminster, analysts; each with an API token
and a page session), and lets each loop for --warmup then --duration seconds: a request drawn
from their role's mix of pages, htmx fragments, API reads, writes (notes, outputs, patrols; about
8 to 10% of requests) and the hotspot finder, then a think time drawn evenly between half and one
and a half times --think seconds. The people arrive over the warm-up. It prints requests per
second, p50/p95/p99 latency and errors per kind of request, and the peak memory of every server
process. Targets on the 2-core development machine with PostgreSQL, 10,000 cases, a million
crimes, 2 workers and 50 users: no errors, and p95 under 100 ms for the case list and the case
page, as pages and through the API.

With --compare-url the same load then runs on that PostgreSQL database, and SQLite's p95 is
compared with PostgreSQL's (issue 19: within 2x, and no errors on SQLite): that comparison's
PASS/FAIL is the exit status. Each run's own targets are still printed.

The default think time, 2 s, has each of the 50 people ask for something every 2 s or so, about
24 requests a second in all: an officer reading a case page or typing a note on a phone takes
far longer, so this is several times a real shift's traffic. Smaller values (1, 0.5) find where
the machine saturates.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import Table, bindparam, func, inspect, select, text, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from app.auth.context import Actor
from app.auth.models import User, UserSession
from app.auth.roles import Role
from app.auth.service import create_token, digest
from app.cases.models import Case
from app.clock import today
from app.crime.boundaries import import_boundaries
from app.crime.importer import expand, import_sources
from app.crime.models import AreaKind, StreetCrime
from app.db import is_sqlite, make_engine, make_session_factory, utcnow
from app.reference.models import Ward
from app.sara.stages import Stage
from app.web.deps import CSRF_HEADER, SESSION_COOKIE
from bench import cases as bench_cases
from bench.imports import DEMO_DATA, write_files

WESTMINSTER = "E09000033"
FIRST_MONTH, LAST_MONTH = "2024-01", "2024-12"  # the year bench.imports.write_files writes
STAGES = [s.value for s in Stage]
# Where the generated crimes fall, per borough: (west, east, south, north) in WGS84.
TARGET_BOXES = {
    "E09000033": (-0.19, -0.12, 51.495, 51.530),  # Westminster
    "E09000007": (-0.19, -0.12, 51.530, 51.550),  # Camden
    "E09000001": (-0.11, -0.075, 51.510, 51.520),  # City of London
}
TARGETS = ("page /cases", "page /cases/{ref}", "api /cases", "api /cases/{ref}")
TARGET_P95_MS = 100.0
CHECKOUT = Path(__file__).resolve().parent.parent


# --- the database ----------------------------------------------------------------------------

def ensure_database(url: str) -> bool:
    """Create a PostgreSQL database that does not exist yet; True when it was created."""
    if is_sqlite(url):
        return False
    target = make_url(url)
    engine = make_engine(target.set(database="postgres").render_as_string(hide_password=False))
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            found = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                {"name": target.database})
            if not found:
                conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
            return not found
    finally:
        engine.dispose()


def holdings(url: str) -> tuple[int, int] | None:
    """(cases, street crimes) in a built database; None when it has no schema at all."""
    if is_sqlite(url) and not Path(make_url(url).database or "").exists():
        return None
    engine = make_engine(url)
    try:
        if not inspect(engine).get_table_names():
            return None
        with make_session_factory(engine)() as db:
            cases = db.scalar(select(func.count()).select_from(Case)) or 0
            crimes = db.scalar(select(func.count()).select_from(StreetCrime)) or 0
            return cases, crimes
    finally:
        engine.dispose()


def build(url: str, n_cases: int, n_crimes: int, folder: Path) -> None:
    """The existing builders, in turn, each timed."""
    started = time.perf_counter()
    bench_cases.build(url, n_cases)  # runs the migrations to head first
    print(f"  cases: {n_cases:,} with {n_cases * 4:,} actions in "
          f"{time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    files = write_files(folder, n_crimes)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    reports = import_sources(factory, Actor.cli(), expand(files))
    for path in files:
        path.unlink()  # a million rows is about 250 MB of CSV
    print(f"  crimes: {sum(r.added for r in reports):,} imported in "
          f"{time.perf_counter() - started:.1f} s (files written and imported)")
    started = time.perf_counter()
    with factory() as db:
        for name, kind in (("london-boroughs.geojson", AreaKind.BOROUGH),
                           ("london-wards-2022.geojson", AreaKind.WARD)):
            import_boundaries(db, Actor.cli(), name, (DEMO_DATA / name).read_bytes(), kind)
        placed = place_targets(db)
    settle(engine)
    engine.dispose()
    print(f"  boundaries, {placed:,} target areas, statistics in "
          f"{time.perf_counter() - started:.1f} s")


def place_targets(db: Session, radius_m: int = 250) -> int:
    """A target area on the cases of the boroughs the crimes fall in, as real cases have past
    Scanning: their case pages then draw maps and crime pictures over the million crimes.
    (bench.cases makes cases without one; it cannot be changed, so this fills them in.)"""
    rng = random.Random(5)
    rows = []
    for case_id, borough, stage in db.execute(
            select(Case.id, Case.borough_code, Case.stage)
            .where(Case.borough_code.in_(list(TARGET_BOXES))).order_by(Case.id)):
        if stage is Stage.SCANNING and rng.random() < 0.5:
            continue  # half of those still in Scanning have not drawn their area yet
        west, east, south, north = TARGET_BOXES[borough]
        point = [round(rng.uniform(west, east), 6), round(rng.uniform(south, north), 6)]
        rows.append({"b_id": case_id, "target_area_name": f"Around {point[1]}, {point[0]}",
                     "target_geometry": {"type": "Point", "coordinates": point},
                     "target_radius_m": radius_m, "buffer_width_m": 200})
    table: Table = Case.__table__  # type: ignore[assignment]  # typed FromClause; it is a Table
    if rows:
        db.execute(update(table).where(table.c.id == bindparam("b_id")), rows)
    db.commit()
    return len(rows)


def settle(engine: Engine) -> None:
    """Planner statistics, and (PostgreSQL) the cases' id sequence past the ids that
    bench.cases inserted by hand, so that a case opened later gets a free id."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('cases', 'id'), "
                                 "(SELECT max(id) FROM cases))")
        # After a bulk load: statistics for the planner, and (PostgreSQL) the visibility map
        # that lets the covering indexes answer without reading the table, as autovacuum would
        # have it some minutes later.
        conn.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql"
                             else "ANALYZE")


# --- the people and the cases they work on ----------------------------------------------------

@dataclass(frozen=True)
class Person:
    username: str
    role: Role
    token: str
    session: str
    csrf: str
    address: str  # the client address a TLS-terminating proxy would forward


@dataclass
class Corpus:
    """What the simulated people ask for: cases that exist, and words their titles hold."""

    refs: list[str]  # Westminster's cases
    open_refs: list[str]  # ... not closed: patrols and outputs may be logged
    mapped_refs: list[str]  # ... with a target area, not in Analysis (picture loads lazily)
    words: list[str]


def read_corpus(db: Session) -> Corpus:
    rows = db.execute(select(Case.ref, Case.stage, Case.target_radius_m)
                      .where(Case.borough_code == WESTMINSTER)).all()
    if not rows:
        sys.exit("There are no Westminster cases to work on: build with more --cases.")
    refs = [r.ref for r in rows]
    mapped = [r.ref for r in rows if r.target_radius_m and r.stage is not Stage.ANALYSIS]
    words = sorted({w.name.split()[0].lower() for w in db.scalars(
        select(Ward).where(Ward.borough_code == WESTMINSTER))} - {"st", "the"})
    return Corpus(refs, [r.ref for r in rows if r.stage is not Stage.CLOSED] or refs,
                  mapped or refs, words or ["problem"])


def role_counts(users: int) -> dict[Role, int]:
    analysts = max(1, users // 25) if users >= 3 else 0
    supervisors = max(1, round(users * 0.3)) if users >= 2 else 0
    return {Role.ANALYST: analysts, Role.SUPERVISOR: supervisors,
            Role.OFFICER: users - analysts - supervisors}


def create_people(db: Session, users: int, run: str) -> list[Person]:
    """Fresh users for every run, each with an API token and a live page session, made the
    way tests/conftest.py makes them (a session row, as a sign-in would leave)."""
    # The people of earlier runs (on a reused database) go off duty: the borough then has the
    # same number of active officers run after run, as its choice lists and queues show.
    db.execute(update(User).where(User.username.startswith("load-"), User.active.is_(True))
               .values(active=False))
    people = []
    number = 0
    for role, count in role_counts(users).items():
        for _ in range(count):
            number += 1
            user = User(username=f"load-{run}-{role.value}-{number}",
                        display_name=f"{role.value.title()} {number}", role=role,
                        borough_code=None if role is Role.ANALYST else WESTMINSTER)
            db.add(user)
            db.flush()
            _token, secret = create_token(db, Actor.cli(), user, "load benchmark")
            session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            now = utcnow()
            db.add(UserSession(token_hash=digest(session), user_id=user.id, csrf_token=csrf,
                               created_at=now, last_seen_at=now,
                               expires_at=now + timedelta(days=1)))
            people.append(Person(user.username, role, secret, session, csrf,
                                 f"10.0.{number // 250}.{number % 250 + 1}"))
    db.commit()
    return people


# --- what people ask for ----------------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    method: str
    url: str
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    htmx: bool = False
    page: bool = False  # signed in by the session cookie (else by the API token)


Planner = Callable[[Person, Corpus, random.Random], Call]


def _page_list(_p: Person, c: Corpus, rng: random.Random) -> Call:
    params = {"borough": WESTMINSTER}
    roll = rng.random()
    if roll < 0.25:
        params["stage"] = rng.choice(STAGES)
    elif roll < 0.4:
        params["page"] = str(rng.randint(2, 4))
    return Call("GET", "/cases?" + urlencode(params), page=True)


def _page_filter(_p: Person, c: Corpus, rng: random.Random) -> Call:
    # The list's live filter: htmx asks for the results block as the officer types.
    params = {"borough": WESTMINSTER, "q": rng.choice(c.words)}
    return Call("GET", "/cases?" + urlencode(params), htmx=True, page=True)


def _page_case(_p: Person, c: Corpus, rng: random.Random) -> Call:
    return Call("GET", f"/cases/{rng.choice(c.refs)}", page=True)


def _page_map(_p: Person, c: Corpus, rng: random.Random) -> Call:
    # The case page's map fetches its layer as soon as the page has loaded.
    return Call("GET", f"/cases/{rng.choice(c.mapped_refs)}/map.geojson", page=True)


def _page_picture(_p: Person, c: Corpus, rng: random.Random) -> Call:
    # Outside Analysis the crime picture loads when it scrolls into view.
    return Call("GET", f"/cases/{rng.choice(c.mapped_refs)}?section=picture", htmx=True,
                page=True)


def _page_note(_p: Person, c: Corpus, rng: random.Random) -> Call:
    return Call("POST", f"/cases/{rng.choice(c.refs)}/notes",
                form={"note-body": f"Spoke to the manager of the shop at {rng.randint(1, 99)}."},
                htmx=True, page=True)


def _page_queue(_p: Person, _c: Corpus, _rng: random.Random) -> Call:
    return Call("GET", "/queue", page=True)


def _page_dashboard(_p: Person, _c: Corpus, _rng: random.Random) -> Call:
    return Call("GET", "/dashboard", page=True)


def _api_list(_p: Person, _c: Corpus, rng: random.Random) -> Call:
    params = {"borough": WESTMINSTER, "stage": rng.choice(STAGES)}
    if rng.random() < 0.2:
        params["overdue"] = "true"
        params["sort"] = "-priority"
    return Call("GET", "/api/v1/cases?" + urlencode(params))


def _api_case(_p: Person, c: Corpus, rng: random.Random) -> Call:
    return Call("GET", f"/api/v1/cases/{rng.choice(c.refs)}")


def _api_timeline(_p: Person, c: Corpus, rng: random.Random) -> Call:
    return Call("GET", f"/api/v1/cases/{rng.choice(c.refs)}/timeline")


def _api_stats(_p: Person, _c: Corpus, _rng: random.Random) -> Call:
    return Call("GET", f"/api/v1/stats?borough={WESTMINSTER}")


def _api_queue(_p: Person, _c: Corpus, _rng: random.Random) -> Call:
    return Call("GET", f"/api/v1/queue?borough={WESTMINSTER}")


def _api_note(_p: Person, c: Corpus, rng: random.Random) -> Call:
    return Call("POST", f"/api/v1/cases/{rng.choice(c.refs)}/notes",
                json={"body": f"Reviewed with the neighbourhood team, item {rng.randint(1, 9)}."})


def _api_outputs(_p: Person, c: Corpus, rng: random.Random) -> Call:
    return Call("POST", f"/api/v1/cases/{rng.choice(c.open_refs)}/outputs",
                json={"on": today().isoformat(), "counts": {
                    "community_engagements": rng.randint(1, 6),
                    "stop_searches": rng.randint(0, 2)}})


def _api_patrol(_p: Person, c: Corpus, rng: random.Random) -> Call:
    ended = datetime.now(UTC) - timedelta(minutes=rng.randint(5, 120))
    started = ended - timedelta(minutes=rng.randint(8, 20))
    return Call("POST", f"/api/v1/cases/{rng.choice(c.open_refs)}/patrols",
                json={"started_at": started.isoformat(), "ended_at": ended.isoformat(),
                      "kind": "foot", "place": "By the market entrance"})


def _api_picture(_p: Person, c: Corpus, rng: random.Random) -> Call:
    return Call("GET", f"/api/v1/cases/{rng.choice(c.mapped_refs)}/crime-picture")


def _api_hotspots(_p: Person, _c: Corpus, rng: random.Random) -> Call:
    params = {"borough": WESTMINSTER, "first": FIRST_MONTH, "last": LAST_MONTH,
              "cell_m": str(rng.choice([100, 250]))}
    return Call("GET", "/api/v1/hotspots?" + urlencode(params))


PLANNERS: dict[str, Planner] = {
    "page /cases": _page_list, "page /cases (htmx filter)": _page_filter,
    "page /cases/{ref}": _page_case, "page case map.geojson": _page_map,
    "page crime picture (htmx)": _page_picture, "page POST note (htmx)": _page_note,
    "page /queue": _page_queue, "page /dashboard": _page_dashboard,
    "api /cases": _api_list, "api /cases/{ref}": _api_case, "api timeline": _api_timeline,
    "api /stats": _api_stats, "api /queue": _api_queue, "api POST note": _api_note,
    "api POST outputs": _api_outputs, "api POST patrol": _api_patrol,
    "api crime-picture": _api_picture, "api /hotspots": _api_hotspots,
}
# Officers work on pages, on a phone in the street; supervisors read both and script the API;
# analysts read widely and run the heavier crime queries. Writes are 8 to 10% of requests.
MIX: dict[Role, dict[str, int]] = {
    Role.OFFICER: {"page /cases": 22, "page /cases (htmx filter)": 6, "page /cases/{ref}": 28,
                   "page case map.geojson": 10, "page crime picture (htmx)": 4,
                   "page POST note (htmx)": 3, "api POST outputs": 3, "api POST patrol": 2,
                   "api /cases/{ref}": 6},
    Role.SUPERVISOR: {"api /cases": 20, "api /cases/{ref}": 18, "api timeline": 8,
                      "api /stats": 5, "api /queue": 5, "api POST note": 7, "page /cases": 10,
                      "page /cases/{ref}": 12, "page /queue": 3, "page /dashboard": 3,
                      "page case map.geojson": 3},
    Role.ANALYST: {"api /cases": 20, "api /cases/{ref}": 20, "api timeline": 5,
                   "api /stats": 5, "api crime-picture": 8, "api /hotspots": 4,
                   "page /cases": 10, "page /cases/{ref}": 14, "page case map.geojson": 6},
}


# --- the server -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def server_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env |= {
        "POPCASE_DATABASE_URL": url,
        "POPCASE_ENVIRONMENT": "production",
        # Deployed behind TLS, cookies are Secure always. The sessions here are made directly,
        # so no cookie is set over this plain-HTTP loopback; the client sends X-Forwarded-Proto
        # as the TLS proxy would (uvicorn trusts forwarded headers from 127.0.0.1).
        "POPCASE_COOKIE_SECURE": "always",
        "PYTHONUNBUFFERED": "1",
        # The server runs this checkout's code, also from a git worktree: the virtualenv's
        # editable install would otherwise import the main checkout's.
        "PYTHONPATH": os.pathsep.join(
            [str(CHECKOUT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    return env


@contextmanager
def serve(url: str, workers: int, folder: Path) -> Iterator[Server]:
    popcase = Path(sys.executable).parent / "popcase"
    port, log = free_port(), folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(popcase), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)],
            env=server_env(url), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)  # its own process group: stopped whole, workers too
    server = Server(process, port, log)
    try:
        wait_ready(server, workers)
        yield server
    finally:
        stop(process)


def wait_ready(server: Server, workers: int, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            sys.exit(f"The server stopped:\n{server.log.read_text()[-3000:]}")
        try:
            if (httpx.get(server.base_url + "/health", timeout=2).status_code == 200
                    and len(workers_of(server.process.pid)) >= workers):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    sys.exit(f"The server did not answer /health in {timeout_s:.0f} s:\n"
             f"{server.log.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --- memory -----------------------------------------------------------------------------------

def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in task.read_text().split()]
        except OSError:
            continue
    return found


def workers_of(master: int) -> list[int]:
    """uvicorn's worker processes (multiprocessing spawn children), not its resource tracker."""
    return [pid for pid in children_of(master) if "spawn_main" in cmdline(pid)]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class MemorySampler:
    """The resident memory of the master and each worker every half second, kept at its peak;
    the kernel's own high-water mark (VmHWM) is read at the end to catch shorter peaks."""

    master: int
    peak_kb: dict[int, int] = field(default_factory=dict)
    hwm_kb: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.sample()

    def sample(self) -> None:
        for pid in [self.master, *children_of(self.master)]:
            rss = status_kb(pid, "VmRSS")
            self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), rss)
            self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), status_kb(pid, "VmHWM"))

    def finish(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.sample()


# --- the load ---------------------------------------------------------------------------------

@dataclass
class Sample:
    kind: str
    status: int  # 0: no answer (an exception)
    ms: float
    error: str = ""


def headers_for(person: Person) -> dict[str, str]:
    return {"X-Forwarded-Proto": "https", "X-Forwarded-For": person.address,
            "User-Agent": "popcase-bench-load"}


async def send(client: httpx.AsyncClient, person: Person, call: Call) -> httpx.Response:
    headers: dict[str, str] = {}
    if call.page:
        headers["Cookie"] = f"{SESSION_COOKIE}={person.session}"
        if call.method != "GET":
            headers[CSRF_HEADER] = person.csrf
    else:
        headers["Authorization"] = f"Bearer {person.token}"
    if call.htmx:
        headers["HX-Request"] = "true"
    return await client.request(call.method, call.url, headers=headers, json=call.json,
                                data=call.form)


async def simulate(base_url: str, person: Person, corpus: Corpus, args: argparse.Namespace,
                   window: tuple[float, float], samples: list[Sample], seed: int) -> None:
    """One person: ask, read the answer, think, until the end of the window."""
    rng = random.Random(seed)
    kinds, weights = zip(*MIX[person.role].items(), strict=True)
    begin, end = window
    async with httpx.AsyncClient(base_url=base_url, headers=headers_for(person),
                                 timeout=30, follow_redirects=False) as client:
        # People arrive over the warm-up, as a shift signs on, not all in the same second: a
        # burst of new connections would be accepted by whichever worker woke first (asyncio
        # accepts a whole backlog at once) and stay with it, keep-alive, for the whole run.
        await asyncio.sleep(rng.uniform(0, args.warmup * 0.8))
        while time.perf_counter() < end:
            kind = rng.choices(kinds, weights)[0]
            call = PLANNERS[kind](person, corpus, rng)
            started = time.perf_counter()
            try:
                response = await send(client, person, call)
                status, error = response.status_code, (
                    f"{call.method} {call.url} -> {response.status_code}: {brief(response)}"
                    if response.status_code >= 400 else "")
            except httpx.HTTPError as exc:
                status, error = 0, (f"{call.method} {call.url} -> {type(exc).__name__} after "
                                    f"{time.perf_counter() - started:.1f} s {exc}")
            if started >= begin:  # the warm-up is not counted
                samples.append(Sample(kind, status, (time.perf_counter() - started) * 1000,
                                      error))
            await asyncio.sleep(rng.uniform(0.5, 1.5) * args.think)


async def drive(base_url: str, people: list[Person], corpus: Corpus,
                args: argparse.Namespace) -> tuple[list[Sample], float]:
    samples: list[Sample] = []
    start = time.perf_counter()
    window = (start + args.warmup, start + args.warmup + args.duration)
    await asyncio.gather(*(simulate(base_url, person, corpus, args, window, samples, number)
                           for number, person in enumerate(people)))
    # Requests are only started inside the window, so rates are over its length.
    return samples, time.perf_counter() - window[0]


# --- the report -------------------------------------------------------------------------------

def percentile(sorted_ms: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    if not sorted_ms:
        return math.nan
    return sorted_ms[max(0, math.ceil(share * len(sorted_ms)) - 1)]


def row(label: str, samples: list[Sample], seconds: float) -> str:
    times = sorted(s.ms for s in samples)
    errors = sum(1 for s in samples if s.error)
    return (f"  {label:<28} {len(samples):>7,} {len(samples) / seconds:>7.1f} "
            f"{percentile(times, 0.5):>8.1f} {percentile(times, 0.95):>8.1f} "
            f"{percentile(times, 0.99):>8.1f} {errors:>7,}")


def report_requests(samples: list[Sample], seconds: float) -> dict[str, list[Sample]]:
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_kind[sample.kind].append(sample)
    print(f"\n  {'request':<28} {'count':>7} {'rps':>7} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'errors':>7}")
    for kind in PLANNERS:
        if by_kind.get(kind):
            print(row(kind, by_kind[kind], seconds))
    writes = [s for s in samples if "POST" in s.kind]
    print(row("reads", [s for s in samples if "POST" not in s.kind], seconds))
    print(row("writes", writes, seconds))
    print(row("all", samples, seconds))
    report_errors([s for s in samples if s.error])
    return by_kind


def report_errors(failed: list[Sample], shown: int = 6) -> None:
    """How many of each answer, then the first error of each kind and status."""
    if not failed:
        return
    statuses = Counter("no answer" if s.status == 0 else str(s.status) for s in failed)
    print("  errors by status: " + ", ".join(f"{k} x{n}" for k, n in statuses.most_common()))
    seen: set[tuple[str, int]] = set()
    for sample in failed:
        if (sample.kind, sample.status) not in seen and len(seen) < shown:
            seen.add((sample.kind, sample.status))
            print(f"  error: {sample.error}")


def brief(response: httpx.Response) -> str:
    """An error answer in a line: a page's title, or the start of a JSON body."""
    found = re.search(r"<title>(.*?)</title>", response.text, re.S)
    return found.group(1).strip() if found else response.text[:160]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (clock ticks in /proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def labels_of(master: int) -> dict[int, str]:
    """What each server process is (read while they run)."""
    labels = {master: "master (uvicorn supervisor)"}
    labels |= {pid: f"worker {n}" for n, pid in enumerate(workers_of(master), start=1)}
    for pid in children_of(master):
        if pid not in labels:
            labels[pid] = "resource tracker" if "resource_tracker" in cmdline(pid) else "other"
    return labels


def report_memory(sampler: MemorySampler, labels: dict[int, str], cpu: dict[int, float],
                  generator_cpu: float) -> None:
    print(f"\n  {'process':<28} {'peak RSS':>10} {'VmHWM':>8} {'CPU s in run':>13}")
    for pid, label in labels.items():
        print(f"  {label:<28} {sampler.peak_kb.get(pid, 0) / 1024:>7.0f} MB "
              f"{sampler.hwm_kb.get(pid, 0) / 1024:>5.0f} MB {cpu.get(pid, math.nan):>13.1f}"
              f"   (pid {pid})")
    print(f"  {'load generator (and build)':<28} "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:>7.0f} MB "
          f"{'':>8} {generator_cpu:>13.1f}")


def verdict(by_kind: dict[str, list[Sample]], samples: list[Sample], users: int) -> bool:
    errors = sum(1 for s in samples if s.error)
    checks = [(f"no errors ({errors:,} of {len(samples):,} requests)", errors == 0)]
    for kind in TARGETS:
        p95 = percentile(sorted(s.ms for s in by_kind.get(kind, [])), 0.95)
        checks.append((f"{kind} p95 {p95:.1f} ms < {TARGET_P95_MS:.0f} ms", p95 < TARGET_P95_MS))
    print(f"\ntargets at {users} concurrent users:")
    for label, met in checks:
        print(f"  {'PASS' if met else 'FAIL'}  {label}")
    passed = all(met for _label, met in checks)
    print(f"overall: {'PASS' if passed else 'FAIL'}")
    return passed


def server_problems(log: Path) -> int:
    return log.read_text(errors="replace").count("Traceback (most recent call last)")


def database_facts(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                version = conn.scalar(text("SHOW server_version"))
                return f"PostgreSQL {version}"
            return f"SQLite {conn.scalar(text('SELECT sqlite_version()'))}"
    finally:
        engine.dispose()


# --- the run ----------------------------------------------------------------------------------

def prepare(url: str, args: argparse.Namespace, folder: Path) -> None:
    if ensure_database(url):
        print(f"created database {make_url(url).database}")
    held = holdings(url)
    if held and held[0] and held[1] and args.reuse:
        print(f"reusing the database: {held[0]:,} cases, {held[1]:,} street crimes "
              "(--cases and --crimes ignored)")
        return
    if held is not None:
        sys.exit("The database is not empty: give an empty one, or --reuse to run against "
                 "one that an earlier run built.")
    started = time.perf_counter()
    print(f"building: {args.cases:,} cases, {args.crimes:,} crimes ({url.split(':')[0]})")
    build(url, args.cases, args.crimes, folder)
    print(f"built in {time.perf_counter() - started:.1f} s")


@dataclass(frozen=True)
class Outcome:
    """One run's verdict on its own targets, and its answers for a comparison."""

    passed: bool
    samples: list[Sample]
    by_kind: dict[str, list[Sample]]


def run(url: str, args: argparse.Namespace, folder: Path) -> Outcome:
    prepare(url, args, folder)
    engine = make_engine(url)
    with make_session_factory(engine)() as db:
        corpus = read_corpus(db)
        people = create_people(db, args.users, secrets.token_hex(3))
    engine.dispose()
    counts = role_counts(args.users)
    print(f"{len(people)} people: {counts[Role.OFFICER]} officers and "
          f"{counts[Role.SUPERVISOR]} supervisors of Westminster, {counts[Role.ANALYST]} "
          f"analysts; {len(corpus.refs):,} Westminster cases to work on")
    load_before = os.getloadavg()
    with serve(url, args.workers, folder) as server:
        labels = labels_of(server.process.pid)
        sampler = MemorySampler(server.process.pid)
        sampler.start()
        cpu_before = {pid: cpu_seconds(pid) for pid in labels}
        generator_before = time.process_time()
        print(f"server: popcase serve --workers {args.workers} on {server.base_url}; "
              f"warm-up {args.warmup:.0f} s, then {args.duration:.0f} s measured")
        samples, elapsed = asyncio.run(drive(server.base_url, people, corpus, args))
        sampler.finish()
        cpu = {pid: cpu_seconds(pid) - cpu_before[pid] for pid in labels}
        generator_cpu = time.process_time() - generator_before
        problems = server_problems(server.log)
    print(f"\n{os.cpu_count()} CPUs ({platform.machine()}), {database_facts(url)}, "
          f"{args.workers} workers, {args.users} users, think {args.think} s, measured "
          f"{args.duration:.0f} s (the last answer {elapsed - args.duration:.1f} s after); "
          f"load average {load_before[0]:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after")
    by_kind = report_requests(samples, args.duration)
    print(f"  server log: {problems} tracebacks")
    report_memory(sampler, labels, cpu, generator_cpu)
    return Outcome(verdict(by_kind, samples, args.users), samples, by_kind)


# --- SQLite beside PostgreSQL -----------------------------------------------------------------

SQLITE_TO_PEER_MAX = 2.0  # issue 19: SQLite's p95 within 2x of PostgreSQL's, in the same run


def p95_of(samples: list[Sample]) -> float:
    return percentile(sorted(s.ms for s in samples), 0.95)


def compare(sqlite: Outcome, peer: Outcome) -> bool:
    """SQLite's p95 beside PostgreSQL's, the same load one after the other: all requests, reads,
    writes and the targets' kinds; PASS when the whole run's ratio is within 2x and SQLite
    answered no error (PostgreSQL's errors are counted against its own targets, above)."""
    print(f"\nSQLite beside PostgreSQL, same load:\n  {'request':<28} {'SQLite p95':>11} "
          f"{'PG p95':>9} {'ratio':>6}")
    groups = {"all": (sqlite.samples, peer.samples),
              "reads": ([s for s in sqlite.samples if "POST" not in s.kind],
                        [s for s in peer.samples if "POST" not in s.kind]),
              "writes": ([s for s in sqlite.samples if "POST" in s.kind],
                         [s for s in peer.samples if "POST" in s.kind])}
    groups |= {kind: (sqlite.by_kind.get(kind, []), peer.by_kind.get(kind, []))
               for kind in TARGETS}
    for label, (ours, theirs) in groups.items():
        mine, other = p95_of(ours), p95_of(theirs)
        print(f"  {label:<28} {mine:>11.1f} {other:>9.1f} {mine / other:>6.2f}")
    ratio = p95_of(sqlite.samples) / p95_of(peer.samples)
    errors = sum(1 for s in sqlite.samples if s.error)
    checks = [(f"SQLite p95 {ratio:.2f}x PostgreSQL's <= {SQLITE_TO_PEER_MAX:.0f}x",
               ratio <= SQLITE_TO_PEER_MAX),
              (f"no errors on SQLite ({errors:,} of {len(sqlite.samples):,} requests)",
               errors == 0)]
    for label, met in checks:
        print(f"  {'PASS' if met else 'FAIL'}  {label}")
    print(f"  (PostgreSQL: {sum(1 for s in peer.samples if s.error):,} errors)")
    passed = all(met for _label, met in checks)
    print(f"comparison: {'PASS' if passed else 'FAIL'}")
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="the database: one that does not exist (PostgreSQL), "
                        "an empty one, or with --reuse a built one (default: temporary SQLite)")
    parser.add_argument("--reuse", action="store_true",
                        help="run against the cases and crimes already in --url")
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--crimes", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=10,
                        help="seconds before measuring, over which the people arrive")
    parser.add_argument("--think", type=float, default=2.0,
                        help="mean seconds between a person's requests")
    parser.add_argument("--compare-url", metavar="PG_URL",
                        help="then run the same load on this PostgreSQL database (built, or "
                        "with --reuse taken as it is) and compare SQLite's p95 with its own")
    args = parser.parse_args()
    if args.compare_url and (is_sqlite(args.compare_url) or
                             (args.url and not is_sqlite(args.url))):
        parser.error("--compare-url names a PostgreSQL database, compared with SQLite (--url "
                     "a SQLite file, or the default temporary one)")
    folder = Path(tempfile.mkdtemp(prefix="popcase-load-"))
    try:
        url = args.url or f"sqlite:///{folder / 'load.db'}"
        outcome = run(url, args, folder)
        passed = outcome.passed
        if args.compare_url:
            print(f"\n--- the same load on {make_url(args.compare_url).database} ---")
            peer = run(args.compare_url, args, folder)
            passed = compare(outcome, peer)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for kept in filter(None, (args.url, args.compare_url)):
        print(f"the database is left in place for --reuse: "
              f"{make_url(kept).render_as_string(hide_password=True)}")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
