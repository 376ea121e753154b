"""Scanning vocabulary: crime categories (police.uk slugs), priorities and problem sources."""

from __future__ import annotations

from enum import StrEnum

# police.uk crime category slugs and their published labels: a case maps straight onto crime data.
CATEGORIES: dict[str, str] = {
    "anti-social-behaviour": "Anti-social behaviour",
    "bicycle-theft": "Bicycle theft",
    "burglary": "Burglary",
    "criminal-damage-arson": "Criminal damage and arson",
    "drugs": "Drugs",
    "other-theft": "Other theft",
    "possession-of-weapons": "Possession of weapons",
    "public-order": "Public order",
    "robbery": "Robbery",
    "shoplifting": "Shoplifting",
    "theft-from-the-person": "Theft from the person",
    "vehicle-crime": "Vehicle crime",
    "violent-crime": "Violence and sexual offences",
    "other-crime": "Other crime",
}


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def rank(self) -> int:
        return {"low": 1, "medium": 2, "high": 3}[self.value]


class ProblemSource(StrEnum):
    """Where the problem came to light."""

    OFFICER = "officer"
    COMMUNITY = "community"
    PARTNER = "partner"
    DATA = "data"

    @property
    def label(self) -> str:
        return {
            "officer": "Officer observation",
            "community": "Community concern",
            "partner": "Partner agency",
            "data": "Crime data analysis",
        }[self.value]
