"""The problem analysis triangle: three inner sides and the controller of each."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TriangleSide(StrEnum):
    OFFENDER = "offender"
    VICTIM = "victim"
    PLACE = "place"
    HANDLER = "handler"
    GUARDIAN = "guardian"
    MANAGER = "manager"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_inner(self) -> bool:
        return self in INNER_SIDES

    @property
    def prompt(self) -> str:
        return _PROMPTS[self]


INNER_SIDES = (TriangleSide.OFFENDER, TriangleSide.VICTIM, TriangleSide.PLACE)
# Each outer controller watches over one inner side.
CONTROLLER_OF = {
    TriangleSide.HANDLER: TriangleSide.OFFENDER,
    TriangleSide.GUARDIAN: TriangleSide.VICTIM,
    TriangleSide.MANAGER: TriangleSide.PLACE,
}

_LABELS = {
    TriangleSide.OFFENDER: "Offender",
    TriangleSide.VICTIM: "Victim or target",
    TriangleSide.PLACE: "Place",
    TriangleSide.HANDLER: "Handler (of the offender)",
    TriangleSide.GUARDIAN: "Guardian (of the target)",
    TriangleSide.MANAGER: "Manager (of the place)",
}
_PROMPTS = {
    TriangleSide.OFFENDER: "Who offends, and what draws them here?",
    TriangleSide.VICTIM: "Who or what is harmed, and why are they vulnerable?",
    TriangleSide.PLACE: "Where exactly does it happen, and what about the place allows it?",
    TriangleSide.HANDLER: (
        "Who has influence over the offenders (family, youth workers, probation)?"
    ),
    TriangleSide.GUARDIAN: "Who protects the targets (staff, neighbours, CCTV operators)?",
    TriangleSide.MANAGER: "Who owns or runs the place (council, landlord, market operator)?",
}


@dataclass(frozen=True)
class SideDescription:
    """Who or what is on this side, and what is known about them."""

    who: str = ""
    known: str = ""

    @property
    def is_described(self) -> bool:
        return bool(self.who.strip())
