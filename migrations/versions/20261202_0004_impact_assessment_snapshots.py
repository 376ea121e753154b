"""impact assessment snapshots

A case's saved impact assessments (parameters, the import batches counted, results), and the
stated reason when no impact figures are possible.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 00:45:21.677558
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


EVENT_KINDS = ('created', 'edited', 'note', 'moved', 'hypothesis', 'action', 'patrol', 'output',
               'community', 'review', 'assessment')


def _kinds(values: Sequence[str]) -> str:
    return f"kind IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table('assessment_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('before_first', sa.Date(), nullable=False),
    sa.Column('before_last', sa.Date(), nullable=False),
    sa.Column('after_first', sa.Date(), nullable=False),
    sa.Column('after_last', sa.Date(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('areas', sa.JSON(), nullable=False),
    sa.Column('batches', sa.JSON(), nullable=False),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_assessment_snapshots_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_assessment_snapshots_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_snapshots')),
    sa.UniqueConstraint('case_id', 'number', name=op.f('uq_assessment_snapshots_case_id_number'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('impact_none_reason', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        # The default only filled the existing rows; the model sets the value from now on.
        batch_op.alter_column('impact_none_reason', server_default=None)
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_events_eventkind'), type_='check')
        batch_op.create_check_constraint('eventkind', _kinds(EVENT_KINDS))



def downgrade() -> None:
    op.execute(sa.text("DELETE FROM case_events WHERE kind = 'assessment'"))
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_events_eventkind'), type_='check')
        batch_op.create_check_constraint('eventkind', _kinds(EVENT_KINDS[:-1]))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('impact_none_reason')

    op.drop_table('assessment_snapshots')
