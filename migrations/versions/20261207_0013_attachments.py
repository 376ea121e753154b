"""attachments: photos and documents on cases

Adds ``attachments`` (each file's SHA-256, the SHA-256 of its shown copy and thumbnail, who
added it, when, its caption, the case's stage, and the attachment it corrects) and the
timeline's attachment event. Every existing record is kept.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_KINDS = ('created', 'edited', 'note', 'moved', 'hypothesis', 'action', 'patrol', 'output',
               'community', 'review', 'assessment', 'supervisory_review', 'handover',
               'attachment')
STAGES = ('scanning', 'analysis', 'response', 'assessment', 'closed')


def _kinds(values: Sequence[str]) -> str:
    return f"kind IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=True),
    sa.Column('patrol_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('caption', sa.String(length=500), nullable=False),
    sa.Column('stage', sa.Enum(*STAGES, name='stage', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('kind', sa.Enum('photo', 'document', name='attachmentkind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('phase', sa.Enum('before', 'after', name='phase', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('shown_sha256', sa.String(length=64), nullable=False),
    sa.Column('thumb_sha256', sa.String(length=64), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['actions.id'], name=op.f('fk_attachments_action_id_actions')),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_attachments_added_by_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_attachments_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patrol_id'], ['patrols.id'], name=op.f('fk_attachments_patrol_id_patrols')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['attachments.id'], name=op.f('fk_attachments_supersedes_id_attachments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('supersedes_id', name=op.f('uq_attachments_supersedes_id'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index('ix_attachments_case_added', ['case_id', 'added_at'], unique=False)
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_events_eventkind'), type_='check')
        batch_op.create_check_constraint('eventkind', _kinds(EVENT_KINDS))


def downgrade() -> None:
    # The files stay in the attachments folder: a later upgrade and re-import can use them.
    op.execute(sa.text("DELETE FROM case_events WHERE kind = 'attachment'"))
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_events_eventkind'), type_='check')
        batch_op.create_check_constraint('eventkind', _kinds(EVENT_KINDS[:-1]))
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_attachments_case_added')
    op.drop_table('attachments')
