"""Issue 18, findings 6 and 7, replayed: lock-out as a weapon, and API tokens without a rate
limit.

Finding 6: three wrong passwords for any username locked its owner out (429) from anywhere,
unauthenticated. Now failures count per username *and* client address with growing waits: the
attacker's address waits, the owner at theirs signs in. The client address is the one the
server believes, so a client cannot forge ``X-Forwarded-For`` to dodge its own wait.

Finding 7: a token could send requests without limit. Now ``POPCASE_API_RATE_LIMIT`` holds
each token to its limit, across server processes, with 429 and ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.audit.models import AuditEntry
from app.auth.models import RateCounter, SigninThrottle, User
from app.db import utcnow
from app.main import create_app
from app.settings import Settings
from tests.conftest import Cast, Person
from tests.test_auth import PASSWORD, USERNAME, sign_in, walker  # noqa: F401 (fixture)

ATTACKER = "203.0.113.66"
OWNER = "198.51.100.10"
PROXY = "127.0.0.1"


def client_from(app: FastAPI | ProxyHeadersMiddleware, address: str) -> TestClient:
    return TestClient(app, base_url="http://testserver", follow_redirects=False,  # type: ignore[arg-type]
                      client=(address, 50000))


def serve_waits(db: Session) -> None:
    """Let every wait run out (time is simulated in the table, never slept)."""
    db.execute(update(SigninThrottle).values(locked_until=utcnow() - timedelta(seconds=1)))
    db.commit()


def guess_wrong(client: TestClient, db: Session, times: int) -> None:
    for _ in range(times):
        serve_waits(db)
        assert sign_in(client, USERNAME, "wrong password").status_code == 401


# --- finding 6 ---------------------------------------------------------------------------------

def test_an_attackers_wrong_guesses_do_not_lock_out_the_owner(
        app: FastAPI, db: Session, walker: User) -> None:  # noqa: F811
    attacker, owner = client_from(app, ATTACKER), client_from(app, OWNER)
    guess_wrong(attacker, db, 10)  # the review stopped at three; ten is well past any lock
    refused = sign_in(attacker, USERNAME, PASSWORD)
    assert refused.status_code == 429  # the attacker's address waits, even with the password
    assert int(refused.headers["Retry-After"]) >= 2 ** 7 - 1

    signed_in = sign_in(owner, USERNAME, PASSWORD)
    assert signed_in.status_code == 303, signed_in.text[:300]
    assert owner.get("/cases").status_code == 200

    # The throttled attempt is in the access log with the attacker's address.
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "signin.throttled")
                      .order_by(AuditEntry.seq.desc()))
    assert entry is not None and entry.client_addr == ATTACKER
    assert entry.object_ref == USERNAME and entry.details["failures"] == 10


def test_an_admin_sees_who_is_waiting_and_the_throttled_attempts(
        app: FastAPI, db: Session, walker: User, cast: Cast,  # noqa: F811
        pages: Callable[[Person], TestClient]) -> None:
    attacker = client_from(app, ATTACKER)
    guess_wrong(attacker, db, 4)
    assert sign_in(attacker, USERNAME, PASSWORD).status_code == 429

    with TestClient(app) as api:
        report = api.get("/api/v1/signin-throttling", headers=cast.admin.api)
    assert report.status_code == 200, report.text
    body = report.json()
    assert [(s["username"], s["client_addr"], s["failures"]) for s in body["slowed"]] == [
        (USERNAME, ATTACKER, 4)]
    assert [(a["object_ref"], a["client_addr"]) for a in body["attempts"]] == [
        (USERNAME, ATTACKER)]
    assert body["attempts"][0]["details"]["retry_after"] >= 1

    page = pages(cast.admin).get("/admin/sign-in-throttling")
    assert page.status_code == 200
    assert USERNAME in page.text and ATTACKER in page.text
    assert "Waiting now" in page.text and "Throttled attempts" in page.text
    views = db.scalars(select(AuditEntry.action).where(AuditEntry.actor == "admin")).all()
    assert views.count("audit.throttling") == 2  # both views are logged


def test_a_forged_forwarded_for_does_not_give_a_new_address_for_each_guess(
        app: FastAPI, db: Session, walker: User) -> None:  # noqa: F811
    """Behind ``popcase serve`` uvicorn believes X-Forwarded-For from trusted proxies only
    (``POPCASE_FORWARDED_ALLOW_IPS``, default 127.0.0.1)."""
    served = ProxyHeadersMiddleware(app, trusted_hosts=PROXY)
    attacker = client_from(served, ATTACKER)
    for n in range(6):
        serve_waits(db)
        forged = {"X-Forwarded-For": f"192.0.2.{n + 1}"}
        assert sign_in(attacker, USERNAME, "wrong password", headers=forged).status_code == 401
    db.expire_all()
    row = db.get(SigninThrottle, (USERNAME, ATTACKER))
    assert row is not None and row.failures == 6  # all counted against the real address
    assert sign_in(attacker, USERNAME, PASSWORD,
                   headers={"X-Forwarded-For": "192.0.2.99"}).status_code == 429

    # Through the trusted proxy, the owner's forwarded address is theirs: not the attacker's.
    via_proxy = client_from(served, PROXY)
    response = sign_in(via_proxy, USERNAME, PASSWORD, headers={"X-Forwarded-For": OWNER})
    assert response.status_code == 303
    signin = db.scalar(select(AuditEntry).where(AuditEntry.action == "signin"))
    assert signin is not None and signin.client_addr == OWNER


# --- finding 7 ---------------------------------------------------------------------------------

@pytest.fixture
def limited(db_url: str, session_factory: sessionmaker[Session]) -> Iterator[FastAPI]:
    """The app with a small limit, as one server process."""
    yield create_app(Settings(database_url=db_url, environment="test",
                              api_rate_limit="5/minute;1000/day"), session_factory)


def test_a_token_is_held_to_its_rate_limit_with_429_and_retry_after(
        limited: FastAPI, cast: Cast) -> None:
    with TestClient(limited) as client:
        for _ in range(5):
            assert client.get("/api/v1/cases", headers=cast.officer.api).status_code == 200
        refused = client.get("/api/v1/cases", headers=cast.officer.api)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.json()["error"] == "rate_limited"
        assert "5 per 1 minute" in refused.json()["message"]
        # Each token has its own count.
        assert client.get("/api/v1/cases", headers=cast.supervisor.api).status_code == 200


def test_every_server_process_counts_against_the_same_limit(
        limited: FastAPI, db_url: str, session_factory: sessionmaker[Session],
        cast: Cast) -> None:
    """The counts live in the database: a second process (another app on the same database)
    refuses the token that the first one has already let through five times."""
    other = create_app(Settings(database_url=db_url, environment="test",
                                api_rate_limit="5/minute"), session_factory)
    with TestClient(limited) as first, TestClient(other) as second:
        for n in range(5):
            client = first if n % 2 else second
            assert client.get("/api/v1/forces", headers=cast.analyst.api).status_code == 200
        assert second.get("/api/v1/forces", headers=cast.analyst.api).status_code == 429
        assert first.get("/api/v1/forces", headers=cast.analyst.api).status_code == 429


def test_a_spent_window_starts_again(limited: FastAPI, db: Session, cast: Cast) -> None:
    with TestClient(limited) as client:
        for _ in range(5):
            client.get("/api/v1/forces", headers=cast.officer.api)
        assert client.get("/api/v1/forces", headers=cast.officer.api).status_code == 429
        db.execute(update(RateCounter).where(RateCounter.key.endswith("/minute"))
                   .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
        assert client.get("/api/v1/forces", headers=cast.officer.api).status_code == 200


def test_a_limits_storage_uri_can_replace_the_database(
        db_url: str, session_factory: sessionmaker[Session], cast: Cast) -> None:
    app = create_app(Settings(database_url=db_url, environment="test", api_rate_limit="2/hour",
                              api_rate_limit_storage="memory://"), session_factory)
    with TestClient(app) as client:
        codes = [client.get("/api/v1/forces", headers=cast.evaluator.api).status_code
                 for _ in range(3)]
    assert codes == [200, 200, 429]


def test_the_429_is_documented_on_every_api_operation(client: TestClient, cast: Cast) -> None:
    document = client.get("/openapi.json", headers=cast.officer.api).json()
    undocumented = [f"{method.upper()} {path}"
                    for path, operations in document["paths"].items()
                    for method, operation in operations.items()
                    if "Retry-After" not in operation["responses"].get("429", {})
                    .get("headers", {})]
    assert not undocumented
    assert len(document["paths"]) > 50
