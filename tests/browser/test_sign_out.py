"""After signing out, neither the back button nor a bookmark shows case data."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

CASE_TITLE = "Drug dealing on the Lisson Green estate walkways"


def open_case_then_sign_out(page: Page, sign_in: Callable[[str], None]) -> str:
    """Sign in, open a demo case, sign out; return a piece of the case's data."""
    sign_in("pc.shah")
    page.get_by_role("link", name=CASE_TITLE).click()  # under "My cases" on the shift
    expect(page.get_by_role("heading", level=1)).to_have_text(CASE_TITLE)
    page.locator("#stage-scanning .app-stage-group__open").click()  # a case in Response
    statement = page.locator("#section-problem .govuk-summary-list__row",
                             has_text="Problem statement").locator("dd").text_content() or ""
    statement = statement.strip()
    assert len(statement) > 20

    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible() and menu.get_attribute("aria-expanded") != "true":
        menu.click()  # on a phone the navigation, Sign out included, is behind Menu
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in\?signed_out=1$"))
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    return statement


def assert_no_case_data(page: Page, *secrets: str) -> None:
    content = page.content()
    for secret in secrets:
        assert secret not in content, f"{page.url} still shows case data: {secret!r}"


@pytest.mark.parametrize("context_options", [{}, {"java_script_enabled": False}],
                         ids=["with-js", "without-js"], indirect=True)
def test_back_after_sign_out_shows_no_case_data(page: Page,
                                                sign_in: Callable[[str], None]) -> None:
    statement = open_case_then_sign_out(page, sign_in)

    page.go_back()
    page.wait_for_load_state()
    # The case page is not shown from any cache: it is asked for again and, with the session
    # gone, answered with the sign-in page.
    expect(page.get_by_role("heading", name="Sign in to popcase")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/sign-in\?"))
    assert_no_case_data(page, CASE_TITLE, statement)

    # Forward again (to the signed-out page) and back once more: still nothing.
    page.go_forward()
    page.wait_for_load_state()
    page.go_back()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Sign in to popcase")).to_be_visible()
    assert_no_case_data(page, CASE_TITLE, statement)


def test_cases_after_sign_out_lands_on_sign_in(page: Page,
                                               sign_in: Callable[[str], None]) -> None:
    statement = open_case_then_sign_out(page, sign_in)

    page.goto("/cases")
    expect(page).to_have_url(re.compile(r"/sign-in\?expired=1&next=/cases$"))
    expect(page.get_by_role("heading", name="Sign in to popcase")).to_be_visible()
    expect(page.get_by_text("Sign in to continue.")).to_be_visible()
    assert_no_case_data(page, CASE_TITLE, statement)

    # Signing in again goes back to where you were heading.
    page.get_by_label("Username").fill("pc.shah")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/cases$"))
    # The list shows cases again (which ones lead it depends on what other tests changed).
    expect(page.locator("#case-results a[href^='/cases/']").first).to_be_visible()
