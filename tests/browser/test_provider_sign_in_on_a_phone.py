"""An officer on a phone signs in with the force's identity provider and signs out at it: a live
popcase configured for a real OpenID Connect provider on loopback (``tests/oidc_provider.py``),
passwords switched off."""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import delete

from app.auth.models import SignInGroup
from app.auth.roles import Role
from app.db import make_engine, make_session_factory
from app.demo import WESTMINSTER
from app.main import create_app
from app.settings import Settings
from tests.browser.conftest import LiveServer, _wait_for_health, assert_fits_phone
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, running_provider

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings(
    # The provider's own use of a hook Authlib 1.9 deprecates (see tests/security/test_oidc.py).
    r"ignore:get_jwt_config\(self, grant\) is deprecated:DeprecationWarning")]

GROUP = "popcase-westminster-officers"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    previous = os.environ.get("AUTHLIB_INSECURE_TRANSPORT")
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain HTTP on loopback, both sides
    try:
        with running_provider() as running:
            running.set_user("sub-officer-7", {
                "preferred_username": "pc.okoro@met.example.police.uk", "name": "PC Ada Okoro",
                "groups": [GROUP]})
            yield running
    finally:
        if previous is None:
            os.environ.pop("AUTHLIB_INSECURE_TRANSPORT", None)
        else:
            os.environ["AUTHLIB_INSECURE_TRANSPORT"] = previous


@pytest.fixture(scope="module")
def provider_server(live_server: LiveServer, provider: Provider) -> Iterator[str]:
    """A second live popcase on the demo database (the session's live server prepared it),
    signing in through ``provider`` only."""
    import uvicorn

    engine = make_engine(live_server.database_url)
    factory = make_session_factory(engine)
    with factory() as db:
        db.add(SignInGroup(group=GROUP, role=Role.OFFICER, borough_code=WESTMINSTER,
                           force_id="metropolitan"))
        db.commit()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    url = f"http://{host}:{port}"
    app = create_app(Settings(
        database_url=live_server.database_url, environment="demo", base_url=url,
        oidc_issuer=provider.issuer, oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET, password_signin=False))
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           lifespan="off", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _wait_for_health(url, thread)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        app.state.session_factory.kw["bind"].dispose()
        with factory() as db:
            db.execute(delete(SignInGroup).where(SignInGroup.group == GROUP))
            db.commit()
        engine.dispose()


def _no_cdn(page: Page) -> None:
    """The provider's pages ask a CDN for their stylesheet; there is no network here."""
    page.route(re.compile(r"^https://cdn\.jsdelivr\.net/"),
               lambda route: route.fulfill(status=200, content_type="text/css", body=""))


def test_an_officer_signs_in_and_out_through_the_identity_provider(
        page: Page, provider_server: str, provider: Provider) -> None:
    _no_cdn(page)
    page.goto(f"{provider_server}/sign-in")
    expect(page.get_by_label("Password")).to_have_count(0)  # passwords are off
    assert_fits_phone(page)
    page.get_by_role("button", name="Sign in with your force account").click()

    page.wait_for_url(re.compile(re.escape(provider.issuer) + r"/oauth2/authorize\?"))
    page.locator("input[name=sub]").fill("sub-officer-7")
    page.get_by_role("button", name="Authorize").click()

    page.wait_for_url(re.compile(re.escape(provider_server) + r"/(shift|cases)?$"))
    expect(page.get_by_text("PC Ada Okoro").first).to_be_attached()
    assert_fits_phone(page)

    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible() and menu.get_attribute("aria-expanded") != "true":
        menu.click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(re.escape(provider.issuer) + r"/oauth2/end_session\?"))
    page.get_by_role("button", name="End session").click()  # the provider asks to confirm
    page.wait_for_url(re.compile(r"/sign-in\?signed_out=1"))
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto(f"{provider_server}/cases")
    expect(page).to_have_url(re.compile(r"/sign-in\?"))
