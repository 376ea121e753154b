"""Imports every model module so that ``Base.metadata`` knows the whole schema
(Alembic's autogenerate and the models-versus-migrations test rely on it)."""

from app.assessment.models import AssessmentSnapshot
from app.attachments.models import Attachment
from app.audit.models import AuditEntry, AuditHead
from app.auth.models import ApiToken, RateCounter, SigninThrottle, User, UserSession
from app.cases.models import (
    Action,
    Case,
    CaseCheers,
    CaseEvent,
    CaseTriangleSide,
    Hypothesis,
    RefCounter,
)
from app.community.models import Concern
from app.crime.models import (
    Area,
    CrimeOutcome,
    ImportBatch,
    StopSearch,
    StreetCrime,
    StreetCrimeCell,
)
from app.db import Base
from app.harm.models import HarmTable, HarmWeight
from app.notifications.models import Notification, NotificationDigest, NotificationPreference
from app.operations.models import Allocation, AllocationUnit, Operation
from app.partners.models import CasePartner, PartnerAgency, PartnerContact
from app.patrols.models import OutputEntry, Patrol
from app.problem_templates.models import CaseTemplate, CaseTemplateVersion
from app.reference.models import Borough, Force, Ward
from app.retention.models import RetentionPeriod, RetentionReview
from app.reviews.models import CaseReview, ReviewCadence

__all__ = [
    "Action",
    "Allocation",
    "AllocationUnit",
    "ApiToken",
    "Area",
    "AssessmentSnapshot",
    "Attachment",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Borough",
    "Case",
    "CaseCheers",
    "CaseEvent",
    "CasePartner",
    "CaseReview",
    "CaseTemplate",
    "CaseTemplateVersion",
    "CaseTriangleSide",
    "Concern",
    "CrimeOutcome",
    "Force",
    "HarmTable",
    "HarmWeight",
    "Hypothesis",
    "ImportBatch",
    "Notification",
    "NotificationDigest",
    "NotificationPreference",
    "Operation",
    "OutputEntry",
    "PartnerAgency",
    "PartnerContact",
    "Patrol",
    "RateCounter",
    "RefCounter",
    "RetentionPeriod",
    "RetentionReview",
    "ReviewCadence",
    "SigninThrottle",
    "StopSearch",
    "StreetCrime",
    "StreetCrimeCell",
    "User",
    "UserSession",
    "Ward",
]
