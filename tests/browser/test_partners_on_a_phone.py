"""An officer on a phone (375 px wide) adds a partner agency from the force's directory to a
case: a mistake first (no agency chosen, answered 422 with the message), then Transport for
London with its contact as the lead. The section and the timeline change in place (htmx), the
contact's telephone is one tap away. The directory and the agency's page fit the phone too.
Screenshots at phone and desktop width in build/screenshots/<database>/partners/.

The case is the test's own: the demo's cases stay as other browser tests expect them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.a11y import assert_accessible
from tests.browser.conftest import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    LiveServer,
    PageProblems,
    assert_fits_phone,
    officers_case,
)
from tests.browser.test_case_flow import marker_survived, set_marker

pytestmark = pytest.mark.browser

TITLE = "Robbery at the Edgware Road bus stands"
SHOTS = ARTIFACTS / "partners"


def test_an_officer_adds_a_partner_on_a_phone(
        page: Page, sign_in: Callable[[str], None], page_problems: PageProblems,
        live_server: LiveServer) -> None:
    page_problems.allow(r"status of 422")  # the form sent without an agency, answered 422
    SHOTS.mkdir(parents=True, exist_ok=True)
    ref = officers_case(live_server, TITLE, category="robbery", priority="high",
                        problem_statement="Phones taken from people waiting at the stands.")
    sign_in("pc.shah")
    page.goto(f"/cases/{ref}")
    section = page.locator("#section-partners")
    # Folded to its heading and one line, as a folded stage is.
    expect(section.locator(".app-partners__line")).to_have_text("None yet")
    expect(section.get_by_text("No partner agencies yet.")).to_be_hidden()
    set_marker(page)  # from here the forms are sent by htmx: no full page load

    section.get_by_role("heading", name="Partner agencies").click()
    expect(section).to_contain_text("No partner agencies yet.")
    section.locator("summary", has_text="Add a partner agency").click()
    section.get_by_role("button", name="Add partner").click()
    section = page.locator("#section-partners")
    expect(section.locator(".govuk-error-summary")).to_contain_text(
        "Choose an agency from the directory.")
    expect(section.locator("#partner-agency-error")).to_be_visible()
    assert_fits_phone(page)
    section.screenshot(path=str(SHOTS / "case-partner-error-phone.png"))

    section.get_by_label("Agency").select_option(label="Transport for London (Transport operator)")
    section.get_by_label("Contact").select_option(
        label="Kwame Mensah (Community safety partnership manager)")
    section.get_by_label("Lead").check()
    assert_fits_phone(page)
    section.screenshot(path=str(SHOTS / "case-partner-form-phone.png"))
    section.get_by_role("button", name="Add partner").click()

    section = page.locator("#section-partners")
    expect(section.locator(".app-partners__line")).to_have_text("Transport for London (lead)")
    item = section.locator(".app-items__item", has_text="Transport for London")
    expect(item).to_contain_text("Lead")
    expect(item).to_contain_text("Kwame Mensah, Community safety partnership manager")
    expect(item.get_by_role("link", name="020 7222 1234")).to_have_attribute(
        "href", "tel:02072221234")
    expect(page.locator("#timeline")).to_contain_text(
        "Added partner: Transport for London (lead)")
    assert marker_survived(page)
    assert_fits_phone(page)
    assert_accessible(page, "the case page with a partner")
    section.screenshot(path=str(SHOTS / "case-partner-added-phone.png"))
    page.set_viewport_size(DESKTOP)
    section.screenshot(path=str(SHOTS / "case-partner-added-desktop.png"))

    page.set_viewport_size(PHONE)
    page.goto("/partners")
    expect(page.get_by_role("link", name="Westminster City Council")).to_be_visible()
    assert_fits_phone(page)
    assert_accessible(page, "the partner directory")
    page.screenshot(path=str(SHOTS / "directory-phone.png"), full_page=True)
    page.get_by_role("link", name="Transport for London").click()
    expect(page.locator("#contacts")).to_contain_text("Kwame Mensah")
    assert_fits_phone(page)
    assert_accessible(page, "an agency's page")
    page.screenshot(path=str(SHOTS / "agency-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SHOTS / "agency-desktop.png"), full_page=True)
    page.goto("/partners")
    page.screenshot(path=str(SHOTS / "directory-desktop.png"), full_page=True)


def test_a_supervisor_adds_an_agency_and_a_contact_on_a_phone(
        page: Page, sign_in: Callable[[str], None], page_problems: PageProblems) -> None:
    page_problems.allow(r"status of 422")  # the forms sent incomplete, answered 422
    SHOTS.mkdir(parents=True, exist_ok=True)
    sign_in("sgt.okafor")
    page.goto("/partners")
    page.get_by_role("button", name="Add an agency").click()
    page.get_by_role("button", name="Add the agency").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.locator('a[href="#name"]')).to_be_visible()
    expect(summary.locator('a[href="#kind"]')).to_have_text("Choose the kind of agency.")
    assert_fits_phone(page)
    assert_accessible(page, "the new agency form with its errors")
    page.screenshot(path=str(SHOTS / "agency-form-errors-phone.png"), full_page=True)

    page.get_by_label("Name").fill("Paddington Basin management company")
    page.get_by_label("Business").check()
    page.get_by_label("Local policing area it serves").select_option(label="Westminster")
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SHOTS / "agency-form-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="Add the agency").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "The agency is in the directory.")

    page.locator("summary", has_text="Add a contact").click()
    page.get_by_label("Name").fill("Jo Whitfield")
    page.get_by_label("Role or job title").fill("Estate manager")
    page.get_by_label("E-mail").fill("not an address")
    page.get_by_role("button", name="Add contact").click()
    expect(page.locator('.govuk-error-summary a[href="#contact-email"]')).to_be_visible()
    page.get_by_label("E-mail").fill("jo.whitfield@basin.example")
    page.get_by_role("button", name="Add contact").click()
    contact = page.locator("#contacts .app-items__item", has_text="Jo Whitfield")
    expect(contact).to_contain_text("Estate manager")
    assert_fits_phone(page)
    page.screenshot(path=str(SHOTS / "agency-with-contact-phone.png"), full_page=True)

    contact.get_by_role("link", name="Change or retire").click()
    expect(page.get_by_role("heading", name="Change Jo Whitfield")).to_be_visible()
    assert_fits_phone(page)
    assert_accessible(page, "a contact's page")
    page.screenshot(path=str(SHOTS / "contact-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SHOTS / "contact-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="Retire Jo Whitfield").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("erased")
    expect(page.locator("#contacts")).to_contain_text("Former contact")
    expect(page.locator("#contacts")).not_to_contain_text("Jo Whitfield")
