"""ASGI middleware: a request id on every request, and the response headers a security review
expects on every response."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# One policy for every page, /docs too: Swagger UI styles its elements through the CSSOM (which
# the policy allows), never through inline style attributes or <style> elements.


def content_security_policy(tile_url: str = "", provider_url: str = "") -> str:
    """The policy, with the map tile server's origin added to img-src when one is set, and the
    identity provider's to form-action (signing out redirects the form's POST there)."""
    policy = CSP
    origin = urlsplit(tile_url)
    if origin.scheme in ("http", "https") and origin.netloc:
        host = origin.netloc.replace("{s}", "*")
        policy = policy.replace("img-src 'self' data:",
                                f"img-src 'self' data: {origin.scheme}://{host}")
    provider = urlsplit(provider_url)
    if provider.scheme in ("http", "https") and provider.netloc:
        policy = policy.replace("form-action 'self'",
                                f"form-action 'self' {provider.scheme}://{provider.netloc}")
    return policy


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, csp: str = CSP) -> None:
        self.app = app
        self.csp = csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                # A response may bring its own, stricter in what matters (attachment files).
                headers.setdefault("Content-Security-Policy", self.csp)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "same-origin"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["Permissions-Policy"] = "geolocation=(self), camera=(), microphone=()"
                if not path.startswith("/static/"):
                    # Case data must not linger in caches, nor come back with the back button.
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
