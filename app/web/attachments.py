"""What the case page shows of attachments: before and after photos side by side, the other
photos and documents, what each corrects or was corrected by, and the forms to add them (the
photo form opens a phone's camera)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import zip_longest
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.attachments.models import Attachment, AttachmentKind, Phase
from app.attachments.service import case_attachments, superseded_ids
from app.attachments.upload import FILE_FIELD
from app.auth.context import Actor
from app.auth.permissions import Perm, has
from app.cases.holdings import Holdings
from app.cases.models import Case
from app.errors import FieldError
from app.patrols.models import Patrol
from app.sara.stages import Stage

PHASE_OPTIONS = [("", "Neither"), (Phase.BEFORE.value, "Before"), (Phase.AFTER.value, "After")]
FORMS = ("photo", "document")


@dataclass(frozen=True)
class Shown:
    attachment: Attachment
    superseded_by: int | None


def attachment_context(db: Session, actor: Actor, case: Case,
                       patrols: Sequence[Linkable] | None = None,
                       held: Holdings | None = None) -> dict[str, Any]:
    """``patrols``: the case's patrols oldest first, when the caller has read them already;
    ``held``: which of the case's collections hold anything (None: read them all)."""
    user = actor.user
    assert user is not None
    found = case_attachments(db, case) if held is None or held.attachments else []
    replaced = superseded_ids(found)
    rows = [Shown(a, replaced.get(a.id)) for a in found]
    current = [r for r in rows if r.superseded_by is None]
    befores = [r for r in current if r.attachment.phase is Phase.BEFORE]
    afters = [r for r in current if r.attachment.phase is Phase.AFTER]
    links = _link_options(db, case, patrols)
    return {
        "attachment_pairs": list(zip_longest(befores, afters)),
        "attachment_others": [r for r in rows if r.attachment.phase is None
                              or r.superseded_by is not None],
        "attachment_count": len(rows),
        # Shown on each action: how many current attachments belong to it.
        "attachments_by_action": Counter(r.attachment.action_id for r in current
                                         if r.attachment.action_id is not None),
        "can_attach": has(user, Perm.ATTACHMENT_ADD) and case.stage is not Stage.CLOSED,
        "can_original": has(user, Perm.ATTACHMENT_ORIGINAL),
        "attachment_links": links,
        "link_labels": dict(links),
        "phase_options": PHASE_OPTIONS,
        "attachment_errors": {}, "attachment_values": {}, "attachment_form": "",
        "AttachmentKind": AttachmentKind,
    }


class Linkable(Protocol):
    """A patrol as an attachment's link shows it (a ``Patrol`` or its read model)."""

    id: int
    started_at: datetime
    place: str


def _link_options(db: Session, case: Case,
                  patrols: Sequence[Linkable] | None) -> list[tuple[str, str]]:
    """What an attachment can belong to: the case itself, one of its actions or patrols."""
    options = [("", "The case as a whole")]
    options += [(f"action:{a.id}", f"Action: {a.title}") for a in case.actions]
    if patrols is None:
        patrols = list(db.scalars(select(Patrol).where(Patrol.case_id == case.id)
                                  .order_by(Patrol.started_at, Patrol.id)))
    options += [(f"patrol:{p.id}", f"Patrol {p.started_at:%-d %b %Y %H:%M}"
                 + (f" at {p.place}" if p.place else "")) for p in patrols]
    return options


def form_payload(fields: dict[str, str], form: str) -> dict[str, str]:
    """A page form's fields (``photo-caption``, ``photo-link``...) as the API's names."""
    link = fields.get(f"{form}-link", "")
    kind, _sep, number = link.partition(":")
    return {"caption": fields.get(f"{form}-caption", ""),
            "phase": fields.get(f"{form}-phase", ""),
            "action": number if kind == "action" else "",
            "patrol": number if kind == "patrol" else ""}


def form_errors(errors: list[FieldError], form: str) -> dict[str, str]:
    """The service's field names as the form's control ids (one message per control)."""
    controls = {"caption": "caption", "phase": "phase", "action": "link", "patrol": "link",
                FILE_FIELD: "file", "supersedes": "file"}
    found: dict[str, str] = {}
    for error in errors:
        control = f"{form}-{controls.get(error.field, 'file')}"
        found.setdefault(control, error.message)
    return found
