"""Page-side dependencies: the signed-in user (session cookie only) and CSRF protection."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Path, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.auth.context import Actor, Channel
from app.auth.roles import Role
from app.auth.service import resolve_session
from app.deps import client_addr, get_db, request_id
from app.notifications.service import unread_count
from app.reference.service import scope_name

SESSION_COOKIE = "popcase_session"
SIGNIN_CSRF_COOKIE = "popcase_signin_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class SignedIn:
    """What pages show of the signed-in user: a plain copy, safe to use after the request's
    database session has closed (error pages are rendered then)."""

    username: str
    display_name: str
    role: Role
    borough_code: str | None
    active: bool
    csrf_token: str
    scope_name: str = ""  # the home area's or the force's name (empty: every force)
    unread_notifications: int = 0  # the header's count


class SignInRequired(Exception):
    """No live session: pages redirect to the sign-in page."""


class CsrfRejected(Exception):
    pass


def page_actor(request: Request, db: Annotated[Session, Depends(get_db)]) -> Actor:
    """Pages accept the session cookie and nothing else (no Bearer token)."""
    secret = request.cookies.get(SESSION_COOKIE)
    session = resolve_session(db, secret, request.app.state.settings) if secret else None
    if session is None:
        raise SignInRequired()
    request.state.user_session = session
    user = session.user
    request.state.user_id = user.id  # for the request's log line (an id, not a name)
    request.state.signed_in = SignedIn(user.username, user.display_name, user.role,
                                       user.borough_code, user.active, session.csrf_token,
                                       scope_name(db, user), unread_count(db, user))
    return Actor(session.user, Channel.WEB, request_id(request), client_addr(request))


PageActor = Annotated[Actor, Depends(page_actor)]


async def csrf_protect(request: Request, actor: PageActor) -> None:
    """Every state-changing page request carries the session's CSRF token, in the form
    (plain HTML) or in a header (htmx), and comes from this site."""
    if request.method not in UNSAFE_METHODS:
        return
    await check_csrf(request, request.state.signed_in.csrf_token)


async def check_csrf(request: Request, expected: str | None) -> None:
    _check_origin(request)
    sent = request.headers.get(CSRF_HEADER)
    form = None
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not secrets.compare_digest(expected, sent):
        if form is not None:
            await form.close()  # a refused upload's spooled file: the route never sees it
        raise CsrfRejected()


def check_streamed_csrf(request: Request, fields: dict[str, str]) -> None:
    """For a page upload read as a stream (``request.form()`` would spool it all first): the
    token in the header, or in a form field sent before the file."""
    _check_origin(request)
    expected = request.state.signed_in.csrf_token
    sent = request.headers.get(CSRF_HEADER) or fields.get(CSRF_FIELD)
    if not expected or not sent or not secrets.compare_digest(expected, sent):
        raise CsrfRejected()


def _check_origin(request: Request) -> None:
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        raise CsrfRejected()


# --- what page routes take and answer --------------------------------------------------------

Db = Annotated[Session, Depends(get_db)]
Ref = Annotated[str, Path(min_length=3, max_length=20)]
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def form_data(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


def redirect(url: str) -> RedirectResponse:
    """Post/redirect/get: 303, so that the browser fetches the page it is sent to."""
    return RedirectResponse(url, status_code=303)
