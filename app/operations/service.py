"""Operation use cases: set one up, change it, list and read them. Cases join an operation
through the case update (``operation``), so that the move is on the case's timeline."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.service import AuditAction
from app.auth.context import Actor
from app.auth.models import User
from app.auth.permissions import (
    Perm,
    can_change_operation,
    can_read_operation,
    covers_force,
    home_area,
    require,
    visible_cases,
    visible_operations,
)
from app.cases.access import acting_user
from app.cases.models import Case
from app.db import utcnow
from app.errors import FieldError, Forbidden, NotFound, StaleVersion, ValidationFailed
from app.operations.models import Operation
from app.operations.schemas import OperationCreate, OperationUpdate
from app.reference.models import Borough, Force
from app.reference.service import unknown_area
from app.usecase import use_case


def create_operation(db: Session, actor: Actor, data: OperationCreate) -> Operation:
    """Set up an operation, owned by the area named (by default the creator's home area, or
    the force for those who work across it): only for an owner the creator may change."""
    user = acting_user(actor)
    require(user, Perm.OPERATION_MANAGE, "Only supervisors and analysts set up operations.")
    _check_name_free(db, data.name)
    chosen = data.borough if "borough" in data.model_fields_set else home_area(user)
    borough = _area(db, chosen)
    force = _running_force(db, user, data.force or (borough.force_id if borough else None))
    _check_owner(db, user, force, borough)
    now = utcnow()
    with use_case(db, actor, AuditAction.OPERATION_CREATE, object_type="operation") as done:
        operation = Operation(name=data.name, description=data.description, unit=data.unit,
                              start_date=data.start_date, end_date=data.end_date,
                              created_at=now, updated_at=now, created_by_id=user.id,
                              force_id=force.id, borough_code=borough.code if borough else None)
        operation.force, operation.borough = force, borough
        db.add(operation)
        done.flush()
        done.object_ref = str(operation.id)
        done.details = {"name": operation.name, "borough": operation.borough_code}
    return operation


def update_operation(db: Session, actor: Actor, operation_id: int,
                     data: OperationUpdate) -> Operation:
    user = acting_user(actor)
    operation = get_operation(db, actor, operation_id)  # out of reading scope: not found
    require_change(user, operation)
    if data.version != operation.version:
        raise StaleVersion(f"Operation {operation.name} has changed since you opened it.",
                           current_version=operation.version)
    fields = data.model_fields_set - {"version"}
    if "name" in fields and data.name and data.name.lower() != operation.name.lower():
        _check_name_free(db, data.name)
    changed: list[str] = []
    with use_case(db, actor, AuditAction.OPERATION_UPDATE, object_type="operation",
                  object_ref=str(operation.id)) as done:
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
        if "borough" in fields and data.borough != operation.borough_code:
            _hand_over(db, user, operation, _area(db, data.borough))
            changed.append("borough")
        if not changed:
            done.unchanged()
            return operation
        operation.updated_at = utcnow()
        done.details = {"fields": changed}
    return operation


def may_change(user: User | None, operation: Operation) -> bool:
    """Whether the user may change the operation (pages offer its change controls)."""
    return user is not None and can_change_operation(user, operation.force_id,
                                                     operation.borough)


def require_change(user: User, operation: Operation) -> None:
    """Refuse (forbidden) anyone but the operation's owner: its area's supervisors, the
    force's analysts and supervisors who work across the force."""
    if may_change(user, operation):
        return
    force = operation.force.label
    if operation.borough is None:
        raise Forbidden(f"Operation {operation.name} is run by {force} as a whole: only its "
                        "analysts and the supervisors who work across the force change it.")
    area = operation.borough.label
    raise Forbidden(f"Operation {operation.name} is run by {area}: only {area}'s supervisors "
                    f"and {force}'s analysts change it.")


def holds(operation: Operation, borough: Borough) -> str:
    """Why a case of that area cannot be in the operation ("" when it can)."""
    if operation.force_id != borough.force_id:
        return (f"{operation.name} is run by {operation.force.label}: a case in "
                f"{borough.label} cannot join it.")
    if operation.borough is not None and operation.borough_code != borough.code:
        return (f"{operation.name} is run by {operation.borough.label}: only its cases can "
                f"join it, not one in {borough.label}.")
    return ""


def _area(db: Session, code: str | None) -> Borough | None:
    if code is None:
        return None
    borough = db.get(Borough, code)
    if borough is None:
        raise ValidationFailed.one("borough", unknown_area(code))
    return borough


def _check_owner(db: Session, user: User, force: Force, borough: Borough | None) -> None:
    """The owner must be one the user could change, and lie in the operation's force."""
    if borough is not None and borough.force_id != force.id:
        raise ValidationFailed.one("borough", f"{borough.label} is an area of another force "
                                              f"than {force.label}.")
    if can_change_operation(user, force.id, borough):
        return
    home = _area(db, home_area(user))
    mine = f" Choose your own area, {home.label}." if home else ""
    if borough is None:
        raise ValidationFailed.one("borough", "Only those who work across the force set up "
                                              f"or run a force-wide operation.{mine}")
    raise ValidationFailed.one("borough", f"You cannot run an operation for {borough.label}."
                                          f"{mine}")


def _hand_over(db: Session, user: User, operation: Operation, borough: Borough | None) -> None:
    """A new owner: one the user could change, and that holds every case of the operation."""
    _check_owner(db, user, operation.force, borough)
    if borough is not None:
        elsewhere = db.scalar(select(func.count(Case.id)).where(
            Case.operation_id == operation.id, Case.borough_code != borough.code)) or 0
        if elsewhere:
            raise ValidationFailed.one("borough", f"{elsewhere} of the operation's cases "
                                                  f"lie outside {borough.label}: an area runs "
                                                  "only an operation of its own cases.")
    operation.borough_code, operation.borough = (borough.code if borough else None), borough


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
    """An operation is read where its owner's cases are read (a force-wide one across its
    force); elsewhere it is not found, as a case is. Its cases stay within each one's scope."""
    user = acting_user(actor)
    require(user, Perm.CASE_READ)
    operation = db.get(Operation, operation_id)
    if operation is None or not can_read_operation(user, operation.force_id,
                                                   operation.borough):
        raise NotFound(f"There is no operation {operation_id}.")
    return operation


def list_operations(db: Session, actor: Actor, *, borough: str | None = None,
                    force: str | None = None) -> list[tuple[Operation, int]]:
    """The operations the actor may read, newest first, with the number of their cases the
    actor may see; ``borough`` keeps those that area runs, ``force`` those of that force."""
    user = acting_user(actor)
    require(user, Perm.CASE_READ)
    counts = (select(Case.operation_id, func.count(Case.id).label("n"))
              .where(visible_cases(user, Case.borough_code), Case.operation_id.is_not(None))
              .group_by(Case.operation_id).subquery())
    query = select(Operation, func.coalesce(counts.c.n, 0)).where(
        visible_operations(user, Operation.force_id, Operation.borough_code))
    if borough is not None:
        _area(db, borough)  # an unknown code is refused
        query = query.where(Operation.borough_code == borough)
    if force is not None:
        if db.get(Force, force) is None:
            raise ValidationFailed.one("force", f"There is no police force {force}.")
        query = query.where(Operation.force_id == force)
    rows = db.execute(query.outerjoin(counts, counts.c.operation_id == Operation.id)
                      .order_by(Operation.start_date.desc(), Operation.id.desc())).all()
    return [(operation, count) for operation, count in rows]


def visible_case_count(db: Session, actor: Actor, operation: Operation) -> int:
    user = acting_user(actor)
    return db.scalar(select(func.count(Case.id)).where(
        Case.operation_id == operation.id, visible_cases(user, Case.borough_code))) or 0
