"""A folded stage of the case page opens in place with JavaScript (no page load) and by its
plain link without it; an open stage that is not the current one folds again."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.a11y import assert_accessible
from tests.browser.conftest import assert_fits_phone
from tests.browser.test_case_flow import marker_survived, set_marker

pytestmark = pytest.mark.browser

RESPONSE_CASE = "Drug dealing on the Lisson Green estate walkways"  # a demo case in Response


@pytest.mark.parametrize("context_options", [{}, {"java_script_enabled": False}],
                         ids=["with-js", "without-js"], indirect=True)
def test_a_folded_stage_opens_and_folds(page: Page, sign_in: Callable[[str], None],
                                        context_options: dict[str, bool]) -> None:
    javascript = context_options.get("java_script_enabled", True)
    sign_in("pc.shah")
    page.get_by_role("link", name=RESPONSE_CASE).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(RESPONSE_CASE)
    scanning = page.locator("#stage-scanning")
    expect(scanning.locator(".app-stage-group__line")).to_contain_text("CHEERS: 6 of 6 met")
    expect(page.locator("#section-problem")).to_have_count(0)
    expect(page.locator("#section-response")).to_be_visible()
    if javascript:
        set_marker(page)

    scanning.get_by_role("link", name=re.compile("^Scanning")).click()
    expect(page.locator("#section-problem")).to_be_visible()
    expect(page.locator("#section-cheers")).to_be_visible()
    expect(page.locator("#section-response")).to_be_visible()  # the current stage stays open
    assert_fits_phone(page)
    if javascript:
        assert marker_survived(page), "the stage should open in place"
        assert_accessible(page, "a case with Scanning opened in place")
    else:
        assert "stage=scanning" in page.url

    page.locator("#stage-scanning").get_by_role("link", name=re.compile("^Hide")).click()
    expect(page.locator("#section-problem")).to_have_count(0)
    expect(page.locator("#stage-scanning .app-stage-group__line")).to_be_visible()
    if javascript:
        assert marker_survived(page)
