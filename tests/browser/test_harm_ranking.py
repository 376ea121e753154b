"""Hotspots ranked by harm in the browser, on a phone and on a desktop: the analyst loads a
harm-weight table for North Wales Police on its harm-weights page, then ranks Conwy's cells by
harm in the hotspot finder and reads each cell's harm and the table that weighed it.

The table is the tests' made-up one (tests/crime/files/harm), never a real index. Each viewport
loads it as a version of its own (tables are never changed, a new version is a new table).
Every step is checked with axe-core, must not scroll sideways on a phone, and leaves a
screenshot in build/screenshots/<database>/journeys/<viewport>/harm-ranking/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SEARCH_MS
from tests.browser.test_a_force_outside_london import sign_in
from tests.browser.test_journeys import VIEWPORTS, Journey
from tests.browser.test_journeys import journey as journey  # the fixture

pytestmark = pytest.mark.browser

TABLE = Path(__file__).resolve().parents[1] / "crime" / "files" / "harm" / "made-up-harm-index.csv"
CONWY = "W06000003"


@pytest.mark.parametrize("context_options", VIEWPORTS, indirect=True)
def test_an_analyst_ranks_hotspots_by_harm(page: Page,
                                           journey: Callable[[str], Journey]) -> None:
    walk = journey("harm-ranking")
    version = f"browser-{walk.viewport}"

    sign_in(page, "analyst.lee", "/cases")
    page.goto("/data/forces/north-wales/harm-weights")
    page.get_by_label("Name of the index").fill("Made-up index")
    page.get_by_label("Version").fill(version)
    page.get_by_label("Source", exact=True).fill("Invented for the browser tests")
    page.get_by_label("The table (CSV)").set_input_files(str(TABLE))
    walk.step("the table chosen")
    page.get_by_role("button", name="Load the table").click()
    expect(page.locator("#in-use")).to_have_text(f"In use: Made-up index ({version})")
    walk.step("the table in use")

    page.goto("/hotspots")
    page.get_by_label("Area", exact=True).select_option(CONWY)
    expect(page.get_by_label("To", exact=True).locator("option")).to_have_count(4)
    page.get_by_label(re.compile(r"^Harm \(")).check()
    page.get_by_role("button", name="Find hotspots").click()
    results = page.locator("#results")
    expect(results).to_contain_text("Conwy, ", timeout=SEARCH_MS)
    expect(results.locator("caption")).to_contain_text("Cells ranked by harm")
    expect(results.locator('[data-figure="harm"]')).to_contain_text(
        f"weighed by Made-up index ({version})")
    expect(page).to_have_url(re.compile(r"rank_by=harm"))
    first, second = (float(results.locator(f'[data-figure="harm.{n}"]').inner_text()
                           .replace(",", "")) for n in (1, 2))
    assert first >= second > 0
    walk.step("conwy ranked by harm")

    # After a reload the choice is kept: the radio stays on harm.
    page.reload()
    expect(page.get_by_label(re.compile(r"^Harm \("))).to_be_checked()
    expect(page.get_by_label(re.compile(r"^Harm \("))).to_have_accessible_name(
        f"Harm (Made-up index ({version}))")
