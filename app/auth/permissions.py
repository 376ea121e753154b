"""The one permission matrix, used by pages, API and CLI alike.

A record the user may not read answers "not found" rather than "forbidden", so that its
existence does not leak. Within what they may read, an action their role does not allow answers
"forbidden".

Scope: officers and supervisors whose account names a home local policing area work in that
area; everyone else reads the areas of their force, or of every force when their account names
none.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, false, or_, select, true

from app.auth.models import User
from app.auth.roles import Role
from app.errors import Forbidden, NotFound
from app.reference.models import Borough


class Perm(StrEnum):
    CASE_READ = "case.read"
    CASE_CREATE = "case.create"
    CASE_PROPOSE = "case.propose"  # open a Scanning case from an analysis (the hotspot finder)
    CASE_EDIT = "case.edit"  # any stage content
    ANALYSIS_EDIT = "case.edit_analysis"  # triangle, hypotheses, summary, baseline
    CASE_NOTE = "case.note"
    CASE_MOVE = "case.move"  # advance through a met gate, send back
    GATE_OVERRIDE = "case.override_gate"
    CASE_CLOSE = "case.close"
    CASE_REOPEN = "case.reopen"
    CASE_ASSIGN = "case.assign"
    CASE_EXPORT = "case.export"
    PATROL_LOG = "case.log_patrols"  # patrols and outputs on a case
    OPERATION_MANAGE = "operations.manage"  # set up operations, put cases into them
    CONCERN_READ = "concerns.read"
    CONCERN_RECORD = "concerns.record"  # record, triage and answer community concerns
    OVERRIDE_REVIEW = "case.review_override"
    CASE_REVIEW = "case.review"  # record a supervisory review of a case's plan
    ASSESSMENT_RUN = "case.run_assessment"  # compute and save an impact assessment
    DATA_IMPORT = "data.import"
    USER_MANAGE = "users.manage"
    TOKEN_MANAGE = "tokens.manage"
    AUDIT_READ = "audit.read"
    FORCE_MANAGE = "forces.manage"  # set up forces' local policing areas and their prefixes
    TEMPLATE_MANAGE = "templates.manage"  # create, version, retire and copy problem templates
    PARTNER_MANAGE = "partners.manage"  # the force's directory of partner agencies
    ATTACHMENT_ADD = "case.attachments.add"  # photos and documents, and their corrections
    # The files as received, with their camera metadata and location: evidence, for the
    # case's own officers and supervisors (others see the copies without metadata).
    ATTACHMENT_ORIGINAL = "case.attachments.original"
    # Review closed cases under the retention rules (MoPI): retain or dispose of their
    # personal data. Supervisors for their area, admins (the force's records managers) for
    # their force; never the officers who worked the case.
    RETENTION_REVIEW = "case.retention.review"


_OFFICER = {
    Perm.CASE_READ, Perm.CASE_CREATE, Perm.CASE_PROPOSE, Perm.CASE_EDIT, Perm.ANALYSIS_EDIT,
    Perm.CASE_NOTE, Perm.CASE_MOVE, Perm.PATROL_LOG, Perm.CONCERN_READ, Perm.CONCERN_RECORD,
    Perm.ASSESSMENT_RUN, Perm.ATTACHMENT_ADD, Perm.ATTACHMENT_ORIGINAL,
}
ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.OFFICER: frozenset(_OFFICER),
    Role.SUPERVISOR: frozenset(
        _OFFICER | {Perm.GATE_OVERRIDE, Perm.CASE_CLOSE, Perm.CASE_REOPEN, Perm.CASE_ASSIGN,
                    Perm.OPERATION_MANAGE, Perm.OVERRIDE_REVIEW, Perm.TEMPLATE_MANAGE,
                    Perm.CASE_REVIEW, Perm.PARTNER_MANAGE, Perm.RETENTION_REVIEW}
    ),
    # An analyst proposes problems found in the data (a Scanning case, for the borough to own)
    # and, for central operations, chooses which hotspot cases an operation works.
    Role.ANALYST: frozenset({Perm.CASE_READ, Perm.ANALYSIS_EDIT, Perm.DATA_IMPORT,
                             Perm.CASE_PROPOSE, Perm.OPERATION_MANAGE, Perm.CONCERN_READ,
                             Perm.ASSESSMENT_RUN, Perm.TEMPLATE_MANAGE,
                             Perm.PARTNER_MANAGE}),
    Role.EVALUATOR: frozenset({Perm.CASE_READ, Perm.CASE_EXPORT, Perm.CONCERN_READ}),
    Role.ADMIN: frozenset({Perm.USER_MANAGE, Perm.TOKEN_MANAGE, Perm.AUDIT_READ,
                           Perm.FORCE_MANAGE, Perm.PARTNER_MANAGE,
                           Perm.RETENTION_REVIEW}),
}
# Roles that work within a home local policing area; the others read across their force.
BOROUGH_SCOPED = frozenset({Role.OFFICER, Role.SUPERVISOR})
# Roles that can own a case.
CASE_OWNER_ROLES = frozenset({Role.OFFICER, Role.SUPERVISOR})


def has(user: User, perm: Perm) -> bool:
    return user.active and perm in ROLE_PERMISSIONS[user.role]


def require(user: User, perm: Perm, message: str = "") -> None:
    if not has(user, perm):
        raise Forbidden(message or f"Your role ({user.role.label}) does not allow this.")


def home_area(user: User) -> str | None:
    """The one local policing area an officer or supervisor works in, if their account names
    one."""
    return user.borough_code if user.role in BOROUGH_SCOPED else None


def scope_of(user: User) -> str:
    """The areas a user may see, in a word: their home area's code, their force's police.uk id,
    or "all"."""
    return home_area(user) or user.force_id or "all"


def covers_force(user: User, force_id: str | None) -> bool:
    """Whether the user works in a force's areas (every force's, when the account names none)."""
    return user.force_id is None or user.force_id == force_id


def covers_borough(user: User, borough: Borough) -> bool:
    """Whether the user's scope includes a local policing area (for reading and for owning
    cases)."""
    home = home_area(user)
    if home is not None:
        return home == borough.code
    return covers_force(user, borough.force_id)


def can_read_case(user: User, borough: Borough) -> bool:
    return has(user, Perm.CASE_READ) and covers_borough(user, borough)


def visible_cases(user: User, borough_column: SQLColumnExpression[str]) -> ColumnElement[bool]:
    """SQL condition for the cases a user may see: lists use it, so they hold nothing else."""
    return visible(user, Perm.CASE_READ, borough_column)


def visible(user: User, perm: Perm,
            borough_column: SQLColumnExpression[str | None]) -> ColumnElement[bool]:
    """SQL condition for the rows of a borough-scoped kind (cases, concerns) a user may read
    with ``perm``."""
    if not has(user, perm):
        return false()
    home = home_area(user)
    if home is not None:
        return borough_column == home
    if user.force_id is not None:
        return borough_column.in_(select(Borough.code).where(Borough.force_id == user.force_id))
    return true()


def can_read_operation(user: User, force_id: str, borough: Borough | None) -> bool:
    """An operation owned by a local policing area is read where that area's cases are read;
    a force-wide one (no owning area) by every case reader of its force."""
    if not has(user, Perm.CASE_READ):
        return False
    if borough is None:
        home = home_area(user)
        return covers_force(user, force_id) and (home is None or user.force_id is not None)
    return covers_borough(user, borough)


def can_change_operation(user: User, force_id: str, borough: Borough | None) -> bool:
    """Only the owner changes an operation: the owning area's supervisors, and the force's
    analysts and supervisors who work across the force (a force-wide one is theirs alone)."""
    if not has(user, Perm.OPERATION_MANAGE) or not covers_force(user, force_id):
        return False
    home = home_area(user)
    if borough is None:
        return home is None
    return home is None or home == borough.code


def visible_operations(user: User, force_column: SQLColumnExpression[str],
                       borough_column: SQLColumnExpression[str | None]) -> ColumnElement[bool]:
    """SQL condition for the operations a user may read (as ``can_read_operation``)."""
    if not has(user, Perm.CASE_READ):
        return false()
    by_area = visible(user, Perm.CASE_READ, borough_column)
    if user.force_id is None and home_area(user) is not None:
        force_wide: ColumnElement[bool] = false()  # a home area without a force: its own
    elif user.force_id is None:
        force_wide = true()
    else:
        force_wide = force_column == user.force_id
    return or_(and_(borough_column.is_not(None), by_area),
               and_(borough_column.is_(None), force_wide))


def require_case(user: User, ref: str, borough: Borough, perm: Perm = Perm.CASE_READ) -> None:
    if not can_read_case(user, borough):
        raise NotFound(f"There is no case {ref}.")
    require(user, perm)
