"""Sign-in and sign-out pages."""

from __future__ import annotations

import secrets
from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from app.auth import oidc
from app.auth.context import Actor, Channel
from app.auth.service import PASSWORDS_OFF, SignInRefused, sign_in, sign_out
from app.deps import client_addr, request_id
from app.settings import oidc_enabled
from app.web import forms
from app.web.deps import (
    SESSION_COOKIE,
    SIGNIN_CSRF_COOKIE,
    Db,
    PageActor,
    check_csrf,
    csrf_protect,
)
from app.web.templating import render

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only paths on this site: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def secure_cookie(request: Request) -> bool:
    setting = request.app.state.settings.cookie_secure
    return request.url.scheme == "https" if setting == "auto" else setting == "always"


def sign_in_page(request: Request, *, next_url: str, username: str = "", status_code: int = 200,
                 errors: dict[str, str] | None = None, refused: str = "",
                 notice: str = "") -> Response:
    """The sign-in page: the password form unless passwords are off, and the identity
    provider's button when one is configured."""
    settings = request.app.state.settings
    token = request.cookies.get(SIGNIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "auth/sign_in.html", {
        "signin_csrf": token, "next": next_url, "username": username, "errors": errors or {},
        "refused": refused, "notice": notice, "passwords": settings.password_signin,
        "provider": oidc_enabled(settings), "provider_text": settings.oidc_button_text,
    }, status_code=status_code)
    response.set_cookie(SIGNIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=secure_cookie(request), path="/sign-in")
    return response


@router.get("/sign-in")
def sign_in_form(request: Request, next: str = "/", signed_out: str = "",
                 expired: str = "") -> Response:
    notice = "You have signed out." if signed_out else (
        "Sign in to continue." if expired else "")
    return sign_in_page(request, next_url=safe_next(next), notice=notice)


async def _form(request: Request) -> FormData:
    return await request.form()


async def signin_csrf(request: Request) -> None:
    await check_csrf(request, request.cookies.get(SIGNIN_CSRF_COOKIE))


@router.post("/sign-in", dependencies=[Depends(signin_csrf)])
def sign_in_submit(request: Request, db: Db, form: Annotated[FormData, Depends(_form)]) -> Response:
    username, password = forms.text(form, "username"), str(form.get("password") or "")
    next_url = safe_next(forms.text(form, "next"))
    if not request.app.state.settings.password_signin:
        actor = Actor(None, Channel.WEB, request_id(request), client_addr(request))
        with suppress(SignInRefused):  # the service refuses and logs the attempt
            sign_in(db, actor, username, password, request.app.state.settings)
        return sign_in_page(request, next_url=next_url, refused=PASSWORDS_OFF, status_code=403)
    errors = {}
    if not username:
        errors["username"] = "Enter your username."
    if not password:
        errors["password"] = "Enter your password."
    if errors:
        return sign_in_page(request, next_url=next_url, username=username, errors=errors,
                             status_code=422)
    actor = Actor(None, Channel.WEB, request_id(request), client_addr(request))
    try:
        _user, secret = sign_in(db, actor, username, password, request.app.state.settings)
    except SignInRefused as exc:
        response = sign_in_page(request, next_url=next_url, username=username,
                                 refused=exc.message,
                                 status_code=429 if exc.retry_after else 401)
        if exc.retry_after:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="lax",
                        secure=secure_cookie(request), path="/")
    response.delete_cookie(SIGNIN_CSRF_COOKIE, path="/sign-in")
    return response


@router.post("/sign-out", dependencies=[Depends(csrf_protect)])
def sign_out_submit(request: Request, actor: PageActor, db: Db) -> Response:
    session = request.state.user_session
    sign_out(db, actor, session)
    settings = request.app.state.settings
    after = settings.base_url.rstrip("/") + "/sign-in?signed_out=1"
    # Signed in through the provider: sign out there too (RP-initiated logout).
    at_provider = (oidc.end_session_url(settings, session.id_token, after)
                   if session.id_token and oidc_enabled(settings) else None)
    response = RedirectResponse(at_provider or "/sign-in?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    # Ask the browser to drop anything it kept of the signed-in pages.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response
