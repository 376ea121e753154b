"""The application: routers, static files, middleware and error answers."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import __version__
from app.api import admin as api_admin
from app.api import assessment as api_assessment
from app.api import attachments as api_attachments
from app.api import cases as api_cases
from app.api import community as api_community
from app.api import crime as api_crime
from app.api import exports as api_exports
from app.api import forces as api_forces
from app.api import handover as api_handover
from app.api import harm as api_harm
from app.api import notifications as api_notifications
from app.api import operations as api_operations
from app.api import oversight as api_oversight
from app.api import partners as api_partners
from app.api import patrols as api_patrols
from app.api import reference as api_reference
from app.api import retention as api_retention
from app.api import templates as api_templates
from app.api.errors import (
    domain_error_response,
    error_json,
    http_error_response,
    is_api,
    request_validation_response,
)
from app.audit.autocheckpoint import install as install_checkpoints
from app.audit.autocheckpoint import start_loop as start_checkpoint_loop
from app.auth.ratelimit import ApiRateLimiter
from app.auth.service import resolve_session, resolve_token
from app.body_limit import BodyLimitMiddleware
from app.bounds import BodyTooLarge
from app.crime.jobs import WorkerLoop
from app.db import is_busy, is_conflict, make_engine, make_session_factory
from app.deps import get_db
from app.errors import DomainError, Forbidden, NotFound, ValidationFailed
from app.middleware import RequestContextMiddleware, content_security_policy
from app.notifications.runner import NotifyLoop
from app.observability import metrics, readiness
from app.observability.logs import configure_logging, time_statements
from app.observability.requests import ObserveMiddleware
from app.resources import resource_dir
from app.sara.stages import GateUnmet, MoveRefused
from app.settings import Settings, get_settings, oidc_enabled, worker_in_server
from app.web.deps import SESSION_COOKIE, CsrfRejected, SignInRequired
from app.web.routes import admin as web_admin
from app.web.routes import allocation as web_allocation
from app.web.routes import assessment as web_assessment
from app.web.routes import attachments as web_attachments
from app.web.routes import auth as web_auth
from app.web.routes import cases as web_cases
from app.web.routes import community as web_community
from app.web.routes import data as web_data
from app.web.routes import exports as web_exports
from app.web.routes import forces as web_forces
from app.web.routes import handover as web_handover
from app.web.routes import harm as web_harm
from app.web.routes import hotspots as web_hotspots
from app.web.routes import notifications as web_notifications
from app.web.routes import oidc as web_oidc
from app.web.routes import oversight as web_oversight
from app.web.routes import partners as web_partners
from app.web.routes import patrols as web_patrols
from app.web.routes import retention as web_retention
from app.web.routes import shift as web_shift
from app.web.routes import signin_groups as web_signin_groups
from app.web.routes import templates as web_templates
from app.web.templating import is_htmx, render

log = logging.getLogger("popcase")

API_DESCRIPTION = """
The JSON API of popcase, for supervisors and analysts who oversee, filter and aggregate cases.

**Authentication**: every call sends an API token, `Authorization: Bearer <token>`. Tokens are
issued with `popcase token create USERNAME` or on the API tokens page, and act with their
user's role and scope: their home local policing area, their force's areas, or every force's.

**Forces and areas**: popcase serves the police forces of England and Wales, each known by its
police.uk id (`metropolitan`, `city-of-london`, `north-wales`, ...). A force's cases, users and
figures belong to its *local policing areas*: the local authorities it covers, identified by
their ONS (GSS) codes (London boroughs `E09`, unitary authorities `E06`, districts `E07`,
metropolitan districts `E08`, Welsh principal areas `W06`). API v1 names this field and filter
`borough`, whatever kind of local authority it holds. Crime data belongs to the force that
published it: every figure for an area counts that force's rows alone, and a month counts as
present only once that force's file for it is imported (a missing month is `null` or refused,
never zero).

**Errors** all have the same shape: `{"error": CODE, "message": TEXT}`, plus `errors` (a
message per field) for 422, `unmet` (what the stage gate still needs) for a refused stage move,
and `current_version` for a stale update.

**Concurrency**: a case carries a `version`. Send the version you last read with every
`PATCH`; if someone changed the case since, the answer is 409 and nothing is written.
"""


def create_app(settings: Settings | None = None,
               session_factory: sessionmaker[Session] | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging()
    app = FastAPI(
        title="popcase API", version=__version__, description=API_DESCRIPTION,
        docs_url=None, redoc_url=None, openapi_url=None, lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.session_factory = session_factory or make_session_factory(
        make_engine(settings.database_url, echo=settings.sql_echo))
    _observe_engine(app.state.session_factory)
    # Signed checkpoints of the access log; a key that is set but unreadable stops the start.
    app.state.auto_checkpoints = install_checkpoints(app.state.session_factory, settings)
    app.state.rate_limiter = ApiRateLimiter.from_settings(settings, app.state.session_factory)
    app.add_middleware(ObserveMiddleware)  # inside the next two: sees the request id
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    app.add_middleware(RequestContextMiddleware,
                       csp=content_security_policy(
                           settings.map_tiles_url,
                           settings.oidc_issuer if oidc_enabled(settings) else ""))
    app.mount("/static", StaticFiles(directory=resource_dir("static")), name="static")

    app.include_router(api_cases.router, prefix="/api/v1")
    app.include_router(api_reference.router, prefix="/api/v1")
    app.include_router(api_forces.router, prefix="/api/v1")
    app.include_router(api_harm.router, prefix="/api/v1")
    app.include_router(api_admin.router, prefix="/api/v1")
    app.include_router(api_crime.router, prefix="/api/v1")
    app.include_router(api_patrols.router, prefix="/api/v1")
    app.include_router(api_operations.router, prefix="/api/v1")
    app.include_router(api_oversight.router, prefix="/api/v1")
    app.include_router(api_community.router, prefix="/api/v1")
    app.include_router(api_assessment.router, prefix="/api/v1")
    app.include_router(api_exports.router, prefix="/api/v1")
    app.include_router(api_handover.router, prefix="/api/v1")
    app.include_router(api_notifications.router, prefix="/api/v1")
    app.include_router(api_templates.router, prefix="/api/v1")
    app.include_router(api_partners.router, prefix="/api/v1")
    app.include_router(api_partners.case_router, prefix="/api/v1")
    app.include_router(api_attachments.router, prefix="/api/v1")
    app.include_router(api_retention.router, prefix="/api/v1")
    app.include_router(web_auth.router)
    app.include_router(web_oidc.router)
    app.include_router(web_cases.router)
    app.include_router(web_shift.router)
    app.include_router(web_admin.router)
    app.include_router(web_signin_groups.router)
    app.include_router(web_forces.router)
    app.include_router(web_data.router)
    app.include_router(web_harm.router)
    app.include_router(web_hotspots.router)
    app.include_router(web_patrols.router)
    app.include_router(web_community.router)
    app.include_router(web_oversight.router)
    app.include_router(web_allocation.router)
    app.include_router(web_assessment.router)
    app.include_router(web_exports.router)
    app.include_router(web_attachments.router)
    app.include_router(web_handover.router)
    app.include_router(web_notifications.router)
    app.include_router(web_templates.router)
    app.include_router(web_partners.router)
    app.include_router(web_retention.router)
    _add_meta_routes(app)
    _add_error_handlers(app)
    return app


def _observe_engine(factory: sessionmaker[Session]) -> None:
    """Statement times for the request lines; pool gauges when the factory owns a pool (not
    when tests bind it to one connection)."""
    bind = factory.kw.get("bind")
    engine = bind if isinstance(bind, Engine) else getattr(bind, "engine", None)
    if isinstance(engine, Engine):
        time_statements(engine)
        if isinstance(bind, Engine):
            metrics.watch_pool(engine)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """With POPCASE_NOTIFY_EVERY_MINUTES set, each server process also produces and sends
    notifications (safe in several processes: every step is claimed in the database); with
    checkpoints on, it writes one every POPCASE_AUDIT_CHECKPOINT_EVERY_MINUTES."""
    settings: Settings = app.state.settings
    loop = None
    if settings.notify_every_minutes > 0:
        loop = NotifyLoop(app.state.session_factory, settings)
        loop.start()
    app.state.notify_loop = loop
    worker = None
    if worker_in_server(settings):  # imports uploaded to any process, run by this one's thread
        worker = WorkerLoop(app.state.session_factory, settings)
        worker.start()
    app.state.import_worker = worker
    app.state.checkpoint_loop = start_checkpoint_loop(app.state.session_factory,
                                                      app.state.auto_checkpoints)
    try:
        yield
    finally:
        if loop is not None:
            loop.stop()
        if worker is not None:  # a job it leaves unfinished is taken up when its lease lapses
            worker.stop()
        if app.state.checkpoint_loop is not None:
            app.state.checkpoint_loop.stop()


def _add_meta_routes(app: FastAPI) -> None:
    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", include_in_schema=False)
    def ready(request: Request) -> JSONResponse:
        """200 when the database answers at the code's migration level, else 503 and why."""
        state = readiness.check(request.app.state.session_factory)
        return JSONResponse(state.as_dict(), status_code=200 if state.ready else 503,
                            headers={} if state.ready else {"Retry-After": str(RETRY_AFTER_S)})

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics(request: Request) -> Response:
        """Prometheus text format, for the configured scraper only (see Settings.metrics_*)."""
        settings: Settings = request.app.state.settings
        refused = metrics.refusal(settings, request.headers.get("Authorization", ""),
                                  request.client.host if request.client else "")
        if refused == 404:
            raise StarletteHTTPException(404)
        if refused is not None:
            return PlainTextResponse("Not allowed to read the metrics.\n", status_code=refused,
                                     headers={"WWW-Authenticate": "Bearer"}
                                     if refused == 401 else None)
        body, content_type = metrics.exposition(request.app.state.session_factory, settings)
        return Response(body, media_type=content_type)

    def schema_reader(request: Request, db: Annotated[Session, Depends(get_db)]) -> None:
        """The schema is for signed-in people and token holders only."""
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer ") and resolve_token(db, header[7:].strip()):
            return
        secret = request.cookies.get(SESSION_COOKIE)
        if secret and resolve_session(db, secret, request.app.state.settings):
            return
        raise StarletteHTTPException(401, "Sign in, or send an API token.",
                                     headers={"WWW-Authenticate": "Bearer"})

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(schema_reader)])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request, db: Annotated[Session, Depends(get_db)]) -> Response:
        secret = request.cookies.get(SESSION_COOKIE)
        if not (secret and resolve_session(db, secret, request.app.state.settings)):
            raise SignInRequired()
        return HTMLResponse(DOCS_PAGE)


DOCS_PAGE = """<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>popcase API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
<link rel="stylesheet" href="/static/css/docs.css"></head>
<body><p class="docs-back"><a href="/">Back to popcase</a></p>
<div id="swagger-ui"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/js/docs.js"></script></body></html>"""


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    def _sign_in(request: Request, exc: SignInRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = f"/sign-in?expired=1&next={quote(target, safe='/')}"
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": location})
        return RedirectResponse(location, status_code=303)

    @app.exception_handler(CsrfRejected)
    def _csrf(request: Request, exc: CsrfRejected) -> Response:
        return _page_error(request, 403, "The form has expired",
                           "Go back, reload the page and try again.")

    @app.exception_handler(RequestValidationError)
    def _validation(request: Request, exc: RequestValidationError) -> Response:
        if is_api(request):
            return request_validation_response(exc)
        return _page_error(request, 404 if _path_error(exc) else 400, "Page not found"
                           if _path_error(exc) else "Something in the address is not valid",
                           "Check the address and try again.")

    @app.exception_handler(DomainError)
    @app.exception_handler(GateUnmet)
    @app.exception_handler(MoveRefused)
    def _domain(request: Request, exc: Exception) -> Response:
        if is_api(request):
            return domain_error_response(exc)
        if isinstance(exc, NotFound):
            return _page_error(request, 404, "Page not found", exc.message)
        if isinstance(exc, Forbidden):
            return _page_error(request, 403, "You cannot do this", exc.message)
        if isinstance(exc, ValidationFailed):
            return _page_error(request, 422, "Something was not valid",
                               " ".join(e.message for e in exc.errors))
        return _page_error(request, 409, "That could not be done", str(exc))

    @app.exception_handler(BodyTooLarge)
    def _too_large(request: Request, exc: BodyTooLarge) -> Response:
        if is_api(request):
            return http_error_response(exc)
        return _page_error(request, 413, "What you sent is too large", str(exc.detail))

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if is_api(request) or request.url.path == "/openapi.json":
            return http_error_response(exc)
        if exc.status_code == 404:
            return _page_error(request, 404, "Page not found",
                               "If you typed the address, check it is correct.")
        return _page_error(request, exc.status_code, "That could not be done", str(exc.detail))

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    def _database(request: Request, exc: Exception) -> Response:
        if isinstance(exc, OperationalError) and is_conflict(exc):
            message = "Someone else was changing this at the same moment: reload and try again."
            if is_api(request):
                return error_json(409, "conflict", message)
            return _page_error(request, 409, "Changed by someone else", message)
        busy = isinstance(exc, PoolTimeout) or (isinstance(exc, OperationalError)
                                                and is_busy(exc))
        return _database_unavailable(request, exc, busy=busy)

    @app.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception) -> Response:
        return _server_error(request, exc)


def _server_error(request: Request, exc: Exception) -> Response:
    request_id = getattr(request.state, "request_id", "")
    log.exception("unhandled error in %s %s (request %s)", request.method, request.url.path,
                  request_id, exc_info=exc)
    if is_api(request):
        return error_json(500, "server_error",
                          f"Something went wrong on our side (request {request_id}).")
    return _page_error(request, 500, "Sorry, something went wrong",
                       "Nothing was saved. Try again in a moment.")


RETRY_AFTER_S = 10


def _database_unavailable(request: Request, exc: Exception, *, busy: bool) -> Response:
    """The database cannot be reached (down, restarting), or is too busy to answer in time.
    Nothing was written: the request's transaction never committed. The pool replaces broken
    connections, so the next request after the database returns succeeds without a restart."""
    request_id = getattr(request.state, "request_id", "")
    cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    log.error("database %s in %s %s (request %s): %s", "busy" if busy else "unavailable",
              request.method, request.url.path, request_id, cause)
    state = "is too busy to answer" if busy else "cannot be reached"
    if is_api(request):
        response: Response = error_json(
            503, "database_unavailable",
            f"The database {state} just now; nothing was changed. Try again in "
            f"{RETRY_AFTER_S} seconds (request {request_id}).")
    else:
        response = _page_error(request, 503, "popcase is very busy" if busy
                               else "popcase cannot reach its database",
                               "Nothing was saved. Wait a few seconds, then try again: "
                               "what you typed is still in the form if you go back.")
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _page_error(request: Request, status: int, heading: str, message: str) -> Response:
    response = render(request, "errors/error.html", {"heading": heading, "message": message},
                      status_code=status)
    if is_htmx(request):
        # Show the message without swapping an error page into part of a page.
        response.headers["HX-Reswap"] = "none"
        response.headers["HX-Trigger"] = json.dumps({"popcase:error": {"message": message}})
    return response


def _path_error(exc: RequestValidationError) -> bool:
    return any(error.get("loc", ("",))[0] == "path" for error in exc.errors())


def __getattr__(name: str) -> Any:
    # `uvicorn app.main:app` builds the app from the environment on first use.
    if name == "app":
        return create_app()
    raise AttributeError(name)
