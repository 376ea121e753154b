"""What the case page shows of the work on the ground: the patrol panel (start and end a
patrol, record outputs), the patrol log with its dosage, the outputs and their corrections,
and "you said, we did"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from app.auth.context import Actor
from app.auth.permissions import Perm, has
from app.cases.holdings import Holdings
from app.cases.models import Case
from app.clock import local, today
from app.community.models import Concern
from app.community.service import case_concerns
from app.db import utcnow
from app.operations.allocation import comparison_of
from app.patrols import service as patrols
from app.patrols.models import OutputEntry, Patrol
from app.patrols.shift import PATROL_STAGES
from app.patrols.views import patrol_log, totals_of
from app.sara.patrols import (
    KOPER_MAX_MINUTES,
    KOPER_MIN_MINUTES,
    OutputKind,
    PatrolKind,
    format_minutes,
    week_start,
)
from app.sara.stages import Stage

PATROL_KIND_OPTIONS = [(k.value, k.label) for k in PatrolKind]
OUTPUT_KINDS = list(OutputKind)
RECENT_PATROLS = 20  # on the page; the API lists them all


def work_context(db: Session, actor: Actor, case: Case,
                 held: Holdings | None = None) -> dict[str, Any]:
    """``held``: which of the case's collections hold anything (None: read them all)."""
    user = actor.user
    assert user is not None
    rows = patrols.case_patrols(db, case) if held is None or held.patrols else []
    comparison = comparison_of(db, case.id) if held is None or held.allocated else None
    log = patrol_log(rows, case.planned_patrol_minutes, today(), comparison)
    entries = patrols.case_outputs(db, case) if held is None or held.outputs else []
    mine = patrols.running_patrol_of(db, user.id)
    day = today()
    can_patrol = has(user, Perm.PATROL_LOG) and case.stage is not Stage.CLOSED
    return {
        "patrol_log": log,
        "recent_patrols": log.patrols[:RECENT_PATROLS],
        "output_entries": entries,
        "output_totals": totals_of(entries),
        "output_kinds": OUTPUT_KINDS,
        "patrol_kind_options": PATROL_KIND_OPTIONS,
        "concerns": case_concerns(db, case) if held is None or held.concerns else [],
        "my_patrol": mine[0] if mine and mine[1] == case.ref else None,
        "my_patrol_elsewhere": mine if mine and mine[1] != case.ref else None,
        "others_running": [p for p in log.running if not mine or p.id != mine[0].id],
        "patrol_choices": [(str(p.id), f"{local(p.started_at):%H:%M} "
                           f"{p.kind.label.lower()} patrol")
                           for p in log.patrols if local(p.started_at).date() == day],
        "can_patrol": can_patrol,
        # The panel at the top from Response on (and wherever the reader's patrol runs).
        "show_patrol_panel": can_patrol and (case.stage in PATROL_STAGES or bool(
            mine and mine[1] == case.ref)),
        "today_iso": day.isoformat(),
        "this_week": week_start(day),
        "band": (KOPER_MIN_MINUTES, KOPER_MAX_MINUTES),
        "format_minutes": format_minutes,
        "now_utc": utcnow(),
        "panel_conflict": "",
    }


def _patrol_values(db: Session, case: Case, patrol_id: int) -> dict[str, Any]:
    patrol = db.get(Patrol, patrol_id)
    if patrol is None or patrol.case_id != case.id:
        return {"item_values": {}, "form_version": 0}
    prefix, start = f"patrol{patrol_id}", local(patrol.started_at)
    return {"item_values": {
        f"{prefix}-date": start.date().isoformat(), f"{prefix}-started_at": f"{start:%H:%M}",
        f"{prefix}-ended_at": f"{local(patrol.ended_at):%H:%M}" if patrol.ended_at else "",
        f"{prefix}-kind": patrol.kind.value, f"{prefix}-officers": patrol.officers,
        f"{prefix}-place": patrol.place, f"{prefix}-notes": patrol.notes,
    }, "form_version": patrol.version}


def _output_values(db: Session, case: Case, entry_id: int) -> dict[str, Any]:
    entry = db.get(OutputEntry, entry_id)
    if entry is None or entry.case_id != case.id:
        return {"item_values": {}, "form_version": 0}
    return {"item_values": {f"output{entry_id}-count": entry.count}, "form_version": 0}


def _concern_values(db: Session, case: Case, concern_id: int) -> dict[str, Any]:
    concern = db.get(Concern, concern_id)
    if concern is None or concern.case_id != case.id:
        return {"item_values": {}, "form_version": 0}
    return {"item_values": {f"concern{concern_id}-we_did": concern.we_did},
            "form_version": concern.version}


# Items of these sections opened for editing by ``?edit=<prefix><id>``.
work_edit_values: dict[str, Callable[[Session, Case, int], dict[str, Any]]] = {
    "patrol": _patrol_values, "output": _output_values, "concern": _concern_values,
}
