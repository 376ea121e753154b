"""The request line and the request metrics, from one ASGI middleware."""

from __future__ import annotations

import time
from typing import Any

import structlog
from fastapi.routing import iter_route_contexts
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability import metrics
from app.observability.logs import DatabaseTime, database_time, get_logger

log = get_logger("popcase.requests")

UNMATCHED = "unmatched"  # no route: the raw path (anything a client typed) is never logged


def route_template(scope: Scope) -> str:
    """The matched route's template (``/api/v1/cases/{ref}``), never the path's values.

    The router leaves the matched route in the scope, but a route of an included router
    carries its path without the prefixes it was included under: the app's route table,
    read once, gives the full template."""
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    templates = _templates(scope["app"])
    for path, regex in templates.get(id(route), ()):
        if regex is None or regex.match(scope.get("path", "")):
            return path
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


_TABLES = "popcase_route_templates"


def _templates(app: Any) -> dict[int, list[tuple[str, Any]]]:
    """id of each route object -> its full templates (a router included twice has two)."""
    state = getattr(app, "state", None)
    table = getattr(state, _TABLES, None) if state is not None else None
    if table is None:
        table = {}
        for context in iter_route_contexts(app.routes):
            if isinstance(context.path, str):
                table.setdefault(id(context.original_route), []).append(
                    (context.path, getattr(context, "path_regex", None)))
        if state is not None:
            setattr(state, _TABLES, table)
    return table


class ObserveMiddleware:
    """One JSON line and one latency observation per HTTP request. Sits inside
    ``RequestContextMiddleware``, whose request id it reports."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        timing = DatabaseTime()
        token = database_time.set(timing)
        bound = structlog.contextvars.bind_contextvars(
            request_id=state.get("request_id", ""))
        started = time.perf_counter()
        status = 500  # unless a response starts: an exception escaped every handler

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            route, method = route_template(scope), scope.get("method", "")
            metrics.observe_request(route, method, status, seconds)
            log.info("request", user_id=state.get("user_id"), route=route, method=method,
                     status=status, duration_ms=round(seconds * 1000, 1),
                     db_ms=round(timing.seconds * 1000, 1), db_statements=timing.statements)
            structlog.contextvars.reset_contextvars(**bound)
            database_time.reset(token)
