"""Importing a verified case file into this popcase, whole, in one transaction.

People named in the file who have no account here get an inactive account of their own name
(they cannot sign in), so that every record keeps who did what. The case keeps its reference
unless this popcase already has one like it; then it gets the next reference of its borough.
The import is in the access log, not on the case's timeline: the timeline stays as it was.
Partner agencies are matched by name in the case's force's directory, and added to it when
missing; contacts come back only from a file that carries their details (not redacted, not
withheld).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.assessment.models import AssessmentSnapshot
from app.attachments.content import Limits, Refused, inspect, sniff
from app.attachments.models import Attachment, AttachmentKind
from app.attachments.storage import Store
from app.audit.service import AuditAction
from app.auth.context import Actor
from app.auth.models import User
from app.auth.roles import Role
from app.cases.models import (
    Action,
    Case,
    CaseCheers,
    CaseEvent,
    CaseTriangleSide,
    Hypothesis,
    RefCounter,
)
from app.cases.service import allocate_ref
from app.community.models import Concern
from app.exports import files
from app.exports.build import attachment_path
from app.exports.files import CaseFileError
from app.exports.schemas import (
    AgencyRecord,
    CaseRecord,
    ContactRecord,
    OperationRecord,
    Person,
    TemplateRecord,
)
from app.operations.models import Operation
from app.partners.models import CasePartner, PartnerAgency, PartnerContact
from app.patrols.models import OutputEntry, Patrol
from app.problem_templates.models import CaseTemplate, CaseTemplateVersion
from app.reference.models import Borough, Ward
from app.reference.service import learn_force_name
from app.reviews.models import CaseReview
from app.sara.cheers import CheersElement
from app.sara.triangle import TriangleSide
from app.settings import get_settings
from app.usecase import use_case


@dataclass(frozen=True)
class Imported:
    ref: str
    original_ref: str
    people_added: int


def import_case_file(db: Session, actor: Actor, content: bytes,
                     store: Store | None = None) -> Imported:
    """Verify (checksums, schema) and import; a file that fails is refused whole."""
    manifest, file = files.read_case_file(content)
    carried = _carried_files(content, file.case)
    record_ = file.case
    borough = db.get(Borough, record_.borough.code)
    if borough is None:
        raise CaseFileError(f"{record_.borough.code} ({record_.borough.name}) is not a local "
                            "policing area here: set up its force's areas first.")
    with use_case(db, actor, AuditAction.CASE_IMPORT, object_type="case") as done:
        if record_.force is not None:
            if record_.force.code != borough.force_id:
                raise CaseFileError(f"{borough.name} is an area of another force here than the "
                                    f"file's {record_.force.name}.")
            if not borough.force.name:  # as the force's own files write it, like an import would
                learn_force_name(db, borough.force_id, record_.force.name)
        people = _People(db, borough.force_id)
        agencies = _Agencies(db, borough.force_id)
        with db.no_autoflush:  # the case is written once its reference is chosen
            case = _case(db, record_, borough, people, agencies)
            _place_ref(db, case, record_.ref, borough)
        _children(db, case, record_, people)
        redaction = manifest.get("redaction") or {}
        _partners(db, case, record_, people, agencies,
                  with_contacts=not redaction.get("applied")
                  and "partner_contacts" not in redaction)
        _attachments(db, case, record_, people, carried,
                     store or Store.from_settings(get_settings()))
        done.object_ref = case.ref
        done.details = {
            "original_ref": record_.ref, "exported_by": manifest.get("exported_by"),
            "exported_at": manifest.get("exported_at"),
            "redacted": bool((manifest.get("redaction") or {}).get("applied")),
            "sha256": files.sha256(content), "people_added": people.added}
    return Imported(case.ref, record_.ref, people.added)


def _carried_files(content: bytes, c: CaseRecord) -> dict[str, bytes]:
    """The attachment files the case file carries, each where its checksum says (the
    manifest's checksums are already verified: this checks they are the ones case.json
    names)."""
    found: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = set(archive.namelist())
        for item in c.attachments:
            if item.file is None:
                continue
            if item.file != attachment_path(item.file_sha256, item.file_type) \
                    or item.file not in names:
                raise CaseFileError(f"Attachment {item.key}'s file is not in the case file "
                                    "under its checksum.")
            data = archive.read(item.file)
            if files.sha256(data) != item.file_sha256:
                raise CaseFileError(f"{item.file} does not match its checksum.")
            found[item.file] = data
    return found


def _attachments(db: Session, case: Case, c: CaseRecord, people: _People,
                 carried: dict[str, bytes], store: Store) -> None:
    """Each attachment with the checksums it had: the carried copy is stored again (with a
    new thumbnail); the original stays with the exporting force, known by its SHA-256."""
    actions = list(db.scalars(select(Action).where(Action.case_id == case.id)
                              .order_by(Action.id)))
    patrols = list(db.scalars(select(Patrol).where(Patrol.case_id == case.id)
                              .order_by(Patrol.started_at, Patrol.id)))
    added: dict[int, Attachment] = {}
    for item in sorted(c.attachments, key=lambda a: a.key):
        thumbnail = None
        if item.file is not None:
            store.put(carried[item.file])
            if item.kind is AttachmentKind.PHOTO:
                thumbnail = _thumbnail(store, item.file_sha256)
        by = people(item.added_by)
        added[item.key] = Attachment(
            case_id=case.id, action_id=_nth(actions, item.action),
            patrol_id=_nth(patrols, item.patrol), added_at=item.added_at,
            added_by_id=by.id if by else None, caption=item.caption, stage=item.stage,
            kind=item.kind, phase=item.phase, original_name=item.original_name,
            content_type=item.original_type, size=item.original_size,
            sha256=item.original_sha256, shown_sha256=item.file_sha256, thumb_sha256=thumbnail,
            width=item.width, height=item.height,
            supersedes_id=added[item.supersedes].id if item.supersedes in added else None)
        db.add(added[item.key])
        db.flush()


def _nth(rows: list[Action] | list[Patrol], key: int | None) -> int | None:
    return rows[key - 1].id if key is not None and 0 < key <= len(rows) else None


def _thumbnail(store: Store, digest: str) -> str | None:
    path = store.path_of(digest)
    settings = get_settings()
    try:
        with path.open("rb") as opened:
            found = sniff(opened.read(16))
        copies = inspect(path, found, Limits(settings.attachment_max_pixels,
                                             settings.attachment_max_side))
    except Refused as exc:
        raise CaseFileError(f"A photo in the case file cannot be read: {exc}") from None
    return store.put(copies.thumbnail)[0] if copies.thumbnail else None


class _People:
    """Accounts for the people of the file: existing ones by username, else new, inactive."""

    def __init__(self, db: Session, force_id: str) -> None:
        self.db, self.force_id = db, force_id  # new accounts belong to the case's force
        self.cache: dict[str, User] = {}
        self.added = 0

    def __call__(self, person: Person | None) -> User | None:
        if person is None:
            return None
        username = person.username.strip().lower()[:64]
        if username not in self.cache:
            user = self.db.scalar(select(User).where(User.username == username))
            if user is None:
                user = User(username=username, display_name=person.name[:120] or username,
                            role=Role.EVALUATOR, borough_code=None, force_id=self.force_id,
                            active=False)
                self.db.add(user)
                self.db.flush()
                self.added += 1
            self.cache[username] = user
        return self.cache[username]


class _Agencies:
    """The directory agencies of the case's force, by name (case-insensitive); new ones added
    for names the directory lacks."""

    def __init__(self, db: Session, force_id: str) -> None:
        self.db, self.force_id = db, force_id

    def __call__(self, found: AgencyRecord) -> PartnerAgency:
        agency = self.db.scalar(select(PartnerAgency).where(
            PartnerAgency.force_id == self.force_id,
            func.lower(PartnerAgency.name) == found.name.strip().lower()))
        if agency is None:
            area = self.db.get(Borough, found.borough.code) if found.borough else None
            agency = PartnerAgency(force_id=self.force_id, name=found.name[:200],
                                   kind=found.kind,
                                   borough_code=area.code if area and
                                   area.force_id == self.force_id else None)
            self.db.add(agency)
            self.db.flush()
        return agency

    def named(self, name: str | None) -> PartnerAgency | None:
        if not name:
            return None
        return self.db.scalar(select(PartnerAgency).where(
            PartnerAgency.force_id == self.force_id,
            func.lower(PartnerAgency.name) == name.strip().lower()))


def _partners(db: Session, case: Case, c: CaseRecord, people: _People, agencies: _Agencies, *,
              with_contacts: bool) -> None:
    for item in c.partners:
        agency, added_by = agencies(item.agency), people(item.added_by)
        contact = _contact(db, agency, item.contact) if with_contacts and item.contact else None
        db.add(CasePartner(case_id=case.id, agency_id=agency.id,
                           contact_id=contact.id if contact else None, role=item.role,
                           added_at=item.added_at,
                           added_by_id=added_by.id if added_by else None))
    db.flush()


def _contact(db: Session, agency: PartnerAgency, found: ContactRecord) -> PartnerContact:
    contact = db.scalar(select(PartnerContact).where(
        PartnerContact.agency_id == agency.id, PartnerContact.name == found.name,
        PartnerContact.email == found.email, PartnerContact.erased_at.is_(None)))
    if contact is None:
        contact = PartnerContact(agency_id=agency.id, name=found.name[:120],
                                 job_title=found.job_title[:120], phone=found.phone[:40],
                                 email=found.email[:254])
        db.add(contact)
        db.flush()
    return contact


def _operation(db: Session, found: OperationRecord | None, borough: Borough) -> Operation | None:
    """The operation of that name here, or a new one run by the area's force (force-wide: the
    file does not say which unit ran it)."""
    if found is None:
        return None
    operation = db.scalar(select(Operation).where(Operation.name.ilike(found.name)))
    if operation is None:
        operation = Operation(name=found.name, unit=found.unit, description=found.description,
                              start_date=found.start_date, end_date=found.end_date,
                              force_id=borough.force_id)
        db.add(operation)
        db.flush()
    elif operation.force_id != borough.force_id:
        raise CaseFileError(f"Operation {operation.name} here is run by another force than "
                            f"{borough.name}'s: the case cannot join it.")
    elif operation.borough is not None and operation.borough_code != borough.code:
        raise CaseFileError(f"Operation {operation.name} here is run by "
                            f"{operation.borough.label}, which holds only its own cases: the "
                            f"case in {borough.name} cannot join it.")
    return operation


def _template_version(db: Session, found: TemplateRecord | None) -> int | None:
    """The same template version here (same slug, version and name: the shipped templates are
    the same everywhere), else none: the case keeps what it was given either way."""
    if found is None:
        return None
    return db.scalar(select(CaseTemplateVersion.id).join(CaseTemplate).where(
        CaseTemplate.slug == found.slug, CaseTemplateVersion.version == found.version,
        CaseTemplateVersion.name == found.name))


def _case(db: Session, c: CaseRecord, borough: Borough, people: _People,
          agencies: _Agencies) -> Case:
    ward = db.get(Ward, c.ward.code) if c.ward else None
    owner, created_by = people(c.owner), people(c.created_by)
    operation = _operation(db, c.operation, borough)
    target, control = c.target_area, c.control_area
    return Case(
        title=c.title, problem_statement=c.problem_statement, category=c.category,
        template_version_id=_template_version(db, c.template),
        priority=c.priority, source=c.source, borough_code=borough.code,
        ward_code=ward.code if ward else None, team=c.team,
        owner_id=owner.id if owner else None,
        target_area_name=target.name if target else "",
        target_geometry=target.geometry if target else None,
        target_radius_m=target.radius_m if target else None,
        buffer_width_m=c.buffer_width_m,
        control_area_name=control.name if control else None,
        control_geometry=control.geometry if control else None,
        control_radius_m=control.radius_m if control else None,
        crime_types=list(c.crime_types) if c.crime_types else None,
        analysis_summary=c.analysis_summary, baseline_start=c.baseline_start,
        baseline_end=c.baseline_end, response_plan=c.response_plan,
        planned_patrol_minutes=c.planned_patrol_minutes,
        operation_id=operation.id if operation else None,
        process_evaluation=c.process_evaluation, impact_evaluation=c.impact_evaluation,
        impact_none_reason=c.impact_none_reason, outcome=c.outcome,
        lessons_learned=c.lessons_learned, stage=c.stage,
        stage_entered_at=c.stage_entered_at, created_at=c.created_at,
        created_by_id=created_by.id if created_by else None, updated_at=c.updated_at,
        last_activity_at=c.last_activity_at, next_review_on=c.next_review_on,
        cheers=[CaseCheers(element=e, met=c.cheers[e.value].met,
                           evidence=c.cheers[e.value].evidence)
                for e in CheersElement if e.value in c.cheers],
        triangle=[CaseTriangleSide(side=s, who=c.triangle[s.value].who,
                                   known=c.triangle[s.value].known)
                  for s in TriangleSide if s.value in c.triangle],
        hypotheses=[Hypothesis(statement=h.statement, status=h.status, evidence=h.evidence,
                               created_at=h.created_at) for h in c.hypotheses],
        actions=[Action(title=a.title, tactic=a.tactic, partner=a.partner, owner=a.owner,
                        due_date=a.due_date, status=a.status, completed_on=a.completed_on,
                        notes=a.notes, created_at=a.created_at, assignee=people(a.assignee),
                        partner_agency=agencies.named(a.partner_agency))
                 for a in c.actions],
    )


def _place_ref(db: Session, case: Case, ref: str, borough: Borough) -> None:
    """Keep the file's reference if it is free here (and move its counter past it), else
    give the case the borough's next reference."""
    parts = ref.split("-")
    free = db.scalar(select(Case.id).where(Case.ref == ref)) is None
    if free and len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        prefix, year, number = parts[0], int(parts[1]), int(parts[2])
        case.ref, case.ref_prefix, case.ref_year, case.ref_number = ref, prefix, year, number
        db.add(case)
        counter = db.get(RefCounter, (prefix, year))
        if counter is None:
            db.add(RefCounter(prefix=prefix, year=year, last_number=number))
        elif counter.last_number < number:
            db.execute(update(RefCounter).where(RefCounter.prefix == prefix,
                                                RefCounter.year == year)
                       .values(last_number=number))
        db.flush()
        return
    allocate_ref(db, case, borough, case.created_at.year)


def _children(db: Session, case: Case, c: CaseRecord, people: _People) -> None:
    patrols: dict[int, Patrol] = {}
    for item in c.patrols:
        recorder = people(item.recorded_by)
        patrols[item.key] = Patrol(
            case_id=case.id, started_at=item.started_at, ended_at=item.ended_at,
            kind=item.kind, officers=item.officers, place=item.place, notes=item.notes,
            live=item.live, recorded_by_id=recorder.id if recorder else None,
            created_at=item.created_at)
        db.add(patrols[item.key])
    db.flush()
    outputs: dict[int, OutputEntry] = {}
    for item in sorted(c.outputs, key=lambda o: o.key):
        recorder = people(item.recorded_by)
        outputs[item.key] = OutputEntry(
            case_id=case.id, on_date=item.on, kind=item.kind, count=item.count,
            patrol_id=patrols[item.patrol].id if item.patrol in patrols else None,
            notes=item.notes,
            corrects_id=outputs[item.corrects].id if item.corrects in outputs else None,
            reason=item.reason, recorded_at=item.recorded_at,
            recorded_by_id=recorder.id if recorder else None)
        db.add(outputs[item.key])
        db.flush()
    for item in c.concerns:
        recorder, triager, answerer = (people(item.recorded_by), people(item.triaged_by),
                                       people(item.answered_by))
        ward = db.get(Ward, item.ward.code) if item.ward else None
        db.add(Concern(
            borough_code=item.borough.code if db.get(Borough, item.borough.code)
            else case.borough_code, ward_code=ward.code if ward else None,
            raised_on=item.raised_on, raised_by_kind=item.raised_by_kind,
            raised_by=item.raised_by, contact=item.contact, channel=item.channel,
            place=item.place, description=item.description, recorded_at=item.recorded_at,
            recorded_by_id=recorder.id if recorder else None,
            triage_outcome=item.triage_outcome, triage_reason=item.triage_reason,
            triaged_at=item.triaged_at, triaged_by_id=triager.id if triager else None,
            case_id=case.id, we_did=item.we_did, answered_at=item.answered_at,
            answered_by_id=answerer.id if answerer else None))
    for event in c.timeline:
        actor, reviewer = people(event.actor), people(event.review.by if event.review else None)
        db.add(CaseEvent(
            case_id=case.id, at=event.at, actor_id=actor.id if actor else None,
            kind=event.kind, summary=event.summary, body=event.body,
            from_stage=event.from_stage, to_stage=event.to_stage, overridden=event.overridden,
            details={"unmet": [u.model_dump() for u in event.unmet]} if event.unmet else {},
            reviewed_at=event.review.at if event.review else None,
            reviewed_by_id=reviewer.id if reviewer else None,
            review_note=event.review.note if event.review else ""))
    for review in c.reviews:
        reviewer = people(review.reviewer)
        db.add(CaseReview(
            case_id=case.id, reviewed_at=review.reviewed_at,
            reviewer_id=reviewer.id if reviewer else None, note=review.note,
            decision=review.decision, due_on=review.due_on,
            next_review_on=review.next_review_on, reason_for_later=review.reason_for_later,
            priority=review.priority, cadence_days=review.cadence_days))
    for item in c.assessments:
        creator = people(item.created_by)
        db.add(AssessmentSnapshot(
            case_id=case.id, number=item.number, created_at=item.created_at,
            created_by_id=creator.id if creator else None, before_first=item.before_first,
            before_last=item.before_last, after_first=item.after_first,
            after_last=item.after_last, categories=list(item.categories), areas=item.areas,
            batches=list(item.batches), results=item.results, note=item.note))
    db.flush()
