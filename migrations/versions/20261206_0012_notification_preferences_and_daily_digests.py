"""notification preferences and daily digests

Adds ``notification_preferences`` (per person and kind: no e-mail, at once, or in the daily
digest) and ``notification_digests`` (one claimed digest per person and London day). Both start
empty: nobody receives e-mail until they opt in. Existing records are untouched.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 21:00:46
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notification_digests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_digests_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_digests')),
    sa.UniqueConstraint('user_id', 'day', name=op.f('uq_notification_digests_user_id_day'))
    )
    op.create_table('notification_preferences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('action_assigned', 'action_due', 'action_overdue', 'review_due', 'review_overdue', 'concern_routed', 'override_to_review', 'handed_over', name='notificationkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('delivery', sa.Enum('off', 'immediate', 'daily', name='delivery', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preferences')),
    sa.UniqueConstraint('user_id', 'kind', name=op.f('uq_notification_preferences_user_id_kind'))
    )


def downgrade() -> None:
    op.drop_table('notification_preferences')
    op.drop_table('notification_digests')
