"""Sign-in throttling by username *and* client address, with growing delays and no lock.

OWASP's authentication guidance: a hard lock-out per account lets anyone lock its owner out
(issue 18, finding 6: three wrong passwords from anywhere refused the owner for 15 minutes).
Here failures are counted per (username, address): someone else's wrong guesses slow down
their own address for that username, never the owner at theirs. An address's failures over
every username are counted too (password spraying), with a higher threshold. Each further
failure doubles the wait, up to a ceiling; a day without failures forgets them.

The client address is the one the server believes: behind a reverse proxy it comes from
``X-Forwarded-For`` only when the proxy is trusted (``POPCASE_FORWARDED_ALLOW_IPS``, passed to
uvicorn by ``popcase serve``), so a client cannot forge a new address for every guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.audit.service import AuditAction, record, record_read
from app.auth.context import Actor, acting_user
from app.auth.models import ANY_USERNAME, SigninThrottle
from app.auth.permissions import Perm, require
from app.db import utcnow
from app.settings import Settings


@dataclass
class Counts:
    """The two counts a sign-in from one address for one username meets."""

    pair: SigninThrottle  # this username from this address
    address: SigninThrottle  # every username from this address

    def wait(self, now: datetime) -> int:
        """Seconds to wait before the next try (0: try now)."""
        return max(_seconds_left(self.pair, now), _seconds_left(self.address, now))


def counts(db: Session, username: str, client_addr: str) -> Counts:
    addr = client_addr[:64]
    return Counts(_row(db, username, addr), _row(db, ANY_USERNAME, addr))


def _row(db: Session, username: str, addr: str) -> SigninThrottle:
    return (db.get(SigninThrottle, (username, addr))
            or SigninThrottle(username=username, client_addr=addr, failures=0))


def _seconds_left(row: SigninThrottle, now: datetime) -> int:
    if row.locked_until is None or row.locked_until <= now:
        return 0
    return math.ceil((row.locked_until - now).total_seconds())


def count_failure(db: Session, found: Counts, now: datetime, settings: Settings) -> None:
    found.pair = _stored(db, found.pair)
    found.address = _stored(db, found.address)
    _count(db, found.pair, now, settings, settings.signin_slow_after)
    _count(db, found.address, now, settings, settings.signin_address_slow_after)


def _stored(db: Session, row: SigninThrottle) -> SigninThrottle:
    """The count's row in the database, locked for this transaction. Two first failures at
    once for the same username and address both find no row: each inserts one only if none is
    there, so neither fails on the other's, and both then count on the same row."""
    if inspect(row).persistent:
        return row
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    db.execute(dialect.insert(SigninThrottle).values(
        username=row.username, client_addr=row.client_addr, failures=0
    ).on_conflict_do_nothing(index_elements=["username", "client_addr"]))
    stored = db.get(SigninThrottle, (row.username, row.client_addr), populate_existing=True,
                    with_for_update=True)
    assert stored is not None
    return stored


def _count(db: Session, row: SigninThrottle, now: datetime, settings: Settings,
           slow_after: int) -> None:
    forget = timedelta(hours=settings.signin_forget_hours)
    if row.last_failure_at is not None and now - row.last_failure_at >= forget:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    row.locked_until = None
    if row.failures >= slow_after:
        seconds = min(2 ** (row.failures - slow_after + 1), settings.signin_max_wait_seconds)
        row.locked_until = now + timedelta(seconds=seconds)
    db.add(row)


def forget_pair(db: Session, found: Counts) -> None:
    """A right password from this address clears this username's count there (the
    address's count over every username stays: a sprayer may know one password)."""
    if found.pair in db:
        db.delete(found.pair)


def log_throttled(db: Session, actor: Actor, username: str, found: Counts, wait: int) -> None:
    """Part of ``sign_in``'s transaction (it commits), under the name tried."""
    record(db, actor, AuditAction.SIGNIN_THROTTLED, object_type="user", object_ref=username,
           actor_name=username, details={
               "retry_after": wait, "failures": found.pair.failures,
               "address_failures": found.address.failures})


def wait_message(seconds: int) -> str:
    if seconds > 90:
        return (f"Too many failed sign-ins from here. Try again in "
                f"{(seconds + 59) // 60} minutes.")
    return f"Too many failed sign-ins from here. Try again in {seconds} seconds."


# --- what administrators see -------------------------------------------------------------------

@dataclass(frozen=True)
class Slowed:
    username: str  # "" for an address's count over every username
    client_addr: str
    failures: int
    last_failure_at: datetime | None
    wait_until: datetime | None


@dataclass(frozen=True)
class ThrottlingReport:
    slowed: list[Slowed]  # counts that hold a wait now, the latest failure first
    attempts: list[AuditEntry]  # throttled sign-ins from the access log, newest first


def throttling_report(db: Session, actor: Actor, *, limit: int = 100) -> ThrottlingReport:
    """Who is slowed down now, and the latest throttled attempts (an administrator's view of
    the access log, logged like a search of it)."""
    require(acting_user(actor), Perm.AUDIT_READ)
    now = utcnow()
    rows = db.scalars(select(SigninThrottle).where(SigninThrottle.locked_until > now)
                      .order_by(SigninThrottle.last_failure_at.desc()).limit(limit))
    slowed = [Slowed("" if r.username == ANY_USERNAME else r.username, r.client_addr,
                     r.failures, r.last_failure_at, r.locked_until) for r in rows]
    attempts = list(db.scalars(select(AuditEntry)
                               .where(AuditEntry.action == AuditAction.SIGNIN_THROTTLED.value)
                               .order_by(AuditEntry.seq.desc()).limit(limit)))
    record_read(db, actor, AuditAction.THROTTLING_VIEW, object_type="audit_log",
                details={"slowed": len(slowed), "attempts": len(attempts)})
    return ThrottlingReport(slowed, attempts)
