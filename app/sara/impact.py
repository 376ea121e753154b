"""Did it work, and did the problem move? The impact figures of DESIGN §2 "Assessment", with
their plain-language reading.

Target area A, buffer ring B, control area C; a before period t0 and an after period t1 of
equal length:

- relative effect size (odds ratio) OR = (A_t0 · C_t1) / (A_t1 · C_t0), with the 95% interval
  exp(ln OR ± 1.96 · √(1/A_t0 + 1/A_t1 + 1/C_t0 + 1/C_t1)); OR > 1 favours the response
  (Farrington, Gill, Waples & Argomaniz 2007; Welsh & Farrington 2009);
- weighted displacement quotient (Bowers & Johnson 2003): success measure
  SM = A_t1/C_t1 − A_t0/C_t0, buffer displacement measure BDM = B_t1/C_t1 − B_t0/C_t0,
  WDQ = BDM / SM, meaningful only when SM < 0;
- total net effect TNE = (A_t0 · C_t1/C_t0 − A_t1) + (B_t0 · C_t1/C_t0 − B_t1): the crimes
  fewer, in the target and buffer together, than the control area's trend predicts;
- across several hotspots, the inverse-variance weighted mean of ln OR (a fixed-effect
  meta-analysis), with its interval, Cochran's Q and I²; and the random-effects mean
  (DerSimonian & Laird 1986, with the Hartung & Knapp 2001 interval) with tau² and the
  prediction interval (Higgins, Thompson & Spiegelhalter 2009), which is the one to believe when
  the hotspots differ;
- the relative incidence rate ratio RIRR = (A_t1/A_t0) / (C_t1/C_t0) = 1/OR, the effect size
  Braga & Weisburd (2022) and Wilson (2022) recommend for places, with the percentage change
  relative to the control;
- the odds ratio's interval again with its variance inflated by the months' dispersion (Welsh
  & Farrington 2009), beside the Poisson one.

Small numbers are said plainly (see ``SMALL_CELL`` and ``RELIABLE_COUNT``): a figure that few
crimes cannot support carries a warning, or is withheld with the reason. A count of zero makes
some figures undefined: then the figure is None with the reason, never a division by zero, an
infinity or a NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

Z_95 = 1.96
# Below this count in any of the four cells, the normal approximation behind a ratio's interval
# is poor (the usual rule for log odds ratios; Agresti, Categorical Data Analysis, 3rd ed. 2013,
# §3.1): the figure is shown with a warning.
SMALL_CELL = 5
# A count below this has a relative standard error above 22% (1/√20) under Poisson, the point
# at which the US National Center for Health Statistics flags a rate as unreliable: a trend
# taken from the control area's counts (the total net effect) is withheld below it.
RELIABLE_COUNT = 20
# Months vary more than Poisson assumes when the dispersion is above this: say so.
OVERDISPERSED = 1.5


@dataclass(frozen=True)
class Caution:
    """What a figure's numbers cannot support, for the API's ``warnings`` ({code, message})."""

    code: str
    message: str


@dataclass(frozen=True)
class Change:
    before: int
    after: int

    @property
    def difference(self) -> int:
        return self.after - self.before

    @property
    def percent(self) -> float | None:
        """Percentage change; None when there was nothing before."""
        if self.before == 0:
            return None
        return 100 * (self.after - self.before) / self.before


@dataclass(frozen=True)
class OddsRatio:
    value: float | None
    low: float | None
    high: float | None
    log: float | None
    variance: float | None  # of ln OR
    undefined: str = ""  # why there is no value

    @property
    def significant(self) -> bool | None:
        """Whether the 95% interval leaves out 1 (no effect)."""
        if self.low is None or self.high is None:
            return None
        return self.low > 1 or self.high < 1


def odds_ratio(a_before: int, a_after: int, c_before: int, c_after: int) -> OddsRatio:
    zeros = [name for name, count in (("the target area before", a_before),
                                      ("the target area after", a_after),
                                      ("the control area before", c_before),
                                      ("the control area after", c_after)) if count == 0]
    if zeros:
        return OddsRatio(None, None, None, None, None,
                         "Not defined: it needs crime in both areas in both periods, and "
                         f"there was none in {_and(zeros)}.")
    log = math.log(a_before) + math.log(c_after) - math.log(a_after) - math.log(c_before)
    variance = 1 / a_before + 1 / a_after + 1 / c_before + 1 / c_after
    half = Z_95 * math.sqrt(variance)
    return OddsRatio(math.exp(log), math.exp(log - half), math.exp(log + half), log, variance)


@dataclass(frozen=True)
class Displacement:
    success: float | None  # SM
    buffer: float | None  # BDM
    wdq: float | None
    undefined: str = ""  # why the WDQ (or all three) has no value


def displacement(a_before: int, a_after: int, b_before: int, b_after: int, c_before: int,
                 c_after: int) -> Displacement:
    if c_before == 0 or c_after == 0:
        period = "before" if c_before == 0 else "after"
        return Displacement(None, None, None, "Not defined: the control area recorded no crime "
                            f"in the {period} period, and every measure is relative to it.")
    success = a_after / c_after - a_before / c_before
    buffer = b_after / c_after - b_before / c_before
    if success >= 0:
        return Displacement(success, buffer, None, "Not defined: crime in the target area did "
                            "not fall relative to the control area (the success measure is "
                            "not below zero), so there is no gain whose movement to measure.")
    return Displacement(success, buffer, buffer / success)


def success_is_clear(a_before: int, a_after: int, c_before: int, c_after: int) -> bool:
    """Whether the success measure SM = A1/C1 − A0/C0 is distinguishable from zero: more than
    1.96 standard errors from it, each ratio's variance by the delta method under Poisson,
    Var(A/C) ≈ (A/C)² (1/A + 1/C). A WDQ divides by SM: with SM about zero it is noise."""
    if min(a_before, a_after, c_before, c_after) == 0:
        return False
    success = a_after / c_after - a_before / c_before
    variance = sum((a / c) ** 2 * (1 / a + 1 / c)
                   for a, c in ((a_after, c_after), (a_before, c_before)))
    return abs(success) > Z_95 * math.sqrt(variance)


def unless_unclear(moved: Displacement, a_before: int, a_after: int, c_before: int,
                   c_after: int) -> Displacement:
    """The WDQ only where the success measure it divides by is distinguishable from zero."""
    if moved.wdq is None or success_is_clear(a_before, a_after, c_before, c_after):
        return moved
    return Displacement(moved.success, moved.buffer, None,
                        "Not shown: the success measure is too close to zero to tell from "
                        "chance (less than 1.96 standard errors from it), and a quotient that "
                        "divides by it would be noise.")


def total_net_effect(a_before: int, a_after: int, b_before: int, b_after: int, c_before: int,
                     c_after: int) -> float | None:
    """Crimes fewer than the control's trend predicts, target and buffer together (positive:
    a net gain); None when the control area had no crime before."""
    if c_before == 0:
        return None
    trend = c_after / c_before
    return (a_before * trend - a_after) + (b_before * trend - b_after)


@dataclass(frozen=True)
class RateRatio:
    """RIRR = (A_t1/A_t0) / (C_t1/C_t0): below 1, crime in the target fell relative to the
    control. Its interval is the odds ratio's, inverted."""

    value: float | None
    low: float | None
    high: float | None
    percent_change: float | None  # relative to the control: (RIRR − 1) · 100
    undefined: str = ""


def rate_ratio(ratio: OddsRatio) -> RateRatio:
    if ratio.value is None or ratio.low is None or ratio.high is None:
        return RateRatio(None, None, None, None, ratio.undefined)
    value = 1 / ratio.value
    return RateRatio(value, 1 / ratio.high, 1 / ratio.low, (value - 1) * 100)


def adjusted_interval(ratio: OddsRatio, dispersion: float | None) -> tuple[float | None,
                                                                             float | None]:
    """The odds ratio's interval with its variance multiplied by the dispersion (never below
    Poisson's, 1): what the months' spread says the interval really is."""
    if ratio.log is None or ratio.variance is None or dispersion is None:
        return None, None
    half = Z_95 * math.sqrt(ratio.variance * max(dispersion, 1.0))
    return math.exp(ratio.log - half), math.exp(ratio.log + half)


def small_number_warnings(counts: dict[str, tuple[int, int] | None]) -> list[Caution]:
    """What the counts are too small to support, area by area (``counts``: (before, after) of
    "target", "buffer" and "control", None for an area not chosen)."""
    found = []
    names = {"target": "target area", "buffer": "buffer ring", "control": "control area"}
    small = [f"the {names[name]} {period} ({count})"
             for name in ("target", "control") if counts.get(name) is not None
             for period, count in zip(("before", "after"), counts[name] or (), strict=True)
             if count < SMALL_CELL]
    if small:
        found.append(Caution("small_counts", f"Fewer than {SMALL_CELL} crimes in {_and(small)}: "
                                             "the odds ratio and rate ratio, and their "
                                             "intervals, rest on too few crimes to trust."))
    control = counts.get("control")
    if control is not None and control[0] < RELIABLE_COUNT:
        found.append(Caution("unreliable_trend", f"The control area had {control[0]} crimes "
                                                 f"before (fewer than {RELIABLE_COUNT}): its "
                                                 "trend is too uncertain to predict the target "
                                                 "from, so the total net effect is withheld."))
    return found


@dataclass(frozen=True)
class Pooled:
    hotspots: int  # with a defined odds ratio
    value: float | None
    low: float | None
    high: float | None
    log: float | None
    standard_error: float | None
    q: float | None  # Cochran's Q (heterogeneity)
    i_squared: float | None  # in percent; None with fewer than two hotspots

    @property
    def significant(self) -> bool | None:
        if self.low is None or self.high is None:
            return None
        return self.low > 1 or self.high < 1


def pooled_effect(effects: Sequence[tuple[float, float]]) -> Pooled:
    """The inverse-variance weighted mean of (ln OR, variance of ln OR) pairs."""
    usable = [(log, var) for log, var in effects if var > 0 and math.isfinite(log)]
    if not usable:
        return Pooled(0, None, None, None, None, None, None, None)
    weights = [1 / var for _log, var in usable]
    total = sum(weights)
    mean = sum(w * log for w, (log, _var) in zip(weights, usable, strict=True)) / total
    se = math.sqrt(1 / total)
    q = sum(w * (log - mean) ** 2 for w, (log, _var) in zip(weights, usable, strict=True))
    dof = len(usable) - 1
    i_squared = (max(0.0, (q - dof) / q) * 100 if q > 0 else 0.0) if dof > 0 else None
    return Pooled(len(usable), math.exp(mean), math.exp(mean - Z_95 * se),
                  math.exp(mean + Z_95 * se), mean, se, q if dof > 0 else None, i_squared)


@dataclass(frozen=True)
class RandomEffects:
    """The random-effects mean of the hotspots' log odds ratios: each hotspot's true effect may
    differ, by a spread tau² estimated from the data (DerSimonian & Laird 1986); its interval
    by Hartung & Knapp (2001), on t with k − 1 degrees of freedom; and the prediction
    interval, where a new hotspot's effect would fall (Higgins et al. 2009; k − 2 df)."""

    hotspots: int
    value: float | None
    low: float | None
    high: float | None
    tau_squared: float | None
    prediction_low: float | None
    prediction_high: float | None
    q: float | None
    q_p: float | None  # the p-value of Cochran's Q
    i_squared: float | None
    undefined: str = ""


def random_effects(effects: Sequence[tuple[float, float]]) -> RandomEffects:
    usable = [(log, var) for log, var in effects if var > 0 and math.isfinite(log)]
    k = len(usable)
    if k < 2:
        return RandomEffects(k, None, None, None, None, None, None, None, None, None,
                             "Not defined: a spread between hotspots needs at least two with an "
                             "odds ratio.")
    logs = [log for log, _var in usable]
    weights = [1 / var for _log, var in usable]
    total = sum(weights)
    fixed = sum(w * y for w, y in zip(weights, logs, strict=True)) / total
    q = sum(w * (y - fixed) ** 2 for w, y in zip(weights, logs, strict=True))
    c = total - sum(w * w for w in weights) / total
    tau2 = max(0.0, (q - (k - 1)) / c) if c > 0 else 0.0
    star = [1 / (var + tau2) for _log, var in usable]
    mean = sum(w * y for w, y in zip(star, logs, strict=True)) / sum(star)
    spread = sum(w * (y - mean) ** 2 for w, y in zip(star, logs, strict=True))
    se_hk = math.sqrt(spread / ((k - 1) * sum(star)))
    half = float(stats.t.ppf(0.975, k - 1)) * se_hk
    prediction: tuple[float | None, float | None] = (None, None)
    if k >= 3:
        width = float(stats.t.ppf(0.975, k - 2)) * math.sqrt(tau2 + 1 / sum(star))
        prediction = (_exp(mean - width), _exp(mean + width))
    i_squared = max(0.0, (q - (k - 1)) / q) * 100 if q > 0 else 0.0
    return RandomEffects(k, _exp(mean), _exp(mean - half), _exp(mean + half), tau2,
                         prediction[0], prediction[1], q, float(stats.chi2.sf(q, k - 1)),
                         i_squared)


def _exp(value: float) -> float | None:
    """exp within a float's range (a log ratio of hundreds means no usable figure)."""
    return math.exp(value) if abs(value) < 700 else None


# --- readings ----------------------------------------------------------------------------------

def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _num(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}"


def read_change(area: str, change: Change) -> str:
    crimes = "crime" if change.after == 1 else "crimes"
    if change.percent is None:
        if change.after == 0:
            return f"No crime was recorded in the {area} in either period."
        return (f"The {area} went from no crime to {change.after} {crimes}: a percentage "
                "change is not defined from zero.")
    if change.difference == 0:
        return f"Crime in the {area} did not change ({change.before} in each period)."
    direction = "fell" if change.difference < 0 else "rose"
    return (f"Crime in the {area} {direction} from {change.before} to {change.after} "
            f"({change.percent:+.1f}%).")


def read_odds_ratio(ratio: OddsRatio) -> str:
    if ratio.value is None or ratio.low is None or ratio.high is None:
        return ratio.undefined
    interval = f"95% interval {_num(ratio.low)} to {_num(ratio.high)}"
    if ratio.value > 1:
        reading = (f"The odds ratio of {_num(ratio.value)} ({interval}) favours the response: "
                   "relative to the control area, crime in the target area went down by a "
                   f"factor of {_num(ratio.value)}.")
    elif ratio.value < 1:
        reading = (f"The odds ratio of {_num(ratio.value)} ({interval}) does not favour the "
                   "response: relative to the control area, crime in the target area went up.")
    else:
        reading = f"The odds ratio is 1 ({interval}): no change relative to the control area."
    if ratio.significant:
        return reading + " The interval leaves out 1, so chance alone is an unlikely reason."
    return reading + (" The interval includes 1: the figures are consistent with no effect "
                      "at all.")


def read_displacement(result: Displacement) -> str:
    if result.success is None or result.buffer is None:
        return result.undefined
    buffer = ("the buffer got worse relative to the control area"
              if result.buffer > 0 else "the buffer improved relative to the control area"
              if result.buffer < 0 else "the buffer kept pace with the control area")
    if result.wdq is None:
        return f"{result.undefined} (Meanwhile {buffer}.)"
    wdq = f"The weighted displacement quotient is {_num(result.wdq)}"
    if result.wdq > 0:
        return (f"{wdq}: a diffusion of benefits. The target area improved relative to the "
                f"control and {buffer} too, so the gain spread beyond the target.")
    if result.wdq == 0:
        return f"{wdq}: neither displacement nor diffusion of benefits to the buffer."
    if result.wdq >= -1:
        return (f"{wdq}: some displacement ({buffer}), but less than the gain in the target "
                "area: the response still did more good than harm.")
    return (f"{wdq}: displacement exceeds the gain. {buffer.capitalize()} by more than the "
            "target area improved: the problem largely moved.")


def read_total_net_effect(value: float | None) -> str:
    if value is None:
        return ("Not defined: the control area recorded no crime before, so there is no trend "
                "to predict from.")
    rounded = round(value, 1)
    if rounded > 0:
        return (f"About {_num(rounded, 1)} fewer crimes in the target and buffer together than "
                "the control area's trend predicts.")
    if rounded < 0:
        return (f"About {_num(-rounded, 1)} more crimes in the target and buffer together than "
                "the control area's trend predicts.")
    return "As many crimes in the target and buffer together as the control's trend predicts."


def read_pooled(pooled: Pooled) -> str:
    if pooled.value is None or pooled.low is None or pooled.high is None:
        return ("Not defined: no hotspot has an odds ratio yet (each needs a saved assessment "
                "with crime in both areas in both periods).")
    hotspots = "hotspot" if pooled.hotspots == 1 else "hotspots"
    reading = (f"Across {pooled.hotspots} {hotspots}, the pooled odds ratio is "
               f"{_num(pooled.value)} (95% interval {_num(pooled.low)} to {_num(pooled.high)})")
    reading += (": it favours the response." if pooled.value > 1
                else ": it does not favour the response." if pooled.value < 1 else ".")
    if pooled.significant:
        reading += " The interval leaves out 1."
    else:
        reading += " The interval includes 1: consistent with no effect overall."
    if pooled.i_squared is not None:
        reading += (f" I² = {pooled.i_squared:.0f}%: "
                    + ("the hotspots' results differ more than chance explains."
                       if pooled.i_squared >= 50 else
                       "the hotspots' results are fairly consistent."))
    return reading


def read_rate_ratio(ratio: RateRatio) -> str:
    if ratio.value is None or ratio.low is None or ratio.high is None \
            or ratio.percent_change is None:
        return ratio.undefined
    direction = "fell" if ratio.value < 1 else "rose" if ratio.value > 1 else "kept pace"
    change = "" if ratio.value == 1 else f" by {abs(ratio.percent_change):.1f}%"
    return (f"Relative to the control area, crime in the target area {direction}{change} "
            f"(rate ratio {_num(ratio.value)}, 95% interval {_num(ratio.low)} to "
            f"{_num(ratio.high)}, assuming Poisson counts).")


def read_random_effects(result: RandomEffects, fixed: Pooled) -> str:
    """The random-effects answer, and which of the two to believe (by Q and I²)."""
    if result.value is None or result.low is None or result.high is None \
            or result.i_squared is None or result.q is None or result.q_p is None:
        return result.undefined
    reading = (f"Allowing the hotspots' effects to differ, the pooled odds ratio is "
               f"{_num(result.value)} (95% interval {_num(result.low)} to {_num(result.high)}")
    if result.prediction_low is not None and result.prediction_high is not None:
        reading += (f"; a new hotspot's would likely lie between {_num(result.prediction_low)}"
                    f" and {_num(result.prediction_high)}")
    reading += ")."
    heterogeneous = result.q_p < 0.10 or result.i_squared >= 50
    spread = (f"I² = {result.i_squared:.0f}%, Q = {_num(result.q, 1)} on {result.hotspots - 1} "
              f"degrees of freedom (p = {result.q_p:.3f})")
    if heterogeneous:
        return reading + (f" The hotspots differ more than chance explains ({spread}): believe "
                          "this random-effects answer, not the fixed effect, whose interval "
                          "is too narrow for hotspots this different.")
    agree = " The two agree." if fixed.value is not None and abs(
        math.log(result.value) - math.log(fixed.value)) < 0.05 else ""
    return reading + (f" The hotspots differ no more than chance explains ({spread}): the "
                      f"fixed effect is a fair summary.{agree}")


# --- the design and its strength ---------------------------------------------------------------

DESIGNS = {
    2: "Before and after in the target area, with no comparison area",
    3: "Before and after in the target area against a comparable control area",
    4: "Several treated hotspots compared before and after with untreated places (each "
       "hotspot's control area)",
    5: "Hotspots randomly allocated to treatment and comparison",
}


def design_of(*, control: bool, several_untreated: bool = False,
              randomised: bool = False) -> tuple[str, int]:
    """The design and its level on the Maryland Scientific Methods Scale (Sherman et al.
    1997; Farrington et al. 2002): 2 before and after only; 3 with a comparable control
    area; 4 several treated and untreated units; 5 random allocation."""
    level = 5 if randomised else 4 if several_untreated else 3 if control else 2
    return DESIGNS[level], level


def operation_design(with_control: int, without_control: int) -> tuple[str, int | None]:
    """The design of an operation's evaluation from its assessed hotspots, when it was not
    randomised: several hotspots each against an untreated control area reach level 4; one,
    or any without a control area, no more than their weakest."""
    if with_control + without_control == 0:
        return "No hotspot has been assessed yet", None
    if without_control:
        return DESIGNS[2], 2
    return (DESIGNS[4], 4) if with_control >= 2 else (DESIGNS[3], 3)
