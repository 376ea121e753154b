"""GOV.UK form errors in the browser, on a phone and a desktop: the error summary takes focus,
its links move focus to the field (a date's box), the typed values stay, and axe finds nothing;
a form swapped in by htmx gets its summary focused too."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.a11y import assert_accessible
from tests.browser.conftest import ARTIFACTS, DESKTOP, PHONE, PageProblems, assert_fits_phone

pytestmark = pytest.mark.browser

VIEWPORTS = [pytest.param({"viewport": PHONE}, id="phone"),
             pytest.param({"viewport": DESKTOP}, id="desktop")]


def shot(page: Page, name: str, context_options: dict[str, dict[str, int]]) -> None:
    folder = ARTIFACTS / "forms"
    folder.mkdir(parents=True, exist_ok=True)
    width = context_options["viewport"]["width"]
    page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("context_options", VIEWPORTS, indirect=True)
def test_a_concern_with_two_wrong_fields(page: Page, sign_in: Callable[[str], None],
                                         page_problems: PageProblems,
                                         context_options: dict[str, dict[str, int]]) -> None:
    page_problems.allow(r"status of 422")
    sign_in("pc.shah")
    page.goto("/concerns/new")
    page.get_by_label("What is the concern?").fill("ab")
    page.get_by_label("Where").fill("Penfold Street")
    date = page.get_by_role("group", name="When was it raised?")
    date.get_by_label("Day").fill("31")
    date.get_by_label("Month").fill("2")
    date.get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Record concern").click()

    expect(page).to_have_title(re.compile(r"^Error: "))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    links = summary.get_by_role("link")
    expect(links).to_have_text(["Enter a description of at least 3 characters.",
                                "31 February 2026 is not a real date."])
    expect(page.locator("#raised_on-error")).to_have_text(
        "Error: 31 February 2026 is not a real date.")
    # What was typed is still there, the wrong date's boxes too.
    expect(page.get_by_label("What is the concern?")).to_have_value("ab")
    expect(date.get_by_label("Day")).to_have_value("31")
    expect(date.get_by_label("Month")).to_have_value("2")
    expect(date.get_by_label("Year")).to_have_value("2026")
    expect(date.get_by_label("Day")).to_have_attribute("inputmode", "numeric")
    assert_accessible(page, "a concern refused")
    if context_options["viewport"] == PHONE:
        assert_fits_phone(page)
    shot(page, "concern-errors", context_options)

    links.nth(1).click()
    expect(date.get_by_label("Day")).to_be_focused()
    date.get_by_label("Day").fill("28")
    page.get_by_label("What is the concern?").fill("Fights at pack-up time.")
    page.get_by_role("button", name="Record concern").click()
    expect(page).to_have_url(re.compile(r"/concerns/\d+\?flash=recorded$"))
    expect(page.get_by_text("28 Feb 2026").first).to_be_visible()


@pytest.mark.parametrize("context_options", VIEWPORTS, indirect=True)
def test_a_form_swapped_in_by_htmx_focuses_its_summary(
        page: Page, sign_in: Callable[[str], None], page_problems: PageProblems,
        context_options: dict[str, dict[str, int]]) -> None:
    page_problems.allow(r"status of 422")
    sign_in("pc.shah")
    page.locator("main a[href^='/cases/WM-']").first.click()
    expect(page).to_have_url(re.compile(r"/cases/[A-Z0-9-]+"))
    timeline = page.locator("#timeline")
    timeline.get_by_label("Add a note").fill("   ")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        timeline.get_by_role("button", name="Add note").click()
    assert answer.value.status == 422
    summary = page.locator("#timeline .govuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text(["Enter a note."])
    assert_accessible(page, "a note refused")
    shot(page, "note-error", context_options)
    summary.get_by_role("link").click()
    expect(page.locator("#note-body")).to_be_focused()
