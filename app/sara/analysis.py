"""Analysis vocabulary: hypothesis states."""

from __future__ import annotations

from enum import StrEnum


class HypothesisStatus(StrEnum):
    OPEN = "open"
    SUPPORTED = "supported"
    REFUTED = "refuted"

    @property
    def label(self) -> str:
        return self.value.capitalize()
