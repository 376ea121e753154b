"""CSRF protection of every state-changing page route, enumerated from the app's route table.

Each POST page route gets the valid request of the permission matrix, sent by a person allowed
to make it: without the session's CSRF token, with a wrong one, or from another site it is
refused with 403 and changes nothing; with the token in the ``X-CSRF-Token`` header (as htmx
sends it) it is accepted. The sign-in form has its own CSRF cookie, set by ``GET /sign-in``.
A police.uk upload changes nothing in the database at once: the import it schedules (kept here,
not run) is its change.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.audit.models import AuditHead
from app.auth.context import Actor
from app.auth.models import SigninThrottle
from app.auth.roles import Role
from app.auth.service import NewUser, create_user
from app.web.deps import SESSION_COOKIE, SIGNIN_CSRF_COOKIE
from tests.conftest import WESTMINSTER, Cast, Person
from tests.test_access_matrix import (
    EXPECTED,
    REQUESTS,
    ROLES,
    Ctx,
    send,
)
from tests.test_unauthenticated import ROUTES

STATE_CHANGING = [(method, path) for method, path in ROUTES
                  if method == "POST" and not path.startswith("/api/") and path != "/sign-in"]
SUCCESS = (200, 201, 303)
CROSS_SITE = "https://evil.example"


def fingerprint(db: Session) -> tuple[object, ...]:
    """Everything a page POST can change, in a comparable form."""
    def row(sql: str) -> tuple[object, ...]:
        return tuple(db.execute(text(sql)).one())
    return (
        row("SELECT seq, hash FROM audit_head"),
        row("SELECT count(*), coalesce(sum(version), 0) FROM cases"),
        row("SELECT count(*) FROM case_events"),
        row("SELECT count(*), coalesce(sum(version), 0) FROM hypotheses"),
        row("SELECT count(*), coalesce(sum(version), 0) FROM actions"),
        row("SELECT count(*), coalesce(sum(version), 0) FROM users"),
        row("SELECT count(*), count(revoked_at) FROM api_tokens"),
        row("SELECT count(*), count(ended_at) FROM user_sessions"),
    )


@pytest.fixture
def scheduled(app: FastAPI) -> list[Callable[[], None]]:
    """Background jobs (police.uk imports) the app starts, kept rather than run: scheduling one
    is what an accepted upload changes at once."""
    jobs: list[Callable[[], None]] = []
    app.state.run_in_background = jobs.append
    return jobs


def people(cast: Cast) -> dict[str, Person]:
    return {role: getattr(cast, role) for role in ROLES}


def case_for_route(method: str, path: str) -> tuple[str, str, int]:
    """The route's first variant in the matrix, a role allowed to use it, and its status."""
    variant, rule = next(iter(EXPECTED[(method, path)].items()))
    role = next(r for r in ROLES if rule[r] in SUCCESS)
    return variant, role, rule[role]


def assert_refused(response: Response) -> None:
    assert response.status_code == 403, response.text[:300]
    assert "The form has expired" in response.text


def test_the_state_changing_routes_were_found() -> None:
    assert ("POST", "/sign-out") in STATE_CHANGING
    assert ("POST", "/cases/{ref}/notes") in STATE_CHANGING
    assert ("POST", "/admin/tokens/{token_id}/revoke") in STATE_CHANGING
    assert len(STATE_CHANGING) >= 13


@pytest.mark.parametrize(("method", "path"), [
    pytest.param(method, path, id=f"{method} {path}")
    for method, path in STATE_CHANGING])
def test_page_post_needs_the_sessions_csrf_token(
        db: Session, cast: Cast, pages: Callable[[Person], TestClient],
        scheduled: list[Callable[[], None]], method: str,
        path: str) -> None:
    variant, role, success = case_for_route(method, path)
    person = getattr(cast, role)
    req = REQUESTS[(method, path, variant)](Ctx(db, people(cast)))
    client = pages(person)

    def state() -> tuple[object, ...]:
        return fingerprint(db), len(scheduled)

    before = state()

    assert_refused(send(client, person, req, csrf=None))
    assert state() == before, "refused without a token, yet something changed"

    assert_refused(send(client, person, req, csrf="wrong"))
    assert state() == before, "refused with a wrong token, yet something changed"

    other = cast.supervisor if person is not cast.supervisor else cast.officer
    assert_refused(send(client, person, req, csrf=None, headers={"X-CSRF-Token": other.csrf}))
    assert state() == before, "another session's token was accepted"

    assert_refused(send(client, person, req, headers={"Origin": CROSS_SITE}))
    assert state() == before, "refused from another site, yet something changed"

    accepted = send(client, person, req, csrf="header",
                    headers={"Origin": "http://testserver"})
    assert accepted.status_code == success, accepted.text[:300]
    assert state() != before, "accepted, yet nothing changed"


def test_htmx_post_with_the_header_token_gets_a_fragment(
        db: Session, cast: Cast, pages: Callable[[Person], TestClient]) -> None:
    req = REQUESTS[("POST", "/cases/{ref}/notes", "add")](Ctx(db, people(cast)))
    response = send(pages(cast.officer), cast.officer, req, csrf="header",
                    headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Met the market manager." in response.text
    assert "<html" not in response.text  # a fragment, not a page


def test_a_csrf_refusal_to_htmx_is_shown_without_a_swap(
        db: Session, cast: Cast, pages: Callable[[Person], TestClient]) -> None:
    req = REQUESTS[("POST", "/cases/{ref}/notes", "add")](Ctx(db, people(cast)))
    response = send(pages(cast.officer), cast.officer, req, csrf="wrong",
                    headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert response.headers["HX-Reswap"] == "none"


# --- the sign-in form --------------------------------------------------------------------------

PASSWORD = "a long enough password"


@pytest.fixture
def walker(db: Session) -> str:
    create_user(db, Actor.cli(), NewUser("pc.walker", Role.OFFICER, "PC Walker", WESTMINSTER,
                                         PASSWORD))
    return "pc.walker"


def signin_token(client: TestClient) -> str:
    response = client.get("/sign-in")
    assert response.status_code == 200
    token = response.cookies.get(SIGNIN_CSRF_COOKIE)
    assert token
    return token


def attempts(db: Session) -> tuple[object, ...]:
    return (db.scalar(select(AuditHead.seq)),
            db.scalar(select(SigninThrottle.failures).where(
                SigninThrottle.username == "pc.walker")))


def test_the_sign_in_csrf_cookie_is_scoped_to_the_form(client: TestClient) -> None:
    response = client.get("/sign-in")
    cookie = next(c for c in response.headers.get_list("set-cookie")
                  if c.startswith(f"{SIGNIN_CSRF_COOKIE}="))
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path=/sign-in", "samesite=strict"} <= attributes
    token = response.cookies[SIGNIN_CSRF_COOKIE]
    assert f'name="csrf_token" value="{token}"' in response.text


def test_sign_in_without_the_cookie_is_refused(client: TestClient, db: Session,
                                               walker: str) -> None:
    before = attempts(db)
    response = client.post("/sign-in", data={"username": walker, "password": PASSWORD,
                                             "csrf_token": "made-up"})
    assert_refused(response)
    assert SESSION_COOKIE not in response.cookies
    assert attempts(db) == before


@pytest.mark.parametrize("how", ["no token", "wrong token", "cross-site", "wrong password"])
def test_sign_in_refusals_change_nothing(client: TestClient, db: Session, walker: str,
                                         how: str) -> None:
    token = signin_token(client)
    form = {"username": walker, "password": PASSWORD, "csrf_token": token}
    headers = {}
    if how == "no token":
        del form["csrf_token"]
    elif how == "wrong token":
        form["csrf_token"] = token[::-1]
    elif how == "cross-site":
        headers["Origin"] = CROSS_SITE
    before = attempts(db)
    if how == "wrong password":
        # The control: with a valid token, a wrong password is counted (so refusals above are
        # refused before the credentials are even looked at).
        form["password"] = "not the password"
        response = client.post("/sign-in", data=form, headers=headers)
        assert response.status_code == 401
        assert attempts(db) != before
        return
    response = client.post("/sign-in", data=form, headers=headers)
    assert_refused(response)
    assert SESSION_COOKIE not in response.cookies
    assert attempts(db) == before


@pytest.mark.parametrize("where", ["form", "header"])
def test_sign_in_with_the_token_is_accepted(client: TestClient, walker: str,
                                            where: str) -> None:
    token = signin_token(client)
    form = {"username": walker, "password": PASSWORD}
    headers = {"Origin": "http://testserver"}
    if where == "form":
        form["csrf_token"] = token
    else:
        headers["X-CSRF-Token"] = token
    response = client.post("/sign-in", data=form, headers=headers)
    assert response.status_code == 303, response.text[:300]
    assert response.cookies.get(SESSION_COOKIE)
