"""The case file's ``case.json``: the whole case, as an evaluator outside popcase reads it.

These models are the format: the JSON Schema published at ``/api/v1/schemas/case-file.json``
(and shipped as ``case-file.schema.json`` beside this module) is generated from them.

Records refer to each other by ``key`` (1, 2, 3, ... within the file: an output's patrol, a
correction's entry), never by database ids, so that a case file imported into another popcase
and exported again is the same file. Instance-specific fields, documented in the schema: the
``id`` of each import batch an assessment counted (the exporting popcase's numbering), and the
case ``ref`` when the importing popcase already had a case with that reference.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.attachments.models import AttachmentKind, Phase
from app.cases.models import EventKind
from app.sara.allocation import Group, Method
from app.sara.analysis import HypothesisStatus
from app.sara.assessment import Outcome
from app.sara.community import Channel, RaisedBy, TriageOutcome
from app.sara.partners import AgencyKind, PartnerRole
from app.sara.patrols import OutputKind, PatrolKind
from app.sara.problem import Priority, ProblemSource
from app.sara.responses import ActionStatus, Partner
from app.sara.reviews import ReviewDecision
from app.sara.stages import Stage

FORMAT: Final = "popcase-case-file"
VERSION: Final = 1


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Person(Record):
    """A user of the exporting popcase (a placeholder when the file is redacted)."""

    username: str
    name: str


class Place(Record):
    code: str = Field(description="ONS (GSS) code")
    name: str


class AreaRecord(Record):
    name: str
    geometry: dict[str, Any] = Field(description="GeoJSON geometry, WGS84 (longitude, "
                                     "latitude): a Polygon, a MultiPolygon, or a Point with "
                                     "radius_m")
    radius_m: int | None = None


class CheersItem(Record):
    met: bool | None
    evidence: str


class SideItem(Record):
    who: str
    known: str


class HypothesisItem(Record):
    key: int
    statement: str
    status: HypothesisStatus
    evidence: str
    created_at: datetime


class ActionItem(Record):
    key: int
    title: str
    tactic: str | None
    tactic_label: str | None
    partner: Partner
    owner: str
    due_date: date | None
    status: ActionStatus
    completed_on: date | None
    notes: str
    created_at: datetime
    # Added after version 1's first files: absent in those, so it has a default.
    assignee: Person | None = Field(None, description="The popcase user who carries the "
                                                      "action")
    partner_agency: str | None = Field(None, description="The partner agency that leads the "
                                       "action, by its name in the force's directory (absent "
                                       "from files of popcase before partner agencies)")


class AgencyRecord(Record):
    name: str = Field(description="The agency's name in its force's partner directory")
    kind: AgencyKind
    borough: Place | None = Field(description="The local policing area it serves, if one")


class ContactRecord(Record):
    """A person at a partner agency: personal data (a placeholder name and no details when
    the file is redacted)."""

    name: str
    job_title: str
    phone: str
    email: str


class PartnerItem(Record):
    key: int
    agency: AgencyRecord
    role: PartnerRole = Field(description="lead, member or informed")
    contact: ContactRecord | None
    added_at: datetime
    added_by: Person | None


class PatrolItem(Record):
    key: int
    started_at: datetime
    ended_at: datetime | None
    minutes: int | None
    kind: PatrolKind
    officers: str
    place: str
    notes: str
    live: bool = Field(description="Recorded with the start and end buttons")
    recorded_by: Person | None
    created_at: datetime
    flagged: bool = Field(False, description="Logged on a comparison hotspot of a randomised "
                          "operation after the allocation: each such patrol weakens the "
                          "comparison")


class OutputItem(Record):
    key: int
    on: date
    kind: OutputKind
    count: int = Field(ge=0)
    patrol: int | None = Field(description="The key of the patrol it was recorded against")
    notes: str
    corrects: int | None = Field(description="The key of the entry this one corrects (and "
                                 "replaces in every total)")
    reason: str
    recorded_at: datetime
    recorded_by: Person | None


class ConcernItem(Record):
    key: int
    borough: Place
    raised_on: date
    raised_by_kind: RaisedBy
    raised_by: str
    contact: str
    channel: Channel
    place: str
    ward: Place | None
    description: str
    recorded_at: datetime
    recorded_by: Person | None
    triage_outcome: TriageOutcome | None
    triage_reason: str
    triaged_at: datetime | None
    triaged_by: Person | None
    we_did: str
    answered_at: datetime | None
    answered_by: Person | None


class UnmetItem(Record):
    code: str
    message: str


class ReviewItem(Record):
    at: datetime
    by: Person | None
    note: str


class EventItem(Record):
    at: datetime
    kind: EventKind
    actor: Person | None
    summary: str
    body: str
    from_stage: Stage | None
    to_stage: Stage | None
    overridden: bool
    unmet: list[UnmetItem] = Field(description="What the gate lacked when it was overridden")
    review: ReviewItem | None


class AssessmentItem(Record):
    number: int
    created_at: datetime
    created_by: Person | None
    before_first: date
    before_last: date
    after_first: date
    after_last: date
    categories: list[str]
    areas: dict[str, Any] = Field(description="The target, buffer and control as counted")
    batches: list[dict[str, Any]] = Field(description="The street-crime imports counted: "
                                          "source file and SHA-256 (their id is the "
                                          "exporting popcase's: instance-specific)")
    results: dict[str, Any] = Field(description="Counts, figures and readings, as computed "
                                    "then (never infinity: undefined figures are null)")
    note: str


class AllocationRecord(Record):
    """The case's place in its operation's randomised allocation, and how it was drawn."""

    group: Group = Field(description="patrolled, or comparison (no extra patrols)")
    block: int = Field(description="The block (a matched pair under pairs) it was drawn in")
    baseline: int = Field(description="Its crime in the baseline months, which the blocks "
                          "matched")
    method: Method
    block_size: int
    seed: int = Field(description="With the candidates, repeats the draw (the recipe is in "
                      "the operation's allocation)")
    baseline_first: date
    baseline_last: date
    starts: date = Field(description="The first month of patrols")
    categories: list[str]
    made_at: datetime
    made_by: Person | None


class TemplateRecord(Record):
    """The problem template version the case was opened from (what it was given is already in
    the case's own hypotheses and actions)."""

    slug: str
    name: str
    version: int = Field(ge=1)


class OperationRecord(Record):
    name: str
    unit: str
    description: str
    start_date: date
    end_date: date | None
    allocation: AllocationRecord | None = Field(None, description="Absent unless the "
                                                "operation's hotspots were randomised")


class SupervisoryReviewItem(Record):
    """A supervisor's review of the plan, and when they set the next one."""

    reviewed_at: datetime
    reviewer: Person | None
    decision: ReviewDecision = Field(description="continue, change_approach, escalate or "
                                     "ready_to_close")
    decision_label: str
    note: str
    due_on: date | None = Field(description="The review date that was due when it was made")
    next_review_on: date
    reason_for_later: str = Field(description="Why the next review is more than twice the "
                                  "cadence away (empty otherwise)")
    priority: Priority = Field(description="The case's priority at the review")
    cadence_days: int = Field(description="The force's days between reviews for that "
                              "priority, then")


class AttachmentItem(Record):
    """A photo or document on the case. The file carried is the copy shown in popcase (a
    photo re-encoded without its location and camera metadata; a document itself); the
    original stays with the exporting force, identified by its SHA-256."""

    key: int
    kind: AttachmentKind = Field(description="photo or document")
    phase: Phase | None = Field(description="For photos: before or after the response")
    caption: str
    stage: Stage = Field(description="The case's stage when it was added")
    added_at: datetime
    added_by: Person | None
    original_name: str = Field(description="As the sender named it")
    original_type: str = Field(description="The type of the original, read from its content")
    original_size: int = Field(description="Bytes")
    original_sha256: str = Field(description="SHA-256 of the original as received")
    file: str | None = Field(description="The path of the carried file in the case file "
                             "(attachments/<sha256>.<ext>); null when a redacted file leaves "
                             "it out (the manifest says why)")
    file_sha256: str = Field(description="SHA-256 of the carried file")
    file_type: str
    width: int | None = Field(description="Pixels, upright")
    height: int | None
    action: int | None = Field(description="The key of the action it belongs to")
    patrol: int | None = Field(description="The key of the patrol it belongs to")
    supersedes: int | None = Field(description="The key of the attachment it corrects")


class CaseRecord(Record):
    ref: str = Field(description="The case reference (another may be given on import if the "
                     "importing popcase already has this one: instance-specific)")
    title: str
    problem_statement: str
    category: str
    priority: Priority
    source: ProblemSource
    borough: Place = Field(description="The local policing area (ONS code and name)")
    force: Place | None = Field(None, description="The police force of the area (police.uk "
                                "id and name); absent from files of popcase before forces")
    ward: Place | None
    team: str
    owner: Person | None
    operation: OperationRecord | None
    template: TemplateRecord | None = Field(
        None, description="The problem template version the case was opened from; null when "
                          "none (absent from files of popcase before templates)")
    stage: Stage
    stage_entered_at: datetime
    created_at: datetime
    created_by: Person | None
    updated_at: datetime
    last_activity_at: datetime
    # Scanning
    target_area: AreaRecord | None
    cheers: dict[str, CheersItem]
    # Analysis
    triangle: dict[str, SideItem]
    hypotheses: list[HypothesisItem]
    analysis_summary: str
    baseline_start: date | None
    baseline_end: date | None
    crime_types: list[str] | None
    buffer_width_m: int | None
    control_area: AreaRecord | None
    # Response
    response_plan: str
    planned_patrol_minutes: int | None
    actions: list[ActionItem]
    partners: list[PartnerItem] = Field(
        default_factory=list, description="The case's partner agencies with their contacts "
                                          "and roles (absent from files before partners)")
    patrols: list[PatrolItem]
    outputs: list[OutputItem]
    concerns: list[ConcernItem]
    # Assessment
    process_evaluation: str
    impact_evaluation: str
    impact_none_reason: str
    outcome: Outcome | None
    lessons_learned: str
    assessments: list[AssessmentItem]
    timeline: list[EventItem] = Field(description="Notes, edits and every stage move, oldest "
                                      "first")
    # Supervision (absent from files of popcase before review cadences)
    next_review_on: date | None = Field(None, description="When a supervisor next reviews the "
                                        "case (none once it is closed)")
    reviews: list[SupervisoryReviewItem] = Field(
        default_factory=list, description="Supervisory reviews, oldest first")
    # Evidence (absent from files of popcase before attachments)
    attachments: list[AttachmentItem] = Field(
        default_factory=list, description="Photos and documents, oldest first; a corrected "
                                          "one stays, and its correction names it")


class CaseFile(Record):
    format: Literal["popcase-case-file"] = FORMAT
    version: Literal[1] = VERSION
    case: CaseRecord


def case_file_schema() -> dict[str, Any]:
    schema = CaseFile.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "urn:popcase:case-file:1",
            "title": "popcase case file (case.json)", **schema}
