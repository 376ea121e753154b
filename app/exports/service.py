"""Case file use cases: export a case or an operation (a disclosure: logged with its reason),
and import a verified case file.

An export is allowed to the roles the access matrix lets export (evaluators) and to the
machine's operator on the command line; each one is in the access log with the reason given.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.assessment import service as assessment
from app.assessment.views import evaluation, evaluation_csv
from app.audit.service import AuditAction, record
from app.auth.context import Actor, Channel
from app.auth.permissions import Perm, require
from app.cases.access import acting_user, case_for, normalise_ref
from app.cases.models import Case
from app.crime.geometry import area_shape, to_bng
from app.crime.queries import Period, crime_rows_in
from app.errors import NotFound, ValidationFailed
from app.exports import files
from app.exports.build import case_file
from app.exports.redact import redact
from app.exports.report import render_report
from app.exports.schemas import CaseRecord
from app.operations.allocation import allocation_read
from app.operations.models import Operation
from app.sara.patrols import visit_band

MIN_REASON = 3


@dataclass(frozen=True)
class Export:
    filename: str
    content: bytes


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationFailed.one("reason", "Say why the case file is being disclosed, and "
                                             "to whom: it goes into the access log.")
    return reason[:2000]


def _exportable_case(db: Session, actor: Actor, ref: str) -> Case:
    if actor.user is None and actor.channel is Channel.CLI:
        case = db.scalar(select(Case).where(Case.ref == normalise_ref(ref)))
        if case is None:
            raise NotFound(f"There is no case {normalise_ref(ref)}.")
        return case
    return case_for(db, actor, ref, Perm.CASE_EXPORT)


def export_case(db: Session, actor: Actor, ref: str, *, reason: str,
                redacted: bool = False) -> Export:
    reason = _check_reason(reason)
    case = _exportable_case(db, actor, ref)
    content = case_file_zip(db, actor, case, reason=reason, redacted=redacted)
    record(db, actor, AuditAction.CASE_EXPORT, object_type="case", object_ref=case.ref,
           justification=reason, details={"redacted": redacted,
                                          "sha256": files.sha256(content)})
    db.commit()
    suffix = "-redacted" if redacted else ""
    return Export(f"{case.ref}{suffix}.zip", content)


def case_file_zip(db: Session, actor: Actor, case: Case, *, reason: str,
                  redacted: bool) -> bytes:
    file = case_file(db, case)
    crimes = _crime_rows(db, case)
    redaction: dict[str, Any] = {"applied": False}
    if redacted:
        file, redaction = redact(file)
    manifest = files.manifest_for(file.case.ref, _exporter(actor, redacted), reason, redaction)
    members = {
        "case.json": files.dumps(file),
        **_tables(file.case),
        "crimes.csv": crimes,
        "README.txt": files.readme(file.case.ref, redacted),
        "report.html": render_report(file, manifest).encode("utf-8"),
    }
    return files.write_zip(members, manifest)


def _exporter(actor: Actor, redacted: bool) -> str:
    if redacted:
        return "popcase (redacted export)"
    return actor.user.display_name if actor.user else actor.operator


def _tables(case: CaseRecord) -> dict[str, bytes]:
    corrected = {o.corrects for o in case.outputs if o.corrects is not None}
    return {
        "actions.csv": files.csv_bytes(
            [c for c, _m in files.CSV_COLUMNS["actions.csv"][1]],
            ([a.key, a.title, a.tactic, a.tactic_label, a.partner.value, a.owner, a.due_date,
              a.status.value, a.completed_on, a.notes] for a in case.actions)),
        "patrols.csv": files.csv_bytes(
            [c for c, _m in files.CSV_COLUMNS["patrols.csv"][1]],
            ([p.key, p.started_at.isoformat(), p.ended_at.isoformat() if p.ended_at else None,
              p.minutes, visit_band(p.minutes).value if p.minutes is not None else None,
              p.kind.value, p.officers, p.place, p.live, p.notes] for p in case.patrols)),
        "outputs.csv": files.csv_bytes(
            [c for c, _m in files.CSV_COLUMNS["outputs.csv"][1]],
            ([o.key, o.on, o.kind.value, o.count, o.patrol, o.corrects,
              o.key not in corrected, o.reason, o.notes] for o in case.outputs)),
        "timeline.csv": files.csv_bytes(
            [c for c, _m in files.CSV_COLUMNS["timeline.csv"][1]],
            ([e.at.isoformat(), e.kind.value, e.actor.name if e.actor else "", e.summary, e.body,
              e.from_stage.value if e.from_stage else None,
              e.to_stage.value if e.to_stage else None, e.overridden] for e in case.timeline)),
    }


def _crime_rows(db: Session, case: Case) -> bytes:
    """The crimes of the latest assessment's areas, periods and types (header only when the
    case has no assessment)."""
    columns = [c for c, _m in files.CSV_COLUMNS["crimes.csv"][1]]
    saved = assessment.snapshots(db, case)
    if not saved:
        return files.csv_bytes(columns, [])
    latest = saved[0]
    periods = {"before": Period(latest.before_first, latest.before_last),
               "after": Period(latest.after_first, latest.after_last)}
    rows = []
    for role in ("target", "buffer", "control"):
        area = _counted_shape(latest.areas.get(role), role)
        if area is None:
            continue
        for name, period in periods.items():
            for crime in crime_rows_in(db, case.borough.force_id, area, period,
                                       list(latest.categories)):
                rows.append([role, name, f"{crime.month:%Y-%m}", crime.crime_id,
                             crime.category, crime.longitude, crime.latitude, crime.location,
                             crime.lsoa_code, crime.lsoa_name, crime.last_outcome,
                             crime.source])
    return files.csv_bytes(columns, rows)


def _counted_shape(record: dict[str, Any] | None, role: str) -> BaseGeometry | None:
    if not record:
        return None
    if role == "buffer":
        return to_bng(shape(record["geometry"]))
    return area_shape(record["geometry"], record.get("radius_m"))


# --- an operation's bundle ---------------------------------------------------------------------

def find_operation(db: Session, name_or_id: str | int) -> Operation:
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        operation = db.get(Operation, int(name_or_id))
    else:
        operation = db.scalar(select(Operation).where(Operation.name.ilike(str(name_or_id))))
    if operation is None:
        raise NotFound(f"There is no operation {name_or_id}.")
    return operation


def export_operation(db: Session, actor: Actor, operation: Operation, *, reason: str,
                     redacted: bool = False) -> Export:
    """Every case file of the operation (the cases the exporter may read), the operation's
    evaluation table as CSV and JSON, and a manifest over them all."""
    reason = _check_reason(reason)
    if actor.user is not None:
        require(acting_user(actor), Perm.CASE_EXPORT)
    if actor.user is None:
        cases = list(db.scalars(select(Case).where(Case.operation_id == operation.id)
                                .order_by(Case.ref)))
        rows = [(c, (assessment.snapshots(db, c) or [None])[0]) for c in cases]
    else:
        rows = assessment.latest_snapshots(db, actor, operation.id)
    result = evaluation(operation, rows, allocation_read(db, actor, operation))
    members: dict[str, bytes] = {
        "operation.json": json.dumps({
            "name": operation.name, "unit": operation.unit,
            "force": operation.force_id, "borough": operation.borough_code,
            "run_by": operation.owner_label, "description": operation.description,
            "start_date": operation.start_date.isoformat(),
            "end_date": operation.end_date.isoformat() if operation.end_date else None,
            "cases": [case.ref for case, _s in rows]}, indent=2).encode("utf-8"),
        "evaluation.json": result.model_dump_json(indent=2).encode("utf-8"),
        "evaluation.csv": files.csv_bytes(next(evaluation_csv(result)),
                                          list(evaluation_csv(result))[1:]),
    }
    for case, _snapshot in rows:
        members[f"cases/{case.ref}.zip"] = case_file_zip(db, actor, case, reason=reason,
                                                         redacted=redacted)
        record(db, actor, AuditAction.CASE_EXPORT, object_type="case", object_ref=case.ref,
               justification=reason, details={"redacted": redacted,
                                              "operation": operation.id})
    manifest = {"format": "popcase-operation-bundle", "version": 1,
                "operation": operation.name, "exported_by": _exporter(actor, redacted),
                "reason": reason, "redaction": {"applied": redacted}}
    content = files.write_zip(members, manifest | {"exported_at": files.now()})
    record(db, actor, AuditAction.OPERATION_EXPORT, object_type="operation",
           object_ref=str(operation.id), justification=reason,
           details={"cases": len(rows), "redacted": redacted,
                    "sha256": files.sha256(content)})
    db.commit()
    slug = re.sub(r"[^a-z0-9]+", "-", operation.name.lower()).strip("-") or "operation"
    return Export(f"operation-{slug}{'-redacted' if redacted else ''}.zip", content)

