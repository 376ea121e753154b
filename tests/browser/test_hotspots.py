"""A City of London supervisor finds a hotspot on the map, on a phone, and opens a case on it;
an analyst sees the area's crime picture in Analysis (demo data: real City of London files)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, assert_fits_phone

pytestmark = pytest.mark.browser


def test_find_a_hotspot_on_the_map_and_open_a_case(page: Page,
                                                   sign_in: Callable[[str], None]) -> None:
    sign_in("sgt.byrne")
    page.goto("/hotspots")
    expect(page.get_by_label("Area", exact=True)).to_have_value("E09000001")  # the home borough
    page.get_by_label("Cell size").select_option("150")
    page.get_by_role("button", name="Find hotspots").click()

    results = page.locator("#results")
    expect(results).to_contain_text("City of London")
    expect(results).to_contain_text("Predictive Accuracy Index")
    cells = page.locator(".app-map__feature--cell")
    expect(cells.first).to_be_visible()
    assert cells.count() > 20
    assert_fits_phone(page)

    # The hottest cell's popup links to its row in the table.
    top_count = page.locator("#cell-1 td").nth(1).inner_text()
    page.locator(".app-map").scroll_into_view_if_needed()
    popup = page.locator(".leaflet-popup-content")
    for index in range(cells.count()):
        cells.nth(index).click(force=True)
        if popup.is_visible() and "Rank 1:" in popup.inner_text():
            break
    else:
        pytest.fail("no cell's popup says Rank 1")
    expect(page.locator(".leaflet-popup-content")).to_contain_text(top_count)
    # The popup's link, activated as a click does (a pointer click can land while Leaflet
    # is still panning the popup into view, and miss it on a loaded machine).
    page.locator(".leaflet-popup-content").get_by_role("link", name="Details").dispatch_event(
        "click")
    expect(page).to_have_url(re.compile("#cell-1$"))

    page.locator("#cell-1").get_by_role("button", name=re.compile("Open a case here")).click()
    expect(page).to_have_url(re.compile(r"/cases/CL-\d{4}-\d{4}\?flash=opened$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hotspot in City of London")
    expect(page.locator("#case-header .app-stage-tag")).to_have_text("Scanning")
    area = page.locator("#section-area")
    expect(area).to_contain_text("150 m grid cell ranked 1 in City of London")
    expect(area).to_contain_text("Polygon")
    expect(page.locator("#section-cheers")).to_contain_text(
        f"{top_count.replace(',', '')} crimes")
    expect(area.locator(".app-map__feature--target")).to_have_count(1)
    assert_fits_phone(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "hotspot-case-phone.png"), full_page=True)


def test_an_analyst_sees_the_crime_picture_in_analysis(page: Page,
                                                       sign_in: Callable[[str], None]) -> None:
    sign_in("analyst.lee")
    page.get_by_label("Search").fill("Broadgate")
    page.get_by_role("link", name=re.compile("Liverpool Street and Broadgate")).click()
    picture = page.locator("#section-picture")
    expect(picture.locator("svg[role=img]")).to_be_visible()
    expect(picture).to_contain_text("By last outcome")
    bars = picture.locator("rect[data-month]")
    assert bars.count() == 24
    # Clicking two months on the chart picks them as the baseline in the form below it.
    bars.nth(3).click()
    bars.nth(8).click()
    expect(picture.get_by_label("First month")).to_have_value(re.compile(r"\d{4}-\d{2}"))
    first = picture.get_by_label("First month").input_value()
    last = picture.get_by_label("Last month").input_value()
    assert first < last
    picture.get_by_role("button", name="Set the baseline").click()
    expect(page.get_by_role("alert")).to_contain_text("The baseline period is set.")
    expect(page.locator("#section-analysis")).to_contain_text("Baseline period")
    assert_fits_phone(page)
