"""Community input: who raises a concern, how it reaches the police, and how it is triaged.

Every concern is triaged once: linked to an existing case, turned into a new Scanning case, or
closed as not a police matter with a reason. A concern on a case is answered when the case
records what was done about it ("you said, we did").
"""

from __future__ import annotations

from enum import StrEnum


class RaisedBy(StrEnum):
    RESIDENT = "resident"
    BUSINESS = "business"
    COUNCILLOR = "councillor"
    SCHOOL = "school"
    COMMUNITY_GROUP = "community_group"
    PARTNER = "partner"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"resident": "Resident", "business": "Business", "councillor": "Councillor",
                "school": "School", "community_group": "Community group",
                "partner": "Partner agency", "other": "Someone else"}[self.value]


class Channel(StrEnum):
    WARD_PANEL = "ward_panel"
    STREET_BRIEFING = "street_briefing"
    COUNCILLOR_REFERRAL = "councillor_referral"
    ONLINE = "online"
    PHONE_OR_EMAIL = "phone_or_email"
    IN_PERSON = "in_person"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"ward_panel": "Ward panel meeting", "street_briefing": "Street briefing",
                "councillor_referral": "Councillor referral", "online": "Online",
                "phone_or_email": "Phone or email", "in_person": "In person, on patrol",
                "other": "Other"}[self.value]


class TriageOutcome(StrEnum):
    LINKED = "linked"
    NEW_CASE = "new_case"
    NOT_POLICE = "not_police"

    @property
    def label(self) -> str:
        return {"linked": "Linked to an existing case", "new_case": "Opened as a new case",
                "not_police": "Closed: not a police matter"}[self.value]
