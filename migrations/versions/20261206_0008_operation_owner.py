"""operations belong to the local policing area that runs them, or to their force

An operation gains an owning area (``borough_code``; empty: force-wide). Every operation is
kept: one whose cases all lie in one area is that area's; one with no case is its creator's
home area's when the creator worked in one of the operation's force's areas; any other (cases
in several areas, an analyst's empty operation) stays the force's.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('borough_code', sa.String(length=9), nullable=True))
        batch_op.create_index(batch_op.f('ix_operations_borough_code'), ['borough_code'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_operations_borough_code_boroughs'),
                                    'boroughs', ['borough_code'], ['code'])
    bind = op.get_bind()
    for operation_id, owner in _owners(bind).items():
        bind.execute(sa.text("UPDATE operations SET borough_code = :owner WHERE id = :id"),
                     {"owner": owner, "id": operation_id})


def _owners(bind: sa.Connection) -> dict[int, str]:
    """The owning area of each operation that has one (see the module's docstring)."""
    areas: dict[int, set[str]] = {}
    for operation_id, code in bind.execute(sa.text(
            "SELECT DISTINCT operation_id, borough_code FROM cases "
            "WHERE operation_id IS NOT NULL")):
        areas.setdefault(operation_id, set()).add(code)
    owners = {op_id: codes.pop() for op_id, codes in areas.items() if len(codes) == 1}
    creators = bind.execute(sa.text(
        "SELECT operations.id, users.borough_code FROM operations "
        "JOIN users ON users.id = operations.created_by_id "
        "JOIN boroughs ON boroughs.code = users.borough_code "
        "WHERE boroughs.force_id = operations.force_id "
        "AND users.role IN ('officer', 'supervisor')"))
    for operation_id, code in creators:
        if operation_id not in areas:
            owners[operation_id] = code
    return owners


def downgrade() -> None:
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_operations_borough_code_boroughs'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_operations_borough_code'))
        batch_op.drop_column('borough_code')
