"""Response tactics: the 25 techniques of situational crime prevention (Cornish & Clarke 2003),
other named policing tactics, partner agencies and action states."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


@dataclass(frozen=True)
class Tactic:
    key: str
    label: str
    group: str


SCP_GROUPS: dict[str, list[tuple[str, str]]] = {
    "Increase the effort": [
        ("target-harden", "Target harden"),
        ("control-access", "Control access to facilities"),
        ("screen-exits", "Screen exits"),
        ("deflect-offenders", "Deflect offenders"),
        ("control-tools", "Control tools and weapons"),
    ],
    "Increase the risks": [
        ("extend-guardianship", "Extend guardianship"),
        ("natural-surveillance", "Assist natural surveillance"),
        ("reduce-anonymity", "Reduce anonymity"),
        ("place-managers", "Utilise place managers"),
        ("formal-surveillance", "Strengthen formal surveillance"),
    ],
    "Reduce the rewards": [
        ("conceal-targets", "Conceal targets"),
        ("remove-targets", "Remove targets"),
        ("identify-property", "Identify property"),
        ("disrupt-markets", "Disrupt markets"),
        ("deny-benefits", "Deny benefits"),
    ],
    "Reduce provocations": [
        ("reduce-frustration", "Reduce frustrations and stress"),
        ("avoid-disputes", "Avoid disputes"),
        ("reduce-arousal", "Reduce emotional arousal and temptation"),
        ("neutralise-peer-pressure", "Neutralise peer pressure"),
        ("discourage-imitation", "Discourage imitation"),
    ],
    "Remove excuses": [
        ("set-rules", "Set rules"),
        ("post-instructions", "Post instructions"),
        ("alert-conscience", "Alert conscience"),
        ("assist-compliance", "Assist compliance"),
        ("control-drugs-alcohol", "Control drugs and alcohol"),
    ],
}

OTHER_TACTICS_GROUP = "Other policing and partnership tactics"
OTHER_TACTICS: list[tuple[str, str]] = [
    ("hotspot-patrols", "Hotspot patrols"),
    ("enforcement", "Enforcement"),
    ("diversion", "Diversion"),
    ("community-engagement", "Community engagement"),
    ("partnership", "Partnership working"),
]

TACTICS: dict[str, Tactic] = {
    key: Tactic(key, label, group)
    for group, items in [*SCP_GROUPS.items(), (OTHER_TACTICS_GROUP, OTHER_TACTICS)]
    for key, label in items
}


def tactic_groups() -> list[tuple[str, list[Tactic]]]:
    """Tactics grouped for a select box, in catalogue order."""
    groups: dict[str, list[Tactic]] = {}
    for tactic in TACTICS.values():
        groups.setdefault(tactic.group, []).append(tactic)
    return list(groups.items())


class Partner(StrEnum):
    """The agency that leads an action; POLICE when no partner leads."""

    POLICE = "police"
    COUNCIL = "council"
    HOUSING = "housing"
    TFL = "tfl"
    BUSINESS = "business"
    SCHOOL = "school"
    HEALTH = "health"
    YOUTH_SERVICE = "youth-service"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _PARTNER_LABELS[self]


_PARTNER_LABELS = {
    Partner.POLICE: "Police (no partner lead)",
    Partner.COUNCIL: "Local council",
    Partner.HOUSING: "Housing provider",
    Partner.TFL: "Transport for London",
    Partner.BUSINESS: "Business",
    Partner.SCHOOL: "School",
    Partner.HEALTH: "Health service",
    Partner.YOUTH_SERVICE: "Youth service",
    Partner.OTHER: "Other partner",
}


class ActionStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def is_open(self) -> bool:
        return self in (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS)


def is_overdue(status: ActionStatus, due: date | None, today: date) -> bool:
    return status.is_open and due is not None and due < today
