"""Impact assessment use cases: propose the periods, compute and save a snapshot, read the
snapshots and what changed between them, and evaluate an operation across its hotspots.

A snapshot keeps everything needed to trust and reproduce it: the periods, crime types and the
areas' shapes it counted, the import batches whose rows were counted, and every figure. Later
imports or changed areas never alter it; computing again saves a new one.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.assessment.models import AssessmentSnapshot
from app.assessment.schemas import AssessmentProposal, AssessmentRequest
from app.audit.service import AuditAction, record_read
from app.auth.context import Actor
from app.auth.permissions import Perm, visible_cases
from app.cases.access import acting_user, case_for, ensure_open
from app.cases.models import Case, CaseEvent, EventKind
from app.clock import london_day
from app.crime import picture
from app.crime.geometry import geojson_wgs84
from app.crime.models import ImportBatch, ImportKind, ImportStatus
from app.crime.queries import (
    Period,
    PointSet,
    crimes_in,
    data_months,
    month_value,
    months_with_data,
)
from app.errors import Conflict, FieldError, ValidationFailed
from app.harm import service as harm_tables
from app.harm.models import HarmTable
from app.operations.service import get_operation
from app.sara import count_models, harm, impact
from app.sara.stages import Stage
from app.usecase import use_case
from app.validation import FIRST_DAY, LAST_DAY

DEFAULT_MONTHS = 12
AREAS = ("target", "buffer", "control")


def _month_text(month: date | None) -> str | None:
    return f"{month:%Y-%m}" if month else None


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def response_start(db: Session, case: Case) -> date | None:
    """The London day the case last moved into Response, if it ever did."""
    at = db.scalar(select(CaseEvent.at).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.MOVED,
        CaseEvent.to_stage == Stage.RESPONSE).order_by(CaseEvent.at.desc()).limit(1))
    return london_day(at) if at else None


# --- proposing ---------------------------------------------------------------------------------

def propose(db: Session, actor: Actor, ref: str) -> AssessmentProposal:
    """Periods to start from: up to a year either side of the response's start, within the
    imported data."""
    case = case_for(db, actor, ref)
    proposal = proposal_for(db, case, data_months(db, picture.case_force(case)))
    record_read(db, actor, AuditAction.ASSESSMENT_PROPOSAL, object_type="case",
                object_ref=case.ref)
    return proposal


def proposal_for(db: Session, case: Case, span: Period | None) -> AssessmentProposal:
    """``propose`` for a case the caller has read through ``case_for``, with the span of
    imported months it has already looked up (the case page needs both anyway)."""
    start = response_start(db, case)
    problems = _area_problems(case)
    before = after = None
    if span is None:
        problems.append(f"No street-level crime of {case.borough.force.label} has been "
                        "imported yet.")
    else:
        if start is not None:
            first_after = start.replace(day=1) if start.day == 1 else _add_months(
                start.replace(day=1), 1)
            last_before = _add_months(start.replace(day=1), -1)
        else:  # not in Response yet: the latest months against as many before them
            half = min(DEFAULT_MONTHS, len(span.months()) // 2)
            first_after = _add_months(span.last, -half + 1)
            last_before = _add_months(first_after, -1)
        months_after = _months_between(first_after, span.last)
        months_before = _months_between(span.first, last_before)
        length = min(DEFAULT_MONTHS, months_after, months_before)
        if length < 1:
            problems.append(
                f"The imported data ({span.label}) does not cover months both before and "
                "after the response began: import more police.uk files.")
        else:
            before = (_add_months(last_before, -length + 1), last_before)
            after = (first_after, _add_months(first_after, length - 1))
    return AssessmentProposal(
        before_first=_month_text(before[0]) if before else None,
        before_last=_month_text(before[1]) if before else None,
        after_first=_month_text(after[0]) if after else None,
        after_last=_month_text(after[1]) if after else None,
        categories=picture.case_categories(case), response_start=start,
        data_first=_month_text(span.first) if span else None,
        data_last=_month_text(span.last) if span else None,
        target=(case.target_area_name or "Target area") if case.target_geometry else None,
        buffer=f"{case.buffer_width_m} m ring" if case.buffer_width_m else None,
        control=(case.control_area_name or "Control area") if case.control_geometry else None,
        problems=problems)


def _months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def _area_problems(case: Case) -> list[str]:
    problems = []
    if case.target_geometry is None:
        problems.append("Set the target area first (Scanning).")
    if case.control_geometry is None:
        problems.append("Choose a control area (Analysis, comparison areas): without one, no "
                        "odds ratio or displacement quotient can be worked out.")
    if not case.buffer_width_m:
        problems.append("Set a buffer ring (Analysis, comparison areas) to measure "
                        "displacement.")
    return problems


# --- computing and saving ----------------------------------------------------------------------

def run_assessment(db: Session, actor: Actor, ref: str,
                   data: AssessmentRequest) -> AssessmentSnapshot:
    """Count, compute, and save the result as the case's next snapshot (one transaction)."""
    user = acting_user(actor)
    case = case_for(db, actor, ref, Perm.ASSESSMENT_RUN)
    ensure_open(case)
    before, after = _periods(data)
    force = picture.case_force(case)
    _check_data(db, case, before, after)
    categories = sorted(set(data.categories)) if data.categories \
        else picture.case_categories(case)
    shapes = _shapes(case)
    span = Period(before.first, after.last)
    points = {name: crimes_in(db, force, shape, span, categories) if shape is not None
              else None for name, shape in shapes.items()}
    monthly = {name: _monthly(found, span) if found is not None else None
               for name, found in points.items()}
    results = _figures(case, monthly, before, after)
    table = harm_tables.in_use(db, force)
    results["harm"] = _harm(table, points, before, after) if table is not None else None
    results["response_start"] = (start.isoformat() if (start := response_start(db, case))
                                 else None)
    number = (db.scalar(select(func.max(AssessmentSnapshot.number))
                        .where(AssessmentSnapshot.case_id == case.id)) or 0) + 1
    # The entry's details are given up front: the event carries only the snapshot's number.
    with use_case(db, actor, AuditAction.ASSESSMENT_RUN, case=case,
                  details={"snapshot": number, "before": [before.first.isoformat(),
                                                          before.last.isoformat()],
                           "after": [after.first.isoformat(), after.last.isoformat()],
                           "categories": categories}) as done:
        snapshot = AssessmentSnapshot(
            case_id=case.id, number=number, created_by_id=user.id, before_first=before.first,
            before_last=before.last, after_first=after.first, after_last=after.last,
            categories=categories, areas=_areas_record(case, shapes),
            batches=_batches(db, force, span), results=results, note=data.note)
        db.add(snapshot)
        try:
            done.flush()
        except IntegrityError:  # another assessment of this case was saved at the same moment
            raise Conflict(f"Another assessment of {case.ref} was saved at the same moment: "
                           "reload and look at it before computing again.") from None
        ratio = results["odds_ratio"]["value"]
        done.event(EventKind.ASSESSMENT,
                   f"Saved impact assessment {number} ({before.label} against {after.label})"
                   + (f": odds ratio {ratio:.2f}" if ratio is not None else ""),
                   body=data.note, details={"snapshot": number})
    return snapshot


def _periods(data: AssessmentRequest) -> tuple[Period, Period]:
    months = {name: month_value(getattr(data, name), name)
              for name in ("before_first", "before_last", "after_first", "after_last")}
    errors = [FieldError(name, f"Choose a month from {FIRST_DAY.year} to {LAST_DAY.year}.")
              for name, month in months.items() if not FIRST_DAY <= month <= LAST_DAY]
    if errors:
        raise ValidationFailed(errors)
    if months["before_last"] < months["before_first"]:
        errors.append(FieldError("before_last", "The before period must end after it starts."))
    if months["after_last"] < months["after_first"]:
        errors.append(FieldError("after_last", "The after period must end after it starts."))
    if months["after_first"] <= months["before_last"]:
        errors.append(FieldError("after_first", "The after period must start after the "
                                                "before period ends."))
    if errors:
        raise ValidationFailed(errors)
    before = Period(months["before_first"], months["before_last"])
    after = Period(months["after_first"], months["after_last"])
    if len(before.months()) != len(after.months()):
        raise ValidationFailed.one(
            "after_last", f"The two periods must be of equal length: the before period has "
                          f"{len(before.months())} months and the after period "
                          f"{len(after.months())}.")
    return before, after


def _check_data(db: Session, case: Case, before: Period, after: Period) -> None:
    """Months with none of the force's data imported would count as zero crimes: refuse them,
    by name (another force's file for a month does not make it present)."""
    present = months_with_data(db, picture.case_force(case), Period(before.first, after.last))
    missing = [m for m in before.months() + after.months() if m not in present]
    if missing:
        names = ", ".join(f"{m:%b %Y}" for m in missing[:6]) + (" …" if len(missing) > 6
                                                                  else "")
        raise ValidationFailed.one(
            "after_last" if missing[0] >= after.first else "before_first",
            f"No street-level crime of {case.borough.force.label} is imported for {names}: "
            "import those months, or choose periods the data covers.")


def _shapes(case: Case) -> dict[str, BaseGeometry | None]:
    return {"target": picture.target_shape(case), "buffer": picture.buffer_shape(case),
            "control": picture.control_shape(case)}


def _monthly(points: PointSet, span: Period) -> list[int]:
    counts = Counter(points.months)
    return [counts.get(month, 0) for month in span.months()]


def _harm(table: HarmTable, points: dict[str, PointSet | None], before: Period,
          after: Period) -> dict[str, Any]:
    """Harm-weighted totals of each area before and after, and the target's change relative
    to the control's, with the table they were weighed by."""
    weights = table.as_map()
    counted = {name: _by_category(found, before, after) if found is not None else None
               for name, found in points.items()}
    areas: dict[str, Any] = {}
    for name, pair in counted.items():
        if pair is None:
            areas[name] = None
            continue
        change = harm.HarmChange(harm.harm(pair[0], weights), harm.harm(pair[1], weights))
        areas[name] = {"before": change.before, "after": change.after,
                       "percent_change": change.percent}
    label = f"{table.name} ({table.version})"
    target, control = counted["target"], counted["control"]
    ratio = harm.harm_ratio(target, control, weights) if target and control else \
        harm.HarmRatio(None, None, None, "Not defined: no control area was chosen.")
    return {"table": harm_tables.describe(table), **areas,
            "ratio": {"value": ratio.value, "low": ratio.low, "high": ratio.high,
                      "percent_change": ratio.percent_change,
                      "reading": harm.read_harm_ratio(ratio, label)}}


def _by_category(points: PointSet, before: Period,
                 after: Period) -> tuple[Counter[str], Counter[str]]:
    pairs = list(zip(points.months, points.categories, strict=True))
    return (Counter(c for m, c in pairs if before.first <= m <= before.last),
            Counter(c for m, c in pairs if after.first <= m <= after.last))


def _figures(case: Case, monthly: dict[str, list[int] | None], before: Period,
             after: Period) -> dict[str, Any]:
    """Every figure of DESIGN §2 with its reading, as stored in the snapshot: the counts and
    ratios, the count model of the monthly series, what the numbers are too small to
    support, and the design's strength."""
    length = len(before.months())
    span = Period(before.first, after.last).months()
    offset = span.index(after.first)
    series = {name: (values[:length], values[offset:offset + length])
              if values is not None else None for name, values in monthly.items()}
    totals = {name: (sum(pair[0]), sum(pair[1])) if pair is not None else None
              for name, pair in series.items()}
    a, b, c = totals["target"], totals["buffer"], totals["control"]
    assert a is not None
    cautions = impact.small_number_warnings(totals)
    ratio, moved, net = _ratios(a, b, c)
    model = count_models.did_model(*series["target"], *series["control"]) \
        if series["target"] is not None and series["control"] is not None \
        else count_models.CountModel(None, None, None, None, None, None, "",
                                     "Not fitted: no control area was chosen.")
    if model.dispersion is not None and model.dispersion > impact.OVERDISPERSED:
        cautions.append(impact.Caution(
            "overdispersed", f"The months vary {model.dispersion:.1f} times as much as a "
                             "Poisson model assumes: read the intervals that allow for it (the "
                             "count model's, and the odds ratio's adjusted one)."))
    if moved.undefined.startswith("Not shown"):
        cautions.append(impact.Caution("wdq_withheld", moved.undefined))
    design, level = impact.design_of(control=c is not None)
    rate = impact.rate_ratio(ratio)
    low_adjusted, high_adjusted = impact.adjusted_interval(ratio, model.dispersion)
    return {
        "areas": _area_figures(case, totals),
        "odds_ratio": {"value": ratio.value, "low": ratio.low, "high": ratio.high,
                       "log": ratio.log, "variance": ratio.variance,
                       "low_adjusted": low_adjusted, "high_adjusted": high_adjusted,
                       "reading": impact.read_odds_ratio(ratio)},
        "rirr": {"value": rate.value, "low": rate.low, "high": rate.high,
                 "percent_change": rate.percent_change, "reading": impact.read_rate_ratio(rate)},
        "model": {"method": model.method, "rirr": model.rirr, "low": model.low,
                  "high": model.high, "dispersion": model.dispersion, "alpha": model.alpha,
                  "fit": model.fit, "reading": count_models.read_model(model)},
        "displacement": {"success_measure": moved.success,
                         "buffer_displacement_measure": moved.buffer, "wdq": moved.wdq,
                         "reading": impact.read_displacement(moved)},
        "total_net_effect": {"value": net, "reading": _net_reading(net, b, c)},
        "design": design, "sms_level": level,
        "warnings": [{"code": w.code, "message": w.message} for w in cautions],
        "monthly": {"months": [f"{m:%Y-%m}" for m in span],
                    **{name: monthly[name] for name in AREAS}},
        "no_crime_anywhere": all(sum(s) == 0 for s in monthly.values() if s is not None),
    }


Counts = tuple[int, int]


def _ratios(a: Counts, b: Counts | None, c: Counts | None) -> tuple[
        impact.OddsRatio, impact.Displacement, float | None]:
    """The odds ratio, the displacement measures (the WDQ only where the success measure is
    clear of zero) and the total net effect (only from a control trend the counts support)."""
    if c is None:
        return (impact.OddsRatio(None, None, None, None, None,
                                 "Not defined: no control area was chosen."),
                impact.Displacement(None, None, None, "Not defined: no control area was "
                                                      "chosen."), None)
    ratio = impact.odds_ratio(a[0], a[1], c[0], c[1])
    if b is None:
        return ratio, impact.Displacement(None, None, None, "Not defined: no buffer ring was "
                                                            "set."), None
    moved = impact.unless_unclear(impact.displacement(a[0], a[1], b[0], b[1], c[0], c[1]),
                                  a[0], a[1], c[0], c[1])
    net = impact.total_net_effect(a[0], a[1], b[0], b[1], c[0], c[1]) \
        if c[0] >= impact.RELIABLE_COUNT else None
    return ratio, moved, net


def _net_reading(net: float | None, b: Counts | None, c: Counts | None) -> str:
    if b is None or c is None:
        return "Not defined: it needs a buffer ring and a control area."
    if net is None and c[0] > 0:
        return (f"Withheld: the control area had {c[0]} crimes before, too few (under "
                f"{impact.RELIABLE_COUNT}) for its trend to predict the target and buffer from.")
    return impact.read_total_net_effect(net)


def _area_figures(case: Case, totals: dict[str, Counts | None]) -> dict[str, Any]:
    names = {"target": case.target_area_name or "target area",
             "buffer": f"{case.buffer_width_m} m buffer ring" if case.buffer_width_m else "",
             "control": case.control_area_name or "control area"}
    areas: dict[str, Any] = {}
    for name in AREAS:
        counted = totals[name]
        if counted is None:
            areas[name] = None
            continue
        change = impact.Change(*counted)
        areas[name] = {"name": names[name], "before": change.before, "after": change.after,
                       "percent_change": change.percent,
                       "reading": impact.read_change(_area_word(name), change)}
    return areas


def _area_word(name: str) -> str:
    return {"target": "target area", "buffer": "buffer ring", "control": "control area"}[name]


def _areas_record(case: Case, shapes: dict[str, BaseGeometry | None]) -> dict[str, Any]:
    def area(name: str, geometry: dict[str, Any] | None, radius: int | None,
             shape: BaseGeometry | None) -> dict[str, Any] | None:
        if geometry is None or shape is None:
            return None
        return {"name": name, "geometry": geometry, "radius_m": radius,
                "area_m2": round(float(shape.area), 1)}

    ring = shapes["buffer"]
    return {
        "target": area(case.target_area_name, case.target_geometry, case.target_radius_m,
                       shapes["target"]),
        "buffer": {"width_m": case.buffer_width_m, "geometry": geojson_wgs84(ring),
                   "area_m2": round(float(ring.area), 1)} if ring is not None else None,
        "control": area(case.control_area_name or "", case.control_geometry,
                        case.control_radius_m, shapes["control"]),
    }


def _batches(db: Session, force: str, span: Period) -> list[dict[str, Any]]:
    """The force's finished street-crime imports holding months of the span: the data
    counted."""
    rows = db.scalars(select(ImportBatch).where(
        ImportBatch.kind == ImportKind.STREET, ImportBatch.status == ImportStatus.DONE,
        ImportBatch.force_id == force,
        ImportBatch.first_month <= span.last, ImportBatch.last_month >= span.first)
        .order_by(ImportBatch.id))
    return [{"id": b.id, "source": b.source, "sha256": b.sha256,
             "first_month": b.first_month.isoformat() if b.first_month else None,
             "last_month": b.last_month.isoformat() if b.last_month else None} for b in rows]


# --- reading -----------------------------------------------------------------------------------

def snapshots(db: Session, case: Case) -> list[AssessmentSnapshot]:
    """Newest first. The caller has read the case through ``case_for``."""
    return list(db.scalars(select(AssessmentSnapshot).where(
        AssessmentSnapshot.case_id == case.id).order_by(AssessmentSnapshot.number.desc())))


def changes(previous: AssessmentSnapshot | None, current: AssessmentSnapshot) -> list[str]:
    """What differs between two snapshots of a case, in words."""
    if previous is None:
        return []
    found = []
    for label, old, new in (
            ("Before period", (previous.before_first, previous.before_last),
             (current.before_first, current.before_last)),
            ("After period", (previous.after_first, previous.after_last),
             (current.after_first, current.after_last))):
        if old != new:
            found.append(f"{label}: {_period_text(old)} became {_period_text(new)}.")
    if previous.categories != current.categories:
        found.append("Crime types: " + ", ".join(previous.categories) + " became "
                     + ", ".join(current.categories) + ".")
    for name in AREAS:
        if (previous.areas or {}).get(name) != (current.areas or {}).get(name):
            found.append(f"The {_area_word(name)} was changed.")
    old_ids = {b["id"] for b in previous.batches}
    new = [b for b in current.batches if b["id"] not in old_ids]
    gone = [b for b in previous.batches if b["id"] not in {x["id"] for x in current.batches}]
    if new:
        found.append("Data counted now and not before: " + ", ".join(b["source"]
                                                                     for b in new) + ".")
    if gone:
        found.append("Data counted before and not now: " + ", ".join(b["source"]
                                                                     for b in gone) + ".")
    found += _figure_changes(previous.results, current.results)
    return found


def _period_text(period: tuple[date, date]) -> str:
    return f"{period[0]:%b %Y} to {period[1]:%b %Y}"


def _figure_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    found = []
    for name in AREAS:
        before, after = (old.get("areas") or {}).get(name), (new.get("areas") or {}).get(name)
        for part in ("before", "after"):
            was = before.get(part) if before else None
            now = after.get(part) if after else None
            if was != now:
                found.append(f"{_area_word(name).capitalize()}, {part}: {_text(was)} became "
                             f"{_text(now)}.")
    for label, key, field in (("Odds ratio", "odds_ratio", "value"),
                              ("Weighted displacement quotient", "displacement", "wdq"),
                              ("Total net effect", "total_net_effect", "value")):
        was, now = old[key][field], new[key][field]
        if was != now:
            found.append(f"{label}: {_text(was)} became {_text(now)}.")
    return found


def _text(value: Any) -> str:
    if value is None:
        return "not defined"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


# --- the operation's evaluation ----------------------------------------------------------------

def latest_snapshots(db: Session, actor: Actor,
                     operation_id: int) -> list[tuple[Case, AssessmentSnapshot | None]]:
    """The operation's cases the actor may read, each with its latest snapshot (if any)."""
    user = acting_user(actor)
    get_operation(db, actor, operation_id)
    latest = (select(AssessmentSnapshot.case_id,
                     func.max(AssessmentSnapshot.number).label("number"))
              .group_by(AssessmentSnapshot.case_id).subquery())
    rows = db.execute(
        select(Case, AssessmentSnapshot)
        .where(Case.operation_id == operation_id, visible_cases(user, Case.borough_code))
        .outerjoin(latest, latest.c.case_id == Case.id)
        .outerjoin(AssessmentSnapshot, and_(AssessmentSnapshot.case_id == Case.id,
                                            AssessmentSnapshot.number == latest.c.number))
        .order_by(Case.ref)).all()
    record_read(db, actor, AuditAction.EVALUATION_VIEW, object_type="operation",
                object_ref=str(operation_id), details={"cases": len(rows)})
    return [(case, snapshot) for case, snapshot in rows]


def effects(rows: list[tuple[Case, AssessmentSnapshot | None]]) -> list[tuple[float, float]]:
    """Each assessed hotspot's (ln odds ratio, its variance), for pooling."""
    found = []
    for _case, snapshot in rows:
        ratio = snapshot.results["odds_ratio"] if snapshot else None
        if ratio and ratio["log"] is not None and ratio["variance"] is not None:
            found.append((ratio["log"], ratio["variance"]))
    return found
