"""Assessment vocabulary: Eck's five outcomes of problem-solving."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    ELIMINATED = "eliminated"
    FEWER_INCIDENTS = "fewer_incidents"
    LESS_HARM = "less_harm"
    BETTER_HANDLING = "better_handling"
    MOVED_AGENCY = "moved_agency"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Outcome.ELIMINATED: "Problem eliminated",
    Outcome.FEWER_INCIDENTS: "Fewer incidents",
    Outcome.LESS_HARM: "Less harm per incident",
    Outcome.BETTER_HANDLING: "Better handling of incidents",
    Outcome.MOVED_AGENCY: "Problem moved to another agency's handling",
}
