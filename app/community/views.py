from __future__ import annotations

from app.auth.models import User
from app.auth.permissions import Perm, has
from app.community.models import Concern
from app.community.schemas import ConcernRead


def concern_read(concern: Concern, user: User) -> ConcernRead:
    """Contact details go only to those who record concerns (the borough's officers)."""
    return ConcernRead(
        id=concern.id, borough=concern.borough_code, borough_name=concern.borough.name,
        ward=concern.ward_code, ward_name=concern.ward.name if concern.ward else None,
        raised_on=concern.raised_on, raised_by_kind=concern.raised_by_kind,
        raised_by=concern.raised_by,
        contact=concern.contact if has(user, Perm.CONCERN_RECORD) else None,
        channel=concern.channel, place=concern.place, description=concern.description,
        recorded_at=concern.recorded_at,
        recorded_by=concern.recorded_by.username if concern.recorded_by else None,
        triage_outcome=concern.triage_outcome, triage_reason=concern.triage_reason,
        triaged_at=concern.triaged_at, case=concern.case.ref if concern.case else None,
        we_did=concern.we_did, answered_at=concern.answered_at, version=concern.version)
