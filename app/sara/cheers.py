"""CHEERS: the six tests of whether something is a problem for problem-oriented policing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CheersElement(StrEnum):
    COMMUNITY = "community"
    HARM = "harm"
    EXPECTATION = "expectation"
    EVENTS = "events"
    RECURRING = "recurring"
    SIMILARITY = "similarity"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def question(self) -> str:
        return _QUESTIONS[self]


_QUESTIONS: dict[CheersElement, str] = {
    CheersElement.COMMUNITY: "Is it experienced by members of the public?",
    CheersElement.HARM: "Does it cause harm to people, property, or fear?",
    CheersElement.EXPECTATION: "Does the public expect the police to help?",
    CheersElement.EVENTS: "Is it made of discrete events?",
    CheersElement.RECURRING: "Do the events recur, or are they expected to?",
    CheersElement.SIMILARITY: (
        "Do the events share offender, victim, place, time or behaviour?"
    ),
}


@dataclass(frozen=True)
class CheersAssessment:
    """One element as assessed: ``met`` is None until someone has assessed it."""

    met: bool | None = None
    evidence: str = ""
