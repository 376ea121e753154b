"""Community concern use cases: record, the triage queue, triage, and "you said, we did".

Concerns hold members of the public's details, so they follow the case rules: a borough's
officers and supervisors record and triage them, force-wide readers read them, and a concern
outside one's scope does not exist. Contact details are shown only to those who record them.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, lazyload

from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.auth.models import User
from app.auth.permissions import Perm, covers_borough, has, require, visible
from app.cases.access import acting_user, case_for, ensure_open
from app.cases.models import Case, EventKind
from app.cases.schemas import CaseCreate
from app.cases.service import open_case
from app.clock import today
from app.community.models import Concern
from app.community.schemas import ConcernAnswer, ConcernCreate, ConcernFilters, ConcernTriage
from app.db import utcnow
from app.errors import Conflict, FieldError, NotFound, StaleVersion, ValidationFailed
from app.reference.models import Borough, Ward
from app.reference.service import unknown_area
from app.sara.community import TriageOutcome
from app.usecase import use_case

TITLE_FROM_DESCRIPTION = 80


def record_concern(db: Session, actor: Actor, data: ConcernCreate) -> Concern:
    user = acting_user(actor)
    require(user, Perm.CONCERN_RECORD, "Only officers and supervisors record concerns.")
    borough = db.get(Borough, data.borough)
    if borough is None:
        raise ValidationFailed.one("borough", unknown_area(data.borough))
    if not covers_borough(user, borough):
        raise ValidationFailed.one("borough", "You can record concerns only in your own "
                                              "area.")
    if data.ward:
        ward = db.get(Ward, data.ward)
        if ward is None or ward.borough_code != borough.code:
            raise ValidationFailed.one("ward", f"{data.ward} is not a ward of {borough.name}.")
    if data.raised_on > today():
        raise ValidationFailed.one("raised_on", "This date is in the future.")
    with use_case(db, actor, AuditAction.CONCERN_RECORD, object_type="concern",
                  details={"borough": borough.code}) as done:
        concern = Concern(
            borough_code=borough.code, ward_code=data.ward, raised_on=data.raised_on,
            raised_by_kind=data.raised_by_kind, raised_by=data.raised_by, contact=data.contact,
            channel=data.channel, place=data.place, description=data.description,
            recorded_at=utcnow(), recorded_by_id=user.id)
        db.add(concern)
        done.flush()
        done.object_ref = str(concern.id)
    return concern


def concern_for(db: Session, actor: Actor, concern_id: int,
                perm: Perm = Perm.CONCERN_READ) -> Concern:
    user = acting_user(actor)
    concern = db.get(Concern, concern_id)
    if concern is None or not has(user, Perm.CONCERN_READ) \
            or not covers_borough(user, concern.borough):
        raise NotFound(f"There is no concern {concern_id}.")
    require(user, perm)
    return concern


def view_concern(db: Session, actor: Actor, concern_id: int) -> Concern:
    concern = concern_for(db, actor, concern_id)
    record_read(db, actor, AuditAction.CONCERN_VIEW, object_type="concern",
                object_ref=str(concern.id))
    return concern


def list_concerns(db: Session, actor: Actor, filters: ConcernFilters) -> tuple[list[Concern], int]:
    """The triage queue (``status=awaiting``: oldest first) and every other view of concerns
    (newest first)."""
    user = acting_user(actor)
    require(user, Perm.CONCERN_READ)
    if filters.borough and db.get(Borough, filters.borough) is None:
        raise ValidationFailed.one("borough", unknown_area(filters.borough))
    query = _filtered(db, user, filters)
    total = db.scalar(select(func.count()).select_from(
        query.with_only_columns(Concern.id).subquery())) or 0
    order = (Concern.raised_on.asc(), Concern.id.asc()) if filters.status == "awaiting" \
        else (Concern.raised_on.desc(), Concern.id.desc())
    rows = list(db.scalars(query.order_by(*order).limit(filters.limit).offset(filters.offset)))
    record_read(db, actor, AuditAction.CONCERN_LIST, object_type="concern",
                details={"filters": filters.model_dump(mode="json", exclude_defaults=True),
                         "total": total})
    return rows, total


def _filtered(db: Session, user: User, filters: ConcernFilters) -> Select[Concern]:
    query = select(Concern).where(visible(user, Perm.CONCERN_READ, Concern.borough_code))
    if filters.borough:
        query = query.where(Concern.borough_code == filters.borough)
    if filters.case:
        case_id = db.scalar(select(Case.id).where(Case.ref == filters.case.strip().upper()))
        query = query.where(Concern.case_id == (case_id or 0))
    status = filters.status
    if status == "awaiting":
        query = query.where(Concern.triage_outcome.is_(None))
    elif status in ("linked", "new_case", "not_police"):
        query = query.where(Concern.triage_outcome == TriageOutcome(status))
    elif status == "answered":
        query = query.where(Concern.answered_at.is_not(None))
    elif status == "unanswered":
        query = query.where(Concern.case_id.is_not(None), Concern.answered_at.is_(None))
    return query


def triage_concern(db: Session, actor: Actor, concern_id: int, data: ConcernTriage) -> Concern:
    """Link to a case, open a new Scanning case from it, or close it as not a police matter:
    once, in one transaction with the case's timeline entry."""
    user = acting_user(actor)
    concern = concern_for(db, actor, concern_id, Perm.CONCERN_RECORD)
    if concern.triage_outcome is not None:
        raise Conflict(f"Concern {concern.id} was already triaged: "
                       f"{concern.triage_outcome.label.lower()}.")
    if data.version != concern.version:
        raise StaleVersion(f"Concern {concern.id} has changed since you opened it.",
                           current_version=concern.version)
    with use_case(db, actor, AuditAction.CONCERN_TRIAGE, object_type="concern",
                  object_ref=str(concern.id), justification=data.reason) as done:
        case = None
        if data.outcome is TriageOutcome.LINKED:
            case = _case_to_link(db, actor, data, concern)
        elif data.outcome is TriageOutcome.NEW_CASE:
            case = _new_case_from(db, actor, concern, data)  # with its own case.create entry
        elif len(data.reason) < 3:
            raise ValidationFailed.one("reason", "Say why this is not a police matter (and who "
                                                 "it was passed to, if anyone).")
        concern.triage_outcome, concern.triage_reason = data.outcome, data.reason
        concern.triaged_at, concern.triaged_by_id = utcnow(), user.id
        concern.case = case
        done.flush()
        if case is not None:
            done.event(EventKind.COMMUNITY, f"Community concern {concern.id} linked: "
                       f"{_first_words(concern.description)}",
                       case=case, body=data.reason, details={"concern": concern.id})
        done.details = {"outcome": data.outcome.value, "case": case.ref if case else None}
    return concern


def _case_to_link(db: Session, actor: Actor, data: ConcernTriage, concern: Concern) -> Case:
    if not data.case:
        raise ValidationFailed.one("case", "Enter the reference of the case, e.g. "
                                           "WM-2026-0001.")
    try:
        case = case_for(db, actor, data.case, Perm.CASE_EDIT)
    except NotFound:
        raise ValidationFailed.one("case", f"There is no case {data.case.upper()} that you "
                                           "can work on.") from None
    if case.stage.value == "closed":
        raise ValidationFailed.one("case", f"{case.ref} is closed: a concern can be linked "
                                           "only to an open case.")
    if case.borough.force_id != concern.borough.force_id:
        raise ValidationFailed.one("case", f"{case.ref} is a case of another force than the "
                                           "concern's: link it to one of its own force.")
    return case


def _new_case_from(db: Session, actor: Actor, concern: Concern, data: ConcernTriage) -> Case:
    errors = []
    if not data.title:
        errors.append(FieldError("title", "Give the new case a title."))
    if not data.category:
        errors.append(FieldError("category", "Choose the crime category of the problem."))
    if errors:
        raise ValidationFailed(errors)
    statement = concern.description
    if concern.place:
        statement += f"\n\nPlace: {concern.place}."
    statement += (f"\n\nRaised by a {concern.raised_by_kind.label.lower()} "
                  f"({concern.channel.label.lower()}) on {concern.raised_on:%-d %B %Y}: "
                  f"community concern {concern.id}.")
    return open_case(db, actor, CaseCreate(
        title=data.title or "", problem_statement=statement, category=data.category,
        borough=concern.borough_code, ward=concern.ward_code, source="community"))


def answer_concern(db: Session, actor: Actor, concern_id: int, data: ConcernAnswer) -> Concern:
    """Record what the case did in answer ("you said, we did"); saying it again replaces it,
    and the timeline keeps each version."""
    user = acting_user(actor)
    concern = concern_for(db, actor, concern_id, Perm.CONCERN_RECORD)
    if concern.case_id is None:
        raise Conflict(f"Concern {concern.id} is on no case: triage it to a case first.")
    ref = db.scalar(select(Case.ref).where(Case.id == concern.case_id)) or ""
    case = case_for(db, actor, ref, Perm.CASE_EDIT)
    ensure_open(case)
    if data.version != concern.version:
        raise StaleVersion(f"Concern {concern.id} has changed since you opened it.",
                           current_version=concern.version)
    if data.we_did == concern.we_did:
        return concern
    with use_case(db, actor, AuditAction.CONCERN_ANSWER, case=case, object_type="concern",
                  object_ref=str(concern.id), details={"case": case.ref}) as done:
        concern.we_did, concern.answered_at, concern.answered_by_id = data.we_did, utcnow(), user.id
        done.event(EventKind.COMMUNITY,
                   f"You said, we did (concern {concern.id}): {_first_words(data.we_did)}",
                   body=data.we_did, details={"concern": concern.id})
    return concern


def case_concerns(db: Session, case: Case) -> list[Concern]:
    """The concerns triaged to a case, oldest first. The caller has read the case."""
    # Their case is this one, already in the session: not joined in again with its own joins.
    return list(db.scalars(select(Concern).where(Concern.case_id == case.id)
                           .options(lazyload(Concern.case))
                           .order_by(Concern.raised_on, Concern.id)))


def _first_words(text: str, limit: int = TITLE_FROM_DESCRIPTION) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
