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
from app.assessment.views import CSV_COLUMNS, evaluation, evaluation_csv
from app.attachments.models import AttachmentKind
from app.attachments.storage import Store
from app.audit.service import AuditAction
from app.auth.context import Actor, Channel
from app.auth.permissions import Perm, require
from app.cases.access import acting_user, case_for, normalise_ref
from app.cases.models import Case
from app.crime.geometry import area_shape, to_bng
from app.crime.queries import Period, crime_rows_in
from app.csvfile import csv_bytes
from app.errors import NotFound, ValidationFailed
from app.exports import files
from app.exports.build import case_file
from app.exports.redact import redact
from app.exports.report import render_report
from app.exports.schemas import CaseFile, CaseRecord
from app.operations.allocation import allocation_read
from app.operations.models import Operation
from app.partners.access import sees_case_contacts
from app.reference.models import Borough, Force
from app.sara.patrols import visit_band
from app.settings import get_settings
from app.usecase import use_case

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
                redacted: bool = False, photos: bool = False,
                store: Store | None = None) -> Export:
    """``photos``: a redacted file carries the photos too (faces and number plates are not
    redacted: only when asked). An unredacted file always carries them."""
    reason = _check_reason(reason)
    case = _exportable_case(db, actor, ref)
    with use_case(db, actor, AuditAction.CASE_EXPORT, case=case, justification=reason) as done:
        content = case_file_zip(db, actor, case, reason=reason, redacted=redacted,
                                photos=photos, store=store)
        done.details = {"redacted": redacted, "photos": photos or not redacted,
                        "sha256": files.sha256(content)}
    suffix = "-redacted" if redacted else ""
    return Export(f"{case.ref}{suffix}.zip", content)


def case_file_zip(db: Session, actor: Actor, case: Case, *, reason: str,
                  redacted: bool, photos: bool = False, store: Store | None = None) -> bytes:
    # An evaluator's file (their role does not see partner contacts) carries contacts by job
    # title only, as their case page does; the command line's operator exports everything.
    contact_details = actor.user is None or sees_case_contacts(actor.user)
    file = case_file(db, case, contact_details=contact_details)
    crimes = _crime_rows(db, case)
    redaction: dict[str, Any] = {"applied": False}
    if not contact_details and file.case.partners:
        redaction["partner_contacts"] = "withheld: the exporter's role does not see them"
    if redacted:
        file, redaction = redact(file, known_places(db))
    file, carried, redaction = _carried(file, redacted, photos, redaction)
    manifest = files.manifest_for(file.case.ref, _exporter(actor, redacted), reason, redaction)
    manifest["attachments"] = [
        {"key": a.key, "kind": a.kind.value, "phase": a.phase.value if a.phase else None,
         "file": a.file, "sha256": a.file_sha256, "original_sha256": a.original_sha256}
        for a in file.case.attachments]
    store = store or Store.from_settings(get_settings())
    members = {
        "case.json": files.dumps(file),
        **_tables(file.case),
        "crimes.csv": crimes,
        "README.txt": files.readme(file.case.ref, redacted),
        "report.html": render_report(file, manifest).encode("utf-8"),
        # Each carried file under its checksum (the manifest's ``files`` lists it again).
        **{path: store.read(digest) for path, digest in carried.items()},
    }
    return files.write_zip(members, manifest)


def known_places(db: Session) -> list[str]:
    """Every force's and local policing area's name here: words redaction keeps (a partner
    contact called Sam London leaves "City of London Police" whole)."""
    forces = db.execute(select(Force.area_name, Force.name)).all()
    return [*(n for pair in forces for n in pair if n), *db.scalars(select(Borough.name))]


def _carried(file: CaseFile, redacted: bool, photos: bool,
             redaction: dict[str, Any]) -> tuple[CaseFile, dict[str, str], dict[str, Any]]:
    """Which attachment files the zip carries (path to digest). A redacted file leaves photos
    out unless asked (faces, number plates and doors are not redacted), and documents always
    (their text cannot be redacted); the manifest says so."""
    carried: dict[str, str] = {}
    left_out = {AttachmentKind.PHOTO: 0, AttachmentKind.DOCUMENT: 0}
    items = []
    for item in file.case.attachments:
        keep = not redacted or (item.kind is AttachmentKind.PHOTO and photos)
        if keep and item.file:
            carried[item.file] = item.file_sha256
        else:
            left_out[item.kind] += 1
            item = item.model_copy(update={"file": None})
        items.append(item)
    if redacted and file.case.attachments:
        redaction = {**redaction, "photos": "included on request" if photos
                     else f"left out ({left_out[AttachmentKind.PHOTO]})",
                     "documents": f"left out ({left_out[AttachmentKind.DOCUMENT]}): their "
                                  "text cannot be redacted"}
    case = file.case.model_copy(update={"attachments": items})
    return file.model_copy(update={"case": case}), carried, redaction


def _exporter(actor: Actor, redacted: bool) -> str:
    if redacted:
        return "popcase (redacted export)"
    return actor.user.display_name if actor.user else actor.operator


def _tables(case: CaseRecord) -> dict[str, bytes]:
    corrected = {o.corrects for o in case.outputs if o.corrects is not None}
    return {
        "actions.csv": csv_bytes(
            [c for c, _m in files.CSV_COLUMNS["actions.csv"][1]],
            ([a.key, a.title, a.tactic, a.tactic_label, a.partner.value, a.owner, a.due_date,
              a.status.value, a.completed_on, a.notes, a.assignee.name if a.assignee else None]
             for a in case.actions)),
        "patrols.csv": csv_bytes(
            [c for c, _m in files.CSV_COLUMNS["patrols.csv"][1]],
            ([p.key, p.started_at.isoformat(), p.ended_at.isoformat() if p.ended_at else None,
              p.minutes, visit_band(p.minutes).value if p.minutes is not None else None,
              p.kind.value, p.officers, p.place, p.live, p.notes] for p in case.patrols)),
        "outputs.csv": csv_bytes(
            [c for c, _m in files.CSV_COLUMNS["outputs.csv"][1]],
            ([o.key, o.on, o.kind.value, o.count, o.patrol, o.corrects,
              o.key not in corrected, o.reason, o.notes] for o in case.outputs)),
        "partners.csv": csv_bytes(
            [c for c, _m in files.CSV_COLUMNS["partners.csv"][1]],
            ([p.key, p.agency.name, p.agency.kind.value, p.role.value,
              p.contact.name if p.contact else None, p.contact.job_title if p.contact else None,
              p.contact.phone if p.contact else None, p.contact.email if p.contact else None]
             for p in case.partners)),
        "timeline.csv": csv_bytes(
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
        return csv_bytes(columns, [])
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
    return csv_bytes(columns, rows)


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
        rows = [(c, next(iter(assessment.snapshots(db, c)), None)) for c in cases]
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
        "evaluation.csv": csv_bytes(CSV_COLUMNS, evaluation_csv(result)),
    }
    with use_case(db, actor, AuditAction.OPERATION_EXPORT, object_type="operation",
                  object_ref=str(operation.id), justification=reason) as done:
        for case, _snapshot in rows:
            members[f"cases/{case.ref}.zip"] = case_file_zip(db, actor, case, reason=reason,
                                                             redacted=redacted)
            done.also(AuditAction.CASE_EXPORT, object_type="case", object_ref=case.ref,
                      justification=reason, details={"redacted": redacted,
                                                     "operation": operation.id})
        manifest = {"format": "popcase-operation-bundle", "version": 1,
                    "operation": operation.name, "exported_by": _exporter(actor, redacted),
                    "reason": reason, "redaction": {"applied": redacted}}
        content = files.write_zip(members, manifest | {"exported_at": files.now()})
        done.details = {"cases": len(rows), "redacted": redacted,
                        "sha256": files.sha256(content)}
    slug = re.sub(r"[^a-z0-9]+", "-", operation.name.lower()).strip("-") or "operation"
    return Export(f"operation-{slug}{'-redacted' if redacted else ''}.zip", content)

