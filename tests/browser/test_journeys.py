"""The day's work of each kind of user, on a phone (375x812) and on a desktop (1280x800).

* An officer: signs in to their shift, starts a patrol, records two arrests and ends it from
  that one screen (the taps counted), opens a case in Response (under five phone screens), finds
  their cases, saves CHEERS, records a patrol afterwards, adds a note and moves a case on through
  its gate, partly by keyboard alone.
* A supervisor: reviews a gate override from the work queue, overrides a gate with a reason,
  and closes a case.
* An analyst: imports a police.uk file, finds hotspots, and opens a case on the hottest cell.
* An evaluator: downloads a case file and an operation's bundle, and both verify.

At every step the page is checked with axe-core (no serious or critical violation) and, on the
main pages, by Tab alone (every control reached, focus visible); a phone page must not scroll
sideways; and no Content-Security-Policy violation has happened so far, on any page or swap.
Each step leaves a screenshot in build/screenshots/<database>/journeys/. Cases the journeys work
on are made for each run through the service layer, so a run can repeat.
"""

from __future__ import annotations

import io
import re
import secrets
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.context import Actor, Channel
from app.auth.models import User
from app.cases import moves, service
from app.cases.schemas import CaseCreate, CaseUpdate, TransitionRequest
from app.db import make_engine, make_session_factory
from app.exports.files import read_case_file
from app.patrols import service as patrols
from tests.browser.a11y import assert_accessible, assert_keyboard_reachable, settle, tab_to
from tests.browser.conftest import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    LiveServer,
    PageProblems,
    assert_fits_phone,
)
from tests.browser.test_case_flow import CHEERS, fill_cheers, marker_survived, set_marker
from tests.browser.test_patrol_on_a_phone import as_if_started_minutes_ago
from tests.conftest import CHURCH_STREET, POLICE_UK_DATA, READY_CHEERS, WESTMINSTER

pytestmark = pytest.mark.browser

VIEWPORTS = [pytest.param({"viewport": PHONE}, id="phone"),
             pytest.param({"viewport": DESKTOP}, id="desktop")]
POLICE_UK_FILE = POLICE_UK_DATA / "2019-01" / "2019-01-city-of-london-street.csv"


@dataclass
class Journey:
    """Checks and photographs each step of one user's journey."""

    page: Page
    problems: PageProblems
    name: str
    viewport: str
    steps: int = 0

    def step(self, label: str, *, keyboard: bool = False) -> None:
        self.page.wait_for_load_state()
        settle(self.page)
        where = f"{self.name} ({self.viewport}), step {self.steps + 1}: {label}"
        self.problems.assert_no_csp_violations(where)
        assert_accessible(self.page, where)
        if keyboard:
            assert_keyboard_reachable(self.page, where)
        if self.viewport == "phone":
            assert_fits_phone(self.page)
        self.steps += 1
        folder = ARTIFACTS / "journeys" / self.viewport / self.name
        folder.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        self.page.screenshot(path=str(folder / f"{self.steps:02d}-{slug}.png"), full_page=True)


@pytest.fixture
def journey(page: Page, page_problems: PageProblems) -> Callable[[str], Journey]:
    viewport = "phone" if page.viewport_size == PHONE else "desktop"
    return lambda name: Journey(page, page_problems, name, viewport)


# --- cases made for the journeys, through the service layer ------------------------------------

@contextmanager
def live_db(live_server: LiveServer) -> Iterator[Session]:
    engine = make_engine(live_server.database_url)
    try:
        with make_session_factory(engine)() as db:
            yield db
    finally:
        engine.dispose()


def as_user(db: Session, username: str) -> Actor:
    user = db.scalar(select(User).where(User.username == username))
    assert user is not None
    return Actor(user, Channel.CLI, client_addr="local", operator="journey set-up")


def new_case(db: Session, username: str, title: str, *, ready: bool) -> str:
    area = {"name": "Paddington Basin towpath", "radius_m": 200,
            "geometry": {"type": "Point", "coordinates": [-0.1745, 51.5185]}}
    case = service.create_case(db, as_user(db, username), CaseCreate(
        title=title, problem_statement="Bikes stolen from the towpath racks every evening.",
        category="bicycle-theft", borough=WESTMINSTER, ward=CHURCH_STREET, priority="high",
        target_area=area, cheers=READY_CHEERS if ready else None))
    return case.ref


def assessed_case(db: Session, title: str) -> str:
    """A case in Assessment with its assessment written up: ready to close."""
    supervisor = as_user(db, "sgt.okafor")
    ref = new_case(db, "pc.shah", title, ready=True)
    for stage in ("analysis", "response", "assessment"):
        moves.move_case(db, supervisor, ref, TransitionRequest(
            to=stage, override=True, reason="Worked before popcase: recorded on paper"))
    version = service.view_case(db, supervisor, ref).version
    service.update_case(db, supervisor, ref, CaseUpdate.model_validate({
        "version": version, "process_evaluation": "Racks moved under the CCTV; patrols done.",
        "impact_evaluation": "", "impact_none_reason": "No police.uk data for Westminster.",
        "outcome": "fewer_incidents", "lessons_learned": "Ask the canal trust first."}))
    return ref


def response_case(db: Session, title: str) -> str:
    """A case of PC Shah's in Response, where patrols start; no patrol of hers left running."""
    officer = as_user(db, "pc.shah")
    running = patrols.running_patrol_of(db, officer.user.id)  # type: ignore[union-attr]
    if running:
        patrols.discard_patrol(db, officer, running[1], running[0].id)
    ref = new_case(db, "pc.shah", title, ready=True)
    for stage in ("analysis", "response"):
        moves.move_case(db, as_user(db, "sgt.okafor"), ref, TransitionRequest(
            to=stage, override=True, reason="Worked before popcase: recorded on paper"))
    return ref


def unique(title: str) -> str:
    return f"{title} {secrets.token_hex(2)}"


# --- the journeys ------------------------------------------------------------------------------

def sign_in_step(journey: Journey, username: str) -> None:
    page = journey.page
    page.goto("/sign-in")
    journey.step("sign in page", keyboard=True)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/cases$"))


class Taps:
    """Counts what the user taps (clicks): typing is not a tap."""

    def __init__(self) -> None:
        self.count = 0

    def tap(self, target: Locator) -> None:
        target.click()
        self.count += 1


# Sign in (username field, password field, Sign in), start a patrol, record two arrests (the
# Arrests field, Record outputs), end it: the README states this count.
SHIFT_TAPS = 7
RESPONSE_DEMO_CASE = "Drug dealing on the Lisson Green estate walkways"  # the README's height


@pytest.mark.parametrize("context_options", VIEWPORTS, indirect=True)
def test_an_officers_day(page: Page, journey: Callable[[str], Journey],
                         live_server: LiveServer) -> None:
    title = unique("Bike thefts on the Paddington Basin towpath")
    hotspot = unique("Robberies by the Edgware Road underpass")
    with live_db(live_server) as db:
        ref = new_case(db, "pc.shah", title, ready=False)
        patrol_ref = response_case(db, hotspot)
    day = journey("officer")

    # My shift, from signing in to a patrol ended with its outputs, on one screen.
    taps = Taps()
    page.goto("/sign-in")
    day.step("sign in page", keyboard=True)
    taps.tap(page.get_by_label("Username"))
    page.keyboard.type("pc.shah")
    taps.tap(page.get_by_label("Password"))
    page.keyboard.type("demo-password")
    taps.tap(page.get_by_role("button", name="Sign in"))
    page.wait_for_url(re.compile(r"/shift$"))
    shift = page.locator("#shift-body")
    expect(shift.locator(f"#shift-case-{ref}")).to_be_visible()
    day.step("my shift", keyboard=True)
    set_marker(page)  # from here on, no full page load: every tap swaps the shift in place
    taps.tap(page.get_by_role("button", name=f"Start patrol on {patrol_ref}"))
    expect(shift).to_contain_text(f"Patrol started on {patrol_ref}.")
    expect(page.locator("#shift-patrol").get_by_role("link", name=re.compile(hotspot))
           ).to_be_visible()
    day.step("on patrol", keyboard=True)
    taps.tap(page.get_by_label("Arrests"))
    page.keyboard.type("2")
    taps.tap(page.get_by_role("button", name="Record outputs"))
    expect(shift).to_contain_text("Recorded 2 arrests.")
    expect(page.locator("#shift-outputs")).to_contain_text(f"2 arrests on {patrol_ref}")
    day.step("outputs recorded")
    as_if_started_minutes_ago(live_server, 12)
    taps.tap(page.get_by_role("button", name="End patrol"))
    expect(shift).to_contain_text("Patrol ended.")
    assert marker_survived(page)
    assert taps.count == SHIFT_TAPS
    day.step("patrol ended")

    # A case in Response, from "My cases": its page fits in five phone screens.
    page.locator("#shift-cases").get_by_role("link", name=RESPONSE_DEMO_CASE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(RESPONSE_DEMO_CASE)
    expect(page.locator("#patrol-panel")).to_be_visible()
    height = page.evaluate("document.documentElement.scrollHeight")
    if day.viewport == "phone":
        assert height < 5 * PHONE["height"], f"{height}px: more than five phone screens"
    day.step("a case in response")

    # My cases: the owner filter narrows the list to the officer's own.
    page.goto("/cases")
    day.step("cases", keyboard=True)
    page.get_by_text("Filters and sorting").click()
    page.get_by_label("Owner").select_option(label="PC Amira Shah")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("link", name=title)).to_be_visible()
    day.step("my cases")
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    # In Scanning: no patrol panel yet, and the later stages folded to a line each.
    expect(page.locator("#patrol-panel")).to_have_count(0)
    expect(page.locator("#stage-response .app-stage-group__line")).to_contain_text(
        "no plan yet")
    day.step("the case", keyboard=True)

    # CHEERS: is it a problem? Every element met, with evidence.
    cheers = page.locator("#section-cheers")
    cheers.get_by_role("link", name="Change").click()
    fill_cheers(cheers, "seen on the towpath")
    day.step("CHEERS form")
    cheers.get_by_role("button", name="Save CHEERS").click()
    expect(cheers.locator(".govuk-tag--green")).to_have_count(len(CHEERS))
    day.step("CHEERS saved")

    # A patrol recorded afterwards: its log is in the Response stage, opened in place.
    page.locator("#stage-response .app-stage-group__open").click()
    patrols = page.locator("#section-patrols")
    patrols.get_by_text("Record a patrol afterwards").click()
    yesterday = date.today() - timedelta(days=1)
    started = patrols.get_by_role("group", name="Date the patrol started")
    started.get_by_label("Day").fill(str(yesterday.day))
    started.get_by_label("Month").fill(str(yesterday.month))
    started.get_by_label("Year").fill(str(yesterday.year))
    patrols.get_by_label("Start").fill("18:00")
    patrols.get_by_label("End").fill("18:14")
    patrols.get_by_label("Where").fill("Towpath by the footbridge")
    patrols.get_by_role("button", name="Record patrol").click()
    expect(page.locator("#section-patrols")).to_contain_text("14 min")
    day.step("patrol recorded")

    # A note, typed and sent by keyboard alone.
    note = page.get_by_label("Add a note")
    tab_to(page, note)
    page.keyboard.type("Spoke to the canal trust about moving the racks.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#timeline")).to_contain_text("Spoke to the canal trust")
    day.step("note added")

    # The Scanning gate is met: move on to Analysis, by keyboard.
    move = page.locator("#gate").get_by_role("button", name="Move to Analysis")
    tab_to(page, move)
    page.keyboard.press("Enter")
    expect(page.locator("#case-header .app-stage-tag")).to_have_text("Analysis")
    expect(page.locator("#timeline")).to_contain_text("Moved from Scanning to Analysis")
    day.step("moved to analysis", keyboard=True)
    with live_db(live_server) as db:
        case = service.view_case(db, as_user(db, "pc.shah"), ref)
        assert case.stage.value == "analysis"


@pytest.mark.parametrize("context_options", VIEWPORTS, indirect=True)
def test_a_supervisors_review(page: Page, journey: Callable[[str], Journey],
                              live_server: LiveServer, page_problems: PageProblems) -> None:
    page_problems.allow("status of 422")  # closing with nothing typed, refused on purpose
    unready = unique("Begging at the Edgware Road subway")
    finished = unique("Bike thefts at Little Venice")
    with live_db(live_server) as db:
        unready_ref = new_case(db, "pc.shah", unready, ready=False)
        finished_ref = assessed_case(db, finished)
        # The other Westminster sergeant's override, for Sgt Okafor to review (the journey's
        # own override, below, waits for someone else: nobody reviews their own).
        moves.move_case(db, as_user(db, "sgt.adeyemi"), new_case(
            db, "pc.shah", unique("Street drinking at Paddington Green"), ready=False),
            TransitionRequest(to="analysis", override=True, reason="The ward panel asked"))
    review = journey("supervisor")
    sign_in_step(review, "sgt.okafor")

    page.goto("/queue")
    expect(page.get_by_role("heading", level=1)).to_have_text("Work queue")
    review.step("work queue", keyboard=True)
    # The oldest override waiting is reviewed first.
    oldest = page.locator(".app-queue-item form[action^='/queue/overrides/']").first
    action = oldest.get_attribute("action")
    oldest.get_by_label("Review note").fill("Reasons seen and accepted.")
    oldest.get_by_role("button", name=re.compile("Mark as reviewed")).click()
    expect(page.get_by_role("alert").first).to_contain_text("reviewed")
    expect(page.locator(f"form[action='{action}']")).to_have_count(0)
    review.step("override reviewed")

    # A gate unmet: the supervisor overrides it, with a reason.
    page.goto(f"/cases/{unready_ref}")
    gate = page.locator("#gate")
    expect(gate).to_contain_text("still needs")
    review.step("gate unmet", keyboard=True)
    gate.get_by_text("Override the gate and move to Analysis").click()
    gate.get_by_label("Why move on with the gate unmet?").fill(
        "Urgent: the ward panel asked for it; CHEERS to follow this week.")
    review.step("override form")
    gate.get_by_role("button", name="Override and move").click()
    expect(page.locator("#case-header .app-stage-tag")).to_have_text("Analysis")
    expect(page.locator("#timeline")).to_contain_text("CHEERS to follow this week")
    # The tracker marks Scanning as overridden, not completed, and says what it lacked.
    expect(page.locator('#stage-tracker [data-overridden="scanning"]')).to_be_visible()
    expect(page.locator("#overridden-scanning summary")).to_contain_text(
        "Scanning: gate overridden")
    expect(page.locator("#overridden-scanning summary")).to_contain_text("not yet reviewed")
    review.step("overridden")
    page.goto("/queue")
    expect(page.locator("#own-overrides")).to_contain_text(
        "for another supervisor's review: nobody reviews their own.")
    expect(page.locator(f".app-queue-item a[href='/cases/{unready_ref}#timeline']")
           ).to_have_count(0)

    # A case whose assessment is written up: close it.
    page.goto(f"/cases/{finished_ref}")
    expect(page.locator("#gate")).to_contain_text("Ready")
    review.step("ready to close", keyboard=True)
    gate = page.locator("#gate")
    gate.get_by_role("button", name="Close the case").click()  # nothing typed: refused
    expect(gate.locator(".govuk-error-summary")).to_contain_text("Enter a closing summary")
    expect(gate.locator(".govuk-error-summary")).to_contain_text("Confirm that the case is "
                                                                  "finished")
    review.step("closing needs a summary")
    gate.get_by_label("Closing summary").fill("Racks moved under the CCTV; thefts halved.")
    gate.get_by_label("The case is finished").check()
    gate.get_by_role("button", name="Close the case").click()
    expect(page.locator("#case-header .app-stage-tag")).to_have_text("Closed")
    expect(page.get_by_role("alert").first).to_contain_text(" is closed.")
    expect(page.locator("#closing-summary")).to_contain_text(
        "Racks moved under the CCTV; thefts halved.")
    review.step("closed")


@pytest.mark.parametrize("context_options", VIEWPORTS, indirect=True)
def test_an_analysts_day(page: Page, journey: Callable[[str], Journey]) -> None:
    if not POLICE_UK_FILE.is_file():
        pytest.skip(f"the real police.uk file {POLICE_UK_FILE} is not on this machine")
    work = journey("analyst")
    sign_in_step(work, "analyst.lee")

    page.goto("/data")
    work.step("data page", keyboard=True)
    page.get_by_label(re.compile("A street-level, outcomes or stop-and-search CSV")
                      ).set_input_files(str(POLICE_UK_FILE))
    page.get_by_role("button", name="Import", exact=True).click()
    batches = page.locator("#batches")
    expect(batches).to_contain_text(POLICE_UK_FILE.name, timeout=30_000)  # an upload
    expect(batches.locator("tr", has_text=POLICE_UK_FILE.name).first).to_contain_text(
        re.compile("Done|Imported"), timeout=30_000)
    work.step("file imported")

    page.goto("/hotspots")
    page.get_by_label("Area", exact=True).select_option("E09000001")
    work.step("hotspot finder", keyboard=True)
    page.get_by_role("button", name="Find hotspots").click()
    expect(page.locator("#results")).to_contain_text("Predictive Accuracy Index")
    work.step("hotspots found")

    page.locator("#cell-1").get_by_role("button", name=re.compile("Open a case here")).click()
    # The category proposed from the cell's crime, said and chosen before the case is made.
    expect(page.locator("#proposal")).to_contain_text("proposed as the case's category")
    page.get_by_role("button", name="Open the case").click()
    expect(page).to_have_url(re.compile(r"/cases/CL-\d{4}-\d{4}\?flash=opened$"))
    expect(page.locator("#case-header .app-stage-tag")).to_have_text("Scanning")
    work.step("case opened", keyboard=True)


def _download(page: Page, button: str) -> bytes:
    with page.expect_download() as download:
        page.get_by_role("button", name=button).click()
    path = download.value.path()
    return Path(path).read_bytes()


@pytest.mark.parametrize("context_options", VIEWPORTS, indirect=True)
def test_an_evaluators_exports(page: Page, journey: Callable[[str], Journey]) -> None:
    work = journey("evaluator")
    sign_in_step(work, "eval.morgan")

    page.get_by_label("Search").fill("Bishopsgate bars")
    page.get_by_role("button", name="Apply filters").click()
    page.get_by_role("link", name=re.compile("Violence around the Bishopsgate bars")).click()
    work.step("the case", keyboard=True)
    page.get_by_label("Why, and for whom").fill("University of Cambridge evaluation")
    manifest, case_file = read_case_file(_download(page, "Download the case file"))
    assert manifest["reason"] == "University of Cambridge evaluation"
    assert case_file.case.title.startswith("Violence around the Bishopsgate bars")
    work.step("case file downloaded")

    page.goto("/operations")
    page.get_by_role("link", name="Operation Sentinel").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Operation Sentinel")
    work.step("operation", keyboard=True)
    page.get_by_label("Why, and for whom").fill("University of Cambridge evaluation")
    page.get_by_label("Redact for sharing outside the force").check()
    bundle = zipfile.ZipFile(io.BytesIO(_download(
        page, "Download every case file and the evaluation")))
    inner = [name for name in bundle.namelist() if name.startswith("cases/")]
    assert len(inner) == 3 and {"evaluation.csv", "operation.json"} <= set(bundle.namelist())
    for name in inner:
        manifest, _case = read_case_file(bundle.read(name))
        assert manifest["redaction"]
    work.step("bundle downloaded")
