"""harm-weight tables per force, and operations' randomised allocations of hotspots

New tables only: every existing record stays as it was.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 13:47:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'harm_tables',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('force_id', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('version', sa.String(length=50), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('loaded_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['force_id'], ['forces.id'],
                                name=op.f('fk_harm_tables_force_id_forces')),
        sa.ForeignKeyConstraint(['loaded_by_id'], ['users.id'],
                                name=op.f('fk_harm_tables_loaded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_harm_tables')),
        sa.UniqueConstraint('force_id', 'name', 'version',
                            name=op.f('uq_harm_tables_force_id_name_version')))
    with op.batch_alter_table('harm_tables', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_harm_tables_force_id'), ['force_id'], unique=False)
    op.create_table(
        'harm_weights',
        sa.Column('table_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=40), nullable=False),
        sa.Column('weight', sa.Float(), nullable=False),
        sa.CheckConstraint('weight >= 0', name=op.f('ck_harm_weights_weight_not_negative')),
        sa.ForeignKeyConstraint(['table_id'], ['harm_tables.id'],
                                name=op.f('fk_harm_weights_table_id_harm_tables'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('table_id', 'category', name=op.f('pk_harm_weights')))

    op.create_table(
        'allocations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('operation_id', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('block_size', sa.Integer(), nullable=False),
        sa.Column('seed', sa.BigInteger(), nullable=False),
        sa.Column('baseline_first', sa.Date(), nullable=False),
        sa.Column('baseline_last', sa.Date(), nullable=False),
        sa.Column('starts', sa.Date(), nullable=False),
        sa.Column('categories', sa.JSON(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('made_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('baseline_last >= baseline_first',
                           name=op.f('ck_allocations_baseline_in_order')),
        sa.CheckConstraint('starts > baseline_last',
                           name=op.f('ck_allocations_starts_after_baseline')),
        sa.ForeignKeyConstraint(['made_by_id'], ['users.id'],
                                name=op.f('fk_allocations_made_by_id_users')),
        sa.ForeignKeyConstraint(['operation_id'], ['operations.id'],
                                name=op.f('fk_allocations_operation_id_operations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_allocations')),
        sa.UniqueConstraint('operation_id', name=op.f('uq_allocations_operation_id')))
    op.create_table(
        'allocation_units',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('allocation_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('block', sa.Integer(), nullable=False),
        sa.Column('arm', sa.String(length=12), nullable=False),
        sa.Column('baseline', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['allocation_id'], ['allocations.id'],
                                name=op.f('fk_allocation_units_allocation_id_allocations')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_allocation_units_case_id_cases')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_units')),
        sa.UniqueConstraint('case_id', name=op.f('uq_allocation_units_case_id')))
    with op.batch_alter_table('allocation_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_units_allocation_id'), ['allocation_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('allocation_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_units_allocation_id'))
    op.drop_table('allocation_units')
    op.drop_table('allocations')
    op.drop_table('harm_weights')
    with op.batch_alter_table('harm_tables', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_harm_tables_force_id'))
    op.drop_table('harm_tables')
