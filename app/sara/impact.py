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
  meta-analysis), with its interval, Cochran's Q and I².

A count of zero makes some figures undefined: then the figure is None with the reason, never a
division by zero, an infinity or a NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z_95 = 1.96


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


def total_net_effect(a_before: int, a_after: int, b_before: int, b_after: int, c_before: int,
                     c_after: int) -> float | None:
    """Crimes fewer than the control's trend predicts, target and buffer together (positive:
    a net gain); None when the control area had no crime before."""
    if c_before == 0:
        return None
    trend = c_after / c_before
    return (a_before * trend - a_after) + (b_before * trend - b_after)


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
