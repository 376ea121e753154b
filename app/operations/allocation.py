"""Randomised hotspots for an operation: allocate the candidate hotspots to patrols or
comparison (once, for good), say which patrols fall on comparison hotspots, and compare the
groups over their monthly crime.

The rules of blocking and chance are in ``app.sara.allocation``, the count model in
``app.sara.count_models``; this module counts the crime and keeps the record.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.assessment.schemas import (
    AllocatedHotspot,
    AllocationRead,
    BalanceRead,
    Caution,
    GroupBalance,
    GroupCounts,
    GroupEvaluation,
)
from app.audit.service import AuditAction
from app.auth.context import Actor
from app.auth.permissions import Perm, covers_borough, visible_cases
from app.cases import service as cases
from app.cases.access import acting_user, case_for
from app.cases.models import Case, EventKind
from app.clock import london_day, to_minute
from app.crime import hotspots, picture
from app.crime.queries import Period, crimes_in, data_months, month_value, months_with_data
from app.db import utcnow
from app.errors import Conflict, FieldError, ValidationFailed
from app.operations.models import Allocation, AllocationUnit, Operation
from app.operations.schemas import AllocationCreate, CellCandidatesCreate
from app.operations.service import get_operation, require_change
from app.patrols.models import Patrol
from app.patrols.views import Comparison
from app.sara import allocation as rules
from app.sara import count_models, impact
from app.sara.allocation import Group
from app.sara.stages import Stage
from app.usecase import use_case

BASELINE_MONTHS = 12


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


# --- making it ----------------------------------------------------------------------------------

def make_allocation(db: Session, actor: Actor, operation_id: int, data: AllocationCreate, *,
                    now: datetime | None = None) -> Allocation:
    """Block the candidates on their baseline crime and randomise each block (one
    transaction). ``now`` is for the demo's history; an allocation is otherwise made today."""
    user = acting_user(actor)
    operation = get_operation(db, actor, operation_id)
    require_change(user, operation)
    if allocation_of(db, operation) is not None:
        raise Conflict(f"{operation.name}'s hotspots were randomised already: an allocation "
                       "cannot be made again or changed.")
    now = now or utcnow()
    cases = _candidates(db, actor, operation, data.cases)
    categories = sorted(set(data.categories)) if data.categories else sorted(
        {c for case in cases for c in picture.case_categories(case)})
    starts, baseline = _months(db, operation, data, london_day(now))
    counted = {case.ref: _count(db, operation, case, baseline, categories) for case in cases}
    candidates = [rules.Candidate(ref, sum(monthly)) for ref, monthly in counted.items()]
    method = data.method
    size = rules.block_size(method, data.block_size)
    if problems := rules.problems(candidates, method, size):
        raise ValidationFailed([FieldError("cases", p) for p in problems])
    seed = data.seed if data.seed is not None else secrets.randbits(rules.SEED_BITS)
    by_ref = {case.ref: case for case in cases}
    # The entry's details are given up front: the cases' events carry their own.
    with use_case(db, actor, AuditAction.ALLOCATION_MAKE, object_type="operation",
                  object_ref=str(operation.id),
                  details={"method": method.value, "block_size": size, "seed": seed,
                           "cases": sorted(by_ref), "starts": starts.isoformat()}) as done:
        allocation = Allocation(
            operation_id=operation.id, method=method.value, block_size=size, seed=seed,
            baseline_first=baseline.first, baseline_last=baseline.last, starts=starts,
            categories=categories, note=data.note, made_at=now, made_by_id=user.id)
        db.add(allocation)
        try:
            done.flush()
        except IntegrityError:  # another allocation of this operation at the same moment
            raise Conflict(f"{operation.name}'s hotspots were randomised at the same moment "
                           "by someone else: reload to see the allocation.") from None
        for placed in rules.allocate(candidates, seed, size):
            case = by_ref[placed.key]
            db.add(AllocationUnit(allocation_id=allocation.id, case_id=case.id,
                                  block=placed.block, arm=placed.group.value,
                                  baseline=placed.baseline))
            event = done.event(EventKind.EDITED, _allocated_text(operation, placed, starts),
                               case=case, details={"allocation": allocation.id,
                                                   "group": placed.group.value})
            event.at = now
    db.refresh(allocation)
    return allocation


def open_cell_candidates(db: Session, actor: Actor, operation_id: int,
                         data: CellCandidatesCreate) -> tuple[list[Case], int]:
    """The top cells of a hotspot search opened as cases of the operation, candidates for its
    allocation (one transaction): each as "Open a case here" opens one, the cells that are
    cases of the operation already passed over. Returns the cases and how many were passed."""
    user = acting_user(actor)
    operation = get_operation(db, actor, operation_id)
    require_change(user, operation)
    if allocation_of(db, operation) is not None:
        raise Conflict(f"{operation.name}'s hotspots were randomised already: no candidate can "
                       "be added.")
    query = hotspots.HotspotQuery(
        first=month_value(data.first, "first"), last=month_value(data.last, "last"),
        borough=data.borough, area_id=data.area, categories=tuple(sorted(set(data.categories))),
        cell_m=data.cell_m, top_k=data.top, rank_by=data.rank_by)
    study = hotspots.study_for_cases(db, actor, query)
    if study.force.id != operation.force_id:
        raise ValidationFailed.one("borough", f"{study.area.name} is policed by "
                                              f"{study.force.label}; {operation.name} is "
                                              f"{operation.force.label}'s.")
    if operation.borough is not None and data.borough not in (None, operation.borough_code):
        raise ValidationFailed.one("borough", f"{operation.name} is run by "
                                              f"{operation.borough.label}: search its cells "
                                              "there.")
    taken = list(db.scalars(select(Case.target_geometry).where(
        Case.operation_id == operation.id, Case.target_geometry.is_not(None))))
    chosen = hotspots.top_cells(db, actor, query, study, data.top, taken)
    outside = [code for _cell, code, _c in chosen.cells
               if operation.borough_code not in (None, code)]
    if outside and operation.borough is not None:
        raise ValidationFailed.one("area", f"{len(outside)} of the cells lie outside "
                                           f"{operation.borough.label}, which runs "
                                           f"{operation.name}: search within it.")
    by_category: dict[str, hotspots.HotspotAnswer] = {}
    opened = []
    with use_case(db, actor, AuditAction.OPERATION_CELLS, object_type="operation",
                  object_ref=str(operation.id)) as done:
        for cell, borough, category in chosen.cells:
            if category not in by_category:  # the search again, counting the case's
                by_category[category] = hotspots.compute(
                    db, replace(query, categories=(category,), rank_by="crimes"), study)
            counted = by_category[category]
            mine = counted.cell_at(cell.col, cell.row)
            assert mine is not None  # the cell holds crime of the category it was given
            case = cases.open_case(db, actor, hotspots.cell_case(
                chosen.answer, cell, counted, mine, category, borough),
                via=Perm.CASE_PROPOSE)
            case.operation_id, case.operation = operation.id, operation
            done.event(EventKind.EDITED, f"Joined {operation.name} as a candidate hotspot for "
                                         "its randomised allocation", case=case)
            opened.append(case)
        done.details = {"area": study.area.code, "first": data.first, "last": data.last,
                        "categories": list(query.categories), "cell_m": data.cell_m,
                        "rank_by": data.rank_by, "cases": [c.ref for c in opened],
                        "skipped": chosen.skipped}
    return opened, chosen.skipped


def _allocated_text(operation: Operation, placed: rules.Placement, starts: date) -> str:
    where = ("to patrols" if placed.group is Group.PATROLLED
             else "to comparison: no extra patrols")
    return (f"Randomised {where} in {operation.name}'s allocation (block {placed.block}, "
            f"{placed.baseline} crimes in the baseline months), from {starts:%B %Y}")


def _candidates(db: Session, actor: Actor, operation: Operation, refs: list[str]) -> list[Case]:
    cases, errors = [], []
    for ref in refs:
        case = case_for(db, actor, ref)
        if case.operation_id != operation.id:
            errors.append(f"{case.ref} is not a case of {operation.name}.")
        elif case.target_geometry is None:
            errors.append(f"{case.ref} has no target area: its crime cannot be counted.")
        elif case.stage is Stage.CLOSED:
            errors.append(f"{case.ref} is closed: reopen it, or leave it out.")
        else:
            cases.append(case)
    if errors:
        raise ValidationFailed([FieldError("cases", e) for e in errors])
    return cases


def _months(db: Session, operation: Operation, data: AllocationCreate,
            today: date) -> tuple[date, Period]:
    """The first month of patrols, and the baseline months before it (all with data)."""
    this_month = today.replace(day=1)
    if data.starts:
        starts = month_value(data.starts, "starts")
        if starts < this_month:
            raise ValidationFailed.one("starts", "Patrols cannot start before the allocation "
                                                 f"is made: choose {this_month:%B %Y} or later.")
    else:
        starts = max(_add_months(this_month, 1), operation.start_date.replace(day=1))
    span = data_months(db, operation.force_id)
    if data.baseline_first or data.baseline_last:
        if not (data.baseline_first and data.baseline_last):
            raise ValidationFailed.one("baseline_first", "Give both ends of the baseline "
                                                         "months, or neither.")
        baseline = Period(month_value(data.baseline_first, "baseline_first"),
                          month_value(data.baseline_last, "baseline_last"))
        if baseline.last < baseline.first:
            raise ValidationFailed.one("baseline_last", "The baseline must end after it "
                                                        "starts.")
    elif span is None:
        raise ValidationFailed.one("baseline_first", f"No street-level crime of "
                                   f"{operation.force.label} is imported: the baseline cannot "
                                   "be counted.")
    else:
        last = min(span.last, _add_months(starts, -1))
        baseline = Period(max(span.first, _add_months(last, -BASELINE_MONTHS + 1)), last)
    if baseline.last >= starts:
        raise ValidationFailed.one("baseline_last", "The baseline must end before patrols "
                                                    f"start ({starts:%B %Y}).")
    present = months_with_data(db, operation.force_id, baseline)
    missing = [m for m in baseline.months() if m not in present]
    if missing:
        raise ValidationFailed.one(
            "baseline_first", f"No street-level crime of {operation.force.label} is imported "
                              "for " + ", ".join(f"{m:%b %Y}" for m in missing[:6])
                              + (" …" if len(missing) > 6 else "") + ": the baseline would "
                              "count them as no crime.")
    return starts, baseline


def _count(db: Session, operation: Operation, case: Case, period: Period,
           categories: list[str]) -> list[int]:
    """The case's target-area crime in each month of the period."""
    months = Counter(crimes_in(db, operation.force_id, picture.target_shape(case), period,
                               categories).months)
    return [months.get(m, 0) for m in period.months()]


# --- reading it ---------------------------------------------------------------------------------

def allocation_of(db: Session, operation: Operation) -> Allocation | None:
    return db.scalar(select(Allocation).where(Allocation.operation_id == operation.id))


def unit_of(db: Session, case: Case) -> AllocationUnit | None:
    """The case's place in its operation's allocation, if it has one."""
    return db.scalar(select(AllocationUnit).where(AllocationUnit.case_id == case.id))


def comparison_of(db: Session, case_id: int) -> Comparison | None:
    """Whether a case is a comparison hotspot ("no extra patrols"), and since when."""
    row = db.execute(select(Operation.name, Allocation.made_at)
                     .join(Allocation, Allocation.operation_id == Operation.id)
                     .join(AllocationUnit, AllocationUnit.allocation_id == Allocation.id)
                     .where(AllocationUnit.case_id == case_id,
                            AllocationUnit.arm == Group.COMPARISON.value)).first()
    return Comparison(row[0], to_minute(row[1])) if row else None


def allocation_read(db: Session, actor: Actor, operation: Operation) -> AllocationRead | None:
    """The allocation with its balance, the patrols that broke it, and the groups compared.
    The caller has read the operation through ``get_operation``. Every hotspot counts in the
    figures; only those the reader may read are named."""
    allocation = allocation_of(db, operation)
    if allocation is None:
        return None
    reader = actor.user
    units = allocation.units
    patrols = _patrols_since(db, allocation)
    placements = [rules.Placement(u.case.ref, u.baseline, u.block, u.group) for u in units]
    balance = rules.balance(placements)
    evaluation, cautions = _group_evaluation(db, operation, allocation)
    on_comparison = sum(patrols.get(u.case_id, 0) for u in units
                        if u.group is Group.COMPARISON)
    if on_comparison:
        cautions.append(Caution(code="comparison_patrolled", message=(
            f"{on_comparison} {'patrol was' if on_comparison == 1 else 'patrols were'} logged "
            "on comparison hotspots since the allocation: "
            "the comparison is weakened, and the effect of patrols is likely understated.")))
    allocated = {u.case_id for u in units}
    joined = sorted(db.scalars(select(Case.ref).where(
        Case.operation_id == operation.id, Case.id.not_in(allocated),
        visible_cases(reader, Case.borough_code) if reader is not None else true())))
    design, level = impact.design_of(control=True, randomised=True)
    method = allocation.method_value
    return AllocationRead(
        method=method, method_label=method.label, block_size=allocation.block_size,
        seed=allocation.seed, made_at=allocation.made_at,
        made_by=allocation.made_by.username if allocation.made_by else None,
        starts=allocation.starts, baseline_first=allocation.baseline_first,
        baseline_last=allocation.baseline_last, categories=list(allocation.categories),
        note=allocation.note, repeat=_repeat_text(allocation), design=design, sms_level=level,
        hotspots=[AllocatedHotspot(ref=u.case.ref, title=u.case.title, block=u.block,
                                   group=u.group, baseline=u.baseline,
                                   patrols_since=patrols.get(u.case_id, 0))
                  for u in units if reader is None or covers_borough(reader, u.case.borough)],
        hotspots_not_shown=sum(1 for u in units if reader is not None
                               and not covers_borough(reader, u.case.borough)),
        balance=BalanceRead(
            patrolled=_side(balance, Group.PATROLLED),
            comparison=_side(balance, Group.COMPARISON),
            standardised_difference=balance.standardised_difference,
            reading=rules.read_balance(balance)),
        patrols_on_comparison=on_comparison, joined_since=joined, evaluation=evaluation,
        warnings=cautions)


def _side(balance: rules.Balance, group: Group) -> GroupBalance:
    return GroupBalance(hotspots=balance.hotspots[group],
                        baseline_total=balance.baseline_total[group],
                        baseline_mean=balance.baseline_mean[group])


def _repeat_text(allocation: Allocation) -> str:
    return (f"Sort the hotspots by baseline crime, highest first (ties by reference), and cut "
            f"them into blocks of {allocation.block_size}. In block n, order the hotspots by "
            f"SHA-256 of \"{allocation.seed}:unit:REF\" (a big-endian integer) and give the "
            "first half patrols; in a block of odd size the spare one goes to patrols when "
            f"SHA-256 of \"{allocation.seed}:block:n\" is odd.")


def _patrols_since(db: Session, allocation: Allocation) -> dict[int, int]:
    ids = [u.case_id for u in allocation.units]
    rows = db.execute(select(Patrol.case_id, func.count(Patrol.id)).where(
        Patrol.case_id.in_(ids), Patrol.started_at >= to_minute(allocation.made_at))
        .group_by(Patrol.case_id)).all()
    return {case_id: n for case_id, n in rows}


def _group_evaluation(db: Session, operation: Operation,
                      allocation: Allocation) -> tuple[GroupEvaluation, list[Caution]]:
    baseline = Period(allocation.baseline_first, allocation.baseline_last)
    span = data_months(db, operation.force_id)
    end = operation.end_date.replace(day=1) if operation.end_date else None
    last = span.last if span else None
    if last is not None and end is not None:
        last = min(last, end)
    after = Period(allocation.starts, last) if last and last >= allocation.starts else None
    whole = Period(baseline.first, after.last if after else baseline.last)
    present = months_with_data(db, operation.force_id, whole)
    months = [m for m in whole.months() if m in present
              and (m <= baseline.last or m >= allocation.starts)]
    missing = [f"{m:%Y-%m}" for m in (after.months() if after else []) if m not in present]
    cautions: list[Caution] = []
    series = {u.case_id: _series(db, operation, u.case, whole, allocation.categories, months)
              for u in allocation.units}
    split = sum(1 for m in months if m <= baseline.last)
    totals = {g: GroupCounts(
        before=sum(sum(series[u.case_id][:split]) for u in allocation.units if u.group is g),
        after=sum(sum(series[u.case_id][split:]) for u in allocation.units if u.group is g))
        for g in Group}
    if after is None or split == len(months):
        model = count_models.CountModel(
            None, None, None, None, None, None, "",
            f"Not yet: no crime data of {operation.force.label} is imported for months since "
            f"patrols began ({allocation.starts:%B %Y}).")
    else:
        model = count_models.group_model(
            [count_models.Unit(series[u.case_id], u.group is Group.PATROLLED)
             for u in allocation.units], split)
    if model.dispersion is not None and model.dispersion > impact.OVERDISPERSED:
        cautions.append(Caution(code="overdispersed", message=(
            f"The months vary {model.dispersion:.1f} times as much as a Poisson model assumes: "
            "the interval allows for it.")))
    small = [g.value for g, c in totals.items() if min(c.before, c.after) < impact.SMALL_CELL]
    if small and model.rirr is not None:
        cautions.append(Caution(code="small_counts", message=(
            f"The {' and '.join(small)} hotspots had fewer than {impact.SMALL_CELL} crimes in "
            "a period: the interval is wide and rough.")))
    return GroupEvaluation(
        before_first=baseline.first, before_last=baseline.last,
        after_first=after.first if after else None, after_last=after.last if after else None,
        months_without_data=missing, patrolled=totals[Group.PATROLLED],
        comparison=totals[Group.COMPARISON], method=model.method, rirr=model.rirr,
        low=model.low, high=model.high,
        percent_change=(model.rirr - 1) * 100 if model.rirr is not None else None,
        dispersion=model.dispersion, fit=model.fit,
        reading=count_models.read_group_model(model)), cautions


def _series(db: Session, operation: Operation, case: Case, whole: Period,
            categories: list[str], months: list[date]) -> list[int]:
    counts = Counter(crimes_in(db, operation.force_id, picture.target_shape(case), whole,
                               categories).months)
    return [counts.get(m, 0) for m in months]


