"""API rate limits per token, with the ``limits`` library.

``limits`` does the counting rules (its fixed-window strategy and its ``"600/minute"``
notation); where the counts live is a ``limits`` storage. The default is ``DatabaseStorage``
below: popcase runs several worker processes (``popcase serve --workers N``, or machines behind
a load balancer) and keeps no state in a process, so a count in each process's memory would let
a token make N times its limit. One upsert per API request is the price. A deployment that runs
Redis or Memcached can name it instead (``POPCASE_API_RATE_LIMIT_STORAGE=redis://...``: any
``limits`` storage URI; ``memory://`` counts per process).
"""

from __future__ import annotations

import math
import time
from datetime import timedelta

from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import RateCounter
from app.db import reading_session, rowcount, utcnow
from app.settings import Settings


class RateLimited(Exception):
    def __init__(self, limit: RateLimitItem, retry_after: int) -> None:
        super().__init__(f"Too many requests for this API token (limit {limit}). Try again in "
                         f"{retry_after} seconds.")
        self.retry_after = retry_after


class DatabaseStorage(Storage):
    """A ``limits`` storage in popcase's own database (table ``rate_counters``): a fixed
    window's count is one row, incremented by an atomic upsert in a short transaction of its
    own, so every process counts against the same limit. On SQLite that transaction takes the
    write lock for the upsert alone, never for the rest of the request."""

    STORAGE_SCHEME = None  # built from a session factory, not from a URI

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        super().__init__(uri=None)
        self.session_factory = session_factory

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = utcnow()
        table = RateCounter.__table__
        with self.session_factory() as db:
            dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
            insert = dialect.insert(table).values(
                key=key, count=amount, expires_at=now + timedelta(seconds=expiry))
            ended = table.c.expires_at <= now  # the old window is over: a new one starts
            upsert = insert.on_conflict_do_update(index_elements=[table.c.key], set_={
                "count": case((ended, insert.excluded.count),
                              else_=table.c.count + insert.excluded.count),
                "expires_at": case((ended, insert.excluded.expires_at),
                                   else_=table.c.expires_at),
            }).returning(table.c.count)
            count = int(db.execute(upsert).scalar_one())
            db.commit()
        return count

    def _live(self, key: str) -> RateCounter | None:
        with reading_session(self.session_factory) as db:
            row = db.get(RateCounter, key)
            return row if row is not None and row.expires_at > utcnow() else None

    def get(self, key: str) -> int:
        row = self._live(key)
        return row.count if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._live(key)
        return (row.expires_at if row else utcnow()).timestamp()

    def check(self) -> bool:
        with reading_session(self.session_factory) as db:
            return db.scalar(select(func.count()).select_from(RateCounter)) is not None

    def reset(self) -> int | None:
        with self.session_factory() as db:
            removed = rowcount(db.execute(delete(RateCounter)))
            db.commit()
        return removed

    def clear(self, key: str) -> None:
        with self.session_factory() as db:
            db.execute(delete(RateCounter).where(RateCounter.key == key))
            db.commit()


class ApiRateLimiter:
    """The limits of ``POPCASE_API_RATE_LIMIT``, applied to each token on its own."""

    def __init__(self, limits: list[RateLimitItem], storage: Storage) -> None:
        self.limits = limits
        self.limiter = FixedWindowRateLimiter(storage)

    @classmethod
    def from_settings(cls, settings: Settings,
                      session_factory: sessionmaker[Session]) -> ApiRateLimiter:
        limits = parse_many(settings.api_rate_limit) if settings.api_rate_limit.strip() else []
        if settings.api_rate_limit_storage == "database":
            return cls(limits, DatabaseStorage(session_factory))
        storage = storage_from_string(settings.api_rate_limit_storage)
        if not isinstance(storage, Storage):  # an async+ URL: this limiter runs synchronously
            raise ValueError("POPCASE_API_RATE_LIMIT_STORAGE must not be an async storage")
        return cls(limits, storage)

    def hit(self, token_id: int) -> None:
        """Count one request of the token; raise ``RateLimited`` once a limit is spent."""
        for limit in self.limits:
            if not self.limiter.hit(limit, "token", str(token_id)):
                reset = self.limiter.get_window_stats(limit, "token", str(token_id)).reset_time
                raise RateLimited(limit, max(1, math.ceil(reset - time.time())))

