"""Partner agencies in a problem-oriented response: the kinds of agency a force works with, the
part an agency plays on a case, and how an agency's kind names an action's lead partner."""

from __future__ import annotations

from enum import StrEnum

from app.sara.responses import Partner


class AgencyKind(StrEnum):
    """The kinds of partner agency in a force's directory (issue 17's list)."""

    COUNCIL = "council"
    HOUSING = "housing"
    TRANSPORT = "transport"
    SCHOOL = "school"
    BUSINESS = "business"
    HEALTH = "health"
    YOUTH_SERVICE = "youth-service"
    CHARITY = "charity"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]

    @property
    def partner(self) -> Partner:
        """The action's ``partner`` kind when an agency of this kind leads it. The action list
        came first and names London's transport operator; a charity has no kind of its own
        there, so it counts as another partner."""
        return _PARTNER_OF_KIND[self]


_KIND_LABELS = {
    AgencyKind.COUNCIL: "Local council",
    AgencyKind.HOUSING: "Housing provider",
    AgencyKind.TRANSPORT: "Transport operator",
    AgencyKind.SCHOOL: "School",
    AgencyKind.BUSINESS: "Business",
    AgencyKind.HEALTH: "Health service",
    AgencyKind.YOUTH_SERVICE: "Youth service",
    AgencyKind.CHARITY: "Charity",
}

_PARTNER_OF_KIND = {
    AgencyKind.COUNCIL: Partner.COUNCIL,
    AgencyKind.HOUSING: Partner.HOUSING,
    AgencyKind.TRANSPORT: Partner.TFL,
    AgencyKind.SCHOOL: Partner.SCHOOL,
    AgencyKind.BUSINESS: Partner.BUSINESS,
    AgencyKind.HEALTH: Partner.HEALTH,
    AgencyKind.YOUTH_SERVICE: Partner.YOUTH_SERVICE,
    AgencyKind.CHARITY: Partner.OTHER,
}


class PartnerRole(StrEnum):
    """What an agency does on a case (after Dispatch's participant roles)."""

    LEAD = "lead"  # leads the response, or part of it
    MEMBER = "member"  # works on the response
    INFORMED = "informed"  # kept informed, does not act

    @property
    def label(self) -> str:
        return {"lead": "Lead", "member": "Member", "informed": "Kept informed"}[self.value]


FORMER_CONTACT = "Former contact"
