"""An officer on a phone searches the case list for a word that is only in a timeline note:
the case comes up as they type, with the matching passage under its title, the word marked."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.a11y import assert_accessible
from tests.browser.conftest import ARTIFACTS, DESKTOP, PageProblems, assert_fits_phone

pytestmark = pytest.mark.browser


def test_search_finds_a_case_by_a_word_in_its_notes(
        page: Page, sign_in: Callable[[str], None], page_problems: PageProblems) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sign_in("pc.shah")
    page.goto("/cases")
    # The demo's Church Street case says "lighting engineer" in a note, nowhere else.
    with page.expect_response(lambda r: "q=engineers" in r.url and r.status == 200):
        page.get_by_label("Search").fill("engineers")
    results = page.locator("#case-results")
    expect(results.locator(".app-results__count")).to_have_text("1 case")
    item = results.locator(".app-case-list__item")
    expect(item.get_by_role("link")).to_have_text("Street violence around Church Street market")
    expect(item.locator(".app-case-list__match mark")).to_have_text("engineer")
    expect(page).to_have_url(re.compile(r"/cases\?q=engineers&"))  # in the address, to share
    expect(page.get_by_label("Sort by")).to_have_value("")  # the best match first
    assert_fits_phone(page)
    assert_accessible(page, "the case list searched on a phone")
    page.screenshot(path=str(ARTIFACTS / "search-phone.png"), full_page=True)

    page.set_viewport_size(DESKTOP)
    page.goto("/cases?q=walkway")
    expect(page.locator(".app-case-list__match mark").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "search-desktop.png"), full_page=True)
