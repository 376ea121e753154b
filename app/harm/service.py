"""Harm-weight tables: load a force's table (from the API's mapping or a CSV file), read the
one in use. One transaction per load; a table is never changed, a new version replaces it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import AuditAction
from app.auth.context import Actor
from app.auth.permissions import Perm, covers_force, has, require
from app.errors import FieldError, NotFound, ValidationFailed
from app.harm.models import HarmTable, HarmWeight
from app.harm.schemas import HarmTableCreate, HarmTableRead
from app.reference.models import Force
from app.sara import harm
from app.usecase import use_case
from app.validation import validate


def in_use(db: Session, force_id: str) -> HarmTable | None:
    """The force's latest table, or None: no weights are ever assumed."""
    return db.scalar(select(HarmTable).where(HarmTable.force_id == force_id)
                     .order_by(HarmTable.id.desc()).limit(1))


def tables(db: Session, actor: Actor, force_id: str) -> list[HarmTable]:
    _readable_force(db, actor, force_id)
    return list(db.scalars(select(HarmTable).where(HarmTable.force_id == force_id)
                           .order_by(HarmTable.id.desc())))


def load_table(db: Session, actor: Actor, force_id: str, data: HarmTableCreate) -> HarmTable:
    """Analysts and administrators of the force, or the command line's operator."""
    user = actor.user
    force = _readable_force(db, actor, force_id)
    if user is not None and not (has(user, Perm.DATA_IMPORT) or has(user, Perm.FORCE_MANAGE)):
        require(user, Perm.DATA_IMPORT, "Only analysts and administrators load harm weights.")
    if problems := harm.table_problems(data.weights):
        raise ValidationFailed([FieldError("weights", p) for p in problems])
    taken = db.scalar(select(HarmTable.id).where(
        HarmTable.force_id == force.id, HarmTable.name == data.name,
        HarmTable.version == data.version))
    if taken:
        raise ValidationFailed.one("version", f"{force.label} already has version "
                                              f"{data.version} of {data.name}: give the new "
                                              "table its own version.")
    with use_case(db, actor, AuditAction.HARM_TABLE_LOAD, object_type="force",
                  object_ref=force.id) as done:
        table = HarmTable(force_id=force.id, name=data.name, version=data.version,
                          source=data.source, note=data.note,
                          loaded_by_id=user.id if user else None,
                          weights=[HarmWeight(category=c, weight=float(w))
                                   for c, w in sorted(data.weights.items())])
        db.add(table)
        done.flush()
        done.details = {"table": table.id, "name": table.name, "version": table.version}
    return table


def load_csv(db: Session, actor: Actor, force_id: str, *, name: str, version: str,
             source: str, note: str, content: bytes) -> HarmTable:
    """A table from its CSV file (format in ``app.sara.harm``); problems name their line."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed.one("file", "The file is not UTF-8 text.") from None
    weights, problems = harm.read_table(text)
    if problems:
        raise ValidationFailed([FieldError("file", f"Line {p.line}: {p.message}" if p.line
                                           else p.message) for p in problems])
    return load_table(db, actor, force_id, validate(HarmTableCreate, {
        "name": name, "version": version, "source": source, "note": note,
        "weights": weights}))


def _readable_force(db: Session, actor: Actor, force_id: str) -> Force:
    force = db.get(Force, force_id)
    if force is None or (actor.user is not None and not covers_force(actor.user, force.id)):
        raise NotFound(f"There is no force {force_id}.")
    return force


def table_read(db: Session, table: HarmTable) -> HarmTableRead:
    current = in_use(db, table.force_id)
    return HarmTableRead(
        id=table.id, force=table.force_id, name=table.name, version=table.version,
        source=table.source, note=table.note, loaded_at=table.loaded_at,
        loaded_by=table.loaded_by.username if table.loaded_by else None,
        in_use=current is not None and current.id == table.id, weights=table.as_map())


def describe(table: HarmTable) -> dict[str, object]:
    """What a snapshot records of the table it weighed by."""
    return {"id": table.id, "name": table.name, "version": table.version,
            "source": table.source, "weights": table.as_map()}
