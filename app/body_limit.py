"""A size limit on every request body, applied before the body is parsed.

JSON and form bodies are small (``POPCASE_MAX_BODY_KB``); the few upload routes have their own
limits. A body declared too large is refused before a byte is read; one that streams in without
a length (chunked) is cut off as soon as it passes the limit, so neither memory nor disk holds
more than the limit. The refusal is a 413 raised from ``receive``: the app's error handlers
answer it as JSON on the API and as a page elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.bounds import BodyTooLarge
from app.settings import Settings

MB = 1024 * 1024
# Room for the form fields and multipart framing around an uploaded file: generous, so that a
# route's own check of the file (which names the field) speaks first; this is the backstop.
UPLOAD_OVERHEAD = MB

# Upload routes (by path template) and their limits; every other route takes the default.
UPLOAD_LIMITS: dict[str, Callable[[Settings], int]] = {
    "/data/police-uk": lambda s: s.max_upload_mb * MB,
    "/data/boundaries": lambda s: s.boundary_max_mb * MB,
    "/admin/forces/{force_id}/boundaries": lambda s: s.boundary_max_mb * MB,
    "/cases/{ref}/attachments": lambda s: s.attachment_max_mb * MB,
    "/cases/{ref}/attachments/{attachment_id}/supersede": lambda s: s.attachment_max_mb * MB,
    "/api/v1/cases/{ref}/attachments": lambda s: s.attachment_max_mb * MB,
    "/api/v1/cases/{ref}/attachments/{attachment_id}/supersede":
        lambda s: s.attachment_max_mb * MB,
}


def body_limit(scope: Scope, settings: Settings) -> int:
    """The limit for the route the request was matched to (the router has run by the time the
    body is first read)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    chosen = UPLOAD_LIMITS.get(path) if isinstance(path, str) else None
    return chosen(settings) + UPLOAD_OVERHEAD if chosen else settings.max_body_kb * 1024


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        state = {"limit": -1, "received": 0, "cut": False, "complete": False}

        async def limited_receive() -> Message:
            if state["complete"]:  # the body is all in: later reads wait for a disconnect
                return await receive()
            if state["limit"] < 0:
                state["limit"] = body_limit(scope, self.settings)
                if declared is not None and declared > state["limit"]:
                    raise BodyTooLarge(state["limit"])
            if state["cut"]:
                raise BodyTooLarge(state["limit"])
            message = await receive()
            if message["type"] != "http.request":
                return message
            body = message.get("body", b"")
            room = state["limit"] - state["received"]
            if len(body) > room:
                # Hand on what fits, so that a route's own check (which names the field) may
                # still speak first; the next read is refused.
                state["cut"] = True
                return {**message, "body": body[:room], "more_body": True}
            state["received"] += len(body)
            state["complete"] = not message.get("more_body", False)
            return message

        await self.app(scope, limited_receive, send)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None
