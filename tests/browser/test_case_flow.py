"""An officer on a phone opens a case, fills in Scanning and moves it to Analysis."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, Response, expect

from tests.browser.conftest import ARTIFACTS, PageProblems, assert_fits_phone

pytestmark = pytest.mark.browser

CHEERS = ["Community", "Harm", "Expectation", "Events", "Recurring", "Similarity"]
MARKER = "window.__popcaseNoReload"


def fill_cheers(cheers: Locator, where: str) -> None:
    """Every CHEERS element met, with evidence, in the open CHEERS form."""
    for element in CHEERS:
        group = cheers.get_by_role("group", name=re.compile(f"^{element}:"))
        group.get_by_label("Met", exact=True).check()
        cheers.get_by_label(f"Evidence for {element}").fill(f"{element}: {where}.")


def set_marker(page: Page) -> None:
    """A value on ``window`` that only survives as long as no full page load happens."""
    page.evaluate(f"{MARKER} = true")


def marker_survived(page: Page) -> bool:
    return page.evaluate(f"{MARKER} === true")


def is_htmx(response: Response) -> bool:
    return response.request.headers.get("hx-request") == "true"


def open_menu(page: Page) -> None:
    """On a phone the service navigation hides behind its Menu button."""
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    if menu.get_attribute("aria-expanded") != "true":
        menu.click()


def test_open_a_case_fill_scanning_and_move_to_analysis(page: Page,
                                                          sign_in: Callable[[str], None]) -> None:
    title = f"Bike thefts at Paddington Basin {secrets.token_hex(3)}"
    sign_in("pc.shah")
    page.goto("/cases")
    assert_fits_phone(page)

    # Open a case from the list's "Open a case" button.
    page.locator("main").get_by_role("link", name="Open a case").click()
    expect(page.get_by_role("heading", name="Open a case")).to_be_visible()
    assert_fits_phone(page)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Problem statement").fill(
        "Bicycles stolen from the stands by the canal, mostly overnight on weekdays.")
    page.get_by_label("Crime category").select_option(label="Bicycle theft")
    page.get_by_label("Ward").select_option(label="Church Street")
    page.get_by_role("button", name="Open case").click()

    expect(page).to_have_url(re.compile(r"/cases/[A-Z0-9-]+\?flash=opened$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_role("alert")).to_contain_text("is open in Scanning")
    expect(page.locator("#case-header .app-stage-tag")).to_have_text("Scanning")
    expect(page.locator("#gate")).to_contain_text("still needs")
    assert_fits_phone(page)
    ref = page.url.split("/cases/")[1].split("?")[0]

    # From here on, the section saves must swap in place: no full page load.
    set_marker(page)

    # The target area: a point and a radius.
    area = page.locator("#section-area")
    expect(area).to_contain_text("No target area yet")
    # The gate's item opens the form that meets it, in place.
    with page.expect_response(lambda r: "section=area" in r.url) as opened:
        page.locator("#gate").get_by_role("link", name="Set the target area").click()
    assert is_htmx(opened.value)
    expect(page.get_by_label("Name of the area")).to_be_in_viewport()
    page.get_by_label("Name of the area").fill("Paddington Basin cycle stands")
    page.get_by_label("A point and a radius").check()
    page.get_by_label("Latitude").fill("51.5227")
    page.get_by_label("Longitude").fill("-0.1707")
    page.get_by_label("Radius in metres").fill("250")
    assert_fits_phone(page)
    with page.expect_response(lambda r: r.url.endswith(f"/cases/{ref}/sections/area")) as saved:
        page.get_by_role("button", name="Save target area").click()
    assert is_htmx(saved.value) and saved.value.status == 200
    expect(area).to_contain_text("51.52270, -0.17070 (latitude, longitude)")
    expect(area).to_contain_text("250 metres")
    # The area's map loads its data after the swap and then shows its notice above the next
    # section: wait, or the notice moves CHEERS' "Change" between the press and the release of
    # the click, and the click is lost (the link was focused, no request went).
    expect(area.locator(".app-map--loaded")).to_be_visible()
    expect(area.get_by_role("button", name="Save target area")).to_have_count(0)
    # The gate panel and timeline came along with the section (hx-partial).
    expect(page.locator("#gate")).not_to_contain_text("Set the target area")
    assert marker_survived(page), "saving the target area reloaded the whole page"

    # CHEERS: every element met, with evidence.
    cheers = page.locator("#section-cheers")
    with page.expect_response(lambda r: "section=cheers" in r.url) as opened:
        cheers.get_by_role("link", name="Change").click()
    assert is_htmx(opened.value)
    fill_cheers(cheers, "seen in the data")
    assert_fits_phone(page)
    with page.expect_response(lambda r: r.url.endswith(f"/cases/{ref}/sections/cheers")) as saved:
        cheers.get_by_role("button", name="Save CHEERS").click()
    assert is_htmx(saved.value) and saved.value.status == 200
    expect(cheers.locator(".govuk-tag--green")).to_have_count(len(CHEERS))
    expect(cheers).to_contain_text("Similarity: seen in the data.")
    assert marker_survived(page), "saving CHEERS reloaded the whole page"

    # The gate is satisfied: move on.
    gate = page.locator("#gate")
    expect(gate).to_contain_text("Ready: everything the Scanning gate needs is in place.")
    expect(page.locator("#timeline")).to_contain_text("CHEERS")
    gate.get_by_role("button", name="Move to Analysis").click()

    expect(page).to_have_url(re.compile(rf"/cases/{ref}\?flash=moved$"))
    expect(page.get_by_role("alert")).to_contain_text(f"{ref} is now in Analysis")
    expect(page.locator("#case-header .app-stage-tag")).to_have_text("Analysis")
    expect(page.locator("#stage-tracker [aria-current=step]")).to_contain_text("Analysis")
    expect(page.locator("#stage-tracker .app-tracker__step--done")).to_contain_text("Scanning")
    expect(page.locator("#gate")).to_contain_text("To move to Response")
    assert_fits_phone(page)

    # The case list shows it in Analysis, also when filtered by that stage.
    open_menu(page)
    page.get_by_role("link", name="Cases", exact=True).click()
    expect(page).to_have_url(re.compile(r"/cases$"))
    listed = page.locator(".app-case-list__item", has_text=title)
    expect(listed.locator(".app-stage-tag")).to_have_text("Analysis")

    set_marker(page)
    page.get_by_text("Filters and sorting").click()
    page.get_by_label("Stage").select_option(label="Analysis")
    expect(page).to_have_url(re.compile(r"[?&]stage=analysis(&|$)"))
    expect(listed.locator(".app-stage-tag")).to_have_text("Analysis")
    stage_tags = page.locator("#case-results .app-stage-tag")
    expect(stage_tags.filter(has_not_text="Analysis")).to_have_count(0)
    expect(page.locator("#case-results .app-results__count")).to_contain_text("case")
    assert marker_survived(page), "the stage filter reloaded the whole page"
    assert_fits_phone(page)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "case-flow-phone.png"), full_page=True)


def test_validation_error_beside_the_field_keeps_what_was_typed(
        page: Page, sign_in: Callable[[str], None], page_problems: PageProblems) -> None:
    # The form answers 422, which Chromium logs as a failed resource load: expected here.
    page_problems.allow(r"status of 422")
    sign_in("pc.shah")
    page.goto("/cases/new")
    statement = "Someone keeps setting fire to the bins behind the flats."
    page.get_by_label("Title").fill("ab")
    page.get_by_label("Problem statement").fill(statement)
    page.get_by_label("Crime category").select_option(label="Criminal damage and arson")
    page.get_by_label("Ward").select_option(label="Church Street")
    page.get_by_role("radio", name="High").check()
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Open case").click()
    assert answer.value.status == 422

    expect(page).to_have_title(re.compile(r"^Error: Open a case"))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link")).to_have_count(1)  # only the title is wrong
    # The message sits in the title's own form group, tied to the input for screen readers.
    title = page.get_by_label("Title")
    message = page.locator("#title-error")
    expect(message).to_have_text("Error: Enter a title of at least 3 characters.")
    expect(title).to_have_attribute("aria-describedby", re.compile(r"\btitle-error\b"))
    group = page.locator(".govuk-form-group--error")
    expect(group).to_have_count(1)
    expect(group.locator("#title-error")).to_have_count(1)
    expect(group.locator("input#title")).to_have_count(1)
    # Everything typed or chosen is still there.
    expect(title).to_have_value("ab")
    expect(page.get_by_label("Problem statement")).to_have_value(statement)
    expect(page.get_by_label("Crime category")).to_have_value("criminal-damage-arson")
    expect(page.get_by_label("Ward")).to_have_value("E05013794")
    expect(page.get_by_role("radio", name="High")).to_be_checked()
    assert_fits_phone(page)
    # The summary's link takes you to the field.
    summary.get_by_role("link", name="Enter a title of at least 3 characters.").click()
    expect(title).to_be_focused()

    # Fixing the title opens the case.
    title.fill("Bin fires behind Hall Place")
    page.get_by_role("button", name="Open case").click()
    expect(page).to_have_url(re.compile(r"/cases/[A-Z0-9-]+\?flash=opened$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Bin fires behind Hall Place")


def test_blank_category_message_is_plain_english(
        page: Page, sign_in: Callable[[str], None], page_problems: PageProblems) -> None:
    page_problems.allow(r"status of 422")
    sign_in("pc.shah")
    page.goto("/cases/new")
    page.get_by_label("Title").fill("Graffiti on the canal bridge")
    page.get_by_role("button", name="Open case").click()
    message = page.locator("#category-error")
    expect(message).to_be_visible()
    expect(message).to_have_text("Error: Choose a crime category.")


def test_live_filter_updates_results_and_url(page: Page, sign_in: Callable[[str], None]) -> None:
    sign_in("pc.shah")
    page.goto("/cases")
    results = page.locator("#case-results")
    expect(results).to_contain_text("Church Street market")
    expect(results).to_contain_text("Lisson Green")
    set_marker(page)

    with page.expect_response(lambda r: "q=Lisson" in r.url) as answer:
        page.get_by_label("Search").press_sequentially("Lisson", delay=20)
    assert is_htmx(answer.value)
    expect(page).to_have_url(re.compile(r"/cases\?(.*&)?q=Lisson(&|$)"))
    expect(results.locator(".app-case-list__item")).to_have_count(1)
    expect(results).to_contain_text("Drug dealing on the Lisson Green estate walkways")
    expect(results).to_contain_text("1 case")
    expect(results).not_to_contain_text("Church Street market")
    assert marker_survived(page), "the live filter reloaded the whole page"
    assert_fits_phone(page)

    # Nothing matches: the list says so.
    page.get_by_label("Search").fill("no such problem anywhere")
    expect(results).to_contain_text("No cases match these filters.")
    expect(page).to_have_url(re.compile(r"q=no(\+|%20)such"))

    # The URL is a bookmark: opening it afresh shows the same filtered list.
    page.get_by_label("Search").fill("Lisson")
    expect(page).to_have_url(re.compile(r"q=Lisson(&|$)"))
    bookmark = page.url
    fresh = page.context.new_page()
    fresh.goto(bookmark)
    expect(fresh.get_by_label("Search")).to_have_value("Lisson")
    expect(fresh.locator("#case-results .app-case-list__item")).to_have_count(1)
    expect(fresh.locator("#case-results")).to_contain_text("Lisson Green")
    fresh.close()

    # Back goes to the previous filter state.
    page.go_back()
    expect(page).to_have_url(re.compile(r"q=no(\+|%20)such"))
    expect(results).to_contain_text("No cases match these filters.")


def test_console_errors_and_csp_violations_are_caught(
        page: Page, sign_in: Callable[[str], None], page_problems: PageProblems) -> None:
    """The harness itself: an inline script is refused by the CSP and the refusal is seen."""
    sign_in("pc.shah")
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.__inlineRan = true";
        document.body.append(script);
    }""")
    refused: list[str] = []
    for _ in range(50):
        refused = [e for e in page_problems.errors if "Content Security Policy" in e]
        if refused:
            break
        page.wait_for_timeout(20)
    assert page.evaluate("window.__inlineRan === undefined"), "the CSP let an inline script run"
    assert refused, f"no CSP violation seen; errors: {page_problems.errors}"
    page_problems.clear()


def test_ward_and_owner_choices_follow_the_borough_filter(
        page: Page, sign_in: Callable[[str], None]) -> None:
    sign_in("analyst.lee")
    page.get_by_text("Filters and sorting").click()
    with page.expect_response(lambda r: "borough=E09000007" in r.url) as answer:
        page.get_by_label("Area", exact=True).select_option("E09000007")
    assert is_htmx(answer.value)
    expect(page.locator("#ward option", has_text="Camden Town")).to_have_count(1)
    expect(page.locator("#ward option", has_text="Church Street")).to_have_count(0)
    expect(page.locator("#owner option", has_text="PC Tom Clarke")).to_have_count(1)
    expect(page.locator("#owner option", has_text="PC Amira Shah")).to_have_count(0)
    expect(page.locator("#case-results")).to_contain_text("Knife carrying around Camden Town")
    expect(page.locator("#case-results")).not_to_contain_text("Church Street market")
