"""Alembic environment: the app's own engine set-up (SQLite pragmas), batch mode for SQLite."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection

from app.db import UTCDateTime, is_sqlite, make_engine
from app.models import Base
from app.search.index import include_name
from app.settings import get_settings

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render the app's UTCDateTime as a plain timezone-aware DateTime in migration files."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        # Server defaults compare falsely on SQLite only.
        compare_server_default=not sqlite,
        render_item=_render_item,
        # The search index is no model (SQLite's is an FTS5 table): autogenerate leaves it be.
        include_name=include_name,
    )


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    context.configure(
        url=url, target_metadata=target_metadata, literal_binds=True,
        render_as_batch=is_sqlite(url),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # Tests pass their own connection; nothing may run on it before begin_transaction(),
    # or Alembic would not own the transaction and SQLite would roll the upgrade back.
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                # A batch migration recreates a table: with foreign keys on, dropping the old
                # copy would cascade-delete its children. Switched off on the raw connection,
                # before any transaction (the pragma is ignored inside one), and checked after.
                conn.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                conn.rollback()
                if broken:
                    raise RuntimeError(f"foreign keys broken after migrating: {broken[:5]}")
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
