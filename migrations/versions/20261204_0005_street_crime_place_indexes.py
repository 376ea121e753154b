"""street crime indexes by place and for crimes without a location

A case's crime picture, map and comparison areas read the crimes in a box of a kilometre or so:
an index on the projected coordinates reads that slice instead of every crime of the period.
Crimes published without a location are counted beside every area's figures: a partial index
holds just those few.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 18:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NO_LOCATION = sa.text("easting IS NULL")


def upgrade() -> None:
    with op.batch_alter_table('street_crimes', schema=None) as batch_op:
        batch_op.create_index('ix_street_crimes_place',
                              ['easting', 'northing', 'month', 'category', 'batch_id'],
                              unique=False)
        batch_op.create_index('ix_street_crimes_no_location',
                              ['month', 'falls_within', 'category', 'batch_id'], unique=False,
                              postgresql_where=NO_LOCATION, sqlite_where=NO_LOCATION)


def downgrade() -> None:
    with op.batch_alter_table('street_crimes', schema=None) as batch_op:
        batch_op.drop_index('ix_street_crimes_no_location',
                            postgresql_where=NO_LOCATION, sqlite_where=NO_LOCATION)
        batch_op.drop_index('ix_street_crimes_place')
