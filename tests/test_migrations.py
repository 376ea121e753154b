"""Migrations and models agree, on the database this run uses (SQLite or PostgreSQL)."""

from __future__ import annotations

import re

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, Engine, Enum, inspect, text

from app.cli import alembic_config
from app.db import make_engine
from app.models import Base
from app.search.index import include_name


def differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "compare_server_default": conn.dialect.name != "sqlite",
            "include_name": include_name})
        return compare_metadata(context, Base.metadata)


def test_migrations_build_exactly_the_models(empty_database: str) -> None:
    command.upgrade(alembic_config(empty_database), "head")
    engine = make_engine(empty_database)
    try:
        assert differences(engine) == []
        with engine.connect() as conn:
            boroughs = conn.execute(text("SELECT code, name FROM boroughs")).all()
            wards = conn.execute(text("SELECT count(*) FROM wards")).scalar()
        assert len(boroughs) == 33 and wards == 704
        assert ("E09000033", "Westminster") in boroughs
        assert ("E09000001", "City of London") in boroughs
    finally:
        engine.dispose()


def test_migrations_downgrade_and_upgrade_again(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = make_engine(empty_database)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    command.upgrade(config, "head")
    engine = make_engine(empty_database)
    try:
        assert differences(engine) == []
    finally:
        engine.dispose()


def test_every_choice_column_checks_exactly_the_models_values(empty_database: str) -> None:
    """Autogenerate does not compare CHECK constraints: a value added to an enum in the models
    (a new timeline event kind, say) without its migration would be refused only at insert.
    So every enum column's CHECK in the migrated database must name exactly its values."""
    command.upgrade(alembic_config(empty_database), "head")
    engine = make_engine(empty_database)
    try:
        inspector = inspect(engine)
        for table in Base.metadata.sorted_tables:
            reflected = {c["name"]: c["sqltext"]
                         for c in inspector.get_check_constraints(table.name)}
            for column in table.columns:
                if not isinstance(column.type, Enum):
                    continue
                name = next(c.name for c in table.constraints if isinstance(
                    c, CheckConstraint) and column.name in str(c.sqltext)
                    and str(c.name).endswith(column.type.name or ""))
                quoted = set(re.findall(r"'([^']*)'", reflected[name]))
                assert quoted == set(column.type.enums), (table.name, column.name, quoted)
    finally:
        engine.dispose()
