"""Who runs an operation, in the browser, on a phone and on a desktop.

The demo's Operation Nightingale is the Metropolitan Police's as a whole: a Westminster
supervisor reads it but is offered no change, and is told who may change it. An analyst sets up
an operation run by Westminster (choosing the area by name), finds it through the list's area
filter, and Westminster's supervisor may then change it. Every step is checked with axe-core,
must not scroll sideways on a phone, and leaves a screenshot in
build/screenshots/<database>/journeys/<viewport>/.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.test_journeys import VIEWPORTS, Journey, sign_in_step, unique
from tests.browser.test_journeys import journey as journey  # the fixture

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("context_options", VIEWPORTS, indirect=True)
def test_a_supervisor_reads_the_forces_operation_and_runs_their_areas(
        page: Page, journey: Callable[[str], Journey], live_server: LiveServer) -> None:
    work = journey("operation-owners")
    sign_in_step(work, "sgt.okafor")
    expect(page.locator(".app-header__user")).to_contain_text("Supervisor, Westminster")
    page.goto("/operations")
    page.get_by_role("link", name="Operation Nightingale").click()
    expect(page.locator(".govuk-caption-l")).to_contain_text(
        "Run by Metropolitan Police (force-wide)")
    expect(page.get_by_role("link", name="Change operation Nightingale")).to_have_count(0)
    expect(page.get_by_label("Add a case by its reference")).to_have_count(0)
    expect(page.locator(".govuk-inset-text")).to_contain_text(
        "Only Metropolitan Police's analysts and the supervisors who work across it change")
    work.step("the force's operation, read only")
    page.context.clear_cookies()  # the next person signs in

    name = unique("Church Street")
    sign_in_step(work, "analyst.lee")
    page.goto("/operations/new")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Police force").select_option("metropolitan")
    page.get_by_label("Run by").select_option(label="Westminster")
    starts = page.get_by_role("group", name="Starts")
    starts.get_by_label("Day").fill("1")
    starts.get_by_label("Month").fill("4")
    starts.get_by_label("Year").fill("2026")
    work.step("an operation for Westminster")
    page.get_by_role("button", name="Set up operation").click()
    expect(page.locator(".govuk-caption-l")).to_contain_text("Run by Westminster")
    page.goto("/operations")
    page.get_by_label("Run by").select_option(label="Westminster")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("link", name=f"Operation {name}")).to_be_visible()
    expect(page.get_by_role("link", name="Operation Nightingale")).to_have_count(0)
    work.step("the list filtered by the area that runs it")
    page.context.clear_cookies()  # the next person signs in

    sign_in_step(work, "sgt.okafor")
    page.goto("/operations")
    page.get_by_role("link", name=f"Operation {name}").click()
    page.get_by_role("link", name=f"Change operation {name}").click()
    page.get_by_label("Owning unit").fill("Westminster neighbourhood teams")
    page.get_by_role("button", name="Save operation").click()
    expect(page.locator(".govuk-caption-l")).to_contain_text(
        "Run by Westminster · Westminster neighbourhood teams")
    work.step("Westminster's supervisor changes Westminster's operation")
