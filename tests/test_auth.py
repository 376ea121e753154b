"""Signing in and out with a real password, throttling, sessions, timeouts and API tokens.

Time is simulated by editing timestamps in the database (``signin_throttle``,
``user_sessions``, ``api_tokens``), never by sleeping.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from app.auth.context import Actor
from app.auth.models import ANY_USERNAME, ApiToken, SigninThrottle, User, UserSession
from app.auth.roles import Role
from app.auth.service import (
    GENERIC_FAILURE,
    NewUser,
    UserChanges,
    create_token,
    create_user,
    digest,
    revoke_token,
    update_user,
)
from app.db import utcnow
from app.settings import Settings
from app.web.deps import SESSION_COOKIE, SIGNIN_CSRF_COOKIE
from tests.conftest import WESTMINSTER, Cast

PASSWORD = "correct horse battery staple"
USERNAME = "pc.walker"


@pytest.fixture
def walker(db: Session) -> User:
    return create_user(db, Actor.cli(), NewUser(USERNAME, Role.OFFICER, "PC Walker",
                                                WESTMINSTER, PASSWORD))


def sign_in(client: TestClient, username: str, password: str, next_url: str = "/cases",
            headers: dict[str, str] | None = None) -> Response:
    form = client.get(f"/sign-in?next={quote(next_url)}")
    assert form.status_code == 200
    token = client.cookies.get(SIGNIN_CSRF_COOKIE) or form.cookies.get(SIGNIN_CSRF_COOKIE)
    assert token
    return client.post("/sign-in", headers=headers, data={
        "username": username, "password": password, "next": next_url, "csrf_token": token})


def cookie_attributes(response: Response, name: str) -> set[str]:
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{name}="))
    return {part.strip().lower() for part in cookie.split(";")[1:]}


def session_row(db: Session, secret: str) -> UserSession:
    db.expire_all()
    row = db.scalar(select(UserSession).where(UserSession.token_hash == digest(secret)))
    assert row is not None
    return row


def throttle(db: Session, username: str, addr: str = "testclient") -> SigninThrottle | None:
    db.expire_all()
    return db.get(SigninThrottle, (username, addr))


def edit_throttle(db: Session, username: str, **values: object) -> None:
    db.execute(update(SigninThrottle).where(SigninThrottle.username == username,
                                            SigninThrottle.client_addr == "testclient")
               .values(**values))
    db.commit()


def assert_sent_to_sign_in(response: Response) -> None:
    assert response.status_code == 303, response.text[:300]
    assert urlsplit(response.headers["Location"]).path == "/sign-in"


# --- signing in --------------------------------------------------------------------------------

def test_sign_in_sets_a_safe_cookie_and_goes_to_next(client: TestClient, db: Session,
                                                     walker: User) -> None:
    response = sign_in(client, USERNAME, PASSWORD, "/cases/WM-2026-0001?section=analysis")
    assert response.status_code == 303
    assert response.headers["Location"] == "/cases/WM-2026-0001?section=analysis"
    attributes = cookie_attributes(response, SESSION_COOKIE)
    assert {"httponly", "samesite=lax", "path=/"} <= attributes
    assert "secure" not in attributes  # plain http in tests; see the https test below
    secret = response.cookies[SESSION_COOKIE]
    row = session_row(db, secret)
    assert row.user_id == walker.id and row.ended_at is None and row.client_addr == "testclient"
    assert row.expires_at - row.created_at == timedelta(hours=12)
    assert client.get("/cases").status_code == 200  # the cookie works
    assert SIGNIN_CSRF_COOKIE in response.headers["set-cookie"]  # the form's cookie is dropped
    assert not response.cookies.get(SIGNIN_CSRF_COOKIE)


def test_cookies_are_secure_over_https(app: FastAPI, walker: User) -> None:
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        response = sign_in(client, USERNAME, PASSWORD, "/cases")
        assert response.status_code == 303
        assert "secure" in cookie_attributes(response, SESSION_COOKIE)


OFF_SITE = [
    "//evil.example", "https://evil.example", "http://evil.example/cases", "/\\evil.example",
    "\\\\evil.example", "evil.example", "javascript:alert(1)", "/\t/evil.example",
    "//evil.example/%2F..", "https:evil.example", " //evil.example",
]


def test_never_redirects_off_site(client: TestClient, walker: User) -> None:
    for target in OFF_SITE:  # one loop, not parameters: every sign-in hashes a password
        response = sign_in(client, USERNAME, PASSWORD, target)
        assert response.status_code == 303
        location = response.headers["Location"]
        browser_sees = location.replace("\t", "").replace("\n", "").replace("\r", "")
        assert browser_sees.startswith("/"), (target, location)
        assert not browser_sees.startswith(("//", "/\\")), (target, location)
        assert urlsplit(browser_sees).netloc == "", (target, location)
        if not target.startswith("/") or target.startswith("//"):
            assert location == "/", target
            assert 'name="next" value="/"' in client.get(f"/sign-in?next={quote(target)}").text


def test_a_wrong_password_gets_the_generic_message(client: TestClient, walker: User) -> None:
    response = sign_in(client, USERNAME, "not the password")
    assert response.status_code == 401
    assert GENERIC_FAILURE in response.text
    assert SESSION_COOKIE not in response.cookies
    unknown = sign_in(client, "nobody.here", "not the password")
    assert unknown.status_code == 401
    assert GENERIC_FAILURE in unknown.text


def test_an_account_without_a_password_cannot_sign_in(client: TestClient, cast: Cast) -> None:
    response = sign_in(client, cast.officer.user.username, "")
    assert response.status_code == 422  # a blank password is not even tried
    response = sign_in(client, cast.officer.user.username, "any password at all")
    assert response.status_code == 401
    assert GENERIC_FAILURE in response.text


def test_usernames_are_case_insensitive(client: TestClient, walker: User) -> None:
    assert sign_in(client, "  PC.Walker ", PASSWORD).status_code == 303


# --- throttling --------------------------------------------------------------------------------
# Failures count per username and client address, with growing waits and no lock (the address
# of TestClient's requests is "testclient"); tests/security/test_throttling_and_limits.py
# replays the lock-out attack from other addresses.

def run_throttle_sequence(client: TestClient, db: Session, settings: Settings,
                          username: str, password: str | None) -> None:
    """Fail until slowed; check that each further failure doubles the wait, that a wait holds
    even the right password, and the state kept in the table."""
    for attempt in range(1, settings.signin_slow_after):
        response = sign_in(client, username, "wrong password")
        assert response.status_code == 401, attempt
        assert GENERIC_FAILURE in response.text
    row = throttle(db, username)
    assert row is not None and row.failures == settings.signin_slow_after - 1
    assert row.locked_until is None

    for failures in range(settings.signin_slow_after, settings.signin_slow_after + 4):
        edit_throttle(db, username, locked_until=utcnow() - timedelta(seconds=1))
        assert sign_in(client, username, "wrong password").status_code == 401
        row = throttle(db, username)
        assert row is not None and row.failures == failures
        wait = 2 ** (failures - settings.signin_slow_after + 1)
        assert row.locked_until - row.last_failure_at == timedelta(seconds=wait)  # type: ignore[operator]
        # Slowed: the next try, however good, waits (and is not counted as a failure).
        for guess in ("wrong password", password or "wrong again"):
            response = sign_in(client, username, guess)
            assert response.status_code == 429
            assert wait - 1 <= int(response.headers["Retry-After"]) <= wait
            assert "Too many failed sign-ins" in response.text
        assert throttle(db, username).failures == failures  # type: ignore[union-attr]
    assert SESSION_COOKIE not in client.cookies


def test_repeated_failures_wait_longer_each_time_but_never_lock(
        client: TestClient, db: Session, app: FastAPI, walker: User) -> None:
    settings = app.state.settings
    run_throttle_sequence(client, db, settings, USERNAME, PASSWORD)
    # The wait served, the right password works at once and the count is cleared.
    edit_throttle(db, USERNAME, locked_until=utcnow() - timedelta(seconds=1))
    assert sign_in(client, USERNAME, PASSWORD).status_code == 303
    assert throttle(db, USERNAME) is None


def test_the_wait_stops_growing_at_the_ceiling(client: TestClient, db: Session, app: FastAPI,
                                               walker: User) -> None:
    settings = app.state.settings
    for _ in range(settings.signin_slow_after):
        sign_in(client, USERNAME, "wrong password")
    edit_throttle(db, USERNAME, failures=40, locked_until=utcnow() - timedelta(seconds=1))
    assert sign_in(client, USERNAME, "wrong password").status_code == 401
    row = throttle(db, USERNAME)
    assert row is not None and row.failures == 41
    assert row.locked_until - row.last_failure_at == timedelta(  # type: ignore[operator]
        seconds=settings.signin_max_wait_seconds)
    response = sign_in(client, USERNAME, PASSWORD)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) <= settings.signin_max_wait_seconds
    assert f"Try again in {settings.signin_max_wait_seconds // 60} minutes" in response.text


def test_failures_are_forgotten_after_a_quiet_day(client: TestClient, db: Session,
                                                  app: FastAPI, walker: User) -> None:
    settings = app.state.settings
    for _ in range(settings.signin_slow_after):
        sign_in(client, USERNAME, "wrong password")
    quiet = utcnow() - timedelta(hours=settings.signin_forget_hours)
    edit_throttle(db, USERNAME, last_failure_at=quiet, locked_until=quiet)
    assert sign_in(client, USERNAME, "wrong password").status_code == 401
    row = throttle(db, USERNAME)
    assert row is not None and row.failures == 1 and row.locked_until is None


def test_an_unknown_username_is_throttled_the_same_way(client: TestClient, db: Session,
                                                       app: FastAPI) -> None:
    run_throttle_sequence(client, db, app.state.settings, "nobody.here", None)


def test_throttling_is_per_username(client: TestClient, db: Session, app: FastAPI,
                                    walker: User) -> None:
    run_throttle_sequence(client, db, app.state.settings, "nobody.here", None)
    assert sign_in(client, USERNAME, PASSWORD).status_code == 303


def test_an_address_guessing_many_usernames_is_slowed_for_all_of_them(
        client: TestClient, db: Session, app: FastAPI, walker: User) -> None:
    """Password spraying: one wrong guess each for many usernames, from one address."""
    settings = app.state.settings
    for n in range(settings.signin_address_slow_after):
        assert sign_in(client, f"guess.{n:03d}", "Winter2026!").status_code == 401
    response = sign_in(client, USERNAME, PASSWORD)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    row = throttle(db, ANY_USERNAME)
    assert row is not None and row.failures == settings.signin_address_slow_after


# --- deactivation ------------------------------------------------------------------------------

def test_a_deactivated_user_is_shut_out_at_once(client: TestClient, db: Session, cast: Cast,
                                                walker: User) -> None:
    assert sign_in(client, USERNAME, PASSWORD).status_code == 303
    _token, secret = create_token(db, Actor.cli(), walker, "scripts")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/cases").status_code == 200
    assert client.get("/api/v1/cases", headers=bearer).status_code == 200

    update_user(db, cast.admin.actor, USERNAME, UserChanges(version=walker.version,
                                                            active=False))

    assert_sent_to_sign_in(client.get("/cases"))
    refused = client.get("/api/v1/cases", headers=bearer)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    client.cookies.clear()
    response = sign_in(client, USERNAME, PASSWORD)
    assert response.status_code == 401
    assert GENERIC_FAILURE in response.text
    assert SESSION_COOKIE not in response.cookies


# --- session lifetime --------------------------------------------------------------------------

@pytest.fixture
def signed_in(client: TestClient, walker: User) -> str:
    response = sign_in(client, USERNAME, PASSWORD)
    assert response.status_code == 303
    return response.cookies[SESSION_COOKIE]


def edit_session(db: Session, secret: str, **values: object) -> None:
    db.execute(update(UserSession).where(UserSession.token_hash == digest(secret))
               .values(**values))
    db.commit()


def test_an_idle_session_ends(client: TestClient, db: Session, app: FastAPI,
                              signed_in: str) -> None:
    idle = timedelta(minutes=app.state.settings.session_idle_minutes)
    edit_session(db, signed_in, last_seen_at=utcnow() - idle + timedelta(minutes=1))
    assert client.get("/cases").status_code == 200  # not yet idle long enough
    row = session_row(db, signed_in)
    assert utcnow() - row.last_seen_at < timedelta(seconds=30)  # and the use was recorded

    edit_session(db, signed_in, last_seen_at=utcnow() - idle - timedelta(seconds=1))
    response = client.get("/cases?stage=analysis")
    assert_sent_to_sign_in(response)
    assert "next=/cases%3Fstage%3Danalysis" in response.headers["Location"]


def test_a_session_ends_at_its_absolute_limit(client: TestClient, db: Session,
                                              signed_in: str) -> None:
    edit_session(db, signed_in, expires_at=utcnow() - timedelta(seconds=1),
                 last_seen_at=utcnow())
    assert_sent_to_sign_in(client.get("/cases"))


def test_sign_out_ends_the_session(client: TestClient, db: Session, signed_in: str) -> None:
    csrf = session_row(db, signed_in).csrf_token
    response = client.post("/sign-out", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in?signed_out=1"
    assert "cache" in response.headers["Clear-Site-Data"]
    assert "storage" in response.headers["Clear-Site-Data"]
    assert "max-age=0" in cookie_attributes(response, SESSION_COOKIE)
    assert session_row(db, signed_in).ended_at is not None
    # The old cookie, sent again (a copy kept elsewhere), no longer works.
    client.cookies.set(SESSION_COOKIE, signed_in)
    assert_sent_to_sign_in(client.get("/cases"))
    assert client.get("/openapi.json").status_code == 401


# --- API tokens --------------------------------------------------------------------------------

def test_a_revoked_token_is_refused(client: TestClient, db: Session, cast: Cast,
                                    walker: User) -> None:
    token, secret = create_token(db, Actor.cli(), walker, "scripts")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/cases", headers=bearer).status_code == 200
    revoke_token(db, cast.admin.actor, token.id)
    response = client.get("/api/v1/cases", headers=bearer)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["error"] == "unauthenticated"


def test_token_last_use_is_recorded(client: TestClient, db: Session, walker: User) -> None:
    token, secret = create_token(db, Actor.cli(), walker, "scripts")
    assert token.last_used_at is None
    assert client.get("/api/v1/boroughs",
                      headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    db.expire_all()
    used = db.get(ApiToken, token.id)
    assert used is not None and used.last_used_at is not None
    assert utcnow() - used.last_used_at < timedelta(seconds=30)

    earlier = utcnow() - timedelta(hours=3)
    db.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=earlier))
    db.commit()
    client.get("/api/v1/boroughs", headers={"Authorization": f"Bearer {secret}"})
    db.expire_all()
    assert utcnow() - db.get(ApiToken, token.id).last_used_at < timedelta(seconds=30)  # type: ignore[union-attr]


def test_secrets_are_stored_only_as_sha256(client: TestClient, db: Session, cast: Cast,
                                           walker: User) -> None:
    session_secret = sign_in(client, USERNAME, PASSWORD).cookies[SESSION_COOKIE]
    _token, api_secret = create_token(db, Actor.cli(), walker, "scripts")
    # A token issued on the Tokens page, as its secret is shown once there.
    admin = TestClient(client.app, follow_redirects=False)
    admin.cookies.set(SESSION_COOKIE, cast.admin.session_secret)
    page = admin.post("/admin/tokens", data={"user": USERNAME, "name": "from the page",
                                             "csrf_token": cast.admin.csrf})
    assert page.status_code == 200
    shown = re.search(r'id="new-token">(pck_[^<]+)<', page.text)
    assert shown is not None
    page_secret = shown.group(1)
    secrets = {session_secret, api_secret, page_secret, cast.officer.token,
               cast.officer.session_secret}

    rows = [str(value) for table in ("api_tokens", "user_sessions", "audit_log")
            for row in db.execute(text(f"SELECT * FROM {table}")) for value in row]
    for secret in secrets:
        assert not any(secret in value for value in rows), "a secret is stored in clear"
        # Nor a large part of it (the prefix kept to recognise a token is 10 characters).
        assert not any(secret[:16] in value for value in rows)
    hashes = set(db.scalars(select(ApiToken.token_hash))) | set(
        db.scalars(select(UserSession.token_hash)))
    for secret in secrets:
        assert hashlib.sha256(secret.encode()).hexdigest() in hashes
