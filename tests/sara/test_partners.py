"""The partner rules: every kind of agency leads an action as one of the action list's partner
kinds, never as the police."""

from __future__ import annotations

from app.sara.partners import AgencyKind, PartnerRole
from app.sara.responses import Partner


def test_each_agency_kind_leads_as_a_partner_kind() -> None:
    assert {k: k.partner for k in AgencyKind} == {
        AgencyKind.COUNCIL: Partner.COUNCIL, AgencyKind.HOUSING: Partner.HOUSING,
        AgencyKind.TRANSPORT: Partner.TFL, AgencyKind.SCHOOL: Partner.SCHOOL,
        AgencyKind.BUSINESS: Partner.BUSINESS, AgencyKind.HEALTH: Partner.HEALTH,
        AgencyKind.YOUTH_SERVICE: Partner.YOUTH_SERVICE, AgencyKind.CHARITY: Partner.OTHER}
    # Every partner kind but the police (no partner lead) has an agency kind leading as it.
    assert {k.partner for k in AgencyKind} == set(Partner) - {Partner.POLICE}


def test_labels() -> None:
    assert AgencyKind.TRANSPORT.label == "Transport operator"
    assert [r.label for r in PartnerRole] == ["Lead", "Member", "Kept informed"]
