"""Dependencies shared by the API and the pages: the database session and request facts."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from app.db import session_scope
from app.settings import Settings

# Requests that only read (apart from their access-log entry and a sign-in session's touch):
# on SQLite their sessions take no write lock until they write (app.db.reading_session).
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db(request: Request) -> Iterator[Session]:
    yield from session_scope(request.app.state.session_factory,
                             reading=request.method in READING_METHODS)


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def request_id(request: Request) -> str:
    return getattr(request.state, "request_id", "")


def client_addr(request: Request) -> str:
    return request.client.host if request.client else ""
