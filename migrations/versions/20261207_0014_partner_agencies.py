"""partner agencies, their contacts, a case's partners and an action's lead agency

Adds ``partner_agencies`` (a force's directory), ``partner_contacts``, ``case_partners`` and the
nullable ``actions.partner_agency_id``, and lets the timeline record partner events. All start
empty; every existing record is kept (an action's ``partner`` kind is untouched).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 00:09:06.913687
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_KINDS = ('created', 'edited', 'note', 'moved', 'hypothesis', 'action', 'patrol', 'output',
               'community', 'review', 'assessment', 'supervisory_review', 'handover', 'attachment',
               'partner')


def _kinds(values: Sequence[str]) -> str:
    return f"kind IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table('partner_agencies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('force_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('council', 'housing', 'transport', 'school', 'business', 'health', 'youth-service', 'charity', name='agencykind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('borough_code', sa.String(length=9), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['borough_code'], ['boroughs.code'], name=op.f('fk_partner_agencies_borough_code_boroughs')),
    sa.ForeignKeyConstraint(['force_id'], ['forces.id'], name=op.f('fk_partner_agencies_force_id_forces')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_agencies')),
    sa.UniqueConstraint('force_id', 'name', name=op.f('uq_partner_agencies_force_id_name'))
    )
    with op.batch_alter_table('partner_agencies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_agencies_force_id'), ['force_id'], unique=False)

    op.create_table('partner_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('job_title', sa.String(length=120), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['partner_agencies.id'], name=op.f('fk_partner_contacts_agency_id_partner_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_contacts'))
    )
    with op.batch_alter_table('partner_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_contacts_agency_id'), ['agency_id'], unique=False)

    op.create_table('case_partners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.Enum('lead', 'member', 'informed', name='partnerrole', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_case_partners_added_by_id_users')),
    sa.ForeignKeyConstraint(['agency_id'], ['partner_agencies.id'], name=op.f('fk_case_partners_agency_id_partner_agencies')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_partners_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['partner_contacts.id'], name=op.f('fk_case_partners_contact_id_partner_contacts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_partners')),
    sa.UniqueConstraint('case_id', 'agency_id', name=op.f('uq_case_partners_case_id_agency_id'))
    )
    with op.batch_alter_table('case_partners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_partners_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_partners_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_partners_contact_id'), ['contact_id'], unique=False)

    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partner_agency_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_actions_partner_agency_id'), ['partner_agency_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_actions_partner_agency_id_partner_agencies'), 'partner_agencies', ['partner_agency_id'], ['id'])

    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_events_eventkind'), type_='check')
        batch_op.create_check_constraint('eventkind', _kinds(EVENT_KINDS))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM case_events WHERE kind = 'partner'"))
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_events_eventkind'), type_='check')
        batch_op.create_check_constraint('eventkind', _kinds(EVENT_KINDS[:-1]))
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_actions_partner_agency_id_partner_agencies'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_actions_partner_agency_id'))
        batch_op.drop_column('partner_agency_id')

    with op.batch_alter_table('case_partners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_partners_contact_id'))
        batch_op.drop_index(batch_op.f('ix_case_partners_case_id'))
        batch_op.drop_index(batch_op.f('ix_case_partners_agency_id'))

    op.drop_table('case_partners')
    with op.batch_alter_table('partner_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_contacts_agency_id'))

    op.drop_table('partner_contacts')
    with op.batch_alter_table('partner_agencies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_agencies_force_id'))

    op.drop_table('partner_agencies')
