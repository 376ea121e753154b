"""Engine, sessions and the declarative base shared by every model."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Connection, CursorResult, Engine, Result
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
# How long a writer waits for SQLite's write lock before "database is locked" (answered 503).
SQLITE_BUSY_TIMEOUT_MS = 15000


def rowcount(result: Result[*tuple[Any, ...]]) -> int:
    """The rows an UPDATE or DELETE matched. ``Session.execute`` is typed to return a
    ``Result``; for such a statement it is a ``CursorResult``, which has the count."""
    return cast(CursorResult[*tuple[Any, ...]], result).rowcount


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


# How SQLite transactions begin (decided per session, see ``reading_session``):
#
# - A session that may write (the default: CLI commands, imports, background jobs, every POST,
#   PUT, PATCH or DELETE) begins with BEGIN IMMEDIATE: it takes the write lock up front, so two
#   writers queue on the busy timeout instead of failing mid-way.
# - A session opened for reading (a GET or HEAD request) begins with BEGIN DEFERRED and takes no
#   lock: in WAL mode any number of readers run beside one writer. A deferred transaction must
#   never upgrade itself to a writer: if another writer committed since its snapshot, SQLite
#   answers "database is locked" at once, without waiting on the busy timeout. So the first
#   statement that writes (the access-log entry of the read, a sign-in session's touch) first ends
#   the read transaction, which has changed nothing, and begins an IMMEDIATE one that waits for
#   the lock like any writer. That write sees the latest data rather than the read's snapshot,
#   which is what a log append wants; the version columns still refuse a stale ORM update.
READING_OPTION = "popcase_reading"  # execution option: this engine's sessions begin deferred
_DEFERRED_TXN = "popcase_deferred_txn"  # connection info: the open transaction has not written
# Statements that write or that a write will follow (a SAVEPOINT must not be cut by the swap).
_WRITING_SQL = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|REPLACE|SAVEPOINT|CREATE|DROP|ALTER)\b", re.IGNORECASE)
_WRITING_CTE = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling is switched off so that we issue BEGIN ourselves:
    # this makes SAVEPOINTs work and lets a transaction that writes take the write lock up
    # front (BEGIN IMMEDIATE), so two writers queue on the busy timeout instead of failing.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
        cursor.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        reading = bool(conn.get_execution_options().get(READING_OPTION))
        conn.exec_driver_sql("BEGIN DEFERRED" if reading else "BEGIN IMMEDIATE")
        conn.info[_DEFERRED_TXN] = reading

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(conn: Connection, _cursor: Any, statement: str, _parameters: Any,
                        _context: Any, _executemany: bool) -> None:
        if conn.info.get(_DEFERRED_TXN) and _writes(statement):
            conn.info[_DEFERRED_TXN] = False
            _take_write_lock(conn)

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(conn: Connection) -> None:
        conn.info[_DEFERRED_TXN] = False


def _writes(statement: str) -> bool:
    if _WRITING_SQL.match(statement):
        return True
    return statement.lstrip()[:4].upper() == "WITH" and bool(_WRITING_CTE.search(statement))


def _take_write_lock(conn: Connection) -> None:
    """End a read transaction (it changed nothing) and begin one holding the write lock,
    waiting on the busy timeout as writers do. SQLAlchemy still sees one open transaction; its
    COMMIT or ROLLBACK ends the new one."""
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    try:
        dbapi_connection.execute("COMMIT")
        dbapi_connection.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        # As any failed statement: an OperationalError that ``is_busy`` recognises.
        raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc


_reading_engines: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


def reading_session(factory: sessionmaker[Session]) -> Session:
    """A session for a request that reads (GET, HEAD): on SQLite its transactions begin
    deferred and take the write lock only at their first write. Elsewhere, or when the factory
    is bound to a connection (tests' rolled-back transaction), an ordinary session."""
    bind = factory.kw.get("bind")
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return factory()
    reading = _reading_engines.get(bind)
    if reading is None:
        # Same pool and event listeners as ``bind``; only the execution option differs.
        reading = _reading_engines.setdefault(
            bind, bind.execution_options(**{READING_OPTION: True}))
    return factory(bind=reading)


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


def session_scope(factory: sessionmaker[Session], *, reading: bool = False
                  ) -> Iterator[Session]:
    """One session per request or command; anything not committed is rolled back. ``reading``:
    the request only reads, apart from its access-log entry (see ``reading_session``)."""
    session = reading_session(factory) if reading else factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()
