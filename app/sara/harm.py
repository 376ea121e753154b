"""Harm beside counts: a force's weight for each police.uk crime category, and harm-weighted
changes.

Crime harm indices weigh an offence by its seriousness instead of counting every crime as one:
the Cambridge Crime Harm Index (Sherman, Neyroud & Neyroud 2016: days of imprisonment in the
sentencing guidelines for a first offender) and the ONS Crime Severity Score (average sentence
in days). police.uk publishes broad categories, not offences, so a force weighs each category
by its own mix of offences, from its own records: popcase invents no weight. A table names its
source and version, and every category has a weight (anti-social behaviour, not a crime, is
often given 0: that is the force's choice to write down).

The table as a file (UTF-8 CSV), one row per category:

    category,weight
    violent-crime,365.2
    Anti-social behaviour,0
    ...

``category`` is the police.uk slug or the "Crime type" label of the street files; ``weight`` a
number, 0 or more. Lines starting with ``#`` are comments. Every category appears exactly once.

Harm-weighted change between two periods: H = sum of weight x count over the categories. The
target's change relative to the control's, (H_Ta / H_Tb) / (H_Ca / H_Cb), has an interval from
the delta method with each category's count taken as Poisson: var(ln H) = sum(w² n) / H².
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass

from app.sara.count_models import moved_by
from app.sara.problem import CATEGORIES

Z_95 = 1.96
MAX_WEIGHT = 1e7  # a life sentence is some 3,650 days; no category's mean comes near this
LABEL_SLUGS = {label.lower(): slug for slug, label in CATEGORIES.items()} | {
    "violent crime": "violent-crime", "public disorder and weapons": "public-order"}


@dataclass(frozen=True)
class Problem:
    line: int  # 0: the file as a whole
    message: str


def read_table(text: str) -> tuple[dict[str, float], list[Problem]]:
    """The weights of a harm-weight CSV, or the problems with it, each at its line."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return {}, [Problem(0, "The file is empty: it needs a header row (category,weight) "
                               "and one row per crime category.")]
    header_line, header = lines[0]
    names = [h.strip().lower() for h in next(csv.reader([header]))]
    if names[:2] != ["category", "weight"]:
        return {}, [Problem(header_line, "The first row must be the header: category,weight.")]
    weights: dict[str, float] = {}
    problems: list[Problem] = []
    for number, line in lines[1:]:  # a row per line: a weight table has no multi-line cells
        _read_row(number, next(csv.reader([line])), weights, problems)
    missing = [CATEGORIES[s] for s in CATEGORIES if s not in weights]
    if missing and not problems:
        problems.append(Problem(0, "No weight for " + ", ".join(missing) + ": every police.uk "
                                   "category needs one (0 where the force gives it none)."))
    return weights, problems


def _read_row(number: int, row: list[str], weights: dict[str, float],
              problems: list[Problem]) -> None:
    if len(row) < 2:
        problems.append(Problem(number, "A row needs a category and a weight."))
        return
    name, value = row[0].strip(), row[1].strip()
    slug = name if name in CATEGORIES else LABEL_SLUGS.get(name.lower())
    if slug is None:
        problems.append(Problem(number, f"{name!r} is not a police.uk crime category."))
        return
    if slug in weights:
        problems.append(Problem(number, f"{CATEGORIES[slug]} has a weight already."))
        return
    problem = weight_problem(value)
    if problem:
        problems.append(Problem(number, f"{CATEGORIES[slug]}: {problem}"))
        return
    weights[slug] = float(value)


def weight_problem(value: object) -> str:
    """Why a value cannot be a weight ('' when it can)."""
    try:
        weight = float(str(value).strip())
    except ValueError:
        return f"the weight {value!r} is not a number."
    if not math.isfinite(weight) or weight < 0:
        return "a weight is a number, 0 or more."
    if weight > MAX_WEIGHT:
        return f"a weight of {weight:,.0f} is beyond any harm index's scale."
    return ""


def table_problems(weights: Mapping[str, float]) -> list[str]:
    """A table given as a mapping (the API's): every category once, each weight valid."""
    found = [f"{slug!r} is not a police.uk crime category slug."
             for slug in weights if slug not in CATEGORIES]
    found += [f"{CATEGORIES[slug]}: {problem}" for slug, value in weights.items()
              if slug in CATEGORIES and (problem := weight_problem(value))]
    missing = [CATEGORIES[s] for s in CATEGORIES if s not in weights]
    if missing:
        found.append("No weight for " + ", ".join(missing) + ": every police.uk category needs "
                     "one (0 where the force gives it none).")
    return found


def harm(counts: Mapping[str, int], weights: Mapping[str, float]) -> float:
    return float(sum(weights[c] * n for c, n in counts.items()))


def harm_variance(counts: Mapping[str, int], weights: Mapping[str, float]) -> float:
    """Of the harm total, with each category's count Poisson."""
    return float(sum(weights[c] ** 2 * n for c, n in counts.items()))


@dataclass(frozen=True)
class HarmChange:
    before: float
    after: float

    @property
    def percent(self) -> float | None:
        return (self.after - self.before) / self.before * 100 if self.before else None


@dataclass(frozen=True)
class HarmRatio:
    """The target's harm-weighted change relative to the control's (below 1: harm fell more
    in the target)."""

    value: float | None
    low: float | None
    high: float | None
    undefined: str = ""

    @property
    def percent_change(self) -> float | None:
        return (self.value - 1) * 100 if self.value is not None else None


Counts = Mapping[str, int]


def harm_ratio(target: tuple[Counts, Counts], control: tuple[Counts, Counts],
               weights: Mapping[str, float]) -> HarmRatio:
    # The ratio and its interval do not change with the weights' scale: scaled to at most 1,
    # the sums cannot overflow.
    top = max(weights.values(), default=0.0)
    scaled = {c: w / top for c, w in weights.items()} if top > 0 else dict(weights)
    cells = [*target, *control]
    totals = [harm(c, scaled) for c in cells]
    if any(t <= 0 for t in totals):
        return HarmRatio(None, None, None, "Not defined: it needs weighted harm in both areas "
                                           "in both periods.")
    log = math.log(totals[1]) - math.log(totals[0]) - math.log(totals[3]) + math.log(totals[2])
    variance = sum(harm_variance(c, scaled) / t / t for c, t in zip(cells, totals,
                                                                   strict=True))
    spread = Z_95 * math.sqrt(variance) if math.isfinite(variance) else math.inf
    if not math.isfinite(log) or abs(log) + spread > 700:
        return HarmRatio(None, None, None, "Not defined: the ratio is beyond what can be "
                                           "computed.")
    return HarmRatio(math.exp(log), math.exp(log - spread), math.exp(log + spread))


def read_harm_ratio(ratio: HarmRatio, table: str) -> str:
    if ratio.value is None or ratio.low is None or ratio.high is None:
        return ratio.undefined
    reading = (f"Weighted by {table}, harm in the target area {moved_by(ratio.value)} "
               f"relative to the control area (ratio {ratio.value:,.2f}, 95% interval "
               f"{ratio.low:,.2f} to {ratio.high:,.2f}, counts taken as Poisson).")
    if ratio.low > 1 or ratio.high < 1:
        return reading + " The interval leaves out 1."
    return reading + " The interval includes 1: consistent with no change in harm."
