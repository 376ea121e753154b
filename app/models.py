"""Imports every model module so that ``Base.metadata`` knows the whole schema
(Alembic's autogenerate and the models-versus-migrations test rely on it)."""

from app.assessment.models import AssessmentSnapshot
from app.audit.models import AuditEntry, AuditHead
from app.auth.models import ApiToken, SigninThrottle, User, UserSession
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
from app.crime.models import Area, CrimeOutcome, ImportBatch, StopSearch, StreetCrime
from app.db import Base
from app.harm.models import HarmTable, HarmWeight
from app.operations.models import Allocation, AllocationUnit, Operation
from app.patrols.models import OutputEntry, Patrol
from app.reference.models import Borough, Force, Ward

__all__ = [
    "Action",
    "Allocation",
    "AllocationUnit",
    "ApiToken",
    "Area",
    "AssessmentSnapshot",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Borough",
    "Case",
    "CaseCheers",
    "CaseEvent",
    "CaseTriangleSide",
    "Concern",
    "CrimeOutcome",
    "Force",
    "HarmTable",
    "HarmWeight",
    "Hypothesis",
    "ImportBatch",
    "Operation",
    "OutputEntry",
    "Patrol",
    "RefCounter",
    "SigninThrottle",
    "StopSearch",
    "StreetCrime",
    "User",
    "UserSession",
    "Ward",
]
