"""An officer on a phone (375 px wide) starts and ends a patrol at a Nightingale hotspot,
records two arrests and a knife, and sees the operation's totals change on its dashboard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from app.db import make_engine, make_session_factory
from app.patrols.models import Patrol
from tests.browser.conftest import ARTIFACTS, LiveServer, assert_fits_phone
from tests.browser.test_case_flow import marker_survived, set_marker

pytestmark = pytest.mark.browser

HOTSPOT = "Street violence around Church Street market"


def figure(page: Page, key: str) -> int:
    return int(page.locator(f'[data-figure="{key}"]').first.inner_text().replace(",", ""))


def as_if_started_minutes_ago(live_server: LiveServer, minutes: int) -> None:
    """Time passing on patrol, without waiting: the running patrol started earlier."""
    engine = make_engine(live_server.database_url)
    try:
        with make_session_factory(engine)() as db:
            patrol = db.scalar(select(Patrol).where(Patrol.ended_at.is_(None))
                               .order_by(Patrol.id.desc()).limit(1))
            assert patrol is not None
            db.execute(update(Patrol).where(Patrol.id == patrol.id).values(
                started_at=patrol.started_at - timedelta(minutes=minutes)))
            db.commit()
    finally:
        engine.dispose()


def test_patrol_and_outputs_on_a_phone_reach_the_operation_totals(
        page: Page, sign_in: Callable[[str], None], live_server: LiveServer) -> None:
    sign_in("pc.shah")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    # The operation's figures before.
    page.goto("/operations")
    page.get_by_role("link", name="Operation Nightingale").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Operation Nightingale")
    arrests, knives = figure(page, "outputs.totals.arrests"), figure(page, "outputs.totals.knives")
    visits = figure(page, "patrols.visits")
    assert_fits_phone(page)

    # The hotspot's case page: the patrol panel is at the top.
    page.locator("#cases").scroll_into_view_if_needed()
    page.get_by_role("link", name=HOTSPOT).click()
    panel = page.locator("#patrol-panel")
    expect(panel).to_be_visible()
    assert_fits_phone(page)
    set_marker(page)  # from here, every tap swaps part of the page: no full page load

    panel.get_by_role("button", name="Start patrol").click()
    expect(panel).to_contain_text("Patrol started.")
    expect(panel.get_by_role("button", name="End patrol")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "patrol-running-phone.png"))

    as_if_started_minutes_ago(live_server, 12)
    panel.get_by_role("button", name="End patrol").click()
    expect(panel).to_contain_text("Patrol ended.")
    expect(panel.get_by_role("button", name="Start patrol")).to_be_visible()
    expect(page.locator("#section-patrols")).to_contain_text("12 min")
    expect(page.locator("#timeline")).to_contain_text("12 min (10 to 15 minutes)")

    panel.locator("summary", has_text="Record outputs").click()
    panel.get_by_label("Arrests").fill("2")
    panel.get_by_label("Knives recovered").fill("1")
    assert_fits_phone(page)
    panel.get_by_role("button", name="Record outputs").click()
    expect(panel).to_contain_text("Recorded 2 arrests and 1 knife.")
    expect(page.locator("#timeline")).to_contain_text("Recorded 2 arrests and 1 knife on")
    assert marker_survived(page)
    page.screenshot(path=str(ARTIFACTS / "outputs-recorded-phone.png"))

    # The supervisor's view: the operation's totals include them.
    page.goto("/operations")
    page.get_by_role("link", name="Operation Nightingale").click()
    assert figure(page, "outputs.totals.arrests") == arrests + 2
    assert figure(page, "outputs.totals.knives") == knives + 1
    assert figure(page, "patrols.visits") == visits + 1
    assert_fits_phone(page)
    page.screenshot(path=str(ARTIFACTS / "operation-dashboard-phone.png"), full_page=True)
