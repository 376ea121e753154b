"""A real OpenID Connect provider on loopback for the tests: ``oidc-provider-mock`` (Authlib's
authorization server under Flask, RS256-signed ID tokens, discovery, JWKS, end-session), run by
werkzeug in a thread on a free port of 127.0.0.1.

``Provider.other_audience`` makes the provider issue its codes and tokens to another client
(``OTHER_CLIENT``), as a provider mixing up its clients would: popcase then receives a correctly
signed ID token whose audience is not popcase. Every token request's form is kept in
``token_requests`` (to check the PKCE verifier sent)."""

from __future__ import annotations

import base64
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from werkzeug.serving import make_server

with warnings.catch_warnings():
    # The provider (0.3.4, the last release for Python 3.11) still imports authlib.jose,
    # which Authlib 1.9 deprecates in favour of joserfc; popcase itself uses joserfc.
    warnings.filterwarnings("ignore", "authlib.jose module is deprecated",
                            AuthlibDeprecationWarning)
    import oidc_provider_mock

CLIENT_ID = "popcase"
CLIENT_SECRET = "popcase-client-secret"
OTHER_CLIENT = "another-app"

Environ = dict[str, Any]
Wsgi = Callable[[Environ, Callable[..., Any]], Iterable[bytes]]


class Provider:
    def __init__(self, port: int) -> None:
        self.issuer = f"http://localhost:{port}"
        self.other_audience = False
        self.token_requests: list[dict[str, str]] = []

    def wrap(self, app: Wsgi) -> Wsgi:
        def wsgi(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "")
            if path == "/oauth2/token":
                self._keep_token_request(environ)
            if self.other_audience:
                _as_other_client(environ, path)
            return app(environ, start_response)
        return wsgi

    def _keep_token_request(self, environ: Environ) -> None:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        self.token_requests.append(dict(parse_qsl(body.decode())))
        environ["wsgi.input"] = _Body(body)

    def set_user(self, sub: str, claims: dict[str, Any]) -> None:
        response = httpx.put(f"{self.issuer}/users/{sub}", json=claims)
        assert response.status_code == 204, response.text

    def authorize(self, authorization_url: str, sub: str) -> str:
        """The person signs in at the provider as ``sub``: the URL it sends the browser back
        to (popcase's callback with a code and the state)."""
        assert authorization_url.startswith(f"{self.issuer}/oauth2/authorize?")
        response = httpx.post(authorization_url, data={"sub": sub})
        assert response.status_code == 302, response.text
        return response.headers["location"]


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size is None or size < 0 else self.at + size
        chunk, self.at = self.data[self.at:end], min(end, len(self.data))
        return chunk


def _as_other_client(environ: Environ, path: str) -> None:
    if path == "/oauth2/authorize":
        query = parse_qs(environ.get("QUERY_STRING", ""))
        query["client_id"] = [OTHER_CLIENT]
        environ["QUERY_STRING"] = urlencode(query, doseq=True)
    elif path == "/oauth2/token":
        basic = base64.b64encode(f"{OTHER_CLIENT}:{CLIENT_SECRET}".encode()).decode()
        environ["HTTP_AUTHORIZATION"] = f"Basic {basic}"


@contextmanager
def running_provider(token_max_age: timedelta = timedelta(hours=1)) -> Iterator[Provider]:
    app = oidc_provider_mock.app(access_token_max_age=token_max_age, require_nonce=True)
    holder: dict[str, Provider] = {}

    def wsgi(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        return holder["provider"].wrap(app)(environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    holder["provider"] = provider = Provider(server.server_port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def callback_path(location: str) -> str:
    """popcase's callback URL as a path and query, for the test client."""
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"
