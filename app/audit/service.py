"""Writing, searching and verifying the access log.

Each entry's hash covers its fields and the previous entry's hash, so changing or removing any
entry breaks the chain from that point. Entries are written inside the transaction of the use
case they record: the change and its log entry commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from app.audit.autocheckpoint import note_position
from app.audit.models import AuditEntry, AuditHead
from app.auth.context import Actor, acting_user
from app.auth.permissions import Perm, require
from app.db import utcnow
from app.observability.metrics import note_access_entry


class AuditAction(StrEnum):
    SIGNIN = "signin"
    SIGNIN_FAILED = "signin.failed"
    SIGNIN_REFUSED = "signin.refused"  # a deactivated account
    SIGNIN_THROTTLED = "signin.throttled"  # too many failures from that address: asked to wait
    SIGNOUT = "signout"
    CASE_LIST = "case.list"
    SHIFT_VIEW = "shift.view"  # an officer's shift page: their cases, patrol and outputs
    CASE_VIEW = "case.view"
    CASE_CREATE = "case.create"
    CASE_UPDATE = "case.update"
    CASE_MOVE = "case.move"
    CASE_NOTE = "case.note"
    HYPOTHESIS_ADD = "case.hypothesis.add"
    HYPOTHESIS_UPDATE = "case.hypothesis.update"
    ACTION_ADD = "case.action.add"
    ACTION_UPDATE = "case.action.update"
    PATROL_START = "case.patrol.start"
    PATROL_END = "case.patrol.end"
    PATROL_ADD = "case.patrol.add"
    PATROL_CORRECT = "case.patrol.correct"
    PATROL_DISCARD = "case.patrol.discard"
    OUTPUT_RECORD = "case.output.record"
    OUTPUT_CORRECT = "case.output.correct"
    OVERRIDE_REVIEW = "case.override.review"
    CASE_REVIEW = "case.review"  # a supervisory review of the plan
    CASE_REVIEWS_VIEW = "case.reviews.view"
    ATTACHMENT_ADD = "case.attachment.add"
    ATTACHMENTS_VIEW = "case.attachments.view"
    ATTACHMENT_DOWNLOAD = "case.attachment.download"  # a file: shown copy, thumbnail, original
    CADENCE_UPDATE = "force.review_cadence"
    RETENTION_PERIODS = "force.retention_periods"
    RETENTION_QUEUE = "retention.queue"
    RETENTION_VIEW = "case.retention.view"
    RETENTION_RETAIN = "case.retention.retain"
    CASE_DISPOSE = "case.dispose"  # a closed case's personal data erased under MoPI
    ASSESSMENT_RUN = "case.assessment.run"
    EVALUATION_VIEW = "operation.evaluation"
    OPERATION_CREATE = "operation.create"
    OPERATION_UPDATE = "operation.update"
    OPERATION_VIEW = "operation.view"
    OPERATION_LIST = "operation.list"
    ALLOCATION_VIEW = "operation.allocation.view"
    ALLOCATION_MAKE = "operation.allocation"  # hotspots randomised to patrols or comparison
    OPERATION_CELLS = "operation.cells"  # a search's top cells opened as an operation's cases
    HARM_TABLE_LOAD = "force.harm_table"
    STATS_VIEW = "stats.view"
    QUEUE_VIEW = "queue.view"
    CONCERN_RECORD = "concern.record"
    CONCERN_LIST = "concern.list"
    CONCERN_VIEW = "concern.view"
    CONCERN_TRIAGE = "concern.triage"
    CONCERN_ANSWER = "concern.answer"
    CASE_EXPORT = "case.export"
    OPEN_WORK_VIEW = "user.open_work"  # a person's open cases and actions, listed
    HANDOVER = "user.handover"  # all of a person's open work moved to others
    CASE_IMPORT = "case.import"
    OPERATION_EXPORT = "operation.export"
    DATA_IMPORT = "data.import"
    HOTSPOTS = "crime.hotspots"
    CRIME_COUNTS = "crime.counts"  # a force's crime counted by local policing area
    CRIME_PICTURE = "case.crime_picture"
    CASE_MAP = "case.map"  # the case's areas and crimes as a map layer
    ASSESSMENT_PROPOSAL = "case.assessment.proposal"
    AREA_LIST = "area.list"
    AREA_VIEW = "area.view"
    DEMO_LOAD = "demo.load"
    USER_CREATE = "user.create"
    USER_UPDATE = "user.update"
    AREA_UPDATE = "area.update"  # a local policing area's reference prefix
    SIGNIN_GROUP_ADD = "signin_group.add"  # an identity-provider group given a role
    SIGNIN_GROUP_REMOVE = "signin_group.remove"
    TOKEN_CREATE = "token.create"
    TOKEN_REVOKE = "token.revoke"
    AUDIT_SEARCH = "audit.search"
    AUDIT_EXPORT = "audit.export"
    THROTTLING_VIEW = "audit.throttling"  # an administrator's view of sign-in throttling
    NOTIFICATIONS_PRODUCE = "notifications.produce"
    NOTIFICATIONS_EMAIL = "notifications.email"  # an e-mail handed to the SMTP server
    NOTIFICATIONS_LIST = "notifications.list"
    NOTIFICATIONS_READ = "notifications.read"  # marked as read
    NOTIFICATIONS_PREFERENCES = "notifications.preferences"
    TEMPLATE_CREATE = "template.create"  # also a copy to a force
    TEMPLATE_VERSION = "template.version"
    TEMPLATE_RETIRE = "template.retire"
    TEMPLATE_RESTORE = "template.restore"
    PARTNER_LIST = "partner.list"  # the directory, contact details included
    PARTNER_VIEW = "partner.view"
    PARTNER_CREATE = "partner.create"
    PARTNER_UPDATE = "partner.update"  # also its retirement
    CONTACT_ADD = "partner.contact.add"
    CONTACT_UPDATE = "partner.contact.update"
    CONTACT_ERASE = "partner.contact.erase"  # a retired contact's personal fields erased
    CASE_PARTNERS_VIEW = "case.partners.view"
    CASE_PARTNER_ADD = "case.partner.add"
    CASE_PARTNER_UPDATE = "case.partner.update"
    CASE_PARTNER_REMOVE = "case.partner.remove"
    DB_BACKUP = "db.backup"  # a copy of the whole database taken (popcase db backup)
    DB_RESTORE = "db.restore"  # the database restored from a backup into an empty one


def record_read(db: Session, actor: Actor | None, action: AuditAction, *, object_type: str = "",
                object_ref: str = "", details: dict[str, Any] | None = None) -> None:
    """A consultation of case data (DPA 2018 s.62): logged and committed on its own, as the
    read itself changes nothing. The caller serves the data only after this returns, so no
    read is served without its entry. In a request that reads on SQLite the entry is a short
    write transaction of its own: the read ran without the write lock, which is taken only
    here (``app.db.reading_session``)."""
    record(db, actor, action, object_type=object_type, object_ref=object_ref, details=details)
    db.commit()


HASHED_FIELDS = (
    "seq", "at", "actor_id", "actor", "action", "object_type", "object_ref", "request_id",
    "client_addr", "justification", "details",
)


def entry_hash(fields: dict[str, Any], prev_hash: str) -> str:
    payload = {name: fields[name] for name in HASHED_FIELDS}
    payload["at"] = fields["at"].astimezone(UTC).isoformat(timespec="microseconds")
    payload["prev_hash"] = prev_hash
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record(
    db: Session,
    actor: Actor | None,
    action: AuditAction,
    *,
    object_type: str = "",
    object_ref: str = "",
    justification: str = "",
    details: dict[str, Any] | None = None,
    actor_name: str | None = None,
) -> AuditEntry:
    """Append one entry to the chain, in the caller's transaction (the caller commits)."""
    # Taking the next position locks the head row on PostgreSQL until commit: writers queue
    # here instead of forking the chain. (On SQLite a transaction holds the write lock by its
    # first write: taken at BEGIN, or before this UPDATE in a reading session; see app.db.)
    seq, prev_hash = db.execute(
        update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.hash)
    ).one()
    note_position(db, seq)  # for a checkpoint every N entries, written after the commit
    note_access_entry(db)  # counted in the metrics once committed
    user = actor.user if actor else None
    fields: dict[str, Any] = {
        "seq": seq,
        "at": utcnow(),
        "actor_id": user.id if user else None,
        "actor": actor_name if actor_name is not None else (actor.username if actor else ""),
        "action": str(action),
        "object_type": object_type,
        "object_ref": object_ref,
        "request_id": actor.request_id if actor else "",
        "client_addr": actor.client_addr if actor else "",
        "justification": justification,
        "details": details or {},
    }
    digest = entry_hash(fields, prev_hash)
    entry = AuditEntry(**fields, prev_hash=prev_hash, hash=digest)
    db.add(entry)
    db.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=digest))
    return entry


@dataclass(frozen=True)
class ChainReport:
    intact: bool
    checked: int
    broken_seq: int | None = None
    problem: str = ""


def verify_chain(db: Session, batch: int = 2000) -> ChainReport:
    """Recompute the chain from the first entry; stop at the first broken link."""
    head = db.get(AuditHead, 1)
    prev_hash, expected_seq, checked = "0" * 64, 1, 0
    for entry in _stream(db, batch):
        fields = {name: getattr(entry, name) for name in HASHED_FIELDS}
        if entry.seq != expected_seq:
            return ChainReport(False, checked, expected_seq,
                               f"entry {expected_seq} is missing (next found: {entry.seq})")
        if entry.prev_hash != prev_hash:
            return ChainReport(False, checked, entry.seq,
                               f"entry {entry.seq} does not link to entry {entry.seq - 1}")
        if entry_hash(fields, prev_hash) != entry.hash:
            return ChainReport(False, checked, entry.seq,
                               f"entry {entry.seq} was changed after it was written")
        prev_hash, expected_seq, checked = entry.hash, expected_seq + 1, checked + 1
    if head is None or head.seq != checked or head.hash != prev_hash:
        return ChainReport(False, checked, checked + 1,
                           f"the log ends at entry {checked} but its head records entry "
                           f"{head.seq if head else '?'}: entries were removed")
    return ChainReport(True, checked)


def _stream(db: Session, batch: int) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = list(db.scalars(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ))
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        db.expunge_all()


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None
    object_ref: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def _without_nul(text: str | None) -> str | None:
    return text.replace("\x00", "") if text is not None else None


def _filtered(query: AuditQuery) -> Select[AuditEntry]:
    query = replace(query, actor=_without_nul(query.actor), action=_without_nul(query.action),
                    object_ref=_without_nul(query.object_ref))
    stmt = select(AuditEntry)
    if query.actor:
        stmt = stmt.where(AuditEntry.actor == query.actor.strip().lower())
    if query.action:
        stmt = stmt.where(AuditEntry.action.startswith(query.action.strip()))
    if query.object_ref:
        stmt = stmt.where(AuditEntry.object_ref == query.object_ref.strip().upper())
    if query.date_from:
        stmt = stmt.where(AuditEntry.at >= datetime.combine(query.date_from, time(), UTC))
    if query.date_to and query.date_to < date.max:  # the last date there is: no upper bound
        end = datetime.combine(query.date_to + timedelta(days=1), time(), UTC)
        stmt = stmt.where(AuditEntry.at < end)
    return stmt


def search_log(db: Session, actor: Actor, query: AuditQuery, *, limit: int,
               offset: int) -> tuple[list[AuditEntry], int]:
    """An administrator's search of the log; the search itself is logged."""
    require(acting_user(actor), Perm.AUDIT_READ)
    entries, total = search(db, query, limit=limit, offset=offset)
    record(db, actor, AuditAction.AUDIT_SEARCH, object_type="audit_log",
           details={"query": _query_details(query), "total": total})
    db.commit()
    return entries, total


def start_export(db: Session, actor: Actor, query: AuditQuery) -> None:
    """Check and log an export of the log (the rows are then streamed by ``iter_matching``)."""
    require(acting_user(actor), Perm.AUDIT_READ)
    record(db, actor, AuditAction.AUDIT_EXPORT, object_type="audit_log",
           details={"query": _query_details(query)})
    db.commit()


def _query_details(query: AuditQuery) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v)
            for k, v in vars(query).items() if v}


def search(db: Session, query: AuditQuery, *, limit: int,
           offset: int) -> tuple[list[AuditEntry], int]:
    stmt = _filtered(query)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(AuditEntry.seq.desc()).limit(limit).offset(offset))
    return list(rows), total


def iter_matching(db: Session, query: AuditQuery, batch: int = 2000) -> Iterator[AuditEntry]:
    """Every matching entry, oldest first, fetched in batches (for CSV export)."""
    last = 0
    stmt = _filtered(query)
    while True:
        rows = list(db.scalars(
            stmt.where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ))
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


CSV_COLUMNS = ["seq", "at", "actor", "action", "object_type", "object_ref", "justification",
               "request_id", "client_addr", "details", "prev_hash", "hash"]


def csv_row(entry: AuditEntry) -> list[Any]:
    """An entry's cells (``app.csvfile`` protects its text)."""
    return [entry.seq, entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
            entry.actor, entry.action, entry.object_type, entry.object_ref,
            entry.justification, entry.request_id, entry.client_addr,
            json.dumps(entry.details, sort_keys=True, ensure_ascii=False),
            entry.prev_hash, entry.hash]
