"""case search

Adds the full-text search index of cases: on PostgreSQL ``case_search`` (case_id, the case's
area, a weighted ``tsvector`` with a GIN index, English configuration) and
``case_search_text`` (the text behind each document, for snippets); on SQLite an FTS5 virtual table of the same name (porter stemming, the area
unindexed), rowid = case id. Every existing
case's document is written here, so an upgraded database finds its cases at once. No other table
changes.

The documents are built by the app's own builder (``app.search.index.rewrite``) from the
sources that exist at this revision; a later revision that adds a source of text rewrites the
documents again the same way.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.create_table('case_search',
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('borough_code', sa.String(length=9), nullable=False),
        sa.Column('document', postgresql.TSVECTOR(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_case_search_case_id_cases'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_search')),
        )
        # The text behind each document (for snippets), apart from the vectors a search scans.
        op.create_table('case_search_text',
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_case_search_text_case_id_cases'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_search_text')),
        )
        op.create_index('ix_case_search_document', 'case_search', ['document'],
                        postgresql_using='gin')
    else:
        op.execute("CREATE VIRTUAL TABLE case_search USING fts5("
                   "title, statement, body, minor, borough UNINDEXED, "
                   "tokenize = 'porter unicode61 remove_diacritics 2')")
    _fill(bind)


def _fill(bind: sa.Connection) -> None:
    from app.search.index import present_sources, rebuild_all

    rebuild_all(bind, present_sources(bind))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_table('case_search_text')
        op.drop_index('ix_case_search_document', table_name='case_search',
                      postgresql_using='gin')
    op.drop_table('case_search')
