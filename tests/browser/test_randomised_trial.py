"""Randomised hotspots in the browser, on a phone and on a desktop.

An analyst randomises a new operation's four City hotspots (the form names a bad choice beside
its field and keeps the rest), and an evaluator reads the demo's Operation Lantern, a trial of
eight City hotspots over real police.uk months: the allocation, its balance and seed, the
patrol flagged on a comparison hotspot, the groups compared and the design's Maryland level on
the evaluation page. Every step is checked with axe-core, must not scroll sideways on a phone,
and leaves a screenshot in build/screenshots/<database>/journeys/<viewport>/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.cases import service
from app.cases.models import Case
from app.cases.schemas import CaseCreate, CaseUpdate
from app.operations.schemas import OperationCreate
from app.operations.service import create_operation
from tests.browser.conftest import LiveServer, PageProblems
from tests.browser.test_journeys import VIEWPORTS, Journey, as_user, live_db, sign_in_step, unique
from tests.browser.test_journeys import journey as journey  # the fixture

pytestmark = pytest.mark.browser

CITY = "E09000001"
CORNERS = (("Botolph Lane", -0.08456, 51.51032), ("Allhallows Lane", -0.09058, 51.50972),
           ("Cock Lane", -0.10259, 51.51731), ("Cloth Street", -0.09802, 51.51969))


def new_operation(live_server: LiveServer) -> tuple[str, list[str]]:
    """An operation of the City with four hotspot cases, not yet randomised."""
    name = unique("Beacon")
    with live_db(live_server) as db:
        analyst = as_user(db, "analyst.lee")
        operation = create_operation(db, analyst, OperationCreate(
            name=name, force="city-of-london", start_date=date(2026, 1, 1)))
        refs = []
        for place, lng, lat in CORNERS:
            case = service.create_case(db, as_user(db, "sgt.byrne"), CaseCreate(
                title=f"Robbery at {place} {name[-4:]}", category="robbery", borough=CITY,
                problem_statement="Phones and bags taken at night.",
                target_area={"name": place, "radius_m": 100,
                             "geometry": {"type": "Point", "coordinates": [lng, lat]}}))
            service.update_case(db, analyst, case.ref, CaseUpdate(
                version=case.version, operation=operation.id))
            refs.append(case.ref)
    return name, refs


@pytest.mark.parametrize("context_options", VIEWPORTS, indirect=True)
def test_an_analyst_randomises_an_operations_hotspots(
        page: Page, journey: Callable[[str], Journey], live_server: LiveServer,
        page_problems: PageProblems) -> None:
    page_problems.allow("status of 422")  # the refused choice, answered 422 on purpose
    name, refs = new_operation(live_server)
    work = journey("trial-analyst")
    sign_in_step(work, "analyst.lee")
    page.goto("/operations")
    page.get_by_role("link", name=f"Operation {name}").click()
    page.get_by_role("link", name="Randomise the hotspots to patrols or comparison").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Randomised hotspots")
    for ref in refs:
        expect(page.get_by_label(re.compile(ref))).to_be_checked()
    work.step("the form, every hotspot chosen", keyboard=True)

    for ref in refs[2:]:
        page.get_by_label(re.compile(ref)).uncheck()
    page.get_by_role("button", name="Randomise the hotspots").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose at least 4 hotspots")
    expect(page.locator("#cases-error")).to_be_visible()
    expect(page.get_by_label(re.compile(refs[0]))).to_be_checked()
    expect(page.get_by_label(re.compile(refs[3]))).not_to_be_checked()
    work.step("too few hotspots, said beside the field")

    for ref in refs[2:]:
        page.get_by_label(re.compile(ref)).check()
    page.get_by_role("button", name="Randomise the hotspots").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("This allocation is final")
    rows = page.locator("#allocation-table tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator('#allocation-table tr[data-group="patrolled"]')).to_have_count(2)
    expect(page.locator("#group-result")).to_contain_text("Not worked out yet")
    expect(page.get_by_text("Maryland scale level 5")).to_be_visible()
    expect(page.get_by_role("button", name="Randomise the hotspots")).to_have_count(0)
    work.step("the allocation, final")
    with live_db(live_server) as db:
        case = db.scalar(select(Case).where(Case.ref == refs[0]))
        assert case is not None and case.operation is not None
        assert case.operation.name == name


@pytest.mark.parametrize("context_options", VIEWPORTS, indirect=True)
def test_an_evaluator_reads_the_demos_randomised_trial(
        page: Page, journey: Callable[[str], Journey]) -> None:
    work = journey("trial-evaluator")
    sign_in_step(work, "eval.morgan")
    page.goto("/operations")
    page.get_by_role("link", name="Operation Lantern").click()
    page.get_by_role("link", name="Randomised hotspots: patrolled against comparison").click()
    expect(page.locator("#allocation-table tbody tr")).to_have_count(8)
    expect(page.locator('#allocation-table tr[data-group="comparison"]')).to_have_count(4)
    expect(page.locator("#group-result")).to_contain_text("95% interval")
    expect(page.get_by_text("1 patrol was logged on comparison hotspots")).to_be_visible()
    expect(page.locator("#hotspots")).to_be_visible()
    page.get_by_text("Repeat it from the seed").click()
    expect(page.get_by_text("20250320", exact=True)).to_be_visible()
    work.step("the allocation and the groups compared")

    page.get_by_role("link", name="Operation Lantern").first.click()
    page.get_by_role("link", name="Evaluation: each hotspot's impact").click()
    expect(page.locator("#design")).to_contain_text("Maryland scale level 5")
    expect(page.locator("#randomised")).to_have_text(
        "Randomised: patrolled against comparison hotspots")
    work.step("the evaluation, randomised")


@pytest.mark.parametrize("context_options", VIEWPORTS, indirect=True)
def test_a_supervisor_randomises_hotspot_cells(
        page: Page, journey: Callable[[str], Journey], live_server: LiveServer,
        page_problems: PageProblems) -> None:
    """Cells as candidates: the top cells of a search opened as the operation's cases on its
    allocation page, then randomised."""
    page_problems.allow("status of 422")  # the refused number of cells, answered 422 on purpose
    name = unique("Lamplight")
    with live_db(live_server) as db:
        create_operation(db, as_user(db, "analyst.lee"), OperationCreate(  # the City runs it
            name=name, force="city-of-london", borough=CITY, start_date=date(2026, 1, 1)))
    work = journey("trial-cells")
    sign_in_step(work, "sgt.byrne")
    page.goto("/operations")
    page.get_by_role("link", name=f"Operation {name}").click()
    page.get_by_role("link", name="Randomise the hotspots to patrols or comparison").click()
    page.get_by_text("Add hotspot cells as candidates").click()
    expect(page.get_by_label("Area", exact=True)).to_have_value(CITY)
    page.get_by_label("Crime", exact=True).select_option("theft-from-the-person")
    page.get_by_label("How many cells").fill("0")
    work.step("the cell search")
    page.get_by_role("button", name="Open the cells as cases").click()
    expect(page.locator("#top-error")).to_be_visible()
    expect(page.get_by_label("Crime", exact=True)).to_have_value("theft-from-the-person")
    work.step("a bad number, said beside the field")

    page.get_by_label("How many cells").fill("6")
    page.get_by_role("button", name="Open the cells as cases").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "6 cells opened as cases of the operation, ticked below.")
    ticked = page.locator('#cases input[type="checkbox"]:checked')
    expect(ticked).to_have_count(6)
    expect(page.locator("#cases")).to_contain_text(re.compile(
        r"Hotspot on or near [^:]+: theft from the person \(City of London, cell 1 of"))
    work.step("six cells, now cases")
    page.get_by_role("button", name="Randomise the hotspots").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("This allocation is final")
    expect(page.locator('#allocation-table tr[data-group="comparison"]')).to_have_count(3)
    work.step("the cells randomised")
