from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.roles import Role
from app.db import Base, utcnow
from app.enums import str_enum


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    # The user's home local policing area (API v1: "borough"), for officers and supervisors;
    # None: every area of their force.
    borough_code: Mapped[str | None] = mapped_column(ForeignKey("boroughs.code"))
    # The force whose areas the user works in (the home area's force, when there is one);
    # None: every force (an account that says so).
    force_id: Mapped[str | None] = mapped_column(ForeignKey("forces.id"))
    active: Mapped[bool] = mapped_column(default=True)
    # Where e-mail notifications go, if the person opts in; nothing is sent anywhere else.
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # The account at the force's identity provider (OpenID Connect): issuer and subject, which
    # together name one person for good (a name or an e-mail address may be reused).
    oidc_issuer: Mapped[str | None] = mapped_column(String(255))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_users_oidc_identity", "oidc_issuer", "oidc_subject",
                            unique=True),)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class UserSession(Base):
    """A signed-in browser. The cookie holds a random secret; only its SHA-256 is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    client_addr: Mapped[str] = mapped_column(String(64), default="")
    # Sessions opened through the identity provider keep its ID token, the hint its
    # end-session endpoint asks for when the person signs out.
    id_token: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token for the JSON API, acting as its user. Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, to recognise a token
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")


# The ``username`` of a row that counts an address's failures over every username.
ANY_USERNAME = "*"


class SigninThrottle(Base):
    """Failed sign-ins per username *and* client address, kept in the database so every server
    process agrees. Someone else's wrong guesses slow down their own address, never the
    account's owner elsewhere (OWASP's authentication guidance); a row for ``ANY_USERNAME``
    counts an address's failures over every username (password spraying)."""

    __tablename__ = "signin_throttle"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_addr: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None]
    # No try from this address for this username before then (the growing delay).
    locked_until: Mapped[datetime | None]


class RateCounter(Base):
    """A fixed window's count of API requests for one token (``app.auth.ratelimit``): in the
    database, so that every server process counts against the same limit."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime] = mapped_column(index=True)
class SignInGroup(Base):
    """An identity-provider group (or role claim value) and the access it gives: the role, and
    the home area or force of the account. Set by an administrator."""

    __tablename__ = "signin_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    group: Mapped[str] = mapped_column(String(255), unique=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    borough_code: Mapped[str | None] = mapped_column(ForeignKey("boroughs.code"))
    force_id: Mapped[str | None] = mapped_column(ForeignKey("forces.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OidcLogin(Base):
    """A sign-in sent to the identity provider and not yet back: the state's SHA-256, the
    nonce and PKCE verifier it must come back with. In the database so that any server process
    can finish it, and used once: a replayed state finds ``used_at`` set."""

    __tablename__ = "oidc_logins"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_url: Mapped[str] = mapped_column(String(2000), default="/")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    used_at: Mapped[datetime | None]
