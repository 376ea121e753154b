"""A supervisor takes one case through the whole SARA cycle in the browser, on a phone:
Scanning, Analysis, Response, Assessment, Closed, and reopens it."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import ARTIFACTS, assert_fits_phone

pytestmark = pytest.mark.browser


def change(page: Page, key: str) -> Locator:
    """Open a section's form in place (htmx) and return the section."""
    section = page.locator(f"#section-{key}")
    section.get_by_role("link", name="Change").click()
    expect(section.locator("form")).to_be_visible()
    return section


def save(section: Locator, label: str) -> None:
    section.get_by_role("button", name=label).click()
    expect(section.locator("form")).to_have_count(0)


def move(page: Page, button: str, stage: str) -> None:
    page.locator("#gate").get_by_role("button", name=button).click()
    expect(page.locator("#case-header .app-stage-tag")).to_have_text(stage)


def test_supervisor_takes_a_case_from_scanning_to_closed(
        page: Page, sign_in: Callable[[str], None]) -> None:
    title = f"Robberies at Warwick Avenue station {secrets.token_hex(3)}"
    sign_in("sgt.okafor")
    page.goto("/cases/new")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Problem statement").fill("Phones taken at knife-point by the exits.")
    page.get_by_label("Crime category").select_option("robbery")
    page.get_by_role("button", name="Open case").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)

    # Scanning
    area = change(page, "area")
    area.get_by_label("Latitude").fill("51.5235")
    area.get_by_label("Longitude").fill("-0.1835")
    area.get_by_label("Radius in metres").fill("200")
    save(area, "Save target area")
    cheers = change(page, "cheers")
    for element in ("community", "harm", "expectation", "events", "recurring", "similarity"):
        cheers.locator(f"#cheers-{element}-met").check()
        cheers.locator(f"#cheers-{element}-evidence").fill(f"Evidence: {element}")
    save(cheers, "Save CHEERS")
    move(page, "Move to Analysis", "Analysis")

    # Analysis
    triangle = change(page, "triangle")
    for side in ("offender", "victim", "place"):
        triangle.locator(f"#triangle-{side}-who").fill(f"The {side}")
    triangle.locator("#triangle-manager-who").fill("Station manager, TfL")
    save(triangle, "Save triangle")
    hypotheses = page.locator("#section-hypotheses")
    hypotheses.get_by_text("Add a hypothesis").click()
    hypotheses.locator("#hypothesis-statement").fill("Robbers wait where the exits are unlit")
    hypotheses.get_by_role("button", name="Add hypothesis").click()
    expect(hypotheses).to_contain_text("Robbers wait where the exits are unlit")
    analysis = change(page, "analysis")
    analysis.locator("#analysis_summary").fill("Evening peak, two unlit exits, repeat suspects.")
    for name, (day, month, year) in (("baseline_start", ("1", "1", "2025")),
                                     ("baseline_end", ("31", "12", "2025"))):
        analysis.locator(f"#{name}-day").fill(day)
        analysis.locator(f"#{name}-month").fill(month)
        analysis.locator(f"#{name}-year").fill(year)
    save(analysis, "Save analysis")
    expect(page.locator("#gate")).to_contain_text("Ready")
    move(page, "Move to Response", "Response")

    # Response
    plan = change(page, "response")
    plan.locator("#response_plan").fill("Light the exits with TfL; patrols at the evening peak.")
    save(plan, "Save response plan")
    actions = page.locator("#section-actions")
    actions.get_by_text("Add an action").click()
    actions.locator("#action-title").fill("TfL to light the Clifton Gardens exit")
    actions.locator("#action-tactic").select_option("natural-surveillance")
    actions.locator("#action-partner").select_option("tfl")
    actions.locator("#action-owner").fill("TfL station manager")
    actions.get_by_role("group", name="Due date").get_by_label("Day").fill("31")
    actions.get_by_role("group", name="Due date").get_by_label("Month").fill("1")
    actions.get_by_role("group", name="Due date").get_by_label("Year").fill("2026")
    actions.locator("#action-status").select_option("done")
    actions.get_by_role("button", name="Add action").click()
    expect(actions).to_contain_text("TfL to light the Clifton Gardens exit")
    expect(actions.locator(".govuk-tag--green")).to_have_text("Done")
    move(page, "Move to Assessment", "Assessment")

    # Assessment, then close
    assessment = change(page, "assessment")
    assessment.locator("#process_evaluation").fill("Lighting installed on time.")
    assessment.locator("#impact_evaluation").fill("Robberies fell from 24 to 9.")
    assessment.locator("#impact_none_reason").fill("No police.uk data covers this borough.")
    assessment.get_by_label("Fewer incidents").check()
    assessment.locator("#lessons_learned").fill("Bring TfL in at Scanning.")
    save(assessment, "Save assessment")
    gate = page.locator("#gate")
    gate.get_by_label("Closing summary").fill("Lighting and patrols: robberies 24 to 9.")
    gate.get_by_label("The case is finished").check()
    move(page, "Close the case", "Closed")
    expect(gate).to_contain_text("Closing summary: Lighting and patrols: robberies 24 to 9.")
    expect(page.locator("#gate")).to_contain_text("This case is closed")
    expect(page.locator("#section-assessment")).not_to_contain_text("Change")
    assert_fits_phone(page)

    # SARA is a loop: reopen into Response with a reason.
    gate = page.locator("#gate")
    gate.get_by_text("Reopen this case").click()
    gate.get_by_label("Reopen into").select_option("response")
    gate.get_by_label("Why reopen it?").fill("Robberies moved to the next station")
    gate.get_by_role("checkbox", name=re.compile("^Reopen it")).check()
    gate.get_by_role("button", name="Reopen case").click()
    expect(page.locator("#case-header .app-stage-tag")).to_have_text("Response")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Reopened into Response")
    expect(timeline).to_contain_text("Robberies moved to the next station")
    timeline.locator("#timeline-more").click()  # the latest entries are shown; then all
    expect(timeline.locator("#timeline-more")).to_have_count(0)
    for summary in ("Closed", "Moved from Response to Assessment",
                    "Moved from Analysis to Response", "Moved from Scanning to Analysis"):
        expect(timeline.get_by_text(re.compile(f"^{summary}$"))).to_have_count(1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "full-cycle-phone.png"), full_page=True)
