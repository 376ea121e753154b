"""Sign-in with the force's identity provider, tried against a real OpenID Connect provider on
loopback (``tests/oidc_provider.py``): the journey that works, and the ones an attacker or a
misconfiguration would try (wrong audience, expired token, replayed or foreign state, a person
whose groups give no role, password sign-in switched off)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import AuditEntry
from app.auth.models import SignInGroup, User, UserSession
from app.auth.roles import Role
from app.main import create_app
from app.settings import Settings
from app.web.deps import SESSION_COOKIE
from tests.conftest import CAMDEN, WESTMINSTER
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, callback_path, running_provider

# The provider (oidc-provider-mock 0.3.4, the last release for Python 3.11) overrides an
# Authlib hook that Authlib 1.9 deprecates; under ``filterwarnings = error`` its token endpoint
# would answer 500. The provider's own warning only, never popcase's.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:get_jwt_config\(self, grant\) is deprecated:DeprecationWarning")

OFFICERS, SUPERVISORS = "popcase-westminster-officers", "popcase-supervisors"


@pytest.fixture(autouse=True)
def loopback_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider under test speaks plain HTTP on loopback; Authlib (on both sides) insists
    on HTTPS unless told this."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture(scope="module")
def expired_provider() -> Iterator[Provider]:
    """A provider whose ID tokens expired an hour before they were issued."""
    with running_provider(token_max_age=timedelta(hours=-1)) as running:
        yield running


@pytest.fixture(autouse=True)
def groups(db: Session) -> None:
    db.add_all([
        SignInGroup(group=OFFICERS, role=Role.OFFICER, borough_code=WESTMINSTER,
                    force_id="metropolitan"),
        SignInGroup(group=SUPERVISORS, role=Role.SUPERVISOR, borough_code=CAMDEN,
                    force_id="metropolitan"),
    ])
    db.commit()


def provider_settings(db_url: str, provider: Provider, **more: object) -> Settings:
    return Settings(database_url=db_url, environment="test", oidc_issuer=provider.issuer,
                    oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET,
                    base_url="http://testserver", **more)


def browser(settings: Settings, session_factory: sessionmaker[Session]) -> TestClient:
    return TestClient(create_app(settings, session_factory), base_url="http://testserver",
                      follow_redirects=False)


@pytest.fixture
def client(db_url: str, provider: Provider,
           session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with browser(provider_settings(db_url, provider), session_factory) as test_client:
        yield test_client


def start(client: TestClient, next_url: str = "/cases") -> str:
    response = client.get("/sign-in/oidc", params={"next": next_url})
    assert response.status_code == 303
    return response.headers["location"]


def through_provider(client: TestClient, provider: Provider, sub: str,
                     claims: dict[str, object]) -> httpx.Response:
    provider.set_user(sub, claims)
    back = provider.authorize(start(client), sub)
    return client.get(callback_path(back))


JANE = {"preferred_username": "jane.smith@met.example.police.uk", "name": "PC Jane Smith",
        "email": "jane.smith@met.example.police.uk", "email_verified": True, "groups": [OFFICERS]}


def refusals(db: Session) -> list[dict[str, object]]:
    return [e.details for e in db.scalars(select(AuditEntry).where(
        AuditEntry.action == "signin.refused").order_by(AuditEntry.seq))]


def test_a_member_of_a_mapped_group_signs_in_and_gets_its_role_and_area(
        client: TestClient, provider: Provider, db: Session) -> None:
    authorization = urlsplit(start(client))
    query = parse_qs(authorization.query)
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"] and query["nonce"][0]

    response = through_provider(client, provider, "sub-jane", JANE)
    assert response.status_code == 303 and response.headers["location"] == "/cases"
    assert client.get("/cases").status_code == 200  # the same session as a password sign-in
    user = db.scalar(select(User).where(User.oidc_subject == "sub-jane"))
    assert user is not None and user.username == "jane.smith"
    assert (user.role, user.borough_code, user.force_id) == (Role.OFFICER, WESTMINSTER,
                                                           "metropolitan")
    assert user.oidc_issuer == provider.issuer and user.password_hash is None
    session = db.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert session is not None and session.id_token


def test_pkce_verifier_sent_with_the_code_matches_the_challenge(
        client: TestClient, provider: Provider) -> None:
    provider.set_user("sub-pkce", JANE)
    url = start(client)
    challenge = parse_qs(urlsplit(url).query)["code_challenge"][0]
    client.get(callback_path(provider.authorize(url, "sub-pkce")))
    verifier = provider.token_requests[-1]["code_verifier"]
    digest = hashlib.sha256(verifier.encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge


def test_the_next_sign_in_keeps_the_account_and_follows_group_changes(
        client: TestClient, provider: Provider, db: Session) -> None:
    through_provider(client, provider, "sub-jane", JANE)
    promoted = {**JANE, "groups": [OFFICERS, SUPERVISORS]}
    assert through_provider(client, provider, "sub-jane", promoted).status_code == 303
    users = list(db.scalars(select(User).where(User.oidc_subject == "sub-jane")))
    assert len(users) == 1
    db.refresh(users[0])
    assert (users[0].role, users[0].borough_code) == (Role.SUPERVISOR, CAMDEN)


def test_a_first_sign_in_finds_an_account_by_verified_email_only(
        client: TestClient, provider: Provider, db: Session) -> None:
    existing = User(username="pc.jones", display_name="PC Jones", role=Role.OFFICER,
                    borough_code=WESTMINSTER, force_id="metropolitan",
                    email="tom.jones@met.example.police.uk")
    db.add(existing)
    db.commit()
    unverified = {**JANE, "preferred_username": "tom.jones@met.example.police.uk",
                  "email": "tom.jones@met.example.police.uk", "email_verified": False}
    assert through_provider(client, provider, "sub-mallory", unverified).status_code == 303
    mallory = db.scalar(select(User).where(User.oidc_subject == "sub-mallory"))
    assert mallory is not None and mallory.id != existing.id  # a new account, not pc.jones's
    assert mallory.username == "tom.jones"

    verified = {**unverified, "email_verified": True}
    assert through_provider(client, provider, "sub-tom", verified).status_code == 303
    db.refresh(existing)
    assert existing.oidc_subject == "sub-tom"


def test_matching_by_username_compares_the_part_before_the_at(
        db_url: str, provider: Provider, session_factory: sessionmaker[Session],
        db: Session) -> None:
    existing = User(username="jane.smith", display_name="PC Jane Smith", role=Role.ANALYST,
                    force_id="metropolitan")
    db.add(existing)
    db.commit()
    settings = provider_settings(db_url, provider, oidc_match_by="username")
    with browser(settings, session_factory) as client:
        assert through_provider(client, provider, "sub-jane-2", JANE).status_code == 303
    db.refresh(existing)
    assert existing.oidc_subject == "sub-jane-2"
    assert (existing.role, existing.borough_code) == (Role.OFFICER, WESTMINSTER)  # her group's


def test_an_id_token_for_another_audience_is_refused(
        client: TestClient, provider: Provider, db: Session) -> None:
    provider.other_audience = True
    try:
        response = through_provider(client, provider, "sub-aud", JANE)
    finally:
        provider.other_audience = False
    assert response.status_code == 403
    assert "could not be trusted" in response.text
    assert SESSION_COOKIE not in response.cookies
    assert "aud" in str(refusals(db)[-1]["reason"])
    assert db.scalar(select(User).where(User.oidc_subject == "sub-aud")) is None


def test_an_expired_id_token_is_refused(db_url: str, expired_provider: Provider,
                                        session_factory: sessionmaker[Session],
                                        db: Session) -> None:
    with browser(provider_settings(db_url, expired_provider), session_factory) as client:
        response = through_provider(client, expired_provider, "sub-late", JANE)
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.cookies
    assert "expired_token" in str(refusals(db)[-1]["reason"])


def test_a_replayed_state_is_refused(client: TestClient, provider: Provider,
                                     db: Session) -> None:
    provider.set_user("sub-jane", JANE)
    back = callback_path(provider.authorize(start(client), "sub-jane"))
    state_cookie = client.cookies.get("popcase_oidc_state")
    assert client.get(back).status_code == 303
    client.cookies.clear()
    client.cookies.set("popcase_oidc_state", state_cookie or "", path="/sign-in/oidc")
    replay = client.get(back)
    assert replay.status_code == 403 and "already used" in replay.text
    assert SESSION_COOKIE not in replay.cookies
    assert refusals(db)[-1]["reason"] == "replayed state"


def test_a_callback_from_another_browser_is_refused(
        client: TestClient, provider: Provider, db: Session, db_url: str,
        session_factory: sessionmaker[Session]) -> None:
    """Login CSRF: an attacker's own code and state, sent to someone else's browser."""
    provider.set_user("sub-attacker", JANE)
    back = callback_path(provider.authorize(start(client), "sub-attacker"))
    with browser(provider_settings(db_url, provider), session_factory) as victim:
        response = victim.get(back)
    assert response.status_code == 403
    assert refusals(db)[-1]["reason"] == "state not from this browser"


def test_someone_whose_groups_give_no_role_is_refused_and_logged(
        client: TestClient, provider: Provider, db: Session) -> None:
    canteen = {**JANE, "preferred_username": "sam@met.example.police.uk",
               "groups": ["canteen-staff"]}
    response = through_provider(client, provider, "sub-sam", canteen)
    assert response.status_code == 403
    assert "in no group that gives access to popcase" in response.text
    assert SESSION_COOKIE not in response.cookies
    assert db.scalar(select(User).where(User.oidc_subject == "sub-sam")) is None
    assert refusals(db)[-1]["reason"] == "no role for sam@met.example.police.uk"


def test_a_deactivated_account_stays_out(client: TestClient, provider: Provider,
                                         db: Session) -> None:
    through_provider(client, provider, "sub-jane", JANE)
    user = db.scalar(select(User).where(User.oidc_subject == "sub-jane"))
    assert user is not None
    user.active = False
    db.commit()
    response = through_provider(client, provider, "sub-jane", JANE)
    assert response.status_code == 403 and "deactivated" in response.text
    refused = db.scalar(select(AuditEntry).where(AuditEntry.action == "signin.refused")
                        .order_by(AuditEntry.seq.desc()))
    assert refused is not None and refused.object_ref == "jane.smith"
    assert refused.details["reason"] == "deactivated"


def test_signing_out_ends_the_session_at_the_provider_too(
        client: TestClient, provider: Provider, db: Session) -> None:
    through_provider(client, provider, "sub-jane", JANE)
    csrf = db.scalar(select(UserSession.csrf_token).join(User).where(
        User.oidc_subject == "sub-jane"))
    response = client.post("/sign-out", data={"csrf_token": csrf})
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == \
        f"{provider.issuer}/oauth2/end_session"
    query = parse_qs(location.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/sign-in?signed_out=1"]
    assert query["id_token_hint"][0].count(".") == 2
    assert httpx.get(response.headers["location"]).status_code == 200
    assert client.get("/cases").status_code == 303  # signed out here


def test_with_passwords_off_the_sign_in_page_offers_only_the_provider(
        db_url: str, provider: Provider, session_factory: sessionmaker[Session],
        db: Session) -> None:
    settings = provider_settings(db_url, provider, password_signin=False)
    with browser(settings, session_factory) as client:
        page = client.get("/sign-in")
        assert page.status_code == 200
        assert 'href="/sign-in/oidc?next=' in page.text and 'name="password"' not in page.text
        token = client.cookies.get("popcase_signin_csrf")
        refused = client.post("/sign-in", data={"username": "admin", "password": "x" * 20,
                                                "csrf_token": token, "next": "/"})
    assert refused.status_code == 403 and SESSION_COOKIE not in refused.cookies
    assert refusals(db)[-1]["reason"] == "passwords switched off"
