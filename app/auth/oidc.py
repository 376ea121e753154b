"""Sign-in with the force's identity provider: OpenID Connect, authorization code with PKCE.

Built on Authlib's framework-free OAuth 2 client for httpx (``OAuth2Client``: PKCE S256,
the code exchange, client authentication) and its OpenID Connect claim rules (``CodeIDToken``:
issuer, audience, expiry, nonce, at_hash), with the ID token's signature checked by joserfc
against the provider's published keys. Authlib's Starlette integration keeps the state in a
signed cookie session and is async; here the pending sign-in lives in the database instead, so
that any server process can finish it and a state is accepted once only.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx2
from authlib.common.urls import add_params_to_uri
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2 import OAuth2Error
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.audit.service import AuditAction, record
from app.auth.context import Actor
from app.auth.models import OidcLogin, SignInGroup, User
from app.auth.service import USERNAME_PATTERN, digest, open_session
from app.auth.signin_groups import access_for
from app.db import rowcount, utcnow
from app.settings import Settings

CALLBACK_PATH = "/sign-in/oidc/callback"
# A sign-in must come back from the provider within this time.
LOGIN_TTL = timedelta(minutes=10)
# Provider metadata and keys are read again after this many seconds (keys rotate).
METADATA_TTL = 3600.0
HTTP_TIMEOUT = 10.0
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

_metadata_cache: dict[str, tuple[float, dict[str, Any]]] = {}


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered nonsense (configuration, network)."""


class OidcRefused(Exception):
    """A sign-in through the provider that must not succeed; ``message`` is for the person."""

    def __init__(self, message: str, reason: str, who: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.who = who  # the person's name at the provider, when known


@dataclass(frozen=True)
class OidcSignIn:
    user: User
    secret: str  # the session cookie
    next_url: str


# --- the provider -------------------------------------------------------------------------------

def _check_url(url: str) -> None:
    """HTTPS only, except on this machine's loopback (a provider under test)."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http"
                                        and parts.hostname in LOOPBACK_HOSTS):
        raise ProviderUnavailable(f"The identity provider's address {url} is not HTTPS.")


def provider_metadata(settings: Settings, *, fresh: bool = False) -> dict[str, Any]:
    """The issuer's discovery document (with its keys), cached for ``METADATA_TTL``."""
    issuer = settings.oidc_issuer.rstrip("/")
    cached = _metadata_cache.get(issuer)
    if cached and not fresh and time.monotonic() - cached[0] < METADATA_TTL:
        return cached[1]
    _check_url(issuer)
    try:
        with _client(settings) as http:
            metadata = _get_json(http, f"{issuer}/.well-known/openid-configuration")
            if str(metadata.get("issuer", "")).rstrip("/") != issuer:
                raise ProviderUnavailable("The provider's discovery document names another "
                                          "issuer.")
            for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                _check_url(str(metadata.get(key, "")))
            metadata = {**metadata, "jwks": _get_json(http, metadata["jwks_uri"])}
    except KeyError as exc:
        raise ProviderUnavailable(f"The provider's discovery document lacks {exc}.") from exc
    _metadata_cache[issuer] = (time.monotonic(), metadata)
    return metadata


def _get_json(http: OAuth2Client, url: str) -> dict[str, Any]:
    try:
        response = http.request("GET", url, withhold_token=True)
        response.raise_for_status()
        body = response.json()
    except (httpx2.HTTPError, ValueError) as exc:  # transport, status or JSON
        raise ProviderUnavailable(f"The identity provider did not answer at {url}: "
                                  f"{exc}") from exc
    if not isinstance(body, dict):
        raise ProviderUnavailable(f"The identity provider sent no JSON object at {url}.")
    return body


def _client(settings: Settings) -> OAuth2Client:
    return OAuth2Client(
        client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret,
        scope=settings.oidc_scopes, redirect_uri=redirect_uri(settings),
        code_challenge_method="S256", timeout=HTTP_TIMEOUT)


def redirect_uri(settings: Settings) -> str:
    return settings.base_url.rstrip("/") + CALLBACK_PATH


# --- sending the person to the provider ---------------------------------------------------------

def start_sign_in(db: Session, settings: Settings, next_url: str) -> tuple[str, str]:
    """Remember a new sign-in and return (the provider's authorization URL, the state)."""
    metadata = provider_metadata(settings)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters: RFC 7636 asks for 43 to 128
    now = utcnow()
    db.execute(delete(OidcLogin).where(OidcLogin.created_at < now - timedelta(days=1)))
    db.add(OidcLogin(state_hash=digest(state), nonce=nonce, code_verifier=verifier,
                     next_url=next_url, created_at=now))
    db.commit()
    with _client(settings) as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce)
    return url, state


# --- coming back --------------------------------------------------------------------------------

def finish_sign_in(db: Session, actor: Actor, settings: Settings, *, state: str, code: str,
                   error: str, browser_state: str | None) -> OidcSignIn:
    """Check what the provider sent back and open a session, or refuse (and log why)."""
    try:
        login = _take_login(db, state, browser_state)
        if error:
            raise OidcRefused("The identity provider did not sign you in "
                              f"({error[:100]}).", "provider error")
        if not code:
            raise OidcRefused("The identity provider sent no sign-in code.", "no code")
        token = _exchange(settings, code, login.code_verifier)
        claims = _verified_claims(settings, token, login.nonce)
        return _sign_in(db, actor, settings, claims, str(token["id_token"]), login.next_url)
    except OidcRefused as refused:  # logged under the provider's name: not ``use_case``
        db.rollback()
        record(db, actor, AuditAction.SIGNIN_REFUSED, object_type="user",
               object_ref=refused.who[:64], actor_name="(identity provider)",
               details={"reason": refused.reason, "method": "identity provider",
                        "message": refused.message})
        db.commit()
        raise


def _take_login(db: Session, state: str, browser_state: str | None) -> OidcLogin:
    """The pending sign-in of ``state``, marked used in its own commit: a replay, even a
    concurrent one, finds it used."""
    if not state or not browser_state or not secrets.compare_digest(state, browser_state):
        raise OidcRefused("This sign-in did not start in this browser. Start again.",
                          "state not from this browser")
    login = db.get(OidcLogin, digest(state))
    if login is None:
        raise OidcRefused("This sign-in is not known. Start again.", "unknown state")
    if login.used_at is not None:
        raise OidcRefused("This sign-in link was already used. Start again.", "replayed state")
    now = utcnow()
    taken = rowcount(db.execute(update(OidcLogin).where(OidcLogin.state_hash == login.state_hash,
                                               OidcLogin.used_at.is_(None))
                       .values(used_at=now)))
    db.commit()
    if taken != 1:
        raise OidcRefused("This sign-in link was already used. Start again.", "replayed state")
    if now - login.created_at > LOGIN_TTL:
        raise OidcRefused("This sign-in took too long. Start again.", "state expired")
    return login


def _exchange(settings: Settings, code: str, verifier: str) -> dict[str, Any]:
    metadata = provider_metadata(settings)
    try:
        with _client(settings) as client:
            token = client.fetch_token(metadata["token_endpoint"], code=code,
                                       code_verifier=verifier,
                                       grant_type="authorization_code")
    except OAuth2Error as exc:
        raise OidcRefused("The identity provider refused the sign-in code.",
                          f"token refused: {exc.error}") from exc
    except httpx2.HTTPError as exc:
        raise OidcRefused("The identity provider could not be reached. Try again.",
                          "provider unreachable") from exc
    if not token.get("id_token"):
        raise OidcRefused("The identity provider sent no ID token.", "no id token")
    return dict(token)


def _verified_claims(settings: Settings, token: dict[str, Any], nonce: str) -> dict[str, Any]:
    """The ID token's claims once its signature, issuer, audience, times and nonce hold."""
    metadata = provider_metadata(settings)
    algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    registry = JWSRegistry(algorithms=[a for a in algorithms if a != "none"])
    try:
        try:
            decoded = jwt.decode(token["id_token"], KeySet.import_key_set(metadata["jwks"]),
                                 registry=registry)
        except JoseError:  # perhaps the provider rotated its keys: read them again once
            metadata = provider_metadata(settings, fresh=True)
            decoded = jwt.decode(token["id_token"], KeySet.import_key_set(metadata["jwks"]),
                                 registry=registry)
        claims = CodeIDToken(
            decoded.claims, decoded.header,
            # Audience checked outright: CodeIDToken alone checks it only through ``azp``.
            {"iss": {"essential": True, "values": [metadata["issuer"]]},
             "aud": {"essential": True, "values": [settings.oidc_client_id]}},
            {"nonce": nonce, "client_id": settings.oidc_client_id,
             "access_token": token.get("access_token")})
        claims.validate(leeway=settings.oidc_leeway_seconds)
    except JoseError as exc:
        reason = f"id token: {exc.error}" + (f" {exc.description}" if exc.description else "")
        raise OidcRefused("The identity provider's answer could not be trusted, so you were "
                          "not signed in.", reason[:200]) from exc
    return dict(claims)


# --- the account --------------------------------------------------------------------------------

def _sign_in(db: Session, actor: Actor, settings: Settings, claims: dict[str, Any],
             id_token: str, next_url: str) -> OidcSignIn:
    # Not ``use_case``: one transaction holds two entries (the account's, under the
    # provider's name, and the session's, under the user's).
    issuer, subject = str(claims["iss"]), str(claims["sub"])
    access = access_for(db, _groups(claims, settings.oidc_groups_claim))
    if access is None:
        raise OidcRefused(NO_ROLE, f"no role for {_label(claims)}", _label(claims))
    user, linked_by = _account(db, settings, claims)
    if user is None:
        user = _new_account(db, actor, claims, issuer, subject, access)
    elif not user.active:
        raise OidcRefused("Your popcase account is deactivated. Ask your administrator.",
                          "deactivated", user.username)
    else:
        _apply(db, actor, user, access, issuer, subject, linked_by)
    secret = open_session(db, actor, user, settings, id_token=id_token)
    db.commit()
    return OidcSignIn(user, secret, next_url)


NO_ROLE = ("Your account at the identity provider is in no group that gives access to popcase. "
           "Ask your administrator to add you to one.")


def _groups(claims: dict[str, Any], name: str) -> list[str]:
    value = claims.get(name)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def _label(claims: dict[str, Any]) -> str:
    return str(claims.get("preferred_username") or claims.get("email") or claims["sub"])[:120]


def _account(db: Session, settings: Settings,
             claims: dict[str, Any]) -> tuple[User | None, str]:
    """The account of the provider's subject; on a first sign-in, the account matched by the
    configured rule (``Settings.oidc_match_by``) if it is linked to no other subject."""
    user = db.scalar(select(User).where(User.oidc_issuer == str(claims["iss"]),
                                        User.oidc_subject == str(claims["sub"])))
    if user is not None:
        return user, ""
    unlinked = select(User).where(User.oidc_subject.is_(None))
    if settings.oidc_match_by == "email":
        email = claims.get("email")
        if isinstance(email, str) and email and claims.get("email_verified") is True:
            match = db.scalar(unlinked.where(func.lower(User.email) == email.lower()))
            return match, "verified e-mail" if match else ""
    elif settings.oidc_match_by == "username":
        name = claims.get("preferred_username")
        if isinstance(name, str) and name:  # a UPN's part before the @
            local = name.strip().lower().split("@")[0]
            match = db.scalar(unlinked.where(User.username == local))
            return match, "username" if match else ""
    return None, ""


def _new_account(db: Session, actor: Actor, claims: dict[str, Any], issuer: str, subject: str,
                 access: SignInGroup) -> User:
    username = _free_username(db, _username_from(claims))
    email = claims.get("email") if claims.get("email_verified") is True else None
    user = User(username=username, display_name=str(claims.get("name") or username)[:120],
                role=access.role, borough_code=access.borough_code, force_id=access.force_id,
                email=str(email)[:254] if email else None, password_hash=None,
                oidc_issuer=issuer, oidc_subject=subject)
    db.add(user)
    db.flush()
    record(db, actor, AuditAction.USER_CREATE, object_type="user", object_ref=username,
           actor_name="(identity provider)",
           details={"role": str(user.role), "borough": user.borough_code, "force": user.force_id,
                    "method": "identity provider", "group": access.group})
    return user


def _apply(db: Session, actor: Actor, user: User, access: SignInGroup, issuer: str,
           subject: str, linked_by: str) -> None:
    """The provider's groups decide the role and scope at every sign-in."""
    changed = []
    if user.oidc_subject is None:
        user.oidc_issuer, user.oidc_subject = issuer, subject
        changed.append("identity provider account")
    scope = (access.role, access.borough_code, access.force_id)
    if (user.role, user.borough_code, user.force_id) != scope:
        user.role, user.borough_code, user.force_id = scope
        changed.append("role and scope")
    if changed:
        db.flush()
        record(db, actor, AuditAction.USER_UPDATE, object_type="user", object_ref=user.username,
               actor_name="(identity provider)",
               details={"fields": changed, "role": str(user.role), "borough": user.borough_code,
                        "force": user.force_id, "group": access.group,
                        "linked_by": linked_by or None})


def _username_from(claims: dict[str, Any]) -> str:
    raw = str(claims.get("preferred_username") or claims.get("email") or "").split("@")[0]
    name = re.sub(r"[^a-z0-9._-]+", "-", raw.lower()).strip("._-")[:56]
    return name if len(name) >= 3 else f"user-{digest(str(claims['sub']))[:8]}"


def _free_username(db: Session, base: str) -> str:
    taken = set(db.scalars(select(User.username).where(User.username.like(f"{base}%"))))
    candidate, n = base, 1
    while candidate in taken or not USERNAME_PATTERN.match(candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


# --- signing out --------------------------------------------------------------------------------

def end_session_url(settings: Settings, id_token: str, after: str) -> str | None:
    """The provider's end-session URL (RP-initiated logout), or None when it has none."""
    try:
        endpoint = provider_metadata(settings).get("end_session_endpoint")
    except ProviderUnavailable:
        return None
    if not endpoint:
        return None
    return add_params_to_uri(str(endpoint), {
        "id_token_hint": id_token, "client_id": settings.oidc_client_id,
        "post_logout_redirect_uri": after})
