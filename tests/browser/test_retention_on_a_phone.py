"""A supervisor on a phone (375 px wide) finds a closed case overdue for its retention review,
sends the form empty (the error summary names the decision), retains the case until a later
review, then disposes of it: the reporter's name leaves the case, the record says what was
erased. Screenshots in build/screenshots/<database>/retention/.

The case is the test's own (PC Shah's, closed by Sgt Adeyemi, its review 10 days overdue):
the demo's cases stay as other browser tests expect them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from app.auth.context import Actor, Channel
from app.auth.models import User
from app.cases import content, moves
from app.cases.models import Case
from app.cases.schemas import NoteCreate, TransitionRequest
from app.clock import today
from app.community import service as community
from app.community.schemas import ConcernCreate, ConcernTriage
from app.db import make_engine, make_session_factory
from app.demo import WESTMINSTER
from tests.browser.conftest import (
    ARTIFACTS,
    DESKTOP,
    LiveServer,
    PageProblems,
    assert_fits_phone,
    officers_case,
)

pytestmark = pytest.mark.browser

TITLE = "Rough sleeping in the Edgware Road underpass"
REPORTER = "Hilda Quarrington"
SHOTS = ARTIFACTS / "retention"


def closed_case(live_server: LiveServer) -> str:
    """The officer's case naming a resident in a note, closed, its retention review overdue."""
    ref = officers_case(live_server, TITLE, category="anti-social-behaviour",
                        problem_statement="Tents and fires in the underpass at night.")
    engine = make_engine(live_server.database_url)
    try:
        with make_session_factory(engine)() as db:
            case = db.scalars(select(Case).where(Case.ref == ref)).one()
            if case.stage.value != "closed":
                users = {u.username: u for u in db.scalars(select(User).where(
                    User.username.in_(["pc.shah", "sgt.adeyemi"])))}
                officer = Actor(users["pc.shah"], Channel.CLI)
                concern = community.record_concern(db, officer, ConcernCreate.model_validate({
                    "borough": WESTMINSTER, "raised_on": today().isoformat(),
                    "raised_by_kind": "resident", "raised_by": REPORTER,
                    "contact": "07700 900456", "channel": "phone_or_email",
                    "description": "Fires under my window every night."}))
                community.triage_concern(db, officer, concern.id, ConcernTriage(
                    version=concern.version, outcome="linked", case=ref))
                content.add_note(db, officer, ref, NoteCreate(
                    body=f"Ms {REPORTER} of the flats above reported the fires."))
                for stage in ("analysis", "response", "assessment", "closed"):
                    moves.move_case(db, Actor(users["sgt.adeyemi"], Channel.CLI), ref,
                                    TransitionRequest(to=stage, override=True,
                                                      reason="Housed by the council"))
            db.execute(update(Case).where(Case.ref == ref).values(
                retention_review_on=today() - timedelta(days=10)))
            db.commit()
            return ref
    finally:
        engine.dispose()


def test_a_supervisor_retains_then_disposes_of_a_case_on_a_phone(
        page: Page, sign_in: Callable[[str], None], page_problems: PageProblems,
        live_server: LiveServer) -> None:
    page_problems.allow(r"status of 422")  # the form sent empty on purpose, answered 422
    SHOTS.mkdir(parents=True, exist_ok=True)
    ref = closed_case(live_server)
    sign_in("sgt.okafor")
    expect(page.locator("#navigation a[href='/retention']")).to_have_count(1)
    page.goto("/retention")
    item = page.locator(f"[data-retention-ref='{ref}']")
    expect(item).to_contain_text("10 days overdue")
    assert_fits_phone(page)
    page.screenshot(path=str(SHOTS / "queue-phone.png"), full_page=True)

    item.get_by_role("link").click()
    expect(page.locator("h1")).to_have_text(TITLE)
    expect(page.locator("#exports-list")).to_contain_text("No case file")
    page.get_by_role("button", name="Record the review").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.locator("a[href='#decision']")).to_have_count(1)
    assert_fits_phone(page)
    page.screenshot(path=str(SHOTS / "review-errors-phone.png"), full_page=True)

    later = today() + timedelta(days=400)
    page.get_by_label("Retain until a later review").check()
    page.get_by_label("Reason").fill("The council's housing claim is still open.")
    page.get_by_label("Day").fill(str(later.day))
    page.get_by_label("Month").fill(str(later.month))
    page.get_by_label("Year").fill(str(later.year))
    page.get_by_role("button", name="Record the review").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("retained")
    expect(page.locator("[data-retention-review='retain']")).to_contain_text(
        "housing claim is still open")
    assert_fits_phone(page)

    page.get_by_label("Dispose of the personal data").check()
    page.get_by_label("Reason").fill("Claim closed; no further policing purpose.")
    page.get_by_role("button", name="Record the review").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("disposed of")
    expect(page.locator("[data-retention-review='dispose']")).to_contain_text("Erased:")
    expect(page.locator("#retention-due")).to_contain_text("Disposed of on")
    expect(page.get_by_role("button", name="Record the review")).to_have_count(0)
    assert_fits_phone(page)
    page.screenshot(path=str(SHOTS / "disposed-phone.png"), full_page=True)

    page.goto(f"/cases/{ref}")
    expect(page.locator("h1")).to_contain_text(TITLE)  # the case's record stays
    expect(page.locator("main")).not_to_contain_text(REPORTER)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SHOTS / "case-after-disposal-desktop.png"), full_page=True)
