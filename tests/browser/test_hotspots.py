"""A City of London supervisor finds a hotspot on the map, on a phone, and opens a case on it,
choosing its category from the one proposed; an analyst sees the area's crime picture in
Analysis (demo data: real City of London files)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.a11y import assert_accessible, assert_keyboard_reachable
from tests.browser.conftest import ARTIFACTS, DESKTOP, PageProblems, assert_fits_phone

pytestmark = pytest.mark.browser
NOTICE = ("No street map: no tile server is set. In its place: the area's outline and "
          "street names from crime data, where there are any.")


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
    # No tile server in the tests: the map says so, and shows the outline and street names.
    expect(page.locator(".app-map + .app-map__notice")).to_have_text(NOTICE)
    expect(page.locator(".app-map__feature--target")).to_have_count(1)
    expect(page.locator(".app-map .app-map__street span").first).to_be_visible()
    place = page.locator("#cell-1 [data-place]").inner_text().splitlines()[0]
    assert place.startswith("On or near "), place

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
    expect(page.locator(".leaflet-popup-content")).to_contain_text(f"Rank 1: {place}:")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator(".app-map").screenshot(path=str(ARTIFACTS / "hotspot-map-plain-phone.png"))
    # The popup's link, activated as a click does (a pointer click can land while Leaflet
    # is still panning the popup into view, and miss it on a loaded machine).
    page.locator(".leaflet-popup-content").get_by_role("link", name="Details").dispatch_event(
        "click")
    expect(page).to_have_url(re.compile("#cell-1$"))

    # "Open a case here" proposes the category from the cell's crime, says so, and lets the
    # supervisor choose another: here the second most common, whose crimes the evidence counts.
    page.locator("#cell-1").get_by_role("button", name=re.compile("Open a case here")).click()
    expect(page).to_have_url(re.compile(r"/hotspots/cases/new\?.*col=\d+&row=\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Open a case on cell 1")
    expect(page.locator("#cell-summary")).to_contain_text(f"all crime: {top_count} crimes")
    expect(page.locator("#cell-summary [data-place]")).to_have_text(place)
    proposal = page.locator("#proposal")
    expect(proposal).to_contain_text(re.compile(
        r"Most of this cell's crime is .+ \(\d+ of " + re.escape(top_count) + r"\), so it is "
        r"proposed as the case's category\."))
    options = page.locator(".govuk-radios__item")
    expect(options).to_have_count(14)
    expect(options.first.get_by_role("radio")).to_be_checked()
    expect(options.first).to_contain_text("Proposed")
    assert_fits_phone(page)
    assert_accessible(page, "the case category page")
    assert_keyboard_reachable(page, "the case category page")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "hotspot-case-category-phone.png"), full_page=True)
    second = options.nth(1)
    label = second.locator("label").inner_text().strip()
    crimes = int(re.match(r"([\d,]+) crimes? in this cell",
                          second.locator(".govuk-radios__hint").inner_text())[1].replace(",", ""))
    second.get_by_role("radio").check()
    page.get_by_role("button", name="Open the case").click()

    expect(page).to_have_url(re.compile(r"/cases/CL-\d{4}-\d{4}\?flash=opened$"))
    named = "on or near " + place.removeprefix("On or near ")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(
        "Hotspot " + re.escape(named) + ": " + re.escape(label.lower())
        + r" \(City of London, cell \d+ of \d+\)"))
    expect(page.locator("#case-header .app-stage-tag")).to_have_text("Scanning")
    area = page.locator("#section-area")
    expect(area).to_contain_text(f"150 m grid cell {named}, ranked 1 in City of London (all "
                                 "crime)")
    expect(area).to_contain_text("Polygon")
    events = page.locator("#section-cheers")
    expect(events).to_contain_text(f"{crimes} crimes ({label.lower()}) in ")
    expect(events).not_to_contain_text("(all crime)")
    expect(area.locator(".app-map__feature--target")).to_have_count(1)
    # The case's map, without tiles: the City's outline, street names, and the notice.
    expect(area.locator(".app-map__feature--outline")).to_have_count(1)
    expect(area.locator(".app-map__street span").first).to_be_visible()
    expect(area.locator(".app-map + .app-map__notice")).to_have_text(NOTICE)
    assert_fits_phone(page)
    page.screenshot(path=str(ARTIFACTS / "hotspot-case-phone.png"), full_page=True)


@pytest.mark.parametrize("context_options", [
    pytest.param({"java_script_enabled": False}, id="phone-without-js"),
    pytest.param({"java_script_enabled": False, "viewport": DESKTOP}, id="desktop-without-js"),
], indirect=True)
def test_a_hotspot_case_without_javascript_asks_again_for_a_category_with_crime(
        page: Page, sign_in: Callable[[str], None], page_problems: PageProblems,
        request: pytest.FixtureRequest) -> None:
    """Plain HTML forms: a category with no crime in the cell is refused, naming the field,
    and the one chosen next opens the case."""
    page_problems.allow("status of 422")  # the refused choice, answered 422 on purpose
    sign_in("sgt.byrne")
    # One month in 100 m cells: no cell holds every kind of crime.
    page.goto("/hotspots?borough=E09000001&first=2025-06&last=2025-06&cell_m=100&top_k=10")
    page.locator("#cell-2").get_by_role("button", name=re.compile("Open a case here")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open a case on cell 2")
    empty = page.locator(".govuk-radios__item", has_text="No crime of this kind in this cell")
    assert empty.count() > 0
    empty_label = empty.first.locator("label").inner_text().strip()
    empty.first.get_by_role("radio").check()
    page.get_by_role("button", name="Open the case").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text(f"No {empty_label.lower()} was recorded in this cell")
    expect(page.locator("#case_category-error")).to_contain_text("choose a category with crime")
    expect(page).to_have_title(re.compile("^Error: Open a case on a hotspot cell"))
    if page.viewport_size and page.viewport_size["width"] <= 375:
        assert_fits_phone(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"hotspot-case-refused-{request.node.callspec.id}.png"),
                    full_page=True)
    # The summary's link takes the keyboard to the choices; the proposal is still chosen-able.
    page.locator("#case_category").check()
    page.get_by_role("button", name="Open the case").click()
    expect(page).to_have_url(re.compile(r"/cases/CL-\d{4}-\d{4}\?flash=opened$"))
    expect(page.locator("#section-area")).to_contain_text(re.compile(
        r"100 m grid cell on or near .+, ranked 2 in City of London \(all crime\)"))


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
