from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.auth.context import Actor, Channel
from app.auth.ratelimit import RateLimited
from app.auth.service import resolve_token
from app.deps import client_addr, get_db, request_id

bearer = HTTPBearer(auto_error=False, description="An API token from `popcase token create` "
                    "or the Tokens page: `Authorization: Bearer pck_...`")


def api_actor(
    request: Request,
    db: Annotated[Session, Depends(get_db)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    """The API accepts a Bearer token and nothing else (no session cookie); each token's
    requests count against ``POPCASE_API_RATE_LIMIT``."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "Send an API token: Authorization: Bearer <token>.",
                            headers={"WWW-Authenticate": "Bearer"})
    token = resolve_token(db, credentials.credentials)
    if token is None:
        raise HTTPException(401, "The API token is unknown, revoked, or its user is deactivated.",
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    request.state.user_id = token.user.id  # for the request's log line (an id, not a name)
    # The count is written in a short transaction of its own: end this request's read first,
    # so that the count's commit never sits inside it (nothing is written here).
    db.commit()
    try:
        request.app.state.rate_limiter.hit(token.id)
    except RateLimited as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from exc
    return Actor(token.user, Channel.API, request_id(request), client_addr(request))


ApiActor = Annotated[Actor, Depends(api_actor)]
Db = Annotated[Session, Depends(get_db)]
