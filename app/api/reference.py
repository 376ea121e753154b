"""Reference data for scripts: the SARA vocabularies (forces, areas and wards: app.api.forces)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from fastapi import APIRouter
from pydantic import BaseModel

from app.api.deps import ApiActor
from app.api.errors import ERROR_RESPONSES
from app.sara.analysis import HypothesisStatus
from app.sara.assessment import Outcome
from app.sara.cheers import CheersElement
from app.sara.problem import CATEGORIES, Priority, ProblemSource
from app.sara.responses import TACTICS, ActionStatus, Partner
from app.sara.stages import Stage
from app.sara.triangle import TriangleSide

router = APIRouter(tags=["reference"], responses=ERROR_RESPONSES)


class Labelled(Protocol):
    """A member of one of the SARA enums: its stored value and the label people read."""

    @property
    def value(self) -> str: ...

    @property
    def label(self) -> str: ...


class Term(BaseModel):
    value: str
    label: str
    group: str | None = None


class Vocabularies(BaseModel):
    stages: list[Term]
    categories: list[Term]
    priorities: list[Term]
    sources: list[Term]
    cheers: list[Term]
    triangle_sides: list[Term]
    hypothesis_statuses: list[Term]
    tactics: list[Term]
    partners: list[Term]
    action_statuses: list[Term]
    outcomes: list[Term]


@router.get("/vocabularies", response_model=Vocabularies,
            summary="Every value a case field accepts, with its label")
def vocabularies(actor: ApiActor) -> Vocabularies:
    def terms(enum: Iterable[Labelled]) -> list[Term]:
        return [Term(value=m.value, label=m.label) for m in enum]

    return Vocabularies(
        stages=terms(Stage),
        categories=[Term(value=k, label=v) for k, v in CATEGORIES.items()],
        priorities=terms(Priority), sources=terms(ProblemSource), cheers=terms(CheersElement),
        triangle_sides=terms(TriangleSide), hypothesis_statuses=terms(HypothesisStatus),
        tactics=[Term(value=t.key, label=t.label, group=t.group) for t in TACTICS.values()],
        partners=terms(Partner), action_statuses=terms(ActionStatus), outcomes=terms(Outcome),
    )
