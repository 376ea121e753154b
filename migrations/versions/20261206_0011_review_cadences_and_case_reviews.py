"""review cadences and supervisory reviews of cases

Adds ``review_cadences`` (a force's days between reviews per priority; none: the defaults) and
``case_reviews``. Every open case without a next review date gets one from the default cadence
counted from its opening day, so that an upgraded database shows at once which cases were never
reviewed (most are overdue). Closed cases get none. Every existing record is kept.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 21:01:15.908381
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As app.sara.reviews.DEFAULT_CADENCE_DAYS when this revision was written (a migration does not
# follow later changes of the application's defaults).
DEFAULT_CADENCE_DAYS = {'high': 14, 'medium': 28, 'low': 56}
LONDON = ZoneInfo('Europe/London')
cases = sa.table('cases', sa.column('id', sa.Integer()), sa.column('stage', sa.String()),
                 sa.column('priority', sa.String()),
                 sa.column('created_at', sa.DateTime(timezone=True)),
                 sa.column('next_review_on', sa.Date()))


def upgrade() -> None:
    op.create_table('review_cadences',
    sa.Column('force_id', sa.String(length=40), nullable=False),
    sa.Column('priority', sa.Enum('low', 'medium', 'high', name='priority', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('days >= 1 AND days <= 365', name=op.f('ck_review_cadences_days_in_range')),
    sa.ForeignKeyConstraint(['force_id'], ['forces.id'], name=op.f('fk_review_cadences_force_id_forces')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_review_cadences_updated_by_id_users')),
    sa.PrimaryKeyConstraint('force_id', 'priority', name=op.f('pk_review_cadences'))
    )
    op.create_table('case_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('decision', sa.Enum('continue', 'change_approach', 'escalate', 'ready_to_close', name='reviewdecision', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('next_review_on', sa.Date(), nullable=False),
    sa.Column('reason_for_later', sa.Text(), nullable=False),
    sa.Column('cadence_days', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Enum('low', 'medium', 'high', name='priority', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_reviews_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_case_reviews_reviewer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_reviews'))
    )
    with op.batch_alter_table('case_reviews', schema=None) as batch_op:
        batch_op.create_index('ix_case_reviews_case_at', ['case_id', 'reviewed_at'], unique=False)
    _schedule_open_cases()


def _schedule_open_cases() -> None:
    """Opening day (London) plus the default cadence of the case's priority."""
    conn = op.get_bind()
    rows = conn.execute(sa.select(cases.c.id, cases.c.priority, cases.c.created_at).where(
        cases.c.stage != 'closed', cases.c.next_review_on.is_(None))).all()
    for case_id, priority, created_at in rows:
        opened = _as_utc(created_at).astimezone(LONDON).date()
        due = opened + timedelta(days=DEFAULT_CADENCE_DAYS.get(priority, 28))
        conn.execute(sa.update(cases).where(cases.c.id == case_id).values(next_review_on=due))


def _as_utc(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite without the column's type
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def downgrade() -> None:
    # The review dates filled on upgrade stay: 0009's column is not this revision's.
    with op.batch_alter_table('case_reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_case_reviews_case_at')

    op.drop_table('case_reviews')
    op.drop_table('review_cadences')
