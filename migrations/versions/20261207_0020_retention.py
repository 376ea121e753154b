"""retention under MoPI: periods, reviews, review dates of closed cases

Adds ``retention_periods`` (a force's months after closing by category; none: the defaults),
``retention_reviews`` (retain or dispose; a disposal's row is its record) and two columns of
``cases``: ``retention_review_on`` and ``disposed_at``. Every closed case gets a review date:
the day it closed (London) plus the default period of its category. Every record is kept.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 09:50:00
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As app.sara.retention.DEFAULT_MONTHS when this revision was written (a migration does not
# follow later changes of the application's defaults).
SERIOUS = {'violent-crime', 'robbery', 'possession-of-weapons'}
LONDON = ZoneInfo('Europe/London')
cases = sa.table('cases', sa.column('id', sa.Integer()), sa.column('stage', sa.String()),
                 sa.column('category', sa.String()),
                 sa.column('stage_entered_at', sa.DateTime(timezone=True)),
                 sa.column('retention_review_on', sa.Date()))


def upgrade() -> None:
    op.create_table('retention_periods',
    sa.Column('force_id', sa.String(length=40), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('months >= 1 AND months <= 1200', name=op.f('ck_retention_periods_months_in_range')),
    sa.ForeignKeyConstraint(['force_id'], ['forces.id'], name=op.f('fk_retention_periods_force_id_forces')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_retention_periods_updated_by_id_users')),
    sa.PrimaryKeyConstraint('force_id', 'category', name=op.f('pk_retention_periods'))
    )
    op.create_table('retention_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('decision', sa.Enum('retain', 'dispose', name='retentiondecision', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('next_review_on', sa.Date(), nullable=True),
    sa.Column('erased', sa.JSON(), nullable=True),
    sa.CheckConstraint("decision != 'dispose' OR next_review_on IS NULL", name=op.f('ck_retention_reviews_disposal_has_no_next_review')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_retention_reviews_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_retention_reviews_reviewer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_reviews'))
    )
    with op.batch_alter_table('retention_reviews', schema=None) as batch_op:
        batch_op.create_index('ix_retention_reviews_case_at', ['case_id', 'reviewed_at'], unique=False)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retention_review_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('disposed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_retention_review_on'), ['retention_review_on'], unique=False)
    _schedule_closed_cases()


def _schedule_closed_cases() -> None:
    """The day each closed case closed (London) plus the default period of its category."""
    conn = op.get_bind()
    rows = conn.execute(sa.select(cases.c.id, cases.c.category, cases.c.stage_entered_at)
                        .where(cases.c.stage == 'closed')).all()
    for case_id, category, closed_at in rows:
        closed = _as_utc(closed_at).astimezone(LONDON).date()
        due = _add_months(closed, 120 if category in SERIOUS else 72)
        conn.execute(sa.update(cases).where(cases.c.id == case_id)
                     .values(retention_review_on=due))


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30,
            31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return date(year, month, min(day.day, last))


def _as_utc(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite without the column's type
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_retention_review_on'))
        batch_op.drop_column('disposed_at')
        batch_op.drop_column('retention_review_on')
    with op.batch_alter_table('retention_reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_retention_reviews_case_at')
    op.drop_table('retention_reviews')
    op.drop_table('retention_periods')
