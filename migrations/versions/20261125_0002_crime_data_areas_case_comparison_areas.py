"""crime data, areas, case comparison areas

Imported police.uk rows (street crimes, stop and search, outcomes) with their import batches,
named boundaries, and a case's buffer width, control area and analysed crime types.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:05:03.141431
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('import_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('street', 'stop-and-search', 'outcomes', 'boundaries', name='importkind', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('running', 'done', 'failed', name='importstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('already_present', sa.Integer(), nullable=False),
    sa.Column('without_location', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('bytes_total', sa.BigInteger(), nullable=False),
    sa.Column('bytes_done', sa.BigInteger(), nullable=False),
    sa.Column('first_month', sa.Date(), nullable=True),
    sa.Column('last_month', sa.Date(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_import_batches_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batches'))
    )
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_batches_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_batches_status'), ['status'], unique=False)

    op.create_table('areas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('borough', 'ward', 'lsoa', 'force', 'other', name='areakind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('borough_code', sa.String(length=9), nullable=True),
    sa.Column('geometry', sa.JSON(), nullable=False),
    sa.Column('min_e', sa.Integer(), nullable=False),
    sa.Column('min_n', sa.Integer(), nullable=False),
    sa.Column('max_e', sa.Integer(), nullable=False),
    sa.Column('max_n', sa.Integer(), nullable=False),
    sa.Column('area_m2', sa.Float(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_areas_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_areas')),
    sa.UniqueConstraint('kind', 'code', name=op.f('uq_areas_kind_code'))
    )
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_areas_borough_code'), ['borough_code'], unique=False)
        batch_op.create_index('ix_areas_name', ['name'], unique=False)

    op.create_table('crime_outcomes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identity', sa.LargeBinary(length=16), nullable=False),
    sa.Column('crime_id', sa.String(length=64), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('outcome_type', sa.String(length=150), nullable=False),
    sa.Column('reported_by', sa.String(length=80), nullable=False),
    sa.Column('falls_within', sa.String(length=80), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('lsoa_code', sa.String(length=9), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_crime_outcomes_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crime_outcomes')),
    sa.UniqueConstraint('identity', name=op.f('uq_crime_outcomes_identity'))
    )
    with op.batch_alter_table('crime_outcomes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crime_outcomes_crime_id'), ['crime_id'], unique=False)

    op.create_table('stop_searches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identity', sa.LargeBinary(length=16), nullable=False),
    sa.Column('force', sa.String(length=80), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('search_type', sa.String(length=60), nullable=False),
    sa.Column('part_of_operation', sa.Boolean(), nullable=True),
    sa.Column('operation', sa.String(length=200), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('easting', sa.Integer(), nullable=True),
    sa.Column('northing', sa.Integer(), nullable=True),
    sa.Column('gender', sa.String(length=40), nullable=False),
    sa.Column('age_range', sa.String(length=40), nullable=False),
    sa.Column('self_defined_ethnicity', sa.String(length=200), nullable=False),
    sa.Column('officer_defined_ethnicity', sa.String(length=60), nullable=False),
    sa.Column('legislation', sa.String(length=200), nullable=False),
    sa.Column('object_of_search', sa.String(length=120), nullable=False),
    sa.Column('outcome', sa.String(length=150), nullable=False),
    sa.Column('outcome_linked', sa.Boolean(), nullable=True),
    sa.Column('outer_clothing_removed', sa.Boolean(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_stop_searches_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stop_searches')),
    sa.UniqueConstraint('identity', name=op.f('uq_stop_searches_identity'))
    )
    with op.batch_alter_table('stop_searches', schema=None) as batch_op:
        batch_op.create_index('ix_stop_searches_easting_northing', ['easting', 'northing'], unique=False)
        batch_op.create_index('ix_stop_searches_month', ['month'], unique=False)

    op.create_table('street_crimes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identity', sa.LargeBinary(length=16), nullable=False),
    sa.Column('crime_id', sa.String(length=64), nullable=True),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('reported_by', sa.String(length=80), nullable=False),
    sa.Column('falls_within', sa.String(length=80), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('easting', sa.Integer(), nullable=True),
    sa.Column('northing', sa.Integer(), nullable=True),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('lsoa_code', sa.String(length=9), nullable=False),
    sa.Column('lsoa_name', sa.String(length=100), nullable=False),
    sa.Column('last_outcome', sa.String(length=150), nullable=False),
    sa.Column('context', sa.Text(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_street_crimes_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_street_crimes')),
    sa.UniqueConstraint('identity', name=op.f('uq_street_crimes_identity'))
    )
    with op.batch_alter_table('street_crimes', schema=None) as batch_op:
        batch_op.create_index('ix_street_crimes_month_category', ['month', 'category', 'easting', 'northing', 'batch_id'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('buffer_width_m', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('control_area_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('control_geometry', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('control_radius_m', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('crime_types', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('crime_types')
        batch_op.drop_column('control_radius_m')
        batch_op.drop_column('control_geometry')
        batch_op.drop_column('control_area_name')
        batch_op.drop_column('buffer_width_m')

    with op.batch_alter_table('street_crimes', schema=None) as batch_op:
        batch_op.drop_index('ix_street_crimes_month_category')

    op.drop_table('street_crimes')
    with op.batch_alter_table('stop_searches', schema=None) as batch_op:
        batch_op.drop_index('ix_stop_searches_month')
        batch_op.drop_index('ix_stop_searches_easting_northing')

    op.drop_table('stop_searches')
    with op.batch_alter_table('crime_outcomes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crime_outcomes_crime_id'))

    op.drop_table('crime_outcomes')
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.drop_index('ix_areas_name')
        batch_op.drop_index(batch_op.f('ix_areas_borough_code'))

    op.drop_table('areas')
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_batches_status'))
        batch_op.drop_index(batch_op.f('ix_import_batches_sha256'))

    op.drop_table('import_batches')
