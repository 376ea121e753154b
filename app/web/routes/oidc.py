"""Sign-in through the force's identity provider (OpenID Connect): out to it and back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.auth import oidc
from app.auth.context import Actor, Channel
from app.deps import client_addr, request_id
from app.errors import NotFound
from app.settings import oidc_enabled
from app.web.deps import SESSION_COOKIE, Db
from app.web.routes.auth import safe_next, secure_cookie, sign_in_page

router = APIRouter(include_in_schema=False)
# Binds a sign-in to the browser that started it (no login CSRF with someone else's code).
STATE_COOKIE = "popcase_oidc_state"
STATE_PATH = "/sign-in/oidc"
Param = Annotated[str, Query(max_length=4096)]


def _require_provider(request: Request) -> None:
    if not oidc_enabled(request.app.state.settings):
        raise NotFound("Sign-in with an identity provider is not set up here.")


@router.get("/sign-in/oidc", dependencies=[Depends(_require_provider)])
def start(request: Request, db: Db, next: Param = "/") -> Response:
    settings = request.app.state.settings
    try:
        url, state = oidc.start_sign_in(db, settings, safe_next(next))
    except oidc.ProviderUnavailable:
        return sign_in_page(request, next_url=safe_next(next), status_code=503, refused=(
            "The force's identity provider cannot be reached just now. Try again shortly."))
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(STATE_COOKIE, state, httponly=True, samesite="lax", max_age=600,
                        secure=secure_cookie(request), path=STATE_PATH)
    return response


@router.get("/sign-in/oidc/callback", dependencies=[Depends(_require_provider)])
def callback(request: Request, db: Db, state: Param = "", code: Param = "",
             error: Param = "") -> Response:
    actor = Actor(None, Channel.WEB, request_id(request), client_addr(request))
    state, code, error = (v.replace("\x00", "") for v in (state, code, error))  # for the log
    try:
        done = oidc.finish_sign_in(db, actor, request.app.state.settings, state=state, code=code,
                                   error=error, browser_state=request.cookies.get(STATE_COOKIE))
    except oidc.OidcRefused as refused:
        response = sign_in_page(request, next_url="/", refused=refused.message, status_code=403)
    except oidc.ProviderUnavailable:
        response = sign_in_page(request, next_url="/", status_code=503, refused=(
            "The force's identity provider cannot be reached just now. Try again shortly."))
    else:
        response = RedirectResponse(done.next_url, status_code=303)
        response.set_cookie(SESSION_COOKIE, done.secret, httponly=True, samesite="lax",
                            secure=secure_cookie(request), path="/")
    response.delete_cookie(STATE_COOKIE, path=STATE_PATH)
    return response
