"""police forces and their local policing areas; crime data belongs to a force

Every force of England and Wales is known by its police.uk id. The London boroughs become the
local policing areas of the Metropolitan Police and (the City) of the City of London Police, so
that other forces' local authorities can sit beside them; users, operations, boundaries and
import batches name their force. An existing database keeps every record: each import batch's
force is read from its file name (police.uk names files YYYY-MM-force-kind.csv) or else from the
force named in its rows, and the months it holds from its rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 12:30:00
"""

import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FORCES = Path(__file__).resolve().parent.parent / "data" / "police_forces.json"
CITY_OF_LONDON = "E09000001"
# The force in a police.uk file name, as the importer of this revision reads it.
FILE_NAME = re.compile(r"\d{4}-\d{2}-(?P<force>[a-z0-9-]+?)-"
                       r"(?:street|outcomes|stop-and-search)(?: \(\d+\))?\.csv$", re.IGNORECASE)
ROW_TABLES = {"street": "street_crimes", "outcomes": "crime_outcomes",
              "stop-and-search": "stop_searches"}
FALLBACK_FORCE = "metropolitan"  # an operation with no case and no creator's force


def upgrade() -> None:
    forces = op.create_table(
        'forces',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('area_name', sa.String(length=100), nullable=False),
        sa.Column('area_code', sa.String(length=9), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_forces')),
        sa.UniqueConstraint('area_code', name=op.f('uq_forces_area_code')))
    known = json.loads(FORCES.read_text(encoding="utf-8"))["forces"]
    op.bulk_insert(forces, [{**force, "name": ""} for force in known])

    _add_column('boroughs', sa.Column('force_id', sa.String(length=40)))
    _add_column('boroughs', sa.Column('name_welsh', sa.String(length=100)))
    op.execute(sa.text("UPDATE boroughs SET name_welsh = '', force_id = CASE WHEN code = :city "
                       "THEN 'city-of-london' ELSE 'metropolitan' END").bindparams(
                           city=CITY_OF_LONDON))
    with op.batch_alter_table('boroughs', schema=None) as batch_op:
        batch_op.alter_column('force_id', existing_type=sa.String(length=40), nullable=False)
        batch_op.alter_column('name_welsh', existing_type=sa.String(length=100), nullable=False)
        batch_op.create_index(batch_op.f('ix_boroughs_force_id'), ['force_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_boroughs_force_id_forces'), 'forces',
                                    ['force_id'], ['id'])

    _add_column('wards', sa.Column('name_welsh', sa.String(length=100)))
    op.execute("UPDATE wards SET name_welsh = ''")
    with op.batch_alter_table('wards', schema=None) as batch_op:
        batch_op.alter_column('name_welsh', existing_type=sa.String(length=100), nullable=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('force_id', sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_users_force_id_forces'), 'forces',
                                    ['force_id'], ['id'])
    op.execute("UPDATE users SET force_id = (SELECT force_id FROM boroughs "
               "WHERE boroughs.code = users.borough_code) WHERE borough_code IS NOT NULL")

    _add_column('areas', sa.Column('name_welsh', sa.String(length=200)))
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.add_column(sa.Column('force_id', sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_areas_force_id_forces'), 'forces',
                                    ['force_id'], ['id'])
    op.execute("UPDATE areas SET name_welsh = ''")
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.alter_column('name_welsh', existing_type=sa.String(length=200), nullable=False)
    op.execute("UPDATE areas SET force_id = (SELECT force_id FROM boroughs "
               "WHERE boroughs.code = areas.borough_code) "
               "WHERE kind IN ('borough', 'ward', 'lsoa', 'other')")
    op.execute("UPDATE areas SET force_id = (SELECT id FROM forces "
               "WHERE forces.area_code = areas.code) WHERE kind = 'force'")

    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('force_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('months', sa.JSON(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_import_batches_force_id_forces'), 'forces',
                                    ['force_id'], ['id'])
    _fill_batches(known)
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.alter_column('months', existing_type=sa.JSON(), nullable=False)
    _learn_force_names()

    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('force_id', sa.String(length=40), nullable=True))
    _fill_operations()
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.alter_column('force_id', existing_type=sa.String(length=40), nullable=False)
        batch_op.create_index(batch_op.f('ix_operations_force_id'), ['force_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_operations_force_id_forces'), 'forces',
                                    ['force_id'], ['id'])


def _add_column(table: str, column: sa.Column) -> None:  # type: ignore[type-arg]
    """A nullable column, filled by the caller before it is made NOT NULL."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(column)


def _fill_batches(known: list[dict[str, str | None]]) -> None:
    """Each batch's force (file name, else the force its rows name) and months (its rows)."""
    bind = op.get_bind()
    ids = {force["id"] for force in known}
    by_words = {_plain(str(force["area_name"])): force["id"] for force in known}
    batches = bind.execute(sa.text("SELECT id, kind, source FROM import_batches")).all()
    months: dict[int, set[str]] = defaultdict(set)
    words: dict[int, Counter[str]] = defaultdict(Counter)
    for table in ROW_TABLES.values():
        for batch_id, month in bind.execute(sa.text(
                f"SELECT batch_id, month FROM {table} GROUP BY batch_id, month")):
            months[batch_id].add(str(month)[:7])
    for table in ("street_crimes", "crime_outcomes"):
        for batch_id, reported_by, count in bind.execute(sa.text(
                f"SELECT batch_id, reported_by, count(*) FROM {table} "
                "GROUP BY batch_id, reported_by")):
            words[batch_id][reported_by] += count
    update = sa.text("UPDATE import_batches SET force_id = :force, months = :months "
                     "WHERE id = :id").bindparams(sa.bindparam("months", type_=sa.JSON()))
    unknown = []
    for batch_id, kind, source in batches:
        force = None
        if kind in ROW_TABLES:
            match = FILE_NAME.search(str(source).rsplit("/", 1)[-1].rsplit(":", 1)[-1])
            named = match["force"].lower() if match else None
            force = named if named in ids else None
            if force is None and words[batch_id]:
                force = by_words.get(_plain(words[batch_id].most_common(1)[0][0]))
        bind.execute(update, {"force": force, "months": sorted(months[batch_id]),
                              "id": batch_id})
        if kind in ROW_TABLES and force is None and months[batch_id]:
            unknown.append(f"{batch_id} ({source})")
    if unknown:  # their rows count in no figure until their force is set: say which
        logging.getLogger("alembic.runtime.migration").warning(
            "No police force could be told, from its file name or its rows, for %d import(s): "
            "%s. Their rows count in no figure until import_batches.force_id is set to the "
            "police.uk id of the force that published them.", len(unknown),
            ", ".join(unknown[:20]))


def _plain(words: str) -> str:
    """A force's words without the title: "Metropolitan Police Service" and the force area
    "Metropolitan Police" are both "metropolitan"."""
    text = " ".join(words.lower().replace("&", "and").split())
    for title in (" police service", " constabulary", " police"):
        text = text.removesuffix(title)
    return text


def _learn_force_names() -> None:
    """Each force's name as its own rows write it, where both force columns agree."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT b.force_id, s.falls_within, count(*) AS n FROM street_crimes s "
        "JOIN import_batches b ON b.id = s.batch_id "
        "WHERE b.force_id IS NOT NULL AND s.falls_within = s.reported_by "
        "AND s.falls_within <> '' GROUP BY b.force_id, s.falls_within")).all()
    best: dict[str, tuple[int, str]] = {}
    for force, name, count in rows:
        if count > best.get(force, (0, ""))[0]:
            best[force] = (count, name)
    for force, (_count, name) in best.items():
        bind.execute(sa.text("UPDATE forces SET name = :name WHERE id = :id"),
                     {"name": name[:100], "id": force})


def _fill_operations() -> None:
    """An operation's force is the one most of its cases are in, else its creator's."""
    bind = op.get_bind()
    for (operation_id,) in bind.execute(sa.text("SELECT id FROM operations")).all():
        force = bind.execute(sa.text(
            "SELECT b.force_id FROM cases c JOIN boroughs b ON b.code = c.borough_code "
            "WHERE c.operation_id = :id GROUP BY b.force_id "
            "ORDER BY count(*) DESC, b.force_id LIMIT 1"), {"id": operation_id}).scalar()
        force = force or bind.execute(sa.text(
            "SELECT u.force_id FROM operations o JOIN users u ON u.id = o.created_by_id "
            "WHERE o.id = :id"), {"id": operation_id}).scalar()
        bind.execute(sa.text("UPDATE operations SET force_id = :force WHERE id = :id"),
                     {"force": force or FALLBACK_FORCE, "id": operation_id})


def downgrade() -> None:
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_operations_force_id_forces'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_operations_force_id'))
        batch_op.drop_column('force_id')
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_import_batches_force_id_forces'),
                                 type_='foreignkey')
        batch_op.drop_column('months')
        batch_op.drop_column('force_id')
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_areas_force_id_forces'), type_='foreignkey')
        batch_op.drop_column('force_id')
        batch_op.drop_column('name_welsh')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_force_id_forces'), type_='foreignkey')
        batch_op.drop_column('force_id')
    with op.batch_alter_table('wards', schema=None) as batch_op:
        batch_op.drop_column('name_welsh')
    with op.batch_alter_table('boroughs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_boroughs_force_id_forces'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_boroughs_force_id'))
        batch_op.drop_column('name_welsh')
        batch_op.drop_column('force_id')
    op.drop_table('forces')
