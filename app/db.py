"""Engine, sessions and the declarative base shared by every model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Stable constraint names keep autogenerate and batch migrations clean on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC datetime is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


def utcnow() -> datetime:
    return datetime.now(UTC)


PG_CONNECT_TIMEOUT_S = 5
# Page cache per connection (SQLite's own default is 2 MB). Each server thread may hold a
# connection, so this is multiplied by up to 15 per process: 64 MB made a worker grow to 650 MB
# under load, with no faster imports or queries than 8 MB (the OS caches the file anyway).
SQLITE_CACHE_KB = 8192
# Reads straight from the OS's cache of the file instead of copying pages through read():
# a search joins thousands of matches to their cases, two to three times faster mapped.
SQLITE_MMAP_BYTES = 256 * 1024 * 1024


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if is_sqlite(url):
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 15}
        )
        _configure_sqlite(engine)
        return engine
    # pool_pre_ping replaces connections the server dropped (a restart, a failover) before a
    # request uses them; connect_timeout keeps a worker from hanging on an unreachable host.
    return create_engine(url, echo=echo, pool_pre_ping=True,
                         connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S})


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling is switched off so that we issue BEGIN ourselves:
    # this makes SAVEPOINTs work and lets every transaction take the write lock up front
    # (BEGIN IMMEDIATE), so two writers queue on the busy timeout instead of failing mid-way.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 15000")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
        cursor.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def is_conflict(exc: OperationalError) -> bool:
    """Two transactions that touched the same rows at once, one rolled back by PostgreSQL
    (serialisation failure or deadlock, SQLSTATE class 40): trying again will do."""
    return (getattr(exc.orig, "sqlstate", None) or "").startswith("40")


def is_busy(exc: OperationalError) -> bool:
    """A lock waited for too long: SQLite's "database is locked" once the busy timeout is
    over, PostgreSQL's lock timeout (55P03). The database is overloaded, not gone."""
    return (getattr(exc.orig, "sqlstate", None) == "55P03"
            or "locked" in str(exc.orig).lower())


def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session per request or command; anything not committed is rolled back."""
    session = factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()
