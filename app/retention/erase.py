"""Erasing a closed case's personal data at disposal, inside the disposal's transaction.

What goes:
- community concerns on the case: the reporter's name or description and their contact;
- the case's partner contacts: unlinked (the person stays in the force's partner directory,
  whose own retire-and-erase rule covers them; the agency stays listed on the case);
- names, e-mail addresses and telephone numbers in every text the case keeps (its own row and
  every table with a ``case_id``), by the case-file redaction's rules: each person the case
  names (officers, members of the public, action owners, partner contacts) becomes the same
  placeholder as in a redacted export;
- attachments' originals (the files as received, with camera metadata and location): removed
  from the store after commit, unless another case's attachment holds the same bytes. A
  photo's shown copy and thumbnail (re-encoded without metadata) stay; a document, whose shown
  copy is the original itself, goes whole.

What stays: codes, dates, categories, geometry, stage history, counts (patrols, outputs,
assessment snapshots), who did what (user ids), and the access log, which is never changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, Enum, String, Table, Text, or_, select, text, update
from sqlalchemy.orm import Session

from app.attachments.models import Attachment, AttachmentKind
from app.cases.models import Case
from app.community.models import Concern
from app.db import Base, rowcount
from app.exports.build import case_file
from app.exports.redact import name_scrubber, scrub_strings
from app.exports.service import known_places
from app.partners.models import CasePartner
from app.search.index import TABLE as SEARCH_TABLE
from app.search.index import rewrite

# Text columns that hold codes, digests or keys, never a person.
KEPT_COLUMNS = frozenset({"ref", "ref_prefix", "category", "sha256", "shown_sha256",
                          "thumb_sha256", "content_type", "key", "link", "borough_code",
                          "ward_code", "force_id"})


def case_scrubber(db: Session, case: Case) -> Callable[[str], str]:
    """The redaction's replacement of everyone the case names (made before erasing, while the
    names are still there to be found)."""
    return name_scrubber(case_file(db, case, contact_details=True), known_places(db))


def erase_personal_data(db: Session, case: Case,
                        scrub: Callable[[str], str]) -> tuple[dict[str, int], list[str]]:
    """Erase the case's personal data (not yet committed): what was erased, counted by kind,
    and the attachment files to remove from the store once the transaction commits."""
    erased = {"concern_reporters": _erase_concerns(db, case),
              "partner_contacts_unlinked": _unlink_contacts(db, case)}
    files = _originals(db, case)
    erased["texts_changed"] = sum(_scrub_table(db, table, case.id, scrub)
                                  for table in _case_tables())
    erased["attachment_files"] = len(files)
    db.expire_all()  # the Core updates above bypassed the session
    _reindex(db, case.id)
    return erased, files


def _reindex(db: Session, case_id: int) -> None:
    """The search index holds the case's text too. SQLite's FTS5 only marks a replaced
    document deleted, its terms staying in the index's segments until they merge: 'optimize'
    merges them all now (a full rewrite of the index: fine for the one station or trial a
    SQLite file serves). PostgreSQL rewrites the document's row."""
    conn = db.connection()
    rewrite(conn, [case_id])
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}) VALUES ('optimize')"))


def _erase_concerns(db: Session, case: Case) -> int:
    result = db.execute(
        update(Concern).where(Concern.case_id == case.id,
                              or_(Concern.raised_by != "", Concern.contact != ""))
        .values(raised_by="", contact=""), execution_options={"synchronize_session": False})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # a CursorResult


def _unlink_contacts(db: Session, case: Case) -> int:
    result = db.execute(
        update(CasePartner).where(CasePartner.case_id == case.id,
                                  CasePartner.contact_id.is_not(None))
        .values(contact_id=None), execution_options={"synchronize_session": False})
    return rowcount(result)


def _originals(db: Session, case: Case) -> list[str]:
    """Digests of the case's original files that no other attachment needs."""
    own = list(db.scalars(select(Attachment).where(Attachment.case_id == case.id)))
    kept = {d for a in own if a.kind is AttachmentKind.PHOTO
            for d in (a.shown_sha256, a.thumb_sha256) if d and d != a.sha256}
    wanted = {a.sha256 for a in own} - kept
    if not wanted:
        return []
    elsewhere = set(db.scalars(select(Attachment.sha256).where(
        Attachment.case_id != case.id, Attachment.sha256.in_(wanted))))
    elsewhere |= set(db.scalars(select(Attachment.shown_sha256).where(
        Attachment.case_id != case.id, Attachment.shown_sha256.in_(wanted))))
    return sorted(wanted - elsewhere)


def _case_tables() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables
            if t.name == Case.__tablename__ or "case_id" in t.c]


def _text_columns(table: Table) -> list[str]:
    return [c.name for c in table.c
            if isinstance(c.type, String | Text | JSON) and not isinstance(c.type, Enum)
            and not c.primary_key and not c.foreign_keys and c.name not in KEPT_COLUMNS]


def _scrub_table(db: Session, table: Table, case_id: int,
                 scrub: Callable[[str], str]) -> int:
    """Rewrite the table's texts of the case where the redaction changes them: how many
    values changed."""
    columns = _text_columns(table)
    if not columns:
        return 0
    key = list(table.primary_key.columns)
    owner = table.c.id if table.name == Case.__tablename__ else table.c.case_id
    changed = 0
    for row in db.execute(select(*key, *(table.c[n] for n in columns)).where(owner == case_id)):
        values = row._mapping
        new = {n: _fit(table, n, _scrubbed(values[n], scrub)) for n in columns}
        new = {n: v for n, v in new.items() if v != values[n]}
        if new:
            db.execute(update(table).where(*(c == values[c.name] for c in key)).values(**new))
            changed += len(new)
    return changed


def _fit(table: Table, name: str, value: Any) -> Any:
    """A placeholder may be longer than the name it replaces: cut to the column's length."""
    length = getattr(table.c[name].type, "length", None)
    return value[:length] if isinstance(value, str) and length else value


def _scrubbed(value: Any, scrub: Callable[[str], str]) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return scrub(value)
    return scrub_strings(value, scrub)
