"""An officer on a phone (375 px wide) adds before and after photos to a case: the Add photo
form's file input asks for the camera, a photo without a caption is refused with the message
on the field, and the thumbnails show side by side once added. Screenshots at phone and
desktop width in build/screenshots/<database>/attachments/.

The case is the test's own (PC Shah's), so the demo's cases stay as other tests expect them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.attachments_kit import phone_photo
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import (
    ARTIFACTS,
    DESKTOP,
    LiveServer,
    PageProblems,
    assert_fits_phone,
    officers_case,
)

pytestmark = pytest.mark.browser

TITLE = "Broken lights in the Hallfield estate stairwells"
SHOTS = ARTIFACTS / "attachments"


def thumbnail_loaded(page: Page, selector: str) -> None:
    """The image has arrived and decoded (not a broken image)."""
    page.wait_for_function(
        "s => { const i = document.querySelector(s); return i && i.complete && "
        "i.naturalWidth > 0; }", arg=selector)


def add_photo(page: Page, caption: str, phase: str, colour: tuple[int, int, int]) -> None:
    form = page.locator("#add-photo")
    if not form.evaluate("d => d.open"):
        form.locator("summary").first.click()
    form.locator("#photo-caption").fill(caption)
    form.get_by_label(phase, exact=True).check()
    form.locator("#photo-file").set_input_files(files=[{
        "name": "IMG_2041.JPG", "mimeType": "image/jpeg",
        "buffer": phone_photo(480, 360, colour)}])
    form.get_by_role("button", name="Add photo").click()


def test_an_officer_adds_before_and_after_photos_on_a_phone(
        page: Page, sign_in: Callable[[str], None], page_problems: PageProblems,
        live_server: LiveServer) -> None:
    page_problems.allow(r"status of 422")  # the photo sent without a caption, answered 422
    SHOTS.mkdir(parents=True, exist_ok=True)
    ref = officers_case(live_server, TITLE, category="anti-social-behaviour",
                        problem_statement="Drug use in the unlit stairwells.")
    sign_in("pc.shah")
    page.goto(f"/cases/{ref}")
    page.locator("#case-header").get_by_role("link", name="Add photo").click()
    expect(page.locator("#add-photo")).to_have_attribute("open", "")
    photo_input = page.locator("#photo-file")
    expect(photo_input).to_have_attribute("accept", "image/*")
    expect(photo_input).to_have_attribute("capture", "environment")  # a phone opens the camera

    add_photo(page, "", "Before", (150, 30, 30))
    expect(page.locator("#photo-caption-error")).to_contain_text("Enter the caption")
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert_fits_phone(page)
    page.screenshot(path=str(SHOTS / "photo-refused-phone.png"), full_page=True)

    add_photo(page, "Stairwell light out, block C", "Before", (150, 30, 30))
    expect(page.locator(".govuk-notification-banner")).to_contain_text("attachment is added")
    add_photo(page, "New light working, block C", "After", (240, 230, 120))
    pairs = page.locator("#before-after")
    expect(pairs.locator("img")).to_have_count(2)
    thumbnail_loaded(page, "#before-after .app-attachments__cell:nth-of-type(1) img")
    thumbnail_loaded(page, "#before-after .app-attachments__cell:nth-of-type(2) img")
    before_box = pairs.locator("img").nth(0).bounding_box()
    after_box = pairs.locator("img").nth(1).bounding_box()
    assert before_box and after_box
    assert abs(before_box["y"] - after_box["y"]) < 2 and before_box["x"] < after_box["x"]
    expect(page.locator("#timeline")).to_contain_text("Photo (after) added: New light working")
    assert_fits_phone(page)
    assert_accessible(page, "a case with before and after photos")
    page.locator("#attachments").screenshot(path=str(SHOTS / "photos-phone.png"))
    page.screenshot(path=str(SHOTS / "case-with-photos-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.locator("#attachments").screenshot(path=str(SHOTS / "photos-desktop.png"))
