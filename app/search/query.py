"""Searching the index: a user's words as a safe query, relevance, and highlighted snippets.

The words are never read as query syntax the user could get wrong: PostgreSQL parses them with
``websearch_to_tsquery`` (which accepts anything), SQLite gets each word quoted for FTS5 (so
quotes, ``*``, ``NEAR``, ``-`` or ``OR`` are plain words, never an error).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup
from sqlalchemy import ColumnElement, Select, cast, column, false, func, literal_column, select
from sqlalchemy import table as sql_table
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnClause

from app.cases.models import Case
from app.search.highlight import highlighted
from app.search.index import CONFIG, FTS_BOROUGH, MARK_END, MARK_START, TABLE, pg_table, pg_text

# bm25 weights of the FTS5 columns (title, problem statement, C text, D text): the title counts
# most, as weight A does for ts_rank (whose defaults are A 1.0, B 0.4, C 0.2, D 0.1).
BM25_WEIGHTS = (10.0, 4.0, 2.0, 1.0)
SNIPPET_WORDS = 16
HEADLINE = (f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_WORDS + 4}, "
            f"MinWords={SNIPPET_WORDS // 2}, MaxFragments=2, FragmentDelimiter=\" … \"")
_fts = sql_table(TABLE, column("rowid"), column(FTS_BOROUGH))
# FTS5 names the table itself to MATCH and rank it
_fts_self: ColumnClause[Any] = literal_column(TABLE)


def fts5_query(q: str) -> str | None:
    """Every word of ``q`` quoted (FTS5 ANDs them); None when there is no word at all."""
    words = re.findall(r"\w+", q)
    return " ".join(f'"{w}"' for w in words) or None


def _tsquery(q: str) -> ColumnElement[Any]:
    return func.websearch_to_tsquery(cast(CONFIG, REGCONFIG), q)


def index_matches(db: Session, q: str,
                  scope: Callable[[ColumnElement[str]], ColumnElement[bool]]) -> Select[Any]:
    """``(case_id, score)`` of the cases whose document matches ``q`` and whose area passes
    ``scope``, read from the index alone; the higher the score, the better the match."""
    if db.get_bind().dialect.name == "postgresql":
        tsq = _tsquery(q)
        return select(pg_table.c.case_id, func.ts_rank(pg_table.c.document, tsq).label("score")
                      ).where(pg_table.c.document.op("@@")(tsq), scope(pg_table.c.borough_code))
    words = fts5_query(q)
    if words is None:
        return select(_fts.c.rowid.label("case_id"), literal_column("0").label("score")
                      ).where(false())
    return select(_fts.c.rowid.label("case_id"),
                  (-func.bm25(_fts_self, *BM25_WEIGHTS)).label("score")
                  ).where(_fts_self.op("MATCH")(words), scope(_fts.c[FTS_BOROUGH]))


def _pg_rank(tsq: ColumnElement[Any]) -> ColumnElement[Any]:
    # ts_rank, not ts_rank_cd: half the cost over thousands of matches, and the weights
    # (title first) decide most orders anyway.
    return func.ts_rank(pg_table.c.document, tsq).desc()


def matching(db: Session, query: Select[Any], q: str) -> tuple[Select[Any], ColumnElement[Any]]:
    """``query`` (over cases) narrowed to the cases whose document matches ``q``, and the
    ordering that puts the best match first. The caller's scope filter stays in the same query,
    so nothing outside it is counted or ranked."""
    if db.get_bind().dialect.name == "postgresql":
        tsq = _tsquery(q)
        return (query.join(pg_table, pg_table.c.case_id == Case.id)
                .where(pg_table.c.document.op("@@")(tsq)),
                _pg_rank(tsq))
    words = fts5_query(q)
    if words is None:
        return query.where(false()), Case.id.desc()
    # The matches and their ranks, read once from the index. Materialised, so that SQLite never
    # turns it round and probes the index once per case of the reader's area instead.
    matches = (select(_fts.c.rowid.label("case_id"),
                      func.bm25(_fts_self, *BM25_WEIGHTS).label("rank"))
               .where(_fts_self.op("MATCH")(words)).cte("matches").prefix_with("MATERIALIZED"))
    return (query.join(matches, matches.c.case_id == Case.id), matches.c.rank.asc())


def snippets(db: Session, q: str, case_ids: Sequence[int]) -> dict[int, Markup]:
    """The matching passage of each case, as safe HTML with the matches in ``<mark>``."""
    if not case_ids:
        return {}
    if db.get_bind().dialect.name == "postgresql":
        rows = db.execute(select(pg_text.c.case_id, func.ts_headline(
            cast(CONFIG, REGCONFIG), pg_text.c.content, _tsquery(q), HEADLINE))
            .where(pg_text.c.case_id.in_(case_ids)))
    else:
        words = fts5_query(q)
        if words is None:
            return {}
        rows = db.execute(select(_fts.c.rowid, func.snippet(
            _fts_self, -1, MARK_START, MARK_END, "…", SNIPPET_WORDS))
            .where(_fts_self.op("MATCH")(words), _fts.c.rowid.in_(case_ids)))
    return {case_id: highlighted(text) for case_id, text in rows if text and text.strip()}
