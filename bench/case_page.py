"""Profile: where the case page's time and queries go, per request and per part.

    python -m bench.case_page [--url DATABASE_URL] [--cases 500] [--runs 20]

Without --url it builds a temporary SQLite database with bench.cases' cases (four actions
each, CHEERS, a timeline: what bench.load's cases hold); with --url it reads a database that
bench.load (or bench.cases) built, adding only a user. Then, in-process through the whole HTTP
stack as a Westminster supervisor (who sees the most: the review form, every section), it asks
for a spread of Westminster case pages (every stage), some htmx fragments, and the case list,
and prints per kind of request the median time and the SQL statements sent, then per part of
the handler its inclusive time and statements (a part inside another is indented). Statement
counts do not depend on the machine's load; the times do (compare runs made side by side).
"""

from __future__ import annotations

import argparse
import importlib
import secrets
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from app.auth.models import User, UserSession
from app.auth.roles import Role
from app.auth.service import digest
from app.cases.models import Case
from app.db import make_engine, make_session_factory, utcnow
from app.main import create_app
from app.sara.stages import Stage
from app.settings import Settings
from app.web.deps import SESSION_COOKIE
from bench import cases as bench_cases

WESTMINSTER = "E09000033"
# The parts of a case page request, as (module, function, label, depth). A part that a version
# of the code does not have is left out of the table, so that the same script profiles before
# and after a change.
PARTS: list[tuple[str, str, str, int]] = [
    ("app.web.deps", "resolve_session", "sign-in: session and user", 0),
    ("app.web.deps", "scope_name", "sign-in: area name", 0),
    ("app.web.deps", "unread_count", "sign-in: unread notifications", 0),
    ("app.cases.service", "view_case", "case read, permission, access log", 0),
    ("app.web.routes.cases", "_panels", "crime picture panels", 0),
    ("app.web.routes.cases", "impact_context", "impact figures (Assessment)", 0),
    # before issue 19: one context for the whole page and every fragment
    ("app.web.routes.cases", "page_context", "page context", 0),
    ("app.cases.service", "timeline", "timeline", 1),
    ("app.web.routes.cases", "current_gate", "gate (unmet items)", 1),
    ("app.web.routes.cases", "work_context", "patrols, outputs, concerns", 1),
    ("app.web.routes.cases", "review_context", "reviews", 1),
    ("app.web.routes.cases", "partners_context", "partner agencies", 1),
    ("app.web.routes.cases", "attachment_context", "attachments", 1),
    ("app.web.routes.cases", "_assignee_options", "assignee choices", 1),
    # after: the page's context or a fragment's, built from parts
    ("app.web.case_page", "case_context", "page context", 0),
    ("app.web.case_page", "gate_part", "gate (unmet items)", 1),
    ("app.web.case_page", "work_context", "patrols, outputs, concerns", 1),
    ("app.web.case_page", "review_context", "reviews", 1),
    ("app.web.case_page", "partners_context", "partner agencies", 1),
    ("app.web.case_page", "attachment_context", "attachments", 1),
    ("app.web.case_page", "attachment_count_part", "attachments", 1),
    ("app.web.case_page", "assignee_options", "assignee choices", 1),
    ("app.web.routes.cases", "render", "render (Jinja)", 0),
    ("app.web.case_page", "render", "render (Jinja)", 0),
    ("app.web.case_page", "render_parts", "render (Jinja)", 0),
]


@dataclass
class Tally:
    """Time and statements, per part of the handler, over every request of one kind."""

    ms: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    statements: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class Profiler:
    def __init__(self) -> None:
        self.statements = 0
        self.tally = Tally()
        self.sql: list[str] = []
        event.listen(Engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements += 1
        self.sql.append(statement.split("\n")[0][:110])

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started, before = time.perf_counter(), self.statements
            try:
                return fn(*args, **kwargs)
            finally:
                self.tally.ms[label] += (time.perf_counter() - started) * 1000
                self.tally.statements[label] += self.statements - before
        return timed

    @contextmanager
    def installed(self) -> Iterator[list[tuple[str, int]]]:
        """Wrap every part the code has; yield the labels found (in order, with depth)."""
        found: list[tuple[str, int]] = []
        undo = []
        for module_name, name, label, depth in PARTS:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            original = getattr(module, name, None)
            if original is None:
                continue
            setattr(module, name, self.wrap(label, original))
            undo.append((module, name, original))
            if (label, depth) not in found:
                found.append((label, depth))
        try:
            yield found
        finally:
            for module, name, original in undo:
                setattr(module, name, original)


def signed_in_supervisor(url: str) -> str:
    """A new Westminster supervisor with a live page session; its secret."""
    engine = make_engine(url)
    with make_session_factory(engine)() as db:
        user = User(username=f"profile-{secrets.token_hex(3)}", display_name="Sgt Profile",
                    role=Role.SUPERVISOR, borough_code=WESTMINSTER, force_id="metropolitan")
        db.add(user)
        db.flush()
        secret, now = secrets.token_urlsafe(32), utcnow()
        db.add(UserSession(token_hash=digest(secret), user_id=user.id,
                           csrf_token=secrets.token_urlsafe(32), created_at=now,
                           last_seen_at=now, expires_at=now.replace(year=now.year + 1)))
        db.commit()
    engine.dispose()
    return secret


def case_refs(url: str, per_stage: int) -> list[str]:
    """Westminster cases, ``per_stage`` of every stage."""
    engine = make_engine(url)
    refs: list[str] = []
    with make_session_factory(engine)() as db:
        for stage in Stage:
            refs += db.scalars(select(Case.ref).where(
                Case.borough_code == WESTMINSTER, Case.stage == stage)
                .order_by(Case.id).limit(per_stage))
    engine.dispose()
    return refs


def requests_for(refs: list[str]) -> dict[str, list[tuple[str, bool]]]:
    """Kinds of request: (path, htmx) each."""
    return {
        "case page": [(f"/cases/{ref}", False) for ref in refs],
        "case page, a section (htmx)": [(f"/cases/{ref}?section=problem&edit=1", True)
                                        for ref in refs],
        "case page, a stage opened (htmx)": [(f"/cases/{ref}?stage=analysis", True)
                                             for ref in refs],
        "case page, whole timeline (htmx)": [(f"/cases/{ref}?timeline=all", True)
                                             for ref in refs],
        "case list": [(f"/cases?borough={WESTMINSTER}", False)],
    }


def profile(client: TestClient, profiler: Profiler, calls: list[tuple[str, bool]],
            runs: int) -> tuple[list[float], int]:
    times, statements = [], 0
    profiler.tally = Tally()
    for _ in range(runs):
        for path, htmx in calls:
            headers = {"HX-Request": "true"} if htmx else {}
            before = profiler.statements
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            statements += profiler.statements - before
            assert response.status_code == 200, (path, response.status_code)
    return times, statements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a database bench.load or bench.cases built")
    parser.add_argument("--cases", type=int, default=500, help="cases of a new SQLite database")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--per-stage", type=int, default=4)
    parser.add_argument("--sql", action="store_true", help="print one case page's statements")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{Path(folder) / 'profile.db'}"
        if not args.url:
            bench_cases.build(url, args.cases)
        secret = signed_in_supervisor(url)
        refs = case_refs(url, args.per_stage)
        profiler = Profiler()
        print(f"case page profile: {len(refs)} Westminster cases ({url.split(':')[0]}), "
              f"{args.runs} rounds, in-process (TestClient)")
        with TestClient(create_app(Settings(database_url=url)),
                        follow_redirects=False) as client:
            client.cookies.set(SESSION_COOKIE, secret)
            for path, _htmx in requests_for(refs)["case page"]:
                client.get(path)  # warm up: templates compiled, statements cached
            if args.sql:
                profiler.sql.clear()
                client.get(f"/cases/{refs[-1]}")
                print("\n".join(f"  {s}" for s in profiler.sql))
            with profiler.installed() as parts:
                for kind, calls in requests_for(refs).items():
                    times, statements = profile(client, profiler, calls, args.runs)
                    n = len(times)
                    print(f"\n{kind}: median {statistics.median(times):.1f} ms, "
                          f"{statements / n:.1f} SQL statements a request")
                    for label, depth in parts:
                        if label in profiler.tally.ms:
                            print(f"  {'  ' * depth}{label:<{40 - 2 * depth}} "
                                  f"{profiler.tally.ms[label] / n:6.2f} ms "
                                  f"{profiler.tally.statements[label] / n:5.1f} statements")


if __name__ == "__main__":
    main()
