"""Patrol and output use cases on a case. Each call is one transaction with its timeline event
and its access-log entry; an officer works only the cases of their borough (``case_for``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from app.audit.service import AuditAction
from app.auth.context import Actor
from app.auth.permissions import Perm, has
from app.cases.access import acting_user, case_for, ensure_open
from app.cases.models import Case, EventKind
from app.clock import as_utc, local, to_minute, today
from app.db import utcnow
from app.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    StaleVersion,
    ValidationFailed,
)
from app.patrols.models import OutputEntry, Patrol
from app.patrols.schemas import (
    OutputCorrection,
    OutputsCreate,
    PatrolCreate,
    PatrolStart,
    PatrolUpdate,
)
from app.sara.patrols import (
    MAX_PATROL_MINUTES,
    OutputKind,
    describe_counts,
    format_minutes,
    visit_band,
)
from app.usecase import use_case

EARLIEST = date(2000, 1, 1)  # anything before is a typing slip
FUTURE_GRACE = timedelta(minutes=5)  # a phone's clock may run a little ahead


# --- patrols -----------------------------------------------------------------------------------

def start_patrol(db: Session, actor: Actor, ref: str, data: PatrolStart) -> Patrol:
    """The "start patrol" button: a patrol that runs from now until it is ended."""
    case = case_for(db, actor, ref, Perm.PATROL_LOG)
    ensure_open(case)
    user = acting_user(actor)
    running = running_patrol_of(db, user.id)
    if running is not None:
        raise Conflict(f"You already have a patrol running on {running[1]} since "
                       f"{local(running[0].started_at):%H:%M}: end it first.")
    with use_case(db, actor, AuditAction.PATROL_START, case=case) as done:
        patrol = Patrol(case_id=case.id, started_at=to_minute(utcnow()), kind=data.kind,
                        officers=data.officers or user.display_name, place=data.place,
                        live=True, recorded_by_id=user.id, created_at=utcnow())
        db.add(patrol)
        try:
            done.flush()
        except IntegrityError:  # the same person's second tap, racing the first
            db.rollback()
            raise Conflict("You already have a patrol running: end it first.") from None
        done.event(EventKind.PATROL, f"Started a {patrol.kind.label.lower()} patrol at "
                   f"{local(patrol.started_at):%H:%M}", details={"patrol": patrol.id})
    return patrol


def running_patrol_of(db: Session, user_id: int) -> tuple[Patrol, str] | None:
    """The patrol a person started with the button and has not ended, and its case."""
    row = db.execute(select(Patrol, Case.ref).join(Case, Case.id == Patrol.case_id).where(
        Patrol.recorded_by_id == user_id, Patrol.live, Patrol.ended_at.is_(None))).first()
    return (row[0], row[1]) if row else None


def end_patrol(db: Session, actor: Actor, ref: str, patrol_id: int) -> Patrol:
    """The "end patrol" button."""
    case = case_for(db, actor, ref, Perm.PATROL_LOG)
    ensure_open(case)
    patrol = _patrol(db, case, patrol_id)
    if patrol.ended_at is not None:
        raise Conflict(f"This patrol already ended at {local(patrol.ended_at):%H:%M}.")
    now = to_minute(utcnow())
    if now <= patrol.started_at:
        raise ValidationFailed.one(
            "ended_at", "This patrol started less than a minute ago: end it in a minute, or "
                        "discard it if it was started by mistake.")
    _check_length(patrol.started_at, now, "ended_at")
    with use_case(db, actor, AuditAction.PATROL_END, case=case) as done:
        patrol.ended_at = now
        done.flush()
        minutes = patrol.minutes or 0
        done.event(EventKind.PATROL,
                   f"Ended the {patrol.kind.label.lower()} patrol started at "
                   f"{local(patrol.started_at):%H:%M}: {format_minutes(minutes)} "
                   f"({visit_band(minutes).label.lower()})", details={"patrol": patrol.id})
        done.details = {"patrol": patrol.id, "minutes": minutes}
    return patrol


def discard_patrol(db: Session, actor: Actor, ref: str, patrol_id: int) -> None:
    """Remove a running patrol started by mistake (the timeline and the log keep the trace)."""
    case = case_for(db, actor, ref, Perm.PATROL_LOG)
    ensure_open(case)
    patrol = _patrol(db, case, patrol_id)
    user = acting_user(actor)
    if patrol.recorded_by_id != user.id and not has(user, Perm.CASE_ASSIGN):
        raise Forbidden("Only the officer who started a patrol, or a supervisor, can discard "
                        "it: end it instead.")
    if patrol.ended_at is not None:
        raise Conflict("Only a running patrol can be discarded: correct this one instead.")
    if db.scalar(select(func.count(OutputEntry.id)).where(OutputEntry.patrol_id == patrol.id)):
        raise Conflict("Outputs are recorded against this patrol: end it instead.")
    started = local(patrol.started_at)
    with use_case(db, actor, AuditAction.PATROL_DISCARD, case=case) as done:
        db.delete(patrol)
        done.event(EventKind.PATROL,
                   f"Discarded the patrol started at {started:%H:%M} on {started:%-d %b %Y}",
                   details={"patrol": patrol_id})


def add_patrol(db: Session, actor: Actor, ref: str, data: PatrolCreate) -> Patrol:
    """A patrol entered afterwards, with its times."""
    case = case_for(db, actor, ref, Perm.PATROL_LOG)
    ensure_open(case)
    user = acting_user(actor)
    started, ended = to_minute(as_utc(data.started_at)), to_minute(as_utc(data.ended_at))
    _check_times(started, ended)
    with use_case(db, actor, AuditAction.PATROL_ADD, case=case) as done:
        patrol = Patrol(case_id=case.id, started_at=started, ended_at=ended, kind=data.kind,
                        officers=data.officers or user.display_name, place=data.place,
                        notes=data.notes, live=False, recorded_by_id=user.id,
                        created_at=utcnow())
        db.add(patrol)
        done.flush()
        minutes = patrol.minutes or 0
        done.event(EventKind.PATROL,
                   f"Recorded a {patrol.kind.label.lower()} patrol on {_span(patrol)}: "
                   f"{format_minutes(minutes)}", details={"patrol": patrol.id})
        done.details = {"patrol": patrol.id, "minutes": minutes}
    return patrol


def correct_patrol(db: Session, actor: Actor, ref: str, patrol_id: int,
                   data: PatrolUpdate) -> Patrol:
    """Correct a patrol's times or details; the timeline shows what was changed from what."""
    case = case_for(db, actor, ref, Perm.PATROL_LOG)
    ensure_open(case)
    patrol = _patrol(db, case, patrol_id)
    if data.version != patrol.version:
        raise StaleVersion(f"This patrol on {case.ref} has changed since you opened it.",
                           current_version=patrol.version)
    fields = data.model_fields_set - {"version", "reason"}
    before = _span(patrol)
    started = to_minute(as_utc(data.started_at)) if "started_at" in fields and data.started_at \
        else patrol.started_at
    ended = to_minute(as_utc(data.ended_at)) if "ended_at" in fields and data.ended_at \
        else patrol.ended_at
    if "ended_at" in fields and data.ended_at is None and patrol.ended_at is not None:
        raise ValidationFailed.one("ended_at", "A patrol that has ended keeps an end time.")
    if ended is not None:
        _check_times(started, ended)
    else:
        _check_not_future(started, "started_at")
    with use_case(db, actor, AuditAction.PATROL_CORRECT, case=case,
                  justification=data.reason) as done:
        changed = []
        if (started, ended) != (patrol.started_at, patrol.ended_at):
            patrol.started_at, patrol.ended_at = started, ended
            changed.append(f"times {before} to {_span(patrol)}")
        for name in ("kind", "officers", "place", "notes"):
            value = getattr(data, name)
            if name in fields and value is not None and value != getattr(patrol, name):
                setattr(patrol, name, value)
                changed.append(name)
        if not changed:
            done.unchanged()
            return patrol
        done.event(EventKind.PATROL,
                   f"Corrected the patrol of {before}: " + ", ".join(changed),
                   body=data.reason, details={"patrol": patrol.id, "fields": changed})
    return patrol


def _patrol(db: Session, case: Case, patrol_id: int) -> Patrol:
    patrol = db.get(Patrol, patrol_id)
    if patrol is None or patrol.case_id != case.id:
        raise NotFound(f"{case.ref} has no patrol {patrol_id}.")
    return patrol


def _check_times(started: datetime, ended: datetime) -> None:
    errors = []
    if ended <= started:
        errors.append(FieldError("ended_at", "The patrol must end after it starts."))
    else:
        try:
            _check_length(started, ended, "ended_at")
        except ValidationFailed as exc:
            errors += exc.errors
    for moment, field in ((started, "started_at"), (ended, "ended_at")):
        try:
            _check_not_future(moment, field)
        except ValidationFailed as exc:
            errors += exc.errors
    if errors:
        raise ValidationFailed(errors)


def _check_length(started: datetime, ended: datetime, field: str) -> None:
    minutes = int((ended - started).total_seconds() // 60)
    if minutes > MAX_PATROL_MINUTES:
        raise ValidationFailed.one(
            field, f"That makes a patrol of {format_minutes(minutes)}; a patrol lasts at most "
                   f"{MAX_PATROL_MINUTES // 60} hours. Check the times.")


def _check_not_future(moment: datetime, field: str) -> None:
    if moment > utcnow() + FUTURE_GRACE:
        raise ValidationFailed.one(field, "This time is in the future.")
    if moment.date() < EARLIEST:
        raise ValidationFailed.one(field, "Check the date: it is before 2000.")


def _span(patrol: Patrol) -> str:
    """``28 Nov 2026, 17:05 to 17:19``."""
    start = local(patrol.started_at)
    text = f"{start:%-d %b %Y, %H:%M}"
    if patrol.ended_at is None:
        return text + " (running)"
    end = local(patrol.ended_at)
    return text + (f" to {end:%H:%M}" if end.date() == start.date()
                   else f" to {end:%-d %b %Y, %H:%M}")


def case_patrols(db: Session, case: Case) -> list[Patrol]:
    """Newest first. The caller has read the case through ``case_for``."""
    return list(db.scalars(select(Patrol).where(Patrol.case_id == case.id)
                           .order_by(Patrol.started_at.desc(), Patrol.id.desc())))


# --- outputs -----------------------------------------------------------------------------------

def record_outputs(db: Session, actor: Actor, ref: str, data: OutputsCreate) -> list[OutputEntry]:
    """One entry per kind counted above zero, all for one day."""
    case = case_for(db, actor, ref, Perm.PATROL_LOG)
    ensure_open(case)
    user = acting_user(actor)
    _check_output_day(data.on)
    if data.patrol_id is not None:
        _patrol(db, case, data.patrol_id)
    counted = [(kind, count) for kind, count in sorted(
        data.counts.items(), key=lambda item: list(OutputKind).index(item[0])) if count > 0]
    if not counted:
        raise ValidationFailed.one("counts", "Enter at least one output: a whole number "
                                             "above 0.")
    now = utcnow()
    with use_case(db, actor, AuditAction.OUTPUT_RECORD, case=case) as done:
        entries = [OutputEntry(case_id=case.id, on_date=data.on, kind=kind, count=count,
                               patrol_id=data.patrol_id, notes=data.notes, recorded_at=now,
                               recorded_by_id=user.id) for kind, count in counted]
        db.add_all(entries)
        done.flush()
        described = describe_counts(counted)
        done.event(EventKind.OUTPUT,
                   f"Recorded {described} on {data.on:%-d %b %Y}", body=data.notes,
                   details={"outputs": [e.id for e in entries]})
        done.details = {"outputs": [e.id for e in entries],
                        "counts": {kind.value: count for kind, count in counted}}
    return entries


def correct_output(db: Session, actor: Actor, ref: str, entry_id: int,
                   data: OutputCorrection) -> OutputEntry:
    """A new entry replacing ``entry_id`` in every total; the old one stays on record."""
    case = case_for(db, actor, ref, Perm.PATROL_LOG)
    ensure_open(case)
    user = acting_user(actor)
    entry = db.get(OutputEntry, entry_id)
    if entry is None or entry.case_id != case.id:
        raise NotFound(f"{case.ref} has no output entry {entry_id}.")
    newer = db.scalar(select(OutputEntry.id).where(OutputEntry.corrects_id == entry.id))
    if newer is not None:
        raise Conflict(f"This entry was already corrected (by entry {newer}): correct that "
                       "one instead.")
    if data.count == entry.count:
        raise ValidationFailed.one("count", f"{entry.kind.counted(entry.count)} is what is "
                                            "recorded already: enter the right count.")
    with use_case(db, actor, AuditAction.OUTPUT_CORRECT, case=case,
                  justification=data.reason) as done:
        correction = OutputEntry(case_id=case.id, on_date=entry.on_date, kind=entry.kind,
                                 count=data.count, patrol_id=entry.patrol_id,
                                 notes=entry.notes, corrects_id=entry.id, reason=data.reason,
                                 recorded_at=utcnow(), recorded_by_id=user.id)
        db.add(correction)
        try:
            done.flush()
        except IntegrityError:  # corrected by someone else at the same moment
            db.rollback()
            raise Conflict("This entry was corrected by someone else at the same moment: "
                           "reload and check it.") from None
        done.event(EventKind.OUTPUT,
                   f"Corrected {entry.kind.label.lower()} on {entry.on_date:%-d %b %Y}: "
                   f"{entry.count} to {data.count}", body=data.reason,
                   details={"output": correction.id, "corrects": entry.id})
        done.details = {"output": correction.id, "corrects": entry.id, "from": entry.count,
                        "to": data.count}
    return correction


def _check_output_day(day: date) -> None:
    if day > today():
        raise ValidationFailed.one("on", "This date is in the future.")
    if day < EARLIEST:
        raise ValidationFailed.one("on", "Check the date: it is before 2000.")


def in_force() -> ColumnElement[bool]:
    """Entries that count: those no later entry corrects."""
    newer = aliased(OutputEntry)
    return ~exists().where(newer.corrects_id == OutputEntry.id)


# Built once: a new alias on every call costs more than the query (SQLAlchemy adapts its
# columns afresh for each alias object; the case page reads the outputs on every view).
_CORRECTION = aliased(OutputEntry, name="correction")


def case_outputs(db: Session, case: Case) -> list[tuple[OutputEntry, int | None]]:
    """Every entry, newest first, with the id of the entry that corrected it (if any)."""
    newer = _CORRECTION
    rows = db.execute(
        select(OutputEntry, newer.id).outerjoin(newer, newer.corrects_id == OutputEntry.id)
        .where(OutputEntry.case_id == case.id)
        .order_by(OutputEntry.on_date.desc(), OutputEntry.id.desc())).all()
    return [(entry, corrected_by) for entry, corrected_by in rows]


def output_totals(db: Session, case_ids: Iterable[int] | ColumnElement[bool],
                  first: date | None = None, last: date | None = None) -> dict[OutputKind, int]:
    """Totals of the entries in force, for cases given as ids or as a condition on ``Case``."""
    query = select(OutputEntry.kind, func.sum(OutputEntry.count)).where(in_force())
    if isinstance(case_ids, ColumnElement):
        query = query.join(Case, Case.id == OutputEntry.case_id).where(case_ids)
    else:
        query = query.where(OutputEntry.case_id.in_(list(case_ids)))
    if first:
        query = query.where(OutputEntry.on_date >= first)
    if last:
        query = query.where(OutputEntry.on_date <= last)
    totals = dict.fromkeys(OutputKind, 0)
    for kind, total in db.execute(query.group_by(OutputEntry.kind)):
        totals[kind] = int(total or 0)
    return totals
