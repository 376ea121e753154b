"""Imports every model module so that ``Base.metadata`` knows the whole schema
(Alembic's autogenerate and the models-versus-migrations test rely on it)."""

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
from app.crime.models import Area, CrimeOutcome, ImportBatch, StopSearch, StreetCrime
from app.db import Base
from app.reference.models import Borough, Ward

__all__ = [
    "Action",
    "ApiToken",
    "Area",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Borough",
    "Case",
    "CaseCheers",
    "CaseEvent",
    "CaseTriangleSide",
    "CrimeOutcome",
    "Hypothesis",
    "ImportBatch",
    "RefCounter",
    "SigninThrottle",
    "StopSearch",
    "StreetCrime",
    "User",
    "UserSession",
    "Ward",
]
