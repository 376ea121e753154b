"""Case use cases: open, read, list, change. Each call is one transaction with its audit entry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from markupsafe import Markup
from pydantic import BaseModel
from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    and_,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import case as sql_case
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.auth.models import User
from app.auth.permissions import (
    CASE_OWNER_ROLES,
    Perm,
    can_read_operation,
    covers_borough,
    require,
    visible_cases,
)
from app.cases.access import (
    acting_user,
    case_for,
    ensure_open,
    ensure_version,
    stale_guard,
)
from app.cases.models import (
    Action,
    Case,
    CaseCheers,
    CaseEvent,
    CaseTriangleSide,
    EventKind,
    RefCounter,
)
from app.cases.schemas import CaseCreate, CaseFilters, CaseUpdate, CheersInput
from app.clock import today
from app.db import utcnow
from app.errors import FieldError, ValidationFailed
from app.operations.models import AllocationUnit, Operation
from app.operations.service import holds, require_change
from app.problem_templates.service import apply_template, version_for_new_case
from app.reference.models import Borough, Ward
from app.reference.service import check_places, unknown_area
from app.reviews.schedule import reschedule_for_priority, schedule_new_case
from app.sara.cheers import CheersElement
from app.sara.problem import Priority
from app.sara.responses import ActionStatus
from app.sara.reviews import DUE_SOON_DAYS
from app.sara.stages import Stage
from app.sara.triangle import TriangleSide
from app.search import query as search
from app.usecase import use_case

REF_ATTEMPTS = 5
# Fields an analyst may change (with hypotheses, through their own use cases).
ANALYSIS_FIELDS = frozenset({"triangle", "analysis_summary", "baseline_start", "baseline_end",
                             "crime_types", "buffer_width_m", "control_area"})
FIELD_LABELS = {
    "title": "title", "problem_statement": "problem statement", "category": "category",
    "borough": "borough", "ward": "ward", "priority": "priority", "source": "source",
    "team": "team", "owner": "owner", "target_area": "target area", "cheers": "CHEERS",
    "triangle": "problem analysis triangle", "analysis_summary": "analysis summary",
    "baseline_start": "baseline start", "baseline_end": "baseline end",
    "response_plan": "response plan", "process_evaluation": "process evaluation",
    "impact_evaluation": "impact evaluation", "outcome": "outcome",
    "impact_none_reason": "why no impact figures are possible",
    "lessons_learned": "lessons learned", "buffer_width_m": "buffer width",
    "control_area": "control area", "crime_types": "crime types analysed",
    "planned_patrol_minutes": "planned patrol dosage", "operation": "operation",
}


# --- open a case -------------------------------------------------------------------------------

def create_case(db: Session, actor: Actor, data: CaseCreate, *,
                via: Perm = Perm.CASE_CREATE) -> Case:
    """Open a case in Scanning. ``via`` CASE_PROPOSE: opened from an analysis (the hotspot
    finder), which analysts may do too; the borough then assigns an owner."""
    return open_case(db, actor, data, via=via, commit=True)


def open_case(db: Session, actor: Actor, data: CaseCreate, *,
              via: Perm = Perm.CASE_CREATE, commit: bool = False) -> Case:
    """``create_case`` without the commit (unless ``commit``), for use cases that open a case
    as one of their steps (a community concern triaged into a new case)."""
    user = acting_user(actor)
    require(user, via)
    template = version_for_new_case(db, user, data.template) if data.template else None
    # The schema asks for a category when no template gives one.
    category = data.category or (template.category if template else "")
    priority = template.priority if template and "priority" not in data.model_fields_set \
        else data.priority
    borough, ward = _place(db, user, data.borough, data.ward)
    owner = _owner_for_new_case(db, user, data.owner, borough)
    now = utcnow()
    with use_case(db, actor, AuditAction.CASE_CREATE, object_type="case",
                  commit=commit) as done:
        case = Case(
            title=data.title, problem_statement=data.problem_statement, category=category,
            priority=priority, source=data.source, borough_code=borough.code,
            ward_code=ward.code if ward else None, team=data.team,
            owner_id=owner.id if owner else None, stage=Stage.SCANNING, stage_entered_at=now,
            created_at=now, updated_at=now, last_activity_at=now, created_by_id=user.id,
            cheers=[CaseCheers(element=e, met=_given(data, e).met,
                               evidence=_given(data, e).evidence) for e in CheersElement],
            triangle=[CaseTriangleSide(side=s) for s in TriangleSide],
        )
        if data.target_area:
            _set_target_area(case, data.target_area.model_dump())
        if template:
            apply_template(case, template, today())
        schedule_new_case(db, case, borough.force_id)
        allocate_ref(db, case, borough, now.year)
        opened = f"Opened {case.ref} in Scanning"
        source = {"template": template.template.slug, "version": template.version} \
            if template else {}
        done.event(EventKind.CREATED,
                   f"{opened} from template {template.label}" if template else opened,
                   case=case, details=source)
        done.object_ref, done.details = case.ref, source or None
    return case


def _given(data: CaseCreate, element: CheersElement) -> CheersInput:
    return (data.cheers or {}).get(element) or CheersInput()


def allocate_ref(db: Session, case: Case, borough: Borough, year: int) -> None:
    number = _next_number(db, borough.ref_prefix, year)
    case.ref_prefix, case.ref_year, case.ref_number = borough.ref_prefix, year, number
    case.ref = f"{borough.ref_prefix}-{year}-{number:04d}"
    db.add(case)
    db.flush()


def _next_number(db: Session, prefix: str, year: int) -> int:
    """The next case number for a prefix and year, from its counter row (created on first use;
    if two transactions create it at once, the loser takes the update path)."""
    for _ in range(REF_ATTEMPTS):
        number: int | None = db.scalar(
            update(RefCounter)
            .where(RefCounter.prefix == prefix, RefCounter.year == year)
            .values(last_number=RefCounter.last_number + 1)
            .returning(RefCounter.last_number),
            execution_options={"synchronize_session": False},
        )
        if number is not None:
            return number
        savepoint = db.begin_nested()
        try:
            db.execute(insert(RefCounter).values(prefix=prefix, year=year, last_number=1))
        except IntegrityError:
            savepoint.rollback()
            continue
        savepoint.commit()
        return 1
    raise RuntimeError("could not allocate a case reference; try again")


def _place(db: Session, user: User, borough_code: str,
           ward_code: str | None) -> tuple[Borough, Ward | None]:
    borough = db.get(Borough, borough_code)
    if borough is None:
        raise ValidationFailed.one("borough", unknown_area(borough_code))
    if not covers_borough(user, borough):
        raise ValidationFailed.one("borough", "You can work only on cases in your own area.")
    ward = None
    if ward_code:
        ward = db.get(Ward, ward_code)
        if ward is None or ward.borough_code != borough.code:
            raise ValidationFailed.one("ward", f"{ward_code} is not a ward of {borough.name}.")
    return borough, ward


def _owner_for_new_case(db: Session, user: User, username: str | None,
                        borough: Borough) -> User | None:
    if username is None or username == user.username:
        return user if user.role in CASE_OWNER_ROLES else None
    require(user, Perm.CASE_ASSIGN, "Only a supervisor can make someone else the owner.")
    return _eligible_owner(db, username, borough)


def _eligible_owner(db: Session, username: str, borough: Borough) -> User:
    owner = db.scalar(select(User).where(User.username == username))
    if owner is None or not owner.active:
        raise ValidationFailed.one("owner", f"There is no active user {username}.")
    if owner.role not in CASE_OWNER_ROLES or not covers_borough(owner, borough):
        raise ValidationFailed.one(
            "owner", f"{owner.display_name} cannot own a case in {borough.name}: owners are "
                     "officers or supervisors of the case's area.")
    return owner


def _set_target_area(case: Case, area: dict[str, Any] | None) -> None:
    case.target_area_name = (area or {}).get("name", "")
    case.target_geometry = (area or {}).get("geometry")
    case.target_radius_m = (area or {}).get("radius_m")


# --- read --------------------------------------------------------------------------------------

def view_case(db: Session, actor: Actor, ref: str) -> Case:
    """A case opened for reading: the consultation goes into the access log."""
    case = case_for(db, actor, ref)
    record_read(db, actor, AuditAction.CASE_VIEW, object_type="case", object_ref=case.ref)
    return case


def timeline(db: Session, case: Case) -> list[CaseEvent]:
    """Newest first. The caller has already read the case through ``case_for``."""
    return list(db.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id)
        .order_by(CaseEvent.at.desc(), CaseEvent.id.desc())
    ))


# --- change ------------------------------------------------------------------------------------

def update_case(db: Session, actor: Actor, ref: str, data: CaseUpdate) -> Case:
    user = acting_user(actor)
    fields = data.model_fields_set - {"version"}
    case = case_for(db, actor, ref, _permission_for(fields))
    ensure_open(case)
    ensure_version(case, data.version)
    with use_case(db, actor, AuditAction.CASE_UPDATE, case=case) as done:
        changed = _apply_update(db, user, case, data, fields)
        if not changed:
            done.unchanged()
            return case
        case.updated_at = utcnow()
        with stale_guard(db, case):
            db.flush()
        done.event(EventKind.EDITED, "Changed " + ", ".join(changed),
                   details={"fields": changed})
    return case


def _permission_for(fields: set[str]) -> Perm:
    """Analysts change Analysis content, supervisors and analysts put a case in an operation,
    everything else is case work. (A change of operation among other fields is checked again
    in ``_update_operation``.)"""
    if fields == {"operation"}:
        return Perm.OPERATION_MANAGE
    return Perm.ANALYSIS_EDIT if fields - {"operation"} <= ANALYSIS_FIELDS else Perm.CASE_EDIT


def _apply_update(db: Session, user: User, case: Case, data: CaseUpdate,
                  fields: set[str]) -> list[str]:
    """Apply the fields present; return the labels of those whose value really changed."""
    changed: list[str] = []
    errors: list[FieldError] = []
    simple = ("title", "problem_statement", "category", "priority", "source", "team",
              "analysis_summary", "response_plan", "process_evaluation", "impact_evaluation",
              "impact_none_reason",
              "outcome", "lessons_learned")
    required = {"title", "category", "priority", "source"}
    for name in fields & set(simple):
        value = getattr(data, name)
        if value is None and name in required:
            errors.append(FieldError(name, f"The {FIELD_LABELS[name]} cannot be empty."))
        elif value is None:
            value = "" if name != "outcome" else None
        if value != getattr(case, name) and not (value is None and name in required):
            setattr(case, name, value)
            changed.append(FIELD_LABELS[name])
    if errors:
        raise ValidationFailed(errors)
    changed += _update_place(db, user, case, data, fields)
    if FIELD_LABELS["priority"] in changed:
        reschedule_for_priority(db, case)  # the new priority's cadence, from the last review
    changed += _update_owner(db, user, case, data, fields)
    changed += _update_operation(db, user, case, data, fields)
    if "planned_patrol_minutes" in fields \
            and data.planned_patrol_minutes != case.planned_patrol_minutes:
        case.planned_patrol_minutes = data.planned_patrol_minutes
        changed.append(FIELD_LABELS["planned_patrol_minutes"])
    changed += _update_baseline(case, data, fields)
    if "target_area" in fields:
        area = data.target_area.model_dump() if data.target_area else None
        before = (case.target_area_name, case.target_geometry, case.target_radius_m)
        _set_target_area(case, area)
        if before != (case.target_area_name, case.target_geometry, case.target_radius_m):
            changed.append(FIELD_LABELS["target_area"])
    if "control_area" in fields:
        area = data.control_area.model_dump() if data.control_area else {}
        before = (case.control_area_name, case.control_geometry, case.control_radius_m)
        case.control_area_name = area.get("name") or None
        case.control_geometry, case.control_radius_m = area.get("geometry"), area.get("radius_m")
        if before != (case.control_area_name, case.control_geometry, case.control_radius_m):
            changed.append(FIELD_LABELS["control_area"])
    if "buffer_width_m" in fields and data.buffer_width_m != case.buffer_width_m:
        case.buffer_width_m = data.buffer_width_m
        changed.append(FIELD_LABELS["buffer_width_m"])
    if "crime_types" in fields:
        types = sorted(set(data.crime_types)) if data.crime_types else None
        if types == [case.category]:
            types = None  # the case's own category is the default anyway
        if types != case.crime_types:
            case.crime_types = types
            changed.append(FIELD_LABELS["crime_types"])
    if data.cheers and "cheers" in fields:
        changed += _update_cheers(case, data)
    if data.triangle and "triangle" in fields:
        changed += _update_triangle(case, data)
    return changed


def _update_place(db: Session, user: User, case: Case, data: CaseUpdate,
                  fields: set[str]) -> list[str]:
    if not fields & {"borough", "ward"}:
        return []
    borough_code = data.borough if "borough" in fields and data.borough else case.borough_code
    ward_code = data.ward if "ward" in fields else case.ward_code
    if borough_code != case.borough_code and "ward" not in fields:
        ward_code = None  # the old ward belongs to the old borough
    borough, ward = _place(db, user, borough_code, ward_code)
    changed = []
    if borough.code != case.borough_code:
        case.borough_code, case.borough = borough.code, borough
        changed.append("borough")
    new_ward = ward.code if ward else None
    if new_ward != case.ward_code:
        case.ward_code, case.ward = new_ward, ward
        changed.append("ward")
    leaving = "operation" in fields and data.operation != case.operation_id
    if case.operation and case.operation.force_id != borough.force_id and not leaving:
        raise ValidationFailed.one("borough", f"{borough.name} is an area of another force than "
                                   f"the case's operation ({case.operation.name}): take the "
                                   "case out of the operation first.")
    if case.operation and holds(case.operation, borough) and not leaving:
        raise ValidationFailed.one("borough", f"{case.operation.name} is run by "
                                   f"{case.operation.owner_label}, which holds only its own "
                                   "cases: take the case out of the operation first.")
    if case.owner and not covers_borough(case.owner, borough):
        raise ValidationFailed.one("borough", f"The owner, {case.owner.display_name}, works in "
                                   "another area: change the owner first.")
    return changed


def _update_owner(db: Session, user: User, case: Case, data: CaseUpdate,
                  fields: set[str]) -> list[str]:
    if "owner" not in fields:
        return []
    current = case.owner.username if case.owner else None
    if data.owner == current:
        return []
    require(user, Perm.CASE_ASSIGN, "Only a supervisor can assign a case to someone.")
    owner = _eligible_owner(db, data.owner, case.borough) if data.owner else None
    case.owner_id, case.owner = (owner.id if owner else None), owner
    return ["owner"]


def _update_operation(db: Session, user: User, case: Case, data: CaseUpdate,
                      fields: set[str]) -> list[str]:
    if "operation" not in fields or data.operation == case.operation_id:
        return []
    require(user, Perm.OPERATION_MANAGE,
            "Only a supervisor or an analyst can put a case in an operation.")
    operation = db.get(Operation, data.operation) if data.operation else None
    if data.operation and (operation is None or not can_read_operation(
            user, operation.force_id, operation.borough)):
        raise ValidationFailed.one("operation", f"There is no operation {data.operation}.")
    for touched in (operation, case.operation):  # the one joined and the one left
        if touched is not None:
            require_change(user, touched)
    if operation is not None and (why := holds(operation, case.borough)):
        raise ValidationFailed.one("operation", why)
    if case.operation is not None and db.scalar(
            select(AllocationUnit.id).where(AllocationUnit.case_id == case.id)):
        raise ValidationFailed.one(
            "operation", f"{case.ref} was randomised in {case.operation.name}'s allocation: it "
                         "stays in the operation, or the comparison of its groups would be "
                         "broken.")
    before = case.operation.name if case.operation else None
    case.operation_id, case.operation = (operation.id if operation else None), operation
    if operation:
        return [f"operation ({before} to {operation.name})" if before
                else f"operation (joined {operation.name})"]
    return [f"operation (left {before})"]


def _update_baseline(case: Case, data: CaseUpdate, fields: set[str]) -> list[str]:
    start = data.baseline_start if "baseline_start" in fields else case.baseline_start
    end = data.baseline_end if "baseline_end" in fields else case.baseline_end
    if start and end and start > end:
        raise ValidationFailed.one("baseline_end", "The baseline must end after it starts.")
    if (start, end) == (case.baseline_start, case.baseline_end):
        return []
    case.baseline_start, case.baseline_end = start, end
    return ["baseline period"]


def _update_cheers(case: Case, data: CaseUpdate) -> list[str]:
    return _update_parts(case.cheers, data.cheers, "element", ("met", "evidence"),
                         lambda element: CaseCheers(element=element),
                         lambda element: f"CHEERS {element.label}")


def _update_triangle(case: Case, data: CaseUpdate) -> list[str]:
    return _update_parts(case.triangle, data.triangle, "side", ("who", "known"),
                         lambda side: CaseTriangleSide(side=side),
                         lambda side: f"triangle: {side.label.lower()}")


def _update_parts(rows: list[Any], given: Mapping[Any, BaseModel] | None, key: str,
                  fields: tuple[str, str], new_row: Callable[[Any], Any],
                  label: Callable[[Any], str]) -> list[str]:
    """A case's parts kept one row each (CHEERS elements, triangle sides), updated from the
    parts given: each takes the fields its part sets (all of them when it sets none), a part
    not yet held gets its row, and the label of every part that changed is returned."""
    held = {getattr(row, key): row for row in rows}
    changed = []
    for part, values in (given or {}).items():
        row = held.get(part)
        if row is None:
            row = new_row(part)
            rows.append(row)
        setting = values.model_fields_set or set(fields)
        wanted = tuple(getattr(values if name in setting else row, name) for name in fields)
        if wanted != tuple(getattr(row, name) for name in fields):
            for name, value in zip(fields, wanted, strict=True):
                setattr(row, name, value)
            changed.append(label(part))
    return changed


# --- list --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseRow:
    case: Case
    overdue_actions: int
    # With a search: the matching passage, safe HTML with the matches in <mark>.
    match: Markup | None = None


def overdue_actions_count() -> ColumnElement[int]:
    return (
        select(func.count(Action.id))
        .where(Action.case_id == Case.id, _overdue_condition())
        .correlate(Case).scalar_subquery()
    )


def _overdue_condition() -> ColumnElement[bool]:
    return and_(Action.status.in_([ActionStatus.PLANNED, ActionStatus.IN_PROGRESS]),
                Action.due_date < today())


def list_cases(db: Session, actor: Actor, filters: CaseFilters, *,
               log: bool = True) -> tuple[list[CaseRow], int]:
    user = acting_user(actor)
    require(user, Perm.CASE_READ)
    check_places(db, force=filters.force, borough=filters.borough, ward=filters.ward)
    if filters.q and _answered_by_index(filters):
        rows, total = _search_index(db, user, filters)
    else:
        rows, total = _search_cases(db, user, filters)
    found = search.snippets(db, filters.q, [case.id for case, _ in rows]) if filters.q else {}
    if log:
        record_read(db, actor, AuditAction.CASE_LIST, object_type="case",
                    details={"filters": filters.model_dump(mode="json", exclude_defaults=True),
                             "total": total})
    return [CaseRow(case, count, found.get(case.id)) for case, count in rows], total


def _answered_by_index(filters: CaseFilters) -> bool:
    """A search by relevance whose filters are all of area: the index holds each case's area,
    so its matches are scoped, counted and ranked without touching the cases at all."""
    return filters.effective_sort == "relevance" and not (
        filters.stage or filters.ward or filters.owner or filters.category
        or filters.operation or filters.overdue is not None or filters.review)


def _search_index(db: Session, user: User, filters: CaseFilters
                  ) -> tuple[list[tuple[Case, int]], int]:
    assert filters.q is not None
    # Every match scored once (materialised), then counted and its best page taken from that:
    # one pass over thousands of matches, not one to count and another to rank.
    matches = search.index_matches(
        db, filters.q, lambda area: and_(*_area_conditions(user, filters, area))
    ).cte("matches").prefix_with("MATERIALIZED")
    total_of = select(func.count()).select_from(matches).scalar_subquery()
    page = db.execute(select(total_of, matches.c.case_id)
                      .order_by(matches.c.score.desc(), matches.c.case_id.desc())
                      .limit(filters.limit).offset(filters.offset)).all()
    # Past the last match, no row carries the count: count them alone.
    total = page[0][0] if page else db.scalar(select(func.count()).select_from(matches)) or 0
    return _load_page(db, [case_id for _, case_id in page]), total


def _search_cases(db: Session, user: User, filters: CaseFilters
                  ) -> tuple[list[tuple[Case, int]], int]:
    query = _filtered_cases(user, filters)
    relevance = None
    if filters.q:
        # The scope and filters above stay in the same query: nothing out of scope is counted.
        query, relevance = search.matching(db, query, filters.q)
    total = db.scalar(select(func.count()).select_from(query.with_only_columns(Case.id)
                                                       .subquery())) or 0
    order = _ordering(filters.effective_sort, relevance)
    if filters.q:
        # Ranked on the index and the filters first, then only the page's cases loaded (not
        # every match, thousands for a common word).
        ids = list(db.scalars(query.with_only_columns(Case.id).order_by(*order)
                              .limit(filters.limit).offset(filters.offset)))
        return _load_page(db, ids), total
    overdue = overdue_actions_count().label("overdue_actions")
    return [(case, count) for case, count in db.execute(
        query.add_columns(overdue).order_by(*order)
        .limit(filters.limit).offset(filters.offset))], total


def _load_page(db: Session, ids: list[int]) -> list[tuple[Case, int]]:
    """These cases, in this order, with their places and overdue counts."""
    if not ids:
        return []
    overdue = overdue_actions_count().label("overdue_actions")
    loaded = {case.id: (case, count) for case, count in db.execute(
        _cases().add_columns(overdue).where(Case.id.in_(ids)))}
    return [loaded[case_id] for case_id in ids]


def _cases() -> Select[Case]:
    # A list shows none of a case's collections: do not load them for every row.
    return select(Case).options(lazyload(Case.cheers), lazyload(Case.triangle),
                                lazyload(Case.hypotheses), lazyload(Case.actions))


def _area_conditions(user: User, filters: CaseFilters,
                     area: SQLColumnExpression[str]) -> list[ColumnElement[bool]]:
    """The reader's scope and the area filters, over a column holding a case's area."""
    conditions = [visible_cases(user, area)]
    if filters.borough:
        conditions.append(area == filters.borough)
    if filters.force:
        conditions.append(area.in_(
            select(Borough.code).where(Borough.force_id == filters.force)))
    return conditions


def _filtered_cases(user: User, filters: CaseFilters) -> Select[Case]:
    query = _cases().where(*_area_conditions(user, filters, Case.borough_code))
    if filters.stage:
        query = query.where(Case.stage.in_(filters.stage))
    if filters.ward:
        query = query.where(Case.ward_code == filters.ward)
    if filters.owner:
        query = query.where(Case.owner.has(User.username == filters.owner))
    if filters.category:
        query = query.where(Case.category == filters.category)
    if filters.operation:
        query = query.where(Case.operation_id == filters.operation)
    if filters.overdue is not None:
        has_overdue = exists().where(Action.case_id == Case.id, _overdue_condition())
        query = query.where(has_overdue if filters.overdue else ~has_overdue)
    if filters.review == "overdue":
        query = query.where(Case.next_review_on < today())
    elif filters.review == "due":
        query = query.where(Case.next_review_on.between(
            today(), today() + timedelta(days=DUE_SOON_DAYS)))
    return query


def _ordering(sort: str, relevance: ColumnElement[Any] | None = None) -> list[Any]:
    if sort == "relevance":
        # Equally good matches: the most recently opened first (as the index alone orders them).
        return [relevance, Case.id.desc()] if relevance is not None \
            else _ordering("-updated")
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    column: Any = {
        "updated": Case.updated_at,
        "created": Case.created_at,
        "ref": Case.ref,
        "title": func.lower(Case.title),
        "priority": sql_case({p.value: p.rank for p in Priority}, value=Case.priority),
        "stage": sql_case({s.value: s.index for s in Stage}, value=Case.stage),
    }[key]
    tiebreak = Case.id.desc() if descending else Case.id.asc()
    return [column.desc() if descending else column.asc(), tiebreak]
