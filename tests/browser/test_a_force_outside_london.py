"""North Wales Police in the browser, on a phone and on a desktop: Welsh and English names,
codes and references as its people see them.

The demo sets the force up from its real boundary file (English names only). Here its
administrator imports the same file again with the Welsh names ONS publishes beside them
(``LAD20NMW``), on the Forces page; then the Gwynedd officer works their area (its name in the
header, the hotspots of Gwynedd, a case opened there with a GW reference), and the analyst of
every force finds the Isle of Anglesey, "Ynys Môn", under North Wales Police. Every step is
checked with axe-core, must not scroll sideways on a phone, and leaves a screenshot in
build/screenshots/<database>/journeys/<viewport>/north-wales/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SEARCH_MS
from tests.browser.test_journeys import VIEWPORTS, Journey
from tests.browser.test_journeys import journey as journey  # the fixture
from tests.conftest import POLICE_UK_DATA

pytestmark = pytest.mark.browser

BOUNDARY_FILE = POLICE_UK_DATA / "boundaries" / "north-wales-local-authorities.geojson"
WELSH = {"W06000001": "Ynys Môn", "W06000002": "Gwynedd", "W06000003": "Conwy",
         "W06000004": "Sir Ddinbych", "W06000005": "Sir y Fflint", "W06000006": "Wrecsam"}
REF = re.compile(r"GW-\d{4}-\d{4}")


def with_welsh_names(folder: Path) -> Path:
    """The real boundary file, each feature also carrying its Welsh name."""
    data = json.loads(BOUNDARY_FILE.read_bytes())
    for feature in data["features"]:
        feature["properties"]["lad20nmw"] = WELSH[feature["properties"]["lad20cd"]]
    path = folder / "north-wales-local-authorities-cy.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def sign_in(page: Page, username: str, lands_on: str) -> None:
    page.context.clear_cookies()
    page.goto(f"/sign-in?next={lands_on}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(f"{lands_on}$"))


@pytest.mark.parametrize("context_options", VIEWPORTS, indirect=True)
def test_a_welsh_force_in_welsh_and_english(page: Page, journey: Callable[[str], Journey],
                                            tmp_path: Path) -> None:
    if not BOUNDARY_FILE.is_file():
        pytest.skip(f"the real boundary file {BOUNDARY_FILE} is not on this machine")
    walk = journey("north-wales")

    # The administrator adds the Welsh names, on the force's page.
    sign_in(page, "admin", "/admin/forces")
    page.get_by_role("link", name="North Wales Police").click()
    areas = page.get_by_role("region", name="Local policing areas")
    expect(areas).to_contain_text("Isle of Anglesey")
    walk.step("the force's areas")
    page.get_by_label("A GeoJSON file of the force's boundaries (WGS84)").set_input_files(
        str(with_welsh_names(tmp_path)))
    page.get_by_role("button", name="Import for North Wales Police").click()
    expect(page.locator("#imported")).to_contain_text("0 added, 6 updated")
    for english, welsh, code, prefix in (("Isle of Anglesey", "Ynys Môn", "W06000001", "IA"),
                                         ("Denbighshire", "Sir Ddinbych", "W06000004", "DN"),
                                         ("Wrexham", "Wrecsam", "W06000006", "WR")):
        row = areas.locator(f"#area-{code}")
        expect(row).to_contain_text(f"{english} / {welsh}")
        expect(row).to_contain_text(code)
        expect(row.get_by_role("textbox")).to_have_value(prefix)
    expect(areas.locator("#area-W06000002")).not_to_contain_text("Gwynedd /")  # said once
    walk.step("welsh names imported")

    # The Gwynedd officer: their area by name, its cases by reference.
    sign_in(page, "pc.jones", "/cases")
    expect(page.locator(".app-header__user")).to_contain_text("Officer, Gwynedd")
    bangor = page.locator(".app-case-list li", has_text="Night-time disorder on Bangor")
    expect(bangor).to_contain_text(REF)
    expect(bangor).to_contain_text("Gwynedd")
    expect(page.locator("main")).not_to_contain_text("W06000002")
    walk.step("the officer's cases")

    page.goto("/hotspots")
    expect(page.get_by_label("Area", exact=True)).to_have_value("W06000002")
    page.get_by_role("button", name="Find hotspots").click()
    results = page.locator("#results")
    # A whole county's search (cells, Gi*, street names): under a second on a quiet machine,
    # given longer when the suite's workers share two cores with the browsers.
    expect(results).to_contain_text("Gwynedd, ", timeout=SEARCH_MS)
    expect(results).to_contain_text("from North Wales Police's data")
    # Cells named by their (Welsh) streets; no street map here, and the map says so.
    place = page.locator("#cell-1 [data-place]").inner_text().splitlines()[0]
    assert place.startswith("On or near ")
    expect(page.locator(".app-map + .app-map__notice")).to_contain_text("No street map")
    expect(page.locator(".app-map .app-map__street span").first).to_be_visible(
        timeout=SEARCH_MS)  # the map's layers are a second request of the same size
    walk.step("hotspots in gwynedd")
    page.locator("#cell-1").get_by_role("button", name=re.compile("Open a case here")).click()
    # The category proposed from the cell's crime, said and chosen before the case is made.
    expect(page.locator("#proposal")).to_contain_text("proposed as the case's category")
    page.get_by_role("button", name="Open the case").click()
    expect(page).to_have_url(re.compile(r"/cases/GW-\d{4}-\d{4}\?flash=opened$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        f"Hotspot on or near {place.removeprefix('On or near ')}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("(Gwynedd, cell ")
    expect(page.locator("#case-header")).to_contain_text("Gwynedd")
    expect(page.locator("#case-header")).to_contain_text(REF)
    walk.step("a case opened in gwynedd")

    # The analyst of every force: North Wales's areas under its name, in both languages.
    sign_in(page, "analyst.lee", "/cases")
    page.goto("/hotspots")
    group = page.locator('#borough optgroup[label="North Wales Police"]')
    expect(group.locator("option")).to_contain_text([
        "Conwy", "Denbighshire / Sir Ddinbych", "Flintshire / Sir y Fflint", "Gwynedd",
        "Isle of Anglesey / Ynys Môn", "Wrexham / Wrecsam"])
    page.get_by_label("Area", exact=True).select_option("W06000001")
    # The months offered follow the area: North Wales Police's four, not the City's.
    expect(page.get_by_label("From", exact=True)).to_have_value("2024-01")
    expect(page.get_by_label("To", exact=True).locator("option")).to_have_count(4)
    page.get_by_role("button", name="Find hotspots").click()
    expect(page.locator("#results")).to_contain_text("Isle of Anglesey / Ynys Môn, ",
                                                     timeout=SEARCH_MS)
    walk.step("the analyst finds ynys mon")
