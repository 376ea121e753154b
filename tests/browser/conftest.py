"""Browser tests: headless Chromium against a live server with a database of its own.

The live server does not share the rolled-back test connection of the rest of the suite: it gets
a fresh PostgreSQL database on the server named by ``POPCASE_TEST_DATABASE_URL`` (created here and
dropped at the end), or a SQLite file in a temporary folder. The schema comes from the Alembic
migrations and the content from the demo loader, then uvicorn serves the app from a thread.

Chromium is Debian's ``/usr/bin/chromium`` (``POPCASE_CHROMIUM`` names another). Without it the
browser tests are skipped, unless ``POPCASE_REQUIRE_BROWSER=1`` (CI) makes that a failure.

Every page's console errors and uncaught exceptions fail the test, and so does any
Content-Security-Policy violation, seen both as the console's "Refused to ..." message and as the
page's ``securitypolicyviolation`` event; no ``allow`` excuses one. Passing tests therefore show
that the policy holds on every page they open and after every htmx swap they make.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from app.auth.context import Actor, Channel
from app.auth.models import User
from app.cases import service
from app.cases.models import Case
from app.cases.schemas import CaseCreate
from app.cli import alembic_config
from app.crime.jobs import WorkerLoop
from app.db import make_engine, make_session_factory
from app.demo import DEMO_PASSWORD, WESTMINSTER, load_demo
from app.main import create_app
from app.settings import Settings
from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: F401  (the browser: tests/conftest.py)

PHONE = {"width": 375, "height": 812}
# A whole county's hotspot search (cells, Gi*, street names) takes under a second on a quiet
# machine; the suite's workers share two cores with their browsers, so it is given longer.
SEARCH_MS = 30_000
DESKTOP = {"width": 1280, "height": 800}
# Screenshots (CI keeps build/ as its artefacts), apart for each database the suite runs on.
ARTIFACTS = (Path(__file__).resolve().parents[2] / "build" / "screenshots"
             / ("postgresql" if "postgresql" in os.environ.get("POPCASE_TEST_DATABASE_URL", "")
                else "sqlite"))


# --- the database ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser_db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database for the live server alone, with the schema migrated and the demo loaded."""
    base = os.environ.get("POPCASE_TEST_DATABASE_URL", "")
    if base and make_url(base).get_backend_name() == "postgresql":
        yield from _postgres_database(base)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'browser.db'}"


def _postgres_database(base: str) -> Iterator[str]:
    name = f"popcase_browser_{secrets.token_hex(6)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"),
                         {"name": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _prepare(url: str) -> None:
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            load_demo(db)
    finally:
        engine.dispose()


# --- the live server ---------------------------------------------------------------------------

@dataclass
class LiveServer:
    url: str
    database_url: str


@pytest.fixture(scope="session")
def live_server(browser_db_url: str) -> Iterator[LiveServer]:
    import uvicorn

    _prepare(browser_db_url)
    app = create_app(Settings(database_url=browser_db_url, environment="demo"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           lifespan="off", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="popcase-live-server", daemon=True)
    thread.start()
    # The lifespan is off (it would start every loop): the import worker is started by hand,
    # as `popcase serve` on SQLite starts it, so an upload is imported by a real worker loop.
    worker = WorkerLoop(app.state.session_factory, app.state.settings)
    worker.start()
    app.state.import_worker = worker
    url = f"http://{host}:{port}"
    try:
        _wait_for_health(url, thread)
        yield LiveServer(url, browser_db_url)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        worker.stop(timeout=30)
        sock.close()
        # The app's own engine holds pooled connections: close them so the database can go.
        app.state.session_factory.kw["bind"].dispose()


def _wait_for_health(url: str, thread: threading.Thread, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if not thread.is_alive():
            raise RuntimeError("the live server stopped before answering /health")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the live server did not answer {url}/health in {timeout}s")
        time.sleep(0.05)


# --- the browser -------------------------------------------------------------------------------

# Records every Content-Security-Policy violation of each document, in the page's own window
# (read at the end of a test or step) and through a binding (so that the violations of a page
# the test has since left are not lost). Playwright runs it before any script of the page.
CSP_LISTENER = """(() => {
  const seen = [];
  const doc = Math.random().toString(36).slice(2);
  Object.defineProperty(window, "__cspViolations", { value: seen });
  window.addEventListener("securitypolicyviolation", (event) => {
    const where = `${event.sourceFile || event.documentURI}:${event.lineNumber}`;
    const what = event.blockedURI || "inline";
    const sample = event.sample ? ` "${event.sample}"` : "";
    const report = { key: `${doc}:${seen.length}`,
      text: `${event.effectiveDirective} refused ${what}${sample} at ${where}` };
    seen.push(report);
    if (typeof window.__popcaseCspViolation === "function") window.__popcaseCspViolation(report);
  }, true);
})();"""
CSP_CONSOLE = re.compile(r"Content Security Policy")


@dataclass
class PageProblems:
    """Console errors, uncaught exceptions and Content-Security-Policy violations seen by a
    test's page."""

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)
    csp: dict[str, str] = field(default_factory=dict)
    pages: list[Any] = field(default_factory=list)
    forgotten: set[str] = field(default_factory=set)

    def allow(self, pattern: str) -> None:
        """Expect console errors matching ``pattern`` (e.g. a deliberate 422 answer). A
        Content-Security-Policy violation is never expected: no pattern excuses one."""
        self.allowed.append(re.compile(pattern))

    def watch(self, page: Any) -> None:
        """Record the problems of ``page`` and of every page its browser context opens later
        (a new tab, a popup): console errors, uncaught exceptions and CSP violations."""
        context = page.context
        context.expose_binding("__popcaseCspViolation",
                               lambda _source, report: self._csp(report))
        context.add_init_script(CSP_LISTENER)
        self._watch_page(page)
        context.on("page", self._watch_page)

    def _watch_page(self, page: Any) -> None:
        if page in self.pages:
            return
        self.pages.append(page)

        def on_console(message: Any) -> None:
            if message.type == "error":
                location = message.location or {}
                self.errors.append(f"console error: {message.text} "
                                   f"({location.get('url', '')}:"
                                   f"{location.get('lineNumber', '')})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

    def _csp(self, report: dict[str, str]) -> None:
        if report["key"] not in self.forgotten:
            self.csp.setdefault(report["key"], report["text"])

    def clear(self) -> None:
        """Forget every problem seen so far: for the tests of this harness, which make some on
        purpose."""
        self.csp_violations()
        self.forgotten.update(self.csp)
        self.csp.clear()
        self.errors.clear()

    def csp_violations(self) -> list[str]:
        """Every violation so far, those of the open documents included, and every console
        message about the policy."""
        for page in self.pages:
            # The page may be closed or between documents: its binding has the rest.
            with contextlib.suppress(Exception):
                for report in page.evaluate("() => window.__cspViolations || []"):
                    self._csp(report)
        console = [e for e in self.errors if CSP_CONSOLE.search(e)]
        return [f"CSP violation: {text}" for text in self.csp.values()] + console

    def assert_no_csp_violations(self, where: str) -> None:
        violations = self.csp_violations()
        assert not violations, f"Content-Security-Policy violated on {where}:\n  " + (
            "\n  ".join(violations))

    def unexpected(self) -> list[str]:
        others = [e for e in self.errors if not CSP_CONSOLE.search(e)
                  and not any(p.search(e) for p in self.allowed)]
        return self.csp_violations() + others


PROBLEMS = pytest.StashKey[PageProblems]()
FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page_problems(request: pytest.FixtureRequest) -> PageProblems:
    problems = PageProblems()
    request.node.stash[PROBLEMS] = problems
    return problems


@pytest.fixture
def context_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Extra options for the test's browser context; parametrize it (indirect=True) to change
    them, e.g. ``{"java_script_enabled": False}``."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def page(browser: Any, live_server: LiveServer, page_problems: PageProblems,
         context_options: dict[str, Any], request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (no cookies) with a phone-sized viewport."""
    context = browser.new_context(**{"viewport": PHONE, "base_url": live_server.url,
                                     "locale": "en-GB", "timezone_id": "Europe/London",
                                     **context_options})
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    page_problems.watch(new_page)
    try:
        yield new_page
    finally:
        if request.node.stash.get(FAILED, False):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            # A screenshot is a bonus: never let it hide the real failure.
            with contextlib.suppress(Exception):
                new_page.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"),
                                    full_page=True)
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail the test itself (so that xfail applies) on any console error, page error or
    Content-Security-Policy violation."""
    result = yield
    problems = item.stash.get(PROBLEMS, None)
    if problems is not None and problems.unexpected():
        pytest.fail("The page reported errors:\n  " + "\n  ".join(problems.unexpected()),
                    pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


# --- helpers for the tests ---------------------------------------------------------------------

@pytest.fixture
def sign_in(page: Any) -> Callable[[str], None]:
    """Sign in through the sign-in page as a demo user."""

    def sign_in_as(username: str, password: str = DEMO_PASSWORD) -> None:
        page.goto("/sign-in")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/(cases|shift)$"))  # officers start on their shift

    return sign_in_as


def assert_fits_phone(page: Any) -> None:
    """Nothing wider than the phone's screen: no sideways scrolling at 375px."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (
        f"{page.url} is {width}px wide at a {PHONE['width']}px viewport: "
        + ", ".join(page.evaluate(_WIDE_ELEMENTS, PHONE["width"])))


_WIDE_ELEMENTS = """(limit) => [...document.querySelectorAll("body *")]
  .filter((el) => el.getBoundingClientRect().right > limit + 0.5)
  .slice(0, 5)
  .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join(".")}`
               + ` (right edge ${Math.round(el.getBoundingClientRect().right)}px)`)"""


def officers_case(live_server: LiveServer, title: str, **fields: Any) -> str:
    """The reference of PC Shah's Westminster case called ``title``, opened (with ``fields``)
    the first time a test asks for it on this live server."""
    engine = make_engine(live_server.database_url)
    try:
        with make_session_factory(engine)() as db:
            ref = db.scalar(select(Case.ref).where(Case.title == title))
            if ref is None:
                officer = db.scalars(select(User).where(User.username == "pc.shah")).one()
                ref = service.create_case(db, Actor(officer, Channel.CLI), CaseCreate(
                    title=title, borough=WESTMINSTER, **fields)).ref
            return ref
    finally:
        engine.dispose()
