"""notifications, supervisory review dates, action assignees, e-mail addresses

Adds the notifications table, ``cases.next_review_on``, ``actions.assignee_id`` (the popcase
user carrying an action), ``users.email``, and the timeline's supervisory review and
hand-over events. Every existing record is kept; the new columns start empty.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 20:57:10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_KINDS = ('created', 'edited', 'note', 'moved', 'hypothesis', 'action', 'patrol', 'output',
               'community', 'review', 'assessment', 'supervisory_review', 'handover')


def _kinds(values: Sequence[str]) -> str:
    return f"kind IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('action_assigned', 'action_due', 'action_overdue', 'review_due', 'review_overdue', 'concern_routed', 'override_to_review', 'handed_over', name='notificationkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('link', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_notifications_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('user_id', 'key', name=op.f('uq_notifications_user_id_key'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_notifications_user_read_created', ['user_id', 'read_at', 'created_at'], unique=False)

    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_actions_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_actions_assignee_id_users'), 'users', ['assignee_id'], ['id'])

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_review_on', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_next_review_on'), ['next_review_on'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))

    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_events_eventkind'), type_='check')
        batch_op.create_check_constraint('eventkind', _kinds(EVENT_KINDS))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM case_events WHERE kind IN ('supervisory_review', 'handover')"))
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_events_eventkind'), type_='check')
        batch_op.create_check_constraint('eventkind', _kinds(EVENT_KINDS[:-2]))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_next_review_on'))
        batch_op.drop_column('next_review_on')

    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_actions_assignee_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_actions_assignee_id'))
        batch_op.drop_column('assignee_id')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_read_created')
        batch_op.drop_index(batch_op.f('ix_notifications_case_id'))

    op.drop_table('notifications')
