"""operations, patrols, outputs, community concerns, override reviews

Named operations grouping hotspot cases; a case's planned patrol dosage; the patrol log and
operational outputs (corrections are new rows); community concerns with their triage and
"you said, we did"; supervisors' reviews of gate overrides; new timeline event kinds.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:40:52.505930
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_KINDS = ('created', 'edited', 'note', 'moved', 'hypothesis', 'action',
               'patrol', 'output', 'community', 'review')


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table('operations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('unit', sa.String(length=200), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('end_date IS NULL OR end_date >= start_date', name=op.f('ck_operations_ends_after_start')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_operations_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operations')),
    sa.UniqueConstraint('name', name=op.f('uq_operations_name'))
    )
    op.create_table('concerns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('borough_code', sa.String(length=9), nullable=False),
    sa.Column('ward_code', sa.String(length=9), nullable=True),
    sa.Column('raised_on', sa.Date(), nullable=False),
    sa.Column('raised_by_kind', sa.Enum('resident', 'business', 'councillor', 'school', 'community_group', 'partner', 'other', name='raisedby', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('raised_by', sa.String(length=200), nullable=False),
    sa.Column('contact', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.Enum('ward_panel', 'street_briefing', 'councillor_referral', 'online', 'phone_or_email', 'in_person', 'other', name='channel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('triage_outcome', sa.Enum('linked', 'new_case', 'not_police', name='triageoutcome', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('triage_reason', sa.Text(), nullable=False),
    sa.Column('triaged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('triaged_by_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('we_did', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("triage_outcome IS NULL OR triage_outcome = 'not_police' OR case_id IS NOT NULL", name=op.f('ck_concerns_triaged_to_a_case')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_concerns_answered_by_id_users')),
    sa.ForeignKeyConstraint(['borough_code'], ['boroughs.code'], name=op.f('fk_concerns_borough_code_boroughs')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_concerns_case_id_cases')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_concerns_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['triaged_by_id'], ['users.id'], name=op.f('fk_concerns_triaged_by_id_users')),
    sa.ForeignKeyConstraint(['ward_code'], ['wards.code'], name=op.f('fk_concerns_ward_code_wards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_concerns'))
    )
    with op.batch_alter_table('concerns', schema=None) as batch_op:
        batch_op.create_index('ix_concerns_borough_outcome_raised', ['borough_code', 'triage_outcome', 'raised_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_concerns_case_id'), ['case_id'], unique=False)

    op.create_table('patrols',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('kind', sa.Enum('foot', 'vehicle', 'high_visibility', name='patrolkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('officers', sa.String(length=300), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('live', sa.Boolean(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('ended_at IS NULL OR ended_at > started_at', name=op.f('ck_patrols_ends_after_start')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_patrols_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_patrols_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patrols'))
    )
    with op.batch_alter_table('patrols', schema=None) as batch_op:
        batch_op.create_index('ix_patrols_case_started', ['case_id', 'started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_patrols_recorded_by_id'), ['recorded_by_id'], unique=False)
        batch_op.create_index('ix_patrols_one_running', ['recorded_by_id'], unique=True,
                              sqlite_where=sa.text('live AND ended_at IS NULL'),
                              postgresql_where=sa.text('live AND ended_at IS NULL'))

    op.create_table('outputs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('kind', sa.Enum('arrests', 'stop_searches', 'knives', 'firearms', 'other_weapons', 'drug_seizures', 'community_engagements', 'intelligence_submissions', name='outputkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('patrol_id', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('count >= 0', name=op.f('ck_outputs_count_not_negative')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_outputs_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['corrects_id'], ['outputs.id'], name=op.f('fk_outputs_corrects_id_outputs')),
    sa.ForeignKeyConstraint(['patrol_id'], ['patrols.id'], name=op.f('fk_outputs_patrol_id_patrols'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_outputs_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outputs')),
    sa.UniqueConstraint('corrects_id', name=op.f('uq_outputs_corrects_id'))
    )
    with op.batch_alter_table('outputs', schema=None) as batch_op:
        batch_op.create_index('ix_outputs_case_on_date', ['case_id', 'on_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_outputs_patrol_id'), ['patrol_id'], unique=False)

    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reviewed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('review_note', sa.Text(), nullable=False, server_default=''))
        batch_op.create_foreign_key(batch_op.f('fk_case_events_reviewed_by_id_users'), 'users', ['reviewed_by_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('ck_case_events_eventkind'), type_='check')
        batch_op.create_check_constraint('eventkind', _in('kind', EVENT_KINDS))
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        # The default only filled the existing rows; the model sets the value from now on.
        batch_op.alter_column('review_note', server_default=None)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned_patrol_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('operation_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_operation_id'), ['operation_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_cases_operation_id_operations'), 'operations', ['operation_id'], ['id'])
        batch_op.create_check_constraint('planned_patrol_not_negative', 'planned_patrol_minutes IS NULL OR planned_patrol_minutes >= 0')



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_cases_planned_patrol_not_negative'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_cases_operation_id_operations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_cases_operation_id'))
        batch_op.drop_column('operation_id')
        batch_op.drop_column('planned_patrol_minutes')

    op.execute(sa.text("DELETE FROM case_events WHERE kind IN ('patrol', 'output', 'community', 'review')"))
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_events_eventkind'), type_='check')
        batch_op.create_check_constraint('eventkind', _in('kind', EVENT_KINDS[:6]))
        batch_op.drop_constraint(batch_op.f('fk_case_events_reviewed_by_id_users'), type_='foreignkey')
        batch_op.drop_column('review_note')
        batch_op.drop_column('reviewed_by_id')
        batch_op.drop_column('reviewed_at')

    with op.batch_alter_table('outputs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outputs_patrol_id'))
        batch_op.drop_index('ix_outputs_case_on_date')

    op.drop_table('outputs')
    with op.batch_alter_table('patrols', schema=None) as batch_op:
        batch_op.drop_index('ix_patrols_one_running')
        batch_op.drop_index(batch_op.f('ix_patrols_recorded_by_id'))
        batch_op.drop_index('ix_patrols_case_started')

    op.drop_table('patrols')
    with op.batch_alter_table('concerns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_concerns_case_id'))
        batch_op.drop_index('ix_concerns_borough_outcome_raised')

    op.drop_table('concerns')
    op.drop_table('operations')
