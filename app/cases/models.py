from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.db import Base, utcnow
from app.enums import str_enum
from app.operations.models import Operation
from app.partners.models import PartnerAgency
from app.problem_templates.models import CaseTemplateVersion
from app.reference.models import Borough, Ward
from app.sara.analysis import HypothesisStatus
from app.sara.assessment import Outcome
from app.sara.cheers import CheersElement
from app.sara.problem import CATEGORIES, Priority, ProblemSource
from app.sara.responses import ActionStatus, Partner
from app.sara.stages import Stage
from app.sara.triangle import TriangleSide

_CATEGORY_CHECK = "category IN ({})".format(", ".join(f"'{c}'" for c in CATEGORIES))


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    ref_prefix: Mapped[str] = mapped_column(String(4))
    ref_year: Mapped[int]
    ref_number: Mapped[int]

    # Scanning
    title: Mapped[str] = mapped_column(String(200))
    problem_statement: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(40))
    priority: Mapped[Priority] = mapped_column(str_enum(Priority), default=Priority.MEDIUM)
    source: Mapped[ProblemSource] = mapped_column(
        str_enum(ProblemSource), default=ProblemSource.OFFICER
    )
    borough_code: Mapped[str] = mapped_column(ForeignKey("boroughs.code"), index=True)
    ward_code: Mapped[str | None] = mapped_column(ForeignKey("wards.code"), index=True)
    team: Mapped[str] = mapped_column(String(120), default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    target_area_name: Mapped[str] = mapped_column(String(200), default="")
    # GeoJSON geometry in WGS84: a Polygon or MultiPolygon, or a Point with a radius.
    target_geometry: Mapped[dict[str, Any] | None]
    target_radius_m: Mapped[int | None]
    # A ring of this width around the target (for displacement), and a comparison area.
    buffer_width_m: Mapped[int | None]
    control_area_name: Mapped[str | None] = mapped_column(String(200))
    control_geometry: Mapped[dict[str, Any] | None]
    control_radius_m: Mapped[int | None]
    # police.uk categories the analysis looks at; None means the case's own category.
    crime_types: Mapped[list[Any] | None]

    # Analysis
    analysis_summary: Mapped[str] = mapped_column(Text, default="")
    baseline_start: Mapped[date | None]
    baseline_end: Mapped[date | None]

    # Response
    response_plan: Mapped[str] = mapped_column(Text, default="")
    # Hotspot patrol dosage planned for the target area, in minutes a week.
    planned_patrol_minutes: Mapped[int | None]
    operation_id: Mapped[int | None] = mapped_column(ForeignKey("operations.id"), index=True)

    # Assessment
    process_evaluation: Mapped[str] = mapped_column(Text, default="")
    impact_evaluation: Mapped[str] = mapped_column(Text, default="")
    # Why no impact figures are possible (instead of a saved impact assessment).
    impact_none_reason: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome))
    lessons_learned: Mapped[str] = mapped_column(Text, default="")

    # Supervision: when a supervisor next reviews the case (set from the force's cadence).
    next_review_on: Mapped[date | None] = mapped_column(index=True)
    # The template version the case was opened from (immutable: later edits never reach it).
    template_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_template_versions.id"), index=True)
    # Retention (MoPI): a closed case's next review of its personal data, and when that data
    # was disposed of (the case's non-personal record and figures stay).
    retention_review_on: Mapped[date | None] = mapped_column(index=True)
    disposed_at: Mapped[datetime | None]

    stage: Mapped[Stage] = mapped_column(str_enum(Stage), default=Stage.SCANNING, index=True)
    stage_entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Any activity (notes, actions, hypotheses too), written without bumping ``version`` so that
    # a colleague's note does not make an open form stale.
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    borough: Mapped[Borough] = relationship(lazy="joined")
    ward: Mapped[Ward | None] = relationship(lazy="joined")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], lazy="joined")
    operation: Mapped[Operation | None] = relationship(lazy="joined")
    template_version: Mapped[CaseTemplateVersion | None] = relationship(lazy="select")
    cheers: Mapped[list[CaseCheers]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="CaseCheers.element"
    )
    triangle: Mapped[list[CaseTriangleSide]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )
    hypotheses: Mapped[list[Hypothesis]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="Hypothesis.id"
    )
    actions: Mapped[list[Action]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="Action.id"
    )
    # Its stage moves, oldest first (read on demand: the tracker's override marks).
    moves: Mapped[list[CaseEvent]] = relationship(
        primaryjoin="and_(Case.id == CaseEvent.case_id, CaseEvent.kind == 'moved')",
        order_by="(CaseEvent.at, CaseEvent.id)", viewonly=True, lazy="select")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("ref_prefix", "ref_year", "ref_number"),
        CheckConstraint(_CATEGORY_CHECK, name="category"),
        CheckConstraint(
            "target_radius_m IS NULL OR target_radius_m > 0", name="target_radius_positive"
        ),
        CheckConstraint("planned_patrol_minutes IS NULL OR planned_patrol_minutes >= 0",
                        name="planned_patrol_not_negative"),
    )


class RefCounter(Base):
    """The last case number used per reference prefix and year. Taking a number updates this
    row, which PostgreSQL locks until commit: simultaneous openings queue for distinct numbers."""

    __tablename__ = "ref_counters"

    prefix: Mapped[str] = mapped_column(String(4), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class CaseCheers(Base):
    __tablename__ = "case_cheers"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    element: Mapped[CheersElement] = mapped_column(str_enum(CheersElement), primary_key=True)
    met: Mapped[bool | None]
    evidence: Mapped[str] = mapped_column(Text, default="")


class CaseTriangleSide(Base):
    __tablename__ = "case_triangle"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    side: Mapped[TriangleSide] = mapped_column(str_enum(TriangleSide), primary_key=True)
    who: Mapped[str] = mapped_column(Text, default="")
    known: Mapped[str] = mapped_column(Text, default="")


class Hypothesis(Base):
    __tablename__ = "hypotheses"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    statement: Mapped[str] = mapped_column(Text)
    status: Mapped[HypothesisStatus] = mapped_column(
        str_enum(HypothesisStatus), default=HypothesisStatus.OPEN
    )
    evidence: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Action(Base):
    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    tactic: Mapped[str | None] = mapped_column(String(40))
    partner: Mapped[Partner] = mapped_column(str_enum(Partner), default=Partner.POLICE)
    owner: Mapped[str] = mapped_column(String(120), default="")
    # The directory agency that leads the action; ``partner`` then follows its kind.
    partner_agency_id: Mapped[int | None] = mapped_column(ForeignKey("partner_agencies.id"),
                                                          index=True)
    # The popcase user who carries the action (``owner`` names who does it, e.g. a partner).
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    due_date: Mapped[date | None] = mapped_column(index=True)
    status: Mapped[ActionStatus] = mapped_column(
        str_enum(ActionStatus), default=ActionStatus.PLANNED
    )
    completed_on: Mapped[date | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    assignee: Mapped[User | None] = relationship(lazy="joined")
    partner_agency: Mapped[PartnerAgency | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}
    # Overdue look-ups: open actions of a case past their due date.
    __table_args__ = (Index("ix_actions_case_status_due", "case_id", "status", "due_date"),)


class EventKind(StrEnum):
    CREATED = "created"
    EDITED = "edited"
    NOTE = "note"
    MOVED = "moved"
    HYPOTHESIS = "hypothesis"
    ACTION = "action"
    PATROL = "patrol"
    OUTPUT = "output"
    COMMUNITY = "community"
    REVIEW = "review"
    ASSESSMENT = "assessment"
    SUPERVISORY_REVIEW = "supervisory_review"
    HANDOVER = "handover"
    PARTNER = "partner"
    ATTACHMENT = "attachment"

    @property
    def label(self) -> str:
        return {"created": "Case opened", "edited": "Edited", "note": "Note",
                "moved": "Stage move", "hypothesis": "Hypothesis", "action": "Action",
                "patrol": "Patrol", "output": "Outputs", "community": "Community concern",
                "review": "Override reviewed", "assessment": "Impact assessment",
                "supervisory_review": "Supervisory review", "handover": "Handed over",
                "partner": "Partner agency",
                "attachment": "Photo or document"}[self.value]


class CaseEvent(Base):
    """The case timeline: notes, significant edits and every stage move, in one table."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind))
    summary: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    from_stage: Mapped[Stage | None] = mapped_column(str_enum(Stage, length=20, name="from_stage"))
    to_stage: Mapped[Stage | None] = mapped_column(str_enum(Stage, length=20, name="to_stage"))
    overridden: Mapped[bool] = mapped_column(default=False)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A supervisor's review of a gate override (moves with ``overridden`` only).
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_note: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id], lazy="joined")
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id],
                                                    lazy="joined")
    case: Mapped[Case] = relationship(viewonly=True)

    __table_args__ = (Index("ix_case_events_case_at", "case_id", "at"),)
