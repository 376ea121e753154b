"""An analyst on a phone assesses a demo hotspot of Operation Sentinel: works out the impact
with the proposed periods, sees the figures, their reading and the chart, then the
operation's evaluation with the case in it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, assert_fits_phone
from tests.browser.test_case_flow import marker_survived, set_marker

pytestmark = pytest.mark.browser

HOTSPOT = "Shoplifting on Cheapside and at One New Change"


def test_assess_a_demo_hotspot_and_see_the_chart_and_the_figures(
        page: Page, sign_in: Callable[[str], None]) -> None:
    sign_in("analyst.lee")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto("/operations")
    page.get_by_role("link", name="Operation Sentinel").click()
    page.get_by_role("link", name=HOTSPOT).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(HOTSPOT)
    set_marker(page)

    group = page.locator("#stage-assessment")
    group.locator(".app-stage-group__open").click()  # folded: it opens in place
    group.locator(".app-stage-group__body").scroll_into_view_if_needed()
    section = page.locator("#section-impact")
    form = section.locator("form")
    expect(form).to_be_visible()  # loaded when it came into view
    # Proposed from the response's start (1 December 2024): a year either side.
    expect(section.get_by_label("From").first).to_have_value("2023-12")
    expect(section.get_by_label("To").last).to_have_value("2025-11")
    assert_fits_phone(page)
    section.get_by_role("button", name="Work out and save").click()

    figures = page.locator("#impact-figures")
    expect(figures).to_contain_text("Assessment 1")
    expect(figures.locator("#impact-counts")).to_contain_text("Target")
    expect(figures.locator("svg.app-chart--lines")).to_be_visible()
    expect(figures.locator("svg .app-chart__marker-label")).to_have_text("Response began")
    expect(figures).to_contain_text("Relative effect size (odds ratio)")
    expect(figures.locator('[data-figure="odds_ratio"]')).not_to_be_empty()
    expect(page.locator("#timeline")).to_contain_text("Saved impact assessment 1")
    assert marker_survived(page)
    assert_fits_phone(page)
    figures.screenshot(path=str(ARTIFACTS / "impact-assessment-phone.png"))

    page.goto("/operations")
    page.get_by_role("link", name="Operation Sentinel").click()
    page.get_by_role("link", name="Evaluation: each hotspot's impact").click()
    expect(page.locator("#pooled")).to_contain_text("Pooled effect")
    row = page.locator("#evaluation-table tr", has_text=HOTSPOT)
    expect(row).to_contain_text("assessment 1")
    assert_fits_phone(page)
