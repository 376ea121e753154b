"""A supervisor on a phone (375 px wide) opens a case from the street drug market template for
one of their officers: the case gets the template's category, hypotheses, first actions and
review date, shows the CHEERS prompts beside the questions and, in Response, the suggested
responses, one of which becomes an action in one tap; then the supervisor records the case's
first supervisory review."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from app.clock import today
from app.sara.cheers import CheersElement
from app.sara.templates import STREET_DRUG_MARKET
from tests.browser.conftest import ARTIFACTS, DESKTOP, PHONE, assert_fits_phone

pytestmark = pytest.mark.browser

TITLE = "Dealing from the Penfold Street phone box"


def test_a_supervisor_opens_a_case_from_a_template_on_a_phone(
        page: Page, sign_in: Callable[[str], None]) -> None:
    sign_in("sgt.okafor")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    content = STREET_DRUG_MARKET.content

    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Templates").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Problem templates")
    assert_fits_phone(page)
    page.screenshot(path=str(ARTIFACTS / "templates-list-phone.png"), full_page=True)

    page.get_by_role("link", name="Street drug market").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Street drug market")
    expect(page.get_by_text(content.hypotheses[0])).to_be_visible()
    assert_fits_phone(page)
    page.screenshot(path=str(ARTIFACTS / "template-phone.png"), full_page=True)

    # The New case page with the template chosen and its summary beside it.
    page.get_by_role("button", name="Open a case from this template").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open a case")
    expect(page.get_by_label("Street drug market")).to_be_checked()
    expect(page.get_by_text(content.summary)).to_be_visible()
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Owner").select_option(label="PC Amira Shah")
    assert_fits_phone(page)
    page.screenshot(path=str(ARTIFACTS / "new-case-from-template-phone.png"), full_page=True)
    page.get_by_role("button", name="Open case").click()

    # The case: from the template, with its category, hypotheses and actions.
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    header = page.locator("#case-header")
    expect(header).to_contain_text("Drugs")
    expect(header).to_contain_text("High priority")
    expect(header).to_contain_text("Owner: PC Amira Shah")
    expect(header.get_by_role("link", name="From template Street drug market, version 1")) \
        .to_be_visible()
    expect(page.locator("#section-cheers")).to_contain_text(
        content.cheers_prompts[CheersElement.HARM])
    assert_fits_phone(page)
    page.screenshot(path=str(ARTIFACTS / "case-from-template-phone.png"), full_page=True)
    page.locator("#section-cheers").screenshot(
        path=str(ARTIFACTS / "case-cheers-prompts-phone.png"))

    # Response: the suggested responses, each with why; one tap adds one as an action.
    page.locator("#stage-response").get_by_role("link", name="Response").click()
    suggestion = content.responses[1]
    suggested = page.locator(".app-suggestion").filter(has_text=suggestion.why)
    expect(suggested).to_be_visible()
    actions_before = page.locator("#section-actions .app-items__item").count()
    assert actions_before == len(content.actions)
    assert_fits_phone(page)
    suggested.get_by_role("button", name="Add as an action").click()
    expect(page.locator("#section-actions .app-items__item")).to_have_count(actions_before + 1)
    expect(page.locator("#section-actions")).to_contain_text("Deflect offenders")
    expect(page.locator(".app-suggestion").filter(has_text=suggestion.why)) \
        .to_contain_text("An action uses it")
    assert_fits_phone(page)
    page.locator("#section-response").screenshot(
        path=str(ARTIFACTS / "case-suggested-responses-phone.png"))

    # The review the template's cadence asks for (every 14 days), recorded on the phone.
    due = today() + timedelta(days=content.review_every_days or 0)
    review = page.locator("#review")
    expect(review).to_contain_text(f"Next review: {due.day} {due:%b %Y}")
    review.locator("summary", has_text="Record a review").click()
    review.get_by_label("What you found and asked for").fill(
        "Plan agreed with PC Shah: start with the phone box and the lighting.")
    review.get_by_label("Continue as planned").check()
    assert_fits_phone(page)
    review.get_by_role("button", name="Record the review").click()
    expect(page.locator("#review #last-review")).to_contain_text("Continue as planned")
    expect(page.locator("#timeline")).to_contain_text("Supervisory review: Continue as planned")
    assert_fits_phone(page)
    page.locator("#review").screenshot(
        path=str(ARTIFACTS / "case-from-template-reviewed-phone.png"))

    # At desktop width: the template's new-version form.
    page.set_viewport_size(DESKTOP)
    page.goto("/templates/street-drug-market")
    page.screenshot(path=str(ARTIFACTS / "template-desktop.png"), full_page=True)
    page.goto("/templates/new")
    page.screenshot(path=str(ARTIFACTS / "template-form-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(ARTIFACTS / "template-form-phone.png"), full_page=True)
    assert_fits_phone(page)
