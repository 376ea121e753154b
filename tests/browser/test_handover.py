"""A sergeant on a phone hands a departed officer's work over from the work queue: a default
recipient, one case to someone else, the summary, the result. Screenshots at 375 px and at
desktop width. The officers are made for this test alone, so the demo's people keep their
work for the other browser tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.auth.models import User
from app.auth.roles import Role
from app.cases.models import Case
from app.db import make_engine, make_session_factory
from tests.browser.conftest import ARTIFACTS, DESKTOP, PHONE, LiveServer, assert_fits_phone
from tests.conftest import WESTMINSTER
from tests.handover.world import add_actions, add_cases, deactivate

pytestmark = pytest.mark.browser


@pytest.fixture
def departed(live_server: LiveServer) -> Iterator[Callable[[str], dict[str, str]]]:
    """A deactivated Westminster officer with six open cases (one with an action), and a
    colleague to take them; usernames made unique per call."""
    engine = make_engine(live_server.database_url)
    factory = make_session_factory(engine)

    def make(suffix: str) -> dict[str, str]:
        with factory() as db:
            leaving = User(username=f"pc.leaving{suffix}", display_name=f"PC Leaving {suffix}",
                           role=Role.OFFICER, borough_code=WESTMINSTER, force_id="metropolitan")
            taking = User(username=f"pc.taking{suffix}", display_name=f"PC Taking {suffix}",
                          role=Role.OFFICER, borough_code=WESTMINSTER, force_id="metropolitan")
            db.add_all([leaving, taking])
            db.commit()
            first = 9000 + 10 * int(suffix)
            cases = add_cases(db, leaving, 6, first=first)
            add_actions(db, cases[:1], leaving)
            deactivate(db, leaving)
            return {"leaving": leaving.username, "taking": taking.username,
                    "first": f"WM-2019-{first:04d}", "second": f"WM-2019-{first + 1:04d}"}

    yield make
    engine.dispose()


def owners(live_server: LiveServer, refs: list[str]) -> dict[str, str]:
    engine = make_engine(live_server.database_url)
    try:
        with make_session_factory(engine)() as db:
            return dict(db.execute(select(Case.ref, User.username).join(
                User, User.id == Case.owner_id).where(Case.ref.in_(refs))).all())
    finally:
        engine.dispose()


@pytest.mark.parametrize("context_options", [{"viewport": PHONE}, {"viewport": DESKTOP}],
                         ids=["phone", "desktop"], indirect=True)
def test_a_sergeant_hands_over_a_departed_officers_work(
        page: Page, sign_in: Callable[[str], None], live_server: LiveServer,
        departed: Callable[[str], dict[str, str]], context_options: dict[str, object]) -> None:
    width = context_options["viewport"]["width"]  # type: ignore[index]
    people = departed("1" if width == PHONE["width"] else "2")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sign_in("sgt.okafor")
    page.goto(f"/queue?borough={WESTMINSTER}")
    entry = page.locator(f'[data-departed="{people["leaving"]}"]')
    expect(entry).to_contain_text("6 open cases, 1 open action")
    entry.get_by_role("link", name="Hand over").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hand over work")
    page.get_by_label("Who takes their work").select_option(people["taking"])
    page.get_by_label(f"Who takes {people['second']}").select_option("sgt.okafor")
    if width == PHONE["width"]:
        assert_fits_phone(page)
    page.screenshot(path=str(ARTIFACTS / f"handover-form-{width}.png"), full_page=True)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the hand-over")
    expect(page.locator("main")).to_contain_text("6 cases and 1 action")
    if width == PHONE["width"]:
        assert_fits_phone(page)
    page.screenshot(path=str(ARTIFACTS / f"handover-summary-{width}.png"), full_page=True)
    page.get_by_role("button", name="Hand over").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Work handed over")
    page.screenshot(path=str(ARTIFACTS / f"handover-done-{width}.png"), full_page=True)
    moved = owners(live_server, [people["first"], people["second"]])
    assert moved == {people["first"]: people["taking"], people["second"]: "sgt.okafor"}
    page.goto(f"/queue?borough={WESTMINSTER}")
    expect(page.locator(f'[data-departed="{people["leaving"]}"]')).to_have_count(0)
