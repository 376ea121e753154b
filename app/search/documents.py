"""What a case's search document is made of: one line per source of searchable text.

Each source names the model whose rows carry the text, the weight of that text (A, the title,
ranks highest; D lowest), and a query of ``(case_id, text, ...)`` rows. The index keeps itself
current from this list alone (``app.search.index``): a new source of text is one more
``Source(...)`` line here, and nothing else changes.

Only text every reader of the case may read belongs here: a search must not find, rank or
quote anything a reader could not open. So a concern's reporter and contact details (personal
data) are left out; its description and the answer given are on the case for all its readers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, select, true

from app.attachments.models import Attachment
from app.cases.models import (
    Action,
    Case,
    CaseCheers,
    CaseEvent,
    CaseTriangleSide,
    EventKind,
    Hypothesis,
)
from app.community.models import Concern

Weight = Literal["A", "B", "C", "D"]
WEIGHTS: tuple[Weight, ...] = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Source:
    model: type[Any]
    weight: Weight
    columns: tuple[str, ...]  # attributes of ``model`` holding the text
    case_key: str = "case_id"  # the attribute naming the case
    # Which rows count (e.g. notes only among timeline events), as SQL and for a changed row.
    where: Callable[[], ColumnElement[bool]] = field(default=lambda: true())
    counts: Callable[[Any], bool] = field(default=lambda _row: True)

    def rows(self, case_ids: Iterable[int]) -> Select[Any]:
        key = getattr(self.model, self.case_key)
        # In a fixed order, so that a document rebuilt in bulk equals one kept up row by row.
        return (select(key, *(getattr(self.model, c) for c in self.columns))
                .where(key.in_(list(case_ids)), self.where())
                .order_by(*self.model.__table__.primary_key.columns))


def _is_note(event: CaseEvent) -> bool:
    return event.kind is EventKind.NOTE


def _answered(concern: Concern) -> bool:
    return concern.answered_at is not None


SOURCES: tuple[Source, ...] = (
    Source(Case, "A", ("ref", "title"), case_key="id"),
    Source(Case, "B", ("problem_statement",), case_key="id"),
    Source(CaseEvent, "C", ("body",), where=lambda: CaseEvent.kind == EventKind.NOTE,
           counts=_is_note),
    Source(Hypothesis, "C", ("statement", "evidence")),
    Source(Action, "C", ("title", "notes", "owner")),
    Source(Concern, "C", ("description", "place", "we_did"),
           where=lambda: Concern.answered_at.is_not(None), counts=_answered),
    Source(Attachment, "C", ("caption",)),  # photos' and documents' captions
    Source(CaseCheers, "D", ("evidence",)),
    Source(CaseTriangleSide, "D", ("who", "known")),
)
