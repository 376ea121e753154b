"""Which of a case's collections hold anything, in one round trip: the case page then reads
only those that do (most cases have no patrols, outputs, concerns, partners, photos or reviews
yet, and an empty read costs nearly as much as a short one)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.attachments.models import Attachment
from app.cases.models import Case
from app.community.models import Concern
from app.operations.models import AllocationUnit
from app.partners.models import CasePartner
from app.patrols.models import OutputEntry, Patrol
from app.reviews.models import CaseReview


@dataclass(frozen=True)
class Holdings:
    patrols: bool
    outputs: bool
    concerns: bool
    partners: bool
    attachments: bool
    reviews: bool
    allocated: bool  # a hotspot of an operation's randomised allocation


def case_holdings(db: Session, case: Case) -> Holdings:
    """The caller has read the case through ``case_for``."""
    row = db.execute(select(*(exists().where(model.case_id == case.id) for model in (
        Patrol, OutputEntry, Concern, CasePartner, Attachment, CaseReview,
        AllocationUnit)))).one()
    return Holdings(*(bool(value) for value in row))
