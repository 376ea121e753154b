"""Use cases of access: users, sign-in and sign-out, sessions and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.audit.service import AuditAction, record
from app.auth import throttle
from app.auth.context import Actor, acting_user
from app.auth.models import ApiToken, User, UserSession
from app.auth.passwords import hash_password, password_problem, verify_password
from app.auth.permissions import CASE_OWNER_ROLES, Perm, require
from app.auth.roles import Role
from app.db import utcnow
from app.errors import FieldError, NotFound, StaleVersion, ValidationFailed
from app.reference.models import Borough, Force
from app.settings import Settings
from app.usecase import use_case

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$")
TOKEN_PREFIX = "pck_"
# A session or token's last-use time is written at most this often (not on every request).
TOUCH_INTERVAL = timedelta(minutes=1)


def digest(secret: str) -> str:
    """Session cookies and API tokens are long random secrets: SHA-256 is enough to store them."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def normalise_username(username: str) -> str:
    return username.strip().lower()


# --- users -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewUser:
    """``borough_code``: a home local policing area (its force is the user's force);
    ``force_id``: without a home area, the force whose areas the user works in; neither: every
    force."""

    username: str
    role: Role
    display_name: str = ""
    borough_code: str | None = None
    password: str | None = None
    force_id: str | None = None


def create_user(db: Session, actor: Actor, new: NewUser,
                earlier: Iterable[FieldError] = ()) -> User:
    """``earlier``: what the caller's form already found wrong, reported with these checks'."""
    if actor.user is not None:  # the CLI acts as the machine's operator, with no user
        require(actor.user, Perm.USER_MANAGE)
    username = normalise_username(new.username)
    errors = [*earlier, *_user_errors(db, username, new)]
    scope = account_scope(db, new.borough_code, new.force_id, errors)
    administrators_everywhere(new.role, scope, errors)
    if errors:
        raise ValidationFailed(errors)
    with use_case(db, actor, AuditAction.USER_CREATE, object_type="user",
                  object_ref=username) as done:
        user = User(
            username=username,
            display_name=new.display_name.strip() or username,
            role=new.role,
            borough_code=scope[0],
            force_id=scope[1],
            password_hash=hash_password(new.password) if new.password else None,
        )
        db.add(user)
        done.flush()
        done.details = {"role": str(new.role), "borough": user.borough_code,
                        "force": user.force_id}
    return user


def _user_errors(db: Session, username: str, new: NewUser) -> list[FieldError]:
    errors = []
    if not USERNAME_PATTERN.match(username):
        errors.append(FieldError(
            "username", "Enter a username of 3 to 64 lower-case letters, digits, dots, hyphens "
                        "or underscores, "
                        "starting and ending with a letter or digit."))
    elif db.scalar(select(User.id).where(User.username == username)) is not None:
        errors.append(FieldError("username", f"The username {username} is already taken."))
    if new.password is not None and (problem := password_problem(new.password)):
        errors.append(FieldError("password", problem))
    return errors


def account_scope(db: Session, borough_code: str | None, force_id: str | None,
           errors: list[FieldError]) -> tuple[str | None, str | None]:
    """(home area, force) of an account: a home area's force is the user's force."""
    force = db.get(Force, force_id.strip().lower()) if force_id else None
    if force_id and force is None:
        errors.append(FieldError("force", f"There is no police force {force_id}: use its "
                                          "police.uk id, such as north-wales."))
    if not borough_code:
        return None, force.id if force else None
    borough = db.get(Borough, borough_code)
    if borough is None:
        errors.append(FieldError("borough", f"Unknown local policing area {borough_code}: use "
                                            "an ONS code such as E09000033 (Westminster) or "
                                            "W06000002 (Gwynedd)."))
        return None, None
    if force is not None and force.id != borough.force_id:
        errors.append(FieldError("borough", f"{borough.name} is an area of "
                                            f"{borough.force.label}, not of {force.label}."))
    return borough.code, borough.force_id


def administrators_everywhere(role: Role, scope: tuple[str | None, str | None],
                               errors: list[FieldError]) -> None:
    """An administrator manages the whole deployment (its users, forces and access log), so
    an account that named a force would promise a limit nothing enforces."""
    if role is Role.ADMIN and any(scope):
        errors.append(FieldError("force", "An administrator works for every force: leave the "
                                          "force and the home area empty."))


@dataclass(frozen=True)
class UserChanges:
    """``all_boroughs``: no home area (every area of the force); ``every_force``: no force."""

    version: int
    display_name: str | None = None
    role: Role | None = None
    borough_code: str | None = None
    all_boroughs: bool = False
    active: bool | None = None
    password: str | None = None
    force_id: str | None = None
    every_force: bool = False
    email: str | None = None  # None: unchanged; "": removed


def update_user(db: Session, actor: Actor, username: str, changes: UserChanges) -> User:
    """Change a user's role, scope, status or password. Deactivating ends their sessions'
    use at once (every request checks ``active``) and stops their tokens."""
    require(acting_user(actor), Perm.USER_MANAGE)
    user = get_user(db, username)
    if user.version != changes.version:
        raise StaleVersion(f"{user.username} was changed by someone else since you opened it.",
                           current_version=user.version)
    errors: list[FieldError] = []
    borough = None if changes.all_boroughs else (changes.borough_code or user.borough_code)
    if changes.every_force:
        force = None
    elif changes.force_id:
        force = changes.force_id
    else:  # a home area brings its own force; without one the user keeps theirs
        force = user.force_id if borough is None else None
    borough, force = account_scope(db, borough, force, errors)
    administrators_everywhere(changes.role or user.role, (borough, force), errors)
    if changes.password is not None and (problem := password_problem(changes.password)):
        errors.append(FieldError("password", problem))
    if actor.user is not None and user.id == actor.user.id and (
            changes.active is False or (changes.role and changes.role is not Role.ADMIN)):
        errors.append(FieldError("role", "You cannot remove your own administrator access."))
    email = _email_change(changes.email, errors)
    if errors:
        raise ValidationFailed(errors)
    with use_case(db, actor, AuditAction.USER_UPDATE, object_type="user",
                  object_ref=user.username) as done:
        changed = []
        if changes.email is not None and email != user.email:
            user.email = email
            changed.append("email")
        if changes.display_name and changes.display_name.strip() != user.display_name:
            user.display_name = changes.display_name.strip()
            changed.append("display_name")
        if changes.role and changes.role is not user.role:
            user.role = changes.role
            changed.append("role")
        if borough != user.borough_code:
            user.borough_code = borough
            changed.append("borough")
        if force != user.force_id:
            user.force_id = force
            changed.append("force")
        if changes.active is not None and changes.active != user.active:
            user.active = changes.active
            changed.append("active")
        if changes.password:
            user.password_hash = hash_password(changes.password)
            changed.append("password")
        if not changed:
            done.unchanged()
            return user
        done.flush()
        done.details = {"fields": changed, "role": str(user.role),
                        "borough": user.borough_code, "force": user.force_id,
                        "active": user.active}
    return user


def _email_change(value: str | None, errors: list[FieldError]) -> str | None:
    from app.notifications.schemas import check_address

    try:
        return check_address(value)
    except ValueError as exc:
        errors.append(FieldError("email", str(exc)))
        return None


def get_user(db: Session, username: str) -> User:
    user = db.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise NotFound(f"There is no user {username}.")
    return user


def eligible_owners(db: Session, borough_code: str | None,
                    force_id: str | None = None) -> list[tuple[str, str]]:
    """(username, display name) of the active officers and supervisors who could own a case in
    the local policing area (None: any of the force's, or of every force), for choice lists: an
    area may have hundreds, so only the two columns are read."""
    query = select(User.username, User.display_name).where(
        User.active.is_(True), User.role.in_(CASE_OWNER_ROLES))
    borough = db.get(Borough, borough_code) if borough_code else None
    force_id = borough.force_id if borough else force_id
    if borough_code:
        query = query.where(or_(User.borough_code == borough_code, User.borough_code.is_(None)))
    if force_id:
        query = query.where(or_(User.force_id == force_id, User.force_id.is_(None)))
    return [(row.username, row.display_name) for row in db.execute(
        query.order_by(User.display_name, User.username))]


def list_users(db: Session, actor: Actor) -> list[User]:
    require(acting_user(actor), Perm.USER_MANAGE)
    return list(db.scalars(select(User).order_by(User.username)))


# --- sign-in -----------------------------------------------------------------------------------

class SignInRefused(Exception):
    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


GENERIC_FAILURE = "The username or password is not right."
PASSWORDS_OFF = ("Sign-in with a password is switched off here: sign in with your force's "
                 "account instead.")


def sign_in(db: Session, actor: Actor, username: str, password: str,
            settings: Settings) -> tuple[User, str]:
    """Check the credentials; on success open a session and return its cookie secret.

    Failures are counted per username and client address in the database
    (``app.auth.throttle``), so that every server process applies the same growing delays and
    nobody's wrong guesses delay the account's owner elsewhere.
    """
    # Left as written (not ``use_case``): refusals are logged under the name tried
    # (``actor_name``), and the success's entry is the signed-in user's (``open_session``).
    name = normalise_username(username)[:64]
    if not settings.password_signin:
        record(db, actor, AuditAction.SIGNIN_REFUSED, object_type="user", object_ref=name,
               actor_name=name, details={"reason": "passwords switched off"})
        db.commit()
        raise SignInRefused(PASSWORDS_OFF)
    now = utcnow()
    found = throttle.counts(db, name, actor.client_addr)
    wait = found.wait(now)
    if wait:
        throttle.log_throttled(db, actor, name, found, wait)
        db.commit()
        raise SignInRefused(throttle.wait_message(wait), retry_after=wait)
    user = db.scalar(select(User).where(User.username == name))
    if not verify_password(password, user.password_hash if user else None) or user is None:
        throttle.count_failure(db, found, now, settings)
        record(db, actor, AuditAction.SIGNIN_FAILED, object_type="user", object_ref=name,
               actor_name=name, details={"failures": found.pair.failures})
        db.commit()
        raise SignInRefused(GENERIC_FAILURE)
    if not user.active:
        record(db, actor, AuditAction.SIGNIN_REFUSED, object_type="user", object_ref=name,
               actor_name=name, details={"reason": "deactivated"})
        db.commit()
        raise SignInRefused(GENERIC_FAILURE)
    throttle.forget_pair(db, found)
    secret = open_session(db, actor, user, settings)
    db.commit()
    return user, secret


def open_session(db: Session, actor: Actor, user: User, settings: Settings,
                 id_token: str | None = None) -> str:
    """A new session for ``user`` (password or identity provider alike), logged; returns the
    cookie secret. The caller commits."""
    now = utcnow()
    secret = secrets.token_urlsafe(32)
    db.add(UserSession(
        token_hash=digest(secret), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
        created_at=now, last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        client_addr=actor.client_addr, id_token=id_token,
    ))
    record(db, Actor(user, actor.channel, actor.request_id, actor.client_addr),
           AuditAction.SIGNIN, object_type="user", object_ref=user.username,
           details={"method": "identity provider" if id_token else "password"})
    return secret


def resolve_session(db: Session, secret: str, settings: Settings) -> UserSession | None:
    """The live session for a cookie secret, or None (unknown, ended, idle or too old)."""
    session = db.scalar(select(UserSession).where(UserSession.token_hash == digest(secret)))
    now = utcnow()
    if session is None or session.ended_at is not None or not session.user.active:
        return None
    idle_limit = session.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    if now >= session.expires_at or now >= idle_limit:
        return None
    if now - session.last_seen_at >= TOUCH_INTERVAL:
        session.last_seen_at = now
        db.commit()
    return session


def sign_out(db: Session, actor: Actor, session: UserSession) -> None:
    with use_case(db, actor, AuditAction.SIGNOUT, object_type="user",
                  object_ref=session.user.username):
        session.ended_at = utcnow()


# --- API tokens --------------------------------------------------------------------------------

def create_token(db: Session, actor: Actor, user: User, name: str) -> tuple[ApiToken, str]:
    if actor.user is not None:
        require(actor.user, Perm.TOKEN_MANAGE)
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed.one("name", "Give the token a name of 1 to 100 characters.")
    if not user.active:
        raise ValidationFailed.one("user", f"{user.username} is deactivated.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with use_case(db, actor, AuditAction.TOKEN_CREATE, object_type="token",
                  details={"user": user.username, "name": name}) as done:
        token = ApiToken(
            user_id=user.id, name=name, token_hash=digest(secret), prefix=secret[:10],
            created_by_id=actor.user.id if actor.user else None,
        )
        db.add(token)
        done.flush()
        done.object_ref = str(token.id)
    return token, secret


def list_tokens(db: Session, actor: Actor) -> list[ApiToken]:
    require(acting_user(actor), Perm.TOKEN_MANAGE)
    return list(db.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())))


def revoke_token(db: Session, actor: Actor, token_id: int) -> ApiToken:
    require(acting_user(actor), Perm.TOKEN_MANAGE)
    token = db.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"There is no token {token_id}.")
    if token.revoked_at is not None:
        return token  # revoked already: nothing to change, nothing to log
    with use_case(db, actor, AuditAction.TOKEN_REVOKE, object_type="token",
                  object_ref=str(token.id),
                  details={"user": token.user.username, "name": token.name}):
        token.revoked_at = utcnow()
    return token


def resolve_token(db: Session, secret: str) -> ApiToken | None:
    token = db.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
        token.last_used_at = now
        db.commit()
    return token
