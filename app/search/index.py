"""The search index: one document per case, rewritten in the same transaction as the change.

PostgreSQL keeps ``case_search(case_id, borough_code, document tsvector)`` with a GIN index on
the document (English configuration; weights A-D from ``app.search.documents``), and the text
behind each document, for the snippets ``ts_headline`` cuts, in ``case_search_text(case_id,
content)``: apart, because a common word is ranked over a third of all documents, and that scan
reads half the pages when the text is not beside the vectors. SQLite keeps an FTS5
virtual table (porter stemming) whose rowid is the case id, one column per weight, and the
borough unindexed. The case's local policing area rides with its document so that a search's
scope and count are answered from the index alone: joining thousands of matches to their cases
cost more than finding them.

Neither is a model: the FTS5 table cannot be one, and both are written only here. Alembic's
comparison of models and database leaves them out (``include_name``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Session, attributes

from app.cases.models import Case
from app.search.documents import SOURCES, WEIGHTS, Source

CONFIG = "english"
TABLE = "case_search"
TEXT_TABLE = "case_search_text"  # PostgreSQL: the text behind each document, for snippets
# The FTS5 table and the shadow tables SQLite keeps for it.
SEARCH_TABLES = frozenset({TABLE, TEXT_TABLE, *(f"{TABLE}_{s}" for s in (
    "data", "idx", "content", "docsize", "config"))})
# One FTS5 column per weight, in the order of WEIGHTS, then the case's area (not searched).
FTS_COLUMNS = ("title", "statement", "body", "minor")
FTS_BOROUGH = "borough"
# Marks a snippet's matches; never valid in what people type (stripped from documents).
MARK_START, MARK_END = "\ue000", "\ue001"
# PostgreSQL's text-search parser drops anything shaped like an HTML tag (``<b>``) from the
# vector and the headline: angle brackets are stored as these and turned back when shown.
ANGLES = str.maketrans({"<": "\ue002", ">": "\ue003"})
PRIVATE = ("\ue000", "\ue001", "\ue002", "\ue003")
CHUNK = 500
AREA = "borough"  # a document's key for its case's area, beside the weights

# Described for queries on PostgreSQL (created by the migration, not by this metadata).
pg_table = Table(
    TABLE, MetaData(),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("borough_code", String(9), nullable=False),
    Column("document", TSVECTOR, nullable=False),
)
pg_text = Table(
    TEXT_TABLE, MetaData(),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("content", Text, nullable=False),
)


def include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """For Alembic's comparisons: the search tables are not models."""
    return not (type_ == "table" and name in SEARCH_TABLES)


# --- writing documents ---------------------------------------------------------------------------

def _clean(value: Any) -> str:
    text = str(value or "")
    for char in PRIVATE:
        text = text.replace(char, "")
    return text.strip()


def documents(conn: Connection, case_ids: Iterable[int],
              sources: Sequence[Source] = SOURCES) -> dict[int, dict[str, str]]:
    """Each case's text by weight, from every source."""
    ids = list(case_ids)
    parts: dict[int, dict[str, list[str]]] = defaultdict(lambda: {w: [] for w in WEIGHTS})
    for source in sources:
        for case_id, *texts in conn.execute(source.rows(ids)):
            parts[case_id][source.weight].extend(t for t in map(_clean, texts) if t)
    areas = dict(conn.execute(select(Case.id, Case.borough_code).where(Case.id.in_(ids))).all())
    return {case_id: {**{w: "\n".join(texts) for w, texts in by_weight.items()},
                      AREA: areas[case_id]}
            for case_id, by_weight in parts.items() if case_id in areas}


def rewrite(conn: Connection, case_ids: Iterable[int],
            sources: Sequence[Source] = SOURCES) -> None:
    """Write the documents of these cases afresh (dropping those of cases that are gone)."""
    ids = sorted(set(case_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        docs = documents(conn, chunk, sources)
        if conn.dialect.name == "postgresql":
            _write_pg(conn, chunk, docs)
        else:
            _write_sqlite(conn, chunk, docs)


def _write_pg(conn: Connection, ids: list[int], docs: dict[int, dict[str, str]]) -> None:
    gone = [i for i in ids if i not in docs]
    if gone:
        conn.execute(pg_table.delete().where(pg_table.c.case_id.in_(gone)))
        conn.execute(pg_text.delete().where(pg_text.c.case_id.in_(gone)))
    if not docs:
        return
    vector = " || ".join(f"setweight(to_tsvector('{CONFIG}', :{w}), '{w}')" for w in WEIGHTS)
    rows: list[dict[str, Any]] = []
    for case_id, doc in docs.items():
        safe: dict[str, str] = {w: doc[w].translate(ANGLES) for w in WEIGHTS}
        rows.append({"case_id": case_id, "area": doc[AREA], **safe,
                     "content": "\n".join(safe[w] for w in WEIGHTS[1:] if safe[w])})
    conn.execute(text(
        f"INSERT INTO {TABLE} (case_id, borough_code, document) "
        f"VALUES (:case_id, :area, {vector}) "
        "ON CONFLICT (case_id) DO UPDATE SET borough_code = excluded.borough_code, "
        "document = excluded.document"), rows)
    conn.execute(text(
        f"INSERT INTO {TEXT_TABLE} (case_id, content) VALUES (:case_id, :content) "
        "ON CONFLICT (case_id) DO UPDATE SET content = excluded.content"), rows)


def _write_sqlite(conn: Connection, ids: list[int], docs: dict[int, dict[str, str]]) -> None:
    conn.execute(text(f"DELETE FROM {TABLE} WHERE rowid IN ({', '.join(map(str, ids))})"))
    if not docs:
        return
    columns = ", ".join((*FTS_COLUMNS, FTS_BOROUGH))
    values = ", ".join(f":{w}" for w in (*WEIGHTS, AREA))
    conn.execute(text(f"INSERT INTO {TABLE} (rowid, {columns}) VALUES (:case_id, {values})"),
                 [{"case_id": case_id, **doc} for case_id, doc in docs.items()])


def rebuild_all(conn: Connection, sources: Sequence[Source] = SOURCES) -> int:
    """Every case's document (the benchmark's bulk load; a repair). Returns the case count."""
    ids = list(conn.execute(text("SELECT id FROM cases ORDER BY id")).scalars())
    rewrite(conn, ids, sources)
    return len(ids)


def present_sources(conn: Connection) -> list[Source]:
    """The sources whose tables and columns this database has: a migration fills the index
    from what exists at its revision (a later one that adds a source rewrites it again)."""
    inspector = inspect(conn)
    tables = set(inspector.get_table_names())
    present = []
    for source in SOURCES:
        name = source.model.__table__.name
        if name in tables:
            columns = {c["name"] for c in inspector.get_columns(name)}
            if {source.case_key, *source.columns} <= columns:
                present.append(source)
    return present


# --- keeping it current ----------------------------------------------------------------------

_PENDING = "search_pending"


def _changed_sources(session: Session) -> Iterator[tuple[Source, Any, set[Any]]]:
    """(source, row, case ids it belonged to before) for every row whose text may have
    changed in this flush."""
    by_model: dict[type[Any], list[Source]] = defaultdict(list)
    for source in SOURCES:
        by_model[source.model].append(source)
    for row in chain(session.new, session.dirty, session.deleted):
        if isinstance(row, Case) and row not in session.new \
                and attributes.get_history(row, "borough_code").has_changes():
            yield SOURCES[0], row, set()  # moved to another area: its document moves with it
        for source in by_model.get(type(row), ()):
            if row in session.new:
                if source.counts(row):
                    yield source, row, set()
                continue
            if row in session.deleted:
                # (A concern not triaged to a case has none.)
                yield source, row, {getattr(row, source.case_key)} - {None}
                continue
            keys = attributes.get_history(row, source.case_key)
            if keys.has_changes() or any(attributes.get_history(row, c).has_changes()
                                         for c in source.columns):
                yield source, row, {k for k in keys.deleted or () if k is not None}


def _note_changes(session: Session, _context: Any, _instances: Any) -> None:
    pending = session.info.setdefault(_PENDING, [])
    pending.extend(_changed_sources(session))


def _write_changes(session: Session, _context: Any) -> None:
    pending = session.info.pop(_PENDING, [])
    if not pending:
        return
    case_ids: set[int] = set()
    for source, row, before in pending:
        case_ids |= before
        # Known now that the flush has inserted it (a new case's id, a new note's case).
        current = attributes.instance_state(row).dict.get(source.case_key)
        if current is not None:
            case_ids.add(current)
    rewrite(session.connection(), case_ids)


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_PENDING, None)


def install() -> None:
    """Every session keeps the index current inside its own flush, so a rollback takes the
    index back with the change, and a commit makes it findable at once."""
    if not event.contains(Session, "before_flush", _note_changes):
        event.listen(Session, "before_flush", _note_changes)
        event.listen(Session, "after_flush", _write_changes)
        event.listen(Session, "after_soft_rollback", _forget)


install()
