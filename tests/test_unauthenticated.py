"""Every route, enumerated from the app's route table, refuses a request without credentials;
and each side refuses the other side's credentials (the API a session cookie, the pages a token).

Pages answer 303 to the sign-in page with ``next`` set to where the person was going; the API
answers 401 with ``WWW-Authenticate: Bearer``; so does ``/openapi.json``. Only the sign-in page,
``/health``, ``/ready`` and the static files are public; ``/metrics`` answers only a configured
scraper (404 here, where none is).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import sessionmaker

from app.main import create_app
from app.settings import Settings
from app.web.deps import SESSION_COOKIE
from tests.conftest import Cast

PUBLIC = {("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics"),
          ("GET", "/sign-in"), ("POST", "/sign-in"),
          ("GET", "/sign-in/oidc"), ("GET", "/sign-in/oidc/callback")}
# A plausible value for each path parameter, so that the request reaches authentication.
SAMPLE_PATH_VALUES = {
    "ref": "WM-2026-0001", "section": "problem", "item_id": "1", "hypothesis_id": "1",
    "action_id": "1", "token_id": "1", "username": "pc.shah", "code": "E09000033",
    "batch_id": "1", "area_id": "1", "patrol_id": "1", "output_id": "1", "concern_id": "1",
    "operation_id": "1", "event_id": "1", "number": "1", "force_id": "north-wales",
    "notification_id": "1", "agency_id": "1", "contact_id": "1", "partner_id": "1",
    "attachment_id": "1", "variant": "file",
    "slug": "street-drinking", "group_id": "1",
}


def _routes() -> list[tuple[str, str]]:
    # The route table only: the app is never called, so it needs no database.
    app = create_app(Settings(database_url="sqlite://", environment="test"), sessionmaker())
    routes = []
    for route in iter_route_contexts(app.routes):
        if route.path == "/static":
            continue
        assert route.methods, f"{route.path}: a route or mount without methods"
        routes += [(method, route.path) for method in sorted(route.methods)]
    return sorted(routes)


ROUTES = _routes()
PROTECTED = [r for r in ROUTES if r not in PUBLIC]
API = [r for r in PROTECTED if r[1].startswith("/api/")]
PAGES = [r for r in PROTECTED if not r[1].startswith("/api/") and r[1] != "/openapi.json"]


def concrete(path: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in SAMPLE_PATH_VALUES, f"add a sample value for the path parameter {name}"
        return SAMPLE_PATH_VALUES[name]
    return re.sub(r"\{(\w+)(?::\w+)?\}", value, path)


def call(client: TestClient, method: str, path: str,
         headers: dict[str, str] | None = None) -> Response:
    url = concrete(path)
    if method == "GET":
        return client.get(url, headers=headers)
    if method == "POST" and not path.startswith("/api/"):
        return client.post(url, data={"title": "x"}, headers=headers)
    return client.request(method, url, json={}, headers=headers)


def assert_sent_to_sign_in(response: Response, path: str) -> None:
    assert response.status_code == 303, f"{path}: {response.status_code} {response.text[:200]}"
    location = urlsplit(response.headers["Location"])
    assert location.path == "/sign-in"
    assert parse_qs(location.query)["next"] == [concrete(path)]
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def assert_api_refusal(response: Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthenticated"


def test_the_route_table_was_read() -> None:
    assert len(ROUTES) > 30 and API and PAGES
    assert ("GET", "/openapi.json") in PROTECTED


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_no_credentials_is_refused(client: TestClient, method: str, path: str) -> None:
    response = call(client, method, path)
    if path.startswith("/api/") or path == "/openapi.json":
        assert_api_refusal(response)
    else:
        assert_sent_to_sign_in(response, path)


def test_htmx_requests_are_sent_to_sign_in_by_header(client: TestClient) -> None:
    response = client.get("/cases?stage=scanning", headers={"HX-Request": "true"})
    assert response.status_code == 204
    location = urlsplit(response.headers["HX-Redirect"])
    assert location.path == "/sign-in"
    assert parse_qs(location.query)["next"] == ["/cases?stage=scanning"]


def test_public_routes_answer_without_credentials(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json()["status"] == "ready"
    assert client.get("/metrics").status_code == 404  # no scraper configured
    assert client.get("/sign-in").status_code == 200
    for path in ("/static/css/app.css", "/static/img/favicon.svg"):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize(("method", "path"), API, ids=[f"{m} {p}" for m, p in API])
def test_the_api_refuses_a_session_cookie(client: TestClient, cast: Cast, method: str,
                                          path: str) -> None:
    client.cookies.set(SESSION_COOKIE, cast.admin.session_secret)
    response = call(client, method, path, headers={"X-CSRF-Token": cast.admin.csrf})
    assert_api_refusal(response)


@pytest.mark.parametrize(("method", "path"), PAGES, ids=[f"{m} {p}" for m, p in PAGES])
def test_pages_refuse_a_bearer_token(client: TestClient, cast: Cast, method: str,
                                     path: str) -> None:
    person = cast.admin if path.startswith("/admin") else cast.officer
    response = call(client, method, path, headers=person.api)
    assert_sent_to_sign_in(response, path)


def test_unknown_and_garbled_tokens_are_refused(client: TestClient, cast: Cast) -> None:
    for header in (f"Bearer {cast.officer.token}x", "Bearer ", f"Basic {cast.officer.token}",
                   cast.officer.token):
        response = client.get("/api/v1/cases", headers={"Authorization": header})
        assert_api_refusal(response)


def test_openapi_accepts_either_credential(client: TestClient, cast: Cast) -> None:
    assert client.get("/openapi.json", headers=cast.analyst.api).status_code == 200
    client.cookies.set(SESSION_COOKIE, cast.analyst.session_secret)
    assert client.get("/openapi.json").status_code == 200
