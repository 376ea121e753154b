"""identity provider sign-in (OpenID Connect)

Adds ``signin_groups`` (an identity-provider group and the role, home area or force it gives),
``oidc_logins`` (sign-ins sent to the provider and not yet back: the state's hash, nonce and
PKCE verifier, each used once), the provider account of a user (``users.oidc_issuer`` and
``users.oidc_subject``, unique together) and the provider's ID token on a session (the hint for
signing out at the provider). Every existing row is kept; existing users have no provider
account until they first sign in through it.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 03:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ('officer', 'supervisor', 'analyst', 'evaluator', 'admin')


def upgrade() -> None:
    op.create_table('signin_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum(*ROLES, name='role', native_enum=False, create_constraint=True,
                              length=32), nullable=False),
    sa.Column('borough_code', sa.String(length=9), nullable=True),
    sa.Column('force_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['borough_code'], ['boroughs.code'],
                            name=op.f('fk_signin_groups_borough_code_boroughs')),
    sa.ForeignKeyConstraint(['force_id'], ['forces.id'],
                            name=op.f('fk_signin_groups_force_id_forces')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signin_groups')),
    sa.UniqueConstraint('group', name=op.f('uq_signin_groups_group')),
    )
    op.create_table('oidc_logins',
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('code_verifier', sa.String(length=128), nullable=False),
    sa.Column('next_url', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('state_hash', name=op.f('pk_oidc_logins')),
    )
    op.create_index(op.f('ix_oidc_logins_created_at'), 'oidc_logins', ['created_at'],
                    unique=False)
    # Plain ADD COLUMN and CREATE INDEX: no table is rebuilt on SQLite.
    op.add_column('users', sa.Column('oidc_issuer', sa.String(length=255), nullable=True))
    op.add_column('users', sa.Column('oidc_subject', sa.String(length=255), nullable=True))
    op.create_index('ix_users_oidc_identity', 'users', ['oidc_issuer', 'oidc_subject'],
                    unique=True)
    op.add_column('user_sessions', sa.Column('id_token', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_column('id_token')
    op.drop_index('ix_users_oidc_identity', table_name='users')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('oidc_subject')
        batch_op.drop_column('oidc_issuer')
    op.drop_index(op.f('ix_oidc_logins_created_at'), table_name='oidc_logins')
    op.drop_table('oidc_logins')
    op.drop_table('signin_groups')
