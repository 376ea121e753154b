"""A supervisor on a phone (375 px wide) finds the overdue review leading the work queue,
records the review on the case page (a mistake first, then the note, the decision and the
suggested date) and sees the case leave the overdue list. Screenshots at phone and desktop
width in build/screenshots/<database>/reviews/.

The case is the test's own (an officer's, 30 days overdue, so that it leads the queue before
the demo's Lisson Green): the demo's cases stay as other browser tests expect them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from app.auth.context import Actor, Channel
from app.auth.models import User
from app.cases import service
from app.cases.models import Case
from app.cases.schemas import CaseCreate
from app.clock import today
from app.db import make_engine, make_session_factory
from app.demo import WESTMINSTER
from tests.browser.conftest import (
    ARTIFACTS,
    DESKTOP,
    LiveServer,
    PageProblems,
    assert_fits_phone,
)
from tests.browser.test_case_flow import marker_survived, set_marker

pytestmark = pytest.mark.browser

OVERDUE = "Cycle theft at Paddington Basin"
SHOTS = ARTIFACTS / "reviews"


def overdue_case(live_server: LiveServer) -> str:
    """PC Shah's case, its review 30 days overdue (made once per live server)."""
    engine = make_engine(live_server.database_url)
    try:
        with make_session_factory(engine)() as db:
            ref = db.scalar(select(Case.ref).where(Case.title == OVERDUE))
            if ref is None:
                officer = db.scalars(select(User).where(User.username == "pc.shah")).one()
                ref = service.create_case(db, Actor(officer, Channel.CLI), CaseCreate(
                    title=OVERDUE, category="bicycle-theft", borough=WESTMINSTER,
                    priority="high",
                    problem_statement="Bicycles taken from the towpath stands at night.")).ref
            db.execute(update(Case).where(Case.ref == ref).values(
                next_review_on=today() - timedelta(days=30)))
            db.commit()
            return ref
    finally:
        engine.dispose()


def test_a_supervisor_records_an_overdue_review_on_a_phone(
        page: Page, sign_in: Callable[[str], None], page_problems: PageProblems,
        live_server: LiveServer) -> None:
    page_problems.allow(r"status of 422")  # the form sent empty on purpose, answered 422
    SHOTS.mkdir(parents=True, exist_ok=True)
    ref = overdue_case(live_server)
    sign_in("sgt.okafor")
    page.goto("/queue")
    overdue = page.locator("#reviews-overdue-list li").first
    expect(overdue).to_contain_text(f"{ref} {OVERDUE}")
    expect(overdue).to_contain_text("30 days overdue")
    assert_fits_phone(page)
    page.screenshot(path=str(SHOTS / "queue-phone.png"))

    overdue.get_by_role("link").click()
    review = page.locator("#review")
    expect(review.locator("#review-overdue")).to_contain_text("Overdue by")
    assert_fits_phone(page)
    set_marker(page)  # from here the form is sent by htmx: no full page load

    review.locator("summary", has_text="Record a review").click()
    review.get_by_role("button", name="Record the review").click()
    expect(review.locator(".govuk-error-summary")).to_contain_text("Enter a note.")
    expect(review.locator(".govuk-error-summary")).to_contain_text("Choose a decision.")
    assert_fits_phone(page)
    page.screenshot(path=str(SHOTS / "review-errors-phone.png"), full_page=True)
    review.screenshot(path=str(SHOTS / "review-errors-panel-phone.png"))

    review = page.locator("#review")
    review.get_by_label("What you found and asked for").fill(
        "Dealing has moved to the stairwells: ask the housing officer about the doors.")
    review.get_by_label("Change the approach").check()
    expect(review.get_by_label("Day")).not_to_have_value("")  # the suggested date stays
    assert_fits_phone(page)
    page.screenshot(path=str(SHOTS / "review-form-phone.png"), full_page=True)
    review.screenshot(path=str(SHOTS / "review-form-panel-phone.png"))
    review.get_by_role("button", name="Record the review").click()

    review = page.locator("#review")
    entry = review.locator(".app-review__entry").first
    expect(entry).to_be_visible()  # the history opens on the review just recorded
    expect(entry).to_contain_text("Change the approach")
    expect(entry).to_contain_text("days late")  # it was overdue
    expect(review.locator("#review-overdue")).to_have_count(0)
    expect(review.locator("#last-review")).to_contain_text("Change the approach")
    expect(page.locator("#timeline")).to_contain_text("Supervisory review: Change the approach")
    assert marker_survived(page)
    assert_fits_phone(page)
    page.screenshot(path=str(SHOTS / "review-recorded-phone.png"), full_page=True)
    review.screenshot(path=str(SHOTS / "review-recorded-panel-phone.png"))
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SHOTS / "review-recorded-desktop.png"), full_page=True)
    review.screenshot(path=str(SHOTS / "review-recorded-panel-desktop.png"))

    page.set_viewport_size({"width": 375, "height": 812})
    page.goto("/queue")
    expect(page.locator("#reviews-overdue")).to_be_visible()
    expect(page.locator("[data-review-ref]", has_text=OVERDUE)).to_have_count(0)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SHOTS / "queue-desktop.png"), full_page=True)
