"""A case as a case file record (``CaseFile``), read from the database in a few queries."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.assessment.service import snapshots
from app.attachments.content import EXTENSIONS
from app.attachments.models import Attachment
from app.attachments.service import case_attachments, shown_type
from app.auth.models import User
from app.cases.models import Case, CaseEvent
from app.community.service import case_concerns
from app.exports.schemas import (
    ActionItem,
    AgencyRecord,
    AllocationRecord,
    AreaRecord,
    AssessmentItem,
    AttachmentItem,
    CaseFile,
    CaseRecord,
    CheersItem,
    ConcernItem,
    ContactRecord,
    EventItem,
    HypothesisItem,
    OperationRecord,
    OutputItem,
    PartnerItem,
    PatrolItem,
    Person,
    Place,
    ReviewItem,
    SideItem,
    SupervisoryReviewItem,
    TemplateRecord,
    UnmetItem,
)
from app.operations import allocation as allocations
from app.operations.models import Allocation
from app.partners.models import CasePartner
from app.partners.on_cases import case_partners
from app.patrols.models import OutputEntry, Patrol
from app.reviews.service import case_reviews
from app.sara.cheers import CheersElement
from app.sara.responses import TACTICS
from app.sara.triangle import TriangleSide

Rec = TypeVar("Rec", bound=BaseModel)


def copied(record: type[Rec], source: object, **given: Any) -> Rec:
    """``record`` with the fields ``given`` (what is not stored as the file carries it: people,
    places, keys), and every other field read from ``source``'s attribute of the same name."""
    values = {name: getattr(source, name) for name in record.model_fields if name not in given}
    return record.model_validate(values | given)


def person(user: User | None) -> Person | None:
    return Person(username=user.username, name=user.display_name) if user else None


def _area(name: str | None, geometry: dict[str, Any] | None,
          radius: int | None) -> AreaRecord | None:
    if geometry is None:
        return None
    return AreaRecord(name=name or "", geometry=geometry, radius_m=radius)


def _allocation(db: Session, case: Case) -> AllocationRecord | None:
    unit = allocations.unit_of(db, case)
    if unit is None:
        return None
    made = db.get(Allocation, unit.allocation_id)
    assert made is not None
    return AllocationRecord(
        group=unit.group, block=unit.block, baseline=unit.baseline, method=made.method_value,
        block_size=made.block_size, seed=made.seed, baseline_first=made.baseline_first,
        baseline_last=made.baseline_last, starts=made.starts, categories=list(made.categories),
        made_at=made.made_at, made_by=person(made.made_by))


def _template(case: Case) -> TemplateRecord | None:
    version = case.template_version
    if version is None:
        return None
    return TemplateRecord(slug=version.template.slug, name=version.name, version=version.version)


def _partner(key: int, partner: CasePartner, added_by: User | None,
             contact_details: bool) -> PartnerItem:
    agency, contact = partner.agency, partner.contact
    return PartnerItem(
        key=key, role=partner.role, added_at=partner.added_at, added_by=person(added_by),
        agency=AgencyRecord(name=agency.name, kind=agency.kind,
                            borough=Place(code=agency.borough.code, name=agency.borough.name)
                            if agency.borough else None),
        contact=None if contact is None else
        ContactRecord(name=contact.name, job_title=contact.job_title, phone=contact.phone,
                      email=contact.email) if contact_details else
        ContactRecord(name=f"Partner contact {key}", job_title=contact.job_title, phone="",
                      email=""))


def case_file(db: Session, case: Case, *, contact_details: bool = True) -> CaseFile:
    """The caller has read the case through ``case_for``. Without ``contact_details`` (an
    exporter who does not see them), partner contacts are carried by job title only."""
    users = {u.id: u for u in db.scalars(select(User))}
    cheers = {c.element: c for c in case.cheers}
    sides = {t.side: t for t in case.triangle}
    patrols = list(db.scalars(select(Patrol).where(Patrol.case_id == case.id)
                              .order_by(Patrol.started_at, Patrol.id)))
    patrol_keys = {p.id: key for key, p in enumerate(patrols, start=1)}
    outputs = list(db.scalars(select(OutputEntry).where(OutputEntry.case_id == case.id)
                              .order_by(OutputEntry.id)))
    output_keys = {o.id: key for key, o in enumerate(outputs, start=1)}
    events = list(db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                             .order_by(CaseEvent.at, CaseEvent.id)))
    operation = case.operation
    comparison = allocations.comparison_of(db, case.id)
    action_keys = {a.id: key for key, a in enumerate(case.actions, start=1)}
    return CaseFile(case=copied(
        CaseRecord, case,
        borough=Place(code=case.borough.code, name=case.borough.name),
        force=Place(code=case.borough.force_id, name=case.borough.force.label),
        ward=Place(code=case.ward.code, name=case.ward.name) if case.ward else None,
        owner=person(case.owner),
        operation=OperationRecord(name=operation.name, unit=operation.unit,
                                  description=operation.description,
                                  start_date=operation.start_date,
                                  end_date=operation.end_date,
                                  allocation=_allocation(db, case)) if operation else None,
        template=_template(case), created_by=person(users.get(case.created_by_id or 0)),
        target_area=_area(case.target_area_name, case.target_geometry, case.target_radius_m),
        cheers={e.value: CheersItem(met=cheers[e].met if e in cheers else None,
                                    evidence=cheers[e].evidence if e in cheers else "")
                for e in CheersElement},
        triangle={s.value: SideItem(who=sides[s].who if s in sides else "",
                                    known=sides[s].known if s in sides else "")
                  for s in TriangleSide},
        hypotheses=[copied(HypothesisItem, h, key=key)
                    for key, h in enumerate(case.hypotheses, start=1)],
        crime_types=list(case.crime_types) if case.crime_types else None,
        control_area=_area(case.control_area_name, case.control_geometry,
                           case.control_radius_m),
        actions=[copied(
            ActionItem, a, key=key,
            tactic_label=TACTICS[a.tactic].label if a.tactic in TACTICS else None,
            assignee=person(a.assignee),
            partner_agency=a.partner_agency.name if a.partner_agency else None)
            for key, a in enumerate(case.actions, start=1)],
        partners=[_partner(key, p, users.get(p.added_by_id or 0), contact_details)
                  for key, p in enumerate(case_partners(db, case), start=1)],
        patrols=[copied(
            PatrolItem, p, key=patrol_keys[p.id], recorded_by=person(p.recorded_by),
            flagged=comparison is not None and comparison.covers(p))
            for p in patrols],
        outputs=[copied(
            OutputItem, o, key=output_keys[o.id], on=o.on_date,
            patrol=patrol_keys.get(o.patrol_id or 0),
            corrects=output_keys.get(o.corrects_id or 0), recorded_by=person(o.recorded_by))
            for o in outputs],
        concerns=[copied(
            ConcernItem, c, key=key, borough=Place(code=c.borough.code, name=c.borough.name),
            ward=Place(code=c.ward.code, name=c.ward.name) if c.ward else None,
            recorded_by=person(c.recorded_by),
            triaged_by=person(users.get(c.triaged_by_id or 0)),
            answered_by=person(users.get(c.answered_by_id or 0)))
            for key, c in enumerate(case_concerns(db, case), start=1)],
        assessments=[copied(
            AssessmentItem, s, created_by=person(s.created_by), categories=list(s.categories),
            batches=list(s.batches)) for s in reversed(snapshots(db, case))],
        timeline=[copied(
            EventItem, e, actor=person(e.actor),
            unmet=[UnmetItem(code=u.get("code", ""), message=u.get("message", ""))
                   for u in (e.details or {}).get("unmet", [])],
            review=ReviewItem(at=e.reviewed_at, by=person(e.reviewed_by), note=e.review_note)
            if e.reviewed_at else None) for e in events],
        reviews=[copied(
            SupervisoryReviewItem, r, reviewer=person(r.reviewer),
            decision_label=r.decision.label)
            for r in reversed(case_reviews(db, case))],
        attachments=_attachments(case_attachments(db, case), action_keys, patrol_keys),
    ))


def attachment_path(digest: str, media_type: str) -> str:
    """Where a carried file sits in the zip: under its checksum."""
    return f"attachments/{digest}.{EXTENSIONS.get(media_type, 'bin')}"


def _attachments(found: list[Attachment], action_keys: dict[int, int],
                 patrol_keys: dict[int, int]) -> list[AttachmentItem]:
    keys = {a.id: key for key, a in enumerate(found, start=1)}
    return [AttachmentItem(
        key=keys[a.id], kind=a.kind, phase=a.phase, caption=a.caption, stage=a.stage,
        added_at=a.added_at, added_by=person(a.added_by), original_name=a.original_name,
        original_type=a.content_type, original_size=a.size, original_sha256=a.sha256,
        file=attachment_path(a.shown_sha256, shown_type(a)), file_sha256=a.shown_sha256,
        file_type=shown_type(a), width=a.width, height=a.height,
        action=action_keys.get(a.action_id or 0), patrol=patrol_keys.get(a.patrol_id or 0),
        supersedes=keys.get(a.supersedes_id or 0)) for a in found]
