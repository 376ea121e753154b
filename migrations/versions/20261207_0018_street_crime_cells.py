"""street crime cells: crimes counted per force, month, category and stored point

Adds ``street_crime_cells``, which the hotspot finder sums instead of counting crimes, and
fills it from the rows already imported with one insert-select: the located crimes of every
finished import of a force, grouped by month, category and point (cells of one metre of the
British National Grid, which the points are stored to). No existing row changes.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('street_crime_cells',
    sa.Column('force_id', sa.String(length=40), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('easting', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('northing', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('crimes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['force_id'], ['forces.id'],
                            name=op.f('fk_street_crime_cells_force_id_forces')),
    sa.PrimaryKeyConstraint('force_id', 'month', 'category', 'easting', 'northing',
                            name=op.f('pk_street_crime_cells')),
    sqlite_with_rowid=False,
    )
    op.execute(sa.text(
        "INSERT INTO street_crime_cells (force_id, month, category, easting, northing, crimes) "
        "SELECT b.force_id, s.month, s.category, s.easting, s.northing, count(*) "
        "FROM street_crimes s JOIN import_batches b ON b.id = s.batch_id "
        "WHERE b.status = 'done' AND b.force_id IS NOT NULL AND s.easting IS NOT NULL "
        "GROUP BY b.force_id, s.month, s.category, s.easting, s.northing"))
    # Statistics at once: without them PostgreSQL plans a search as if the table were empty.
    op.execute(sa.text("ANALYZE street_crime_cells"))


def downgrade() -> None:
    op.drop_table('street_crime_cells')
