"""Identity-provider groups and the access they give: set by administrators, read at every
sign-in through the provider."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import AuditAction
from app.auth.context import Actor, acting_user
from app.auth.models import SignInGroup
from app.auth.permissions import Perm, require
from app.auth.roles import Role
from app.auth.service import account_scope, administrators_everywhere
from app.errors import FieldError, NotFound, ValidationFailed
from app.usecase import use_case

# When a person's groups give several roles, the one with the most access wins; a tie goes to
# the group whose name sorts first, so the outcome never depends on the claim's order.
ROLE_PRECEDENCE = (Role.ADMIN, Role.SUPERVISOR, Role.ANALYST, Role.EVALUATOR, Role.OFFICER)


@dataclass(frozen=True)
class NewSignInGroup:
    group: str
    role: Role
    borough_code: str | None = None
    force_id: str | None = None


def list_groups(db: Session, actor: Actor) -> list[SignInGroup]:
    require(acting_user(actor), Perm.USER_MANAGE)
    return list(db.scalars(select(SignInGroup).order_by(SignInGroup.group)))


def add_group(db: Session, actor: Actor, new: NewSignInGroup,
              earlier: Iterable[FieldError] = ()) -> SignInGroup:
    require(acting_user(actor), Perm.USER_MANAGE)
    group = new.group.strip()
    errors = list(earlier)
    if not group or len(group) > 255:
        errors.append(FieldError("group", "Enter the group as the identity provider sends it "
                                          "(1 to 255 characters), e.g. its object id."))
    elif db.scalar(select(SignInGroup.id).where(SignInGroup.group == group)) is not None:
        errors.append(FieldError("group", f"The group {group} already gives a role: remove it "
                                          "first to change it."))
    scope = account_scope(db, new.borough_code, new.force_id, errors)
    administrators_everywhere(new.role, scope, errors)
    if errors:
        raise ValidationFailed(errors)
    with use_case(db, actor, AuditAction.SIGNIN_GROUP_ADD, object_type="signin_group",
                  object_ref=group) as done:
        row = SignInGroup(group=group, role=new.role, borough_code=scope[0],
                          force_id=scope[1])
        db.add(row)
        done.flush()
        done.details = {"role": str(row.role), "borough": row.borough_code,
                        "force": row.force_id}
    return row


def remove_group(db: Session, actor: Actor, group_id: int) -> None:
    require(acting_user(actor), Perm.USER_MANAGE)
    row = db.get(SignInGroup, group_id)
    if row is None:
        raise NotFound(f"There is no sign-in group {group_id}.")
    with use_case(db, actor, AuditAction.SIGNIN_GROUP_REMOVE, object_type="signin_group",
                  object_ref=row.group, details={"role": str(row.role)}):
        db.delete(row)


def access_for(db: Session, groups: Iterable[str]) -> SignInGroup | None:
    """The mapping a person's groups give (see ``ROLE_PRECEDENCE``), or None: no access."""
    names = {g for g in groups if isinstance(g, str) and g}
    if not names:
        return None
    rows = db.scalars(select(SignInGroup).where(SignInGroup.group.in_(names)))
    ranked = sorted(rows, key=lambda r: (ROLE_PRECEDENCE.index(r.role), r.group))
    return ranked[0] if ranked else None
