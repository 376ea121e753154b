"""Reference data for scripts: boroughs, wards and the SARA vocabularies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES
from app.errors import NotFound
from app.reference import service
from app.sara.analysis import HypothesisStatus
from app.sara.assessment import Outcome
from app.sara.cheers import CheersElement
from app.sara.problem import CATEGORIES, Priority, ProblemSource
from app.sara.responses import TACTICS, ActionStatus, Partner
from app.sara.stages import Stage
from app.sara.triangle import TriangleSide

router = APIRouter(tags=["reference"], responses=ERROR_RESPONSES)


class BoroughRead(BaseModel):
    code: str
    name: str
    ref_prefix: str


class WardRead(BaseModel):
    code: str
    name: str
    borough: str


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


@router.get("/boroughs", response_model=list[BoroughRead], summary="The 33 London boroughs")
def boroughs(actor: ApiActor, db: Db) -> list[BoroughRead]:
    return [BoroughRead(code=b.code, name=b.name, ref_prefix=b.ref_prefix)
            for b in service.list_boroughs(db)]


@router.get("/boroughs/{code}/wards", response_model=list[WardRead],
            summary="The wards of a borough (ONS, December 2022)")
def wards(actor: ApiActor, db: Db,
          code: Annotated[str, Path(pattern=r"^E09\d{6}$", examples=["E09000033"])]
          ) -> list[WardRead]:
    if service.get_borough(db, code) is None:
        raise NotFound(f"There is no borough {code}.")
    return [WardRead(code=w.code, name=w.name, borough=w.borough_code)
            for w in service.list_wards(db, code)]


@router.get("/vocabularies", response_model=Vocabularies,
            summary="Every value a case field accepts, with its label")
def vocabularies(actor: ApiActor) -> Vocabularies:
    def terms(enum: type) -> list[Term]:
        return [Term(value=m.value, label=m.label) for m in enum]  # type: ignore[attr-defined]

    return Vocabularies(
        stages=terms(Stage),
        categories=[Term(value=k, label=v) for k, v in CATEGORIES.items()],
        priorities=terms(Priority), sources=terms(ProblemSource), cheers=terms(CheersElement),
        triangle_sides=terms(TriangleSide), hypothesis_statuses=terms(HypothesisStatus),
        tactics=[Term(value=t.key, label=t.label, group=t.group) for t in TACTICS.values()],
        partners=terms(Partner), action_statuses=terms(ActionStatus), outcomes=terms(Outcome),
    )
