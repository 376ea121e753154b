"""Operation use cases: set one up, change it, list and read them. Cases join an operation
through the case update (``operation``), so that the move is on the case's timeline."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.service import AuditAction, record
from app.auth.context import Actor
from app.auth.models import User
from app.auth.permissions import Perm, covers_force, require, visible_cases
from app.cases.access import acting_user
from app.cases.models import Case
from app.db import utcnow
from app.errors import FieldError, NotFound, StaleVersion, ValidationFailed
from app.operations.models import Operation
from app.operations.schemas import OperationCreate, OperationUpdate
from app.reference.models import Force


def create_operation(db: Session, actor: Actor, data: OperationCreate) -> Operation:
    user = acting_user(actor)
    require(user, Perm.OPERATION_MANAGE, "Only supervisors and analysts set up operations.")
    _check_name_free(db, data.name)
    force = _running_force(db, user, data.force)
    now = utcnow()
    operation = Operation(name=data.name, description=data.description, unit=data.unit,
                          start_date=data.start_date, end_date=data.end_date, created_at=now,
                          updated_at=now, created_by_id=user.id, force_id=force.id)
    db.add(operation)
    db.flush()
    record(db, actor, AuditAction.OPERATION_CREATE, object_type="operation",
           object_ref=str(operation.id), details={"name": operation.name})
    db.commit()
    return operation


def update_operation(db: Session, actor: Actor, operation_id: int,
                     data: OperationUpdate) -> Operation:
    user = acting_user(actor)
    operation = get_operation(db, actor, operation_id)  # another force's: not found
    require(user, Perm.OPERATION_MANAGE, "Only supervisors and analysts change operations.")
    if data.version != operation.version:
        raise StaleVersion(f"Operation {operation.name} has changed since you opened it.",
                           current_version=operation.version)
    fields = data.model_fields_set - {"version"}
    if "name" in fields and data.name and data.name.lower() != operation.name.lower():
        _check_name_free(db, data.name)
    changed = []
    for name in ("name", "description", "unit", "start_date", "end_date"):
        if name not in fields:
            continue
        value = getattr(data, name)
        if value is None and name in ("name", "start_date"):
            raise ValidationFailed.one(name, "This field cannot be empty.")
        if value is None and name in ("description", "unit"):
            value = ""
        if value != getattr(operation, name):
            setattr(operation, name, value)
            changed.append(name)
    if operation.end_date and operation.end_date < operation.start_date:
        raise ValidationFailed.one("end_date", "The operation must end after it starts.")
    if not changed:
        return operation
    operation.updated_at = utcnow()
    db.flush()
    record(db, actor, AuditAction.OPERATION_UPDATE, object_type="operation",
           object_ref=str(operation.id), details={"fields": changed})
    db.commit()
    return operation


def _running_force(db: Session, user: User, force_id: str | None) -> Force:
    """The force an operation belongs to: the one named, which must be the user's own, or
    else the user's."""
    if force_id is None and user.force_id is None:
        raise ValidationFailed.one("force", "Choose the police force that runs the operation.")
    force = db.get(Force, force_id or user.force_id)
    if force is None or not covers_force(user, force.id):
        raise ValidationFailed.one("force", f"You cannot set up an operation for {force_id}: "
                                            "choose your own force.")
    return force


def _check_name_free(db: Session, name: str) -> None:
    taken = db.scalar(select(Operation.name).where(func.lower(Operation.name) == name.lower()))
    if taken:
        raise ValidationFailed([FieldError("name", f"There is already an operation called "
                                                   f"{taken}.")])


def get_operation(db: Session, actor: Actor, operation_id: int) -> Operation:
    """Operations are known to every case reader of their force; their cases stay within each
    one's scope."""
    user = acting_user(actor)
    require(user, Perm.CASE_READ)
    operation = db.get(Operation, operation_id)
    if operation is None or not covers_force(user, operation.force_id):
        raise NotFound(f"There is no operation {operation_id}.")
    return operation


def list_operations(db: Session, actor: Actor) -> list[tuple[Operation, int]]:
    """Every operation, newest first, with the number of its cases the actor may see."""
    user = acting_user(actor)
    require(user, Perm.CASE_READ)
    counts = (select(Case.operation_id, func.count(Case.id).label("n"))
              .where(visible_cases(user, Case.borough_code), Case.operation_id.is_not(None))
              .group_by(Case.operation_id).subquery())
    query = select(Operation, func.coalesce(counts.c.n, 0))
    if user.force_id is not None:
        query = query.where(Operation.force_id == user.force_id)
    rows = db.execute(query.outerjoin(counts, counts.c.operation_id == Operation.id)
                      .order_by(Operation.start_date.desc(), Operation.id.desc())).all()
    return [(operation, count) for operation, count in rows]


def visible_case_count(db: Session, actor: Actor, operation: Operation) -> int:
    user = acting_user(actor)
    return db.scalar(select(func.count(Case.id)).where(
        Case.operation_id == operation.id, visible_cases(user, Case.borough_code))) or 0
