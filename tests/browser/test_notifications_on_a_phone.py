"""An officer on a phone sees the unread count in the header, opens the list, marks one read
and then all, and chooses a daily e-mail on the settings page."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.auth.models import User
from app.cases.models import Case
from app.db import make_engine, make_session_factory
from app.notifications.models import NotificationKind
from app.notifications.service import notify
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import ARTIFACTS, LiveServer, PageProblems, assert_fits_phone

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}


def notify_officer(live_server: LiveServer, username: str, count: int) -> str:
    """``count`` notifications for one person about a case of theirs: its reference."""
    engine = make_engine(live_server.database_url)
    try:
        with make_session_factory(engine)() as db:
            user = db.scalar(select(User).where(User.username == username))
            assert user is not None
            case = db.scalar(select(Case).where(Case.owner_id == user.id).order_by(Case.id)
                             .limit(1))
            assert case is not None
            batch = secrets.token_hex(3)
            for number in range(count):
                kind = (NotificationKind.ACTION_OVERDUE, NotificationKind.ACTION_ASSIGNED,
                        NotificationKind.CONCERN_ROUTED)[number % 3]
                notify(db, user=user, kind=kind, key=f"{kind.value}:browser-{batch}-{number}",
                       summary=f"{case.ref}: follow-up number {number} for the market",
                       link=f"/cases/{case.ref}", case_id=case.id)
            db.commit()
            return case.ref
    finally:
        engine.dispose()


def test_notifications_on_a_phone(page: Page, sign_in: Callable[[str], None],
                                  live_server: LiveServer, page_problems: PageProblems) -> None:
    page_problems.allow("status of 422")  # the settings form refused once, on purpose
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sign_in("pc.shah")
    page.goto("/notifications")
    page.get_by_role("button", name="Mark all as read").or_(
        page.get_by_text("Nothing unread")).first.wait_for()
    if page.get_by_role("button", name="Mark all as read").count():
        page.get_by_role("button", name="Mark all as read").click()  # a clean start
    ref = notify_officer(live_server, "pc.shah", 27)

    page.goto("/shift")
    link = page.get_by_role("link", name="Notifications, 27 unread")
    expect(link).to_be_visible()
    assert_fits_phone(page)
    page.screenshot(path=str(ARTIFACTS / "notifications-header-phone.png"))
    link.click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    expect(page.locator("#unread-total")).to_have_text("27 unread")
    items = page.locator("li.app-notification")
    expect(items).to_have_count(25)
    expect(page.get_by_text(re.compile(r"Page 1 of \d+"))).to_be_visible()
    assert_fits_phone(page)
    assert_accessible(page, "the notification list on a phone")
    page.screenshot(path=str(ARTIFACTS / "notifications-list-phone.png"), full_page=True)

    first = items.first
    expect(first.get_by_role("link")).to_have_attribute("href", f"/cases/{ref}")
    first.get_by_role("button", name=re.compile(r"^Mark as read")).click()
    expect(page.get_by_text("The notification is marked as read.")).to_be_visible()
    expect(page.get_by_role("link", name="Notifications, 26 unread")).to_be_visible()

    page.get_by_role("button", name="Mark all as read").click()
    expect(page.get_by_text("All your notifications are marked as read.")).to_be_visible()
    expect(page.locator("#unread-total")).to_have_text("Nothing unread")
    expect(page.get_by_role("link", name="Notifications", exact=True)).to_be_visible()
    expect(page.locator(".app-header__count")).to_have_count(0)

    # E-mail settings: an address and the daily digest for overdue actions.
    page.get_by_role("link", name="E-mail settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your notifications")
    page.get_by_role("group", name="Action overdue").get_by_label("In a daily e-mail").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("link", name="Enter your e-mail address, or choose no e-mail "
                                         "for every kind.")).to_be_visible()
    page.get_by_label("Your e-mail address").fill("amira.shah@met.police.uk")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Your notification settings are saved.")).to_be_visible()
    expect(page.get_by_role("group", name="Action overdue").get_by_label(
        "In a daily e-mail")).to_be_checked()
    assert_fits_phone(page)
    assert_accessible(page, "the notification settings on a phone")
    page.screenshot(path=str(ARTIFACTS / "notifications-settings-phone.png"), full_page=True)

    notify_officer(live_server, "pc.shah", 3)
    page.set_viewport_size(DESKTOP)
    page.goto("/notifications")
    expect(page.get_by_role("link", name="Notifications, 3 unread")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "notifications-list-desktop.png"), full_page=True)
    page.goto("/notifications/settings")
    page.screenshot(path=str(ARTIFACTS / "notifications-settings-desktop.png"), full_page=True)
