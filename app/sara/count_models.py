"""The monthly counts of the target and control areas, before and after, fitted as a
difference-in-differences count model: log E[y] = b0 + b1·target + b2·after + b3·target·after,
so that exp(b3) is the relative incidence rate ratio (RIRR) of the target against the control.

Crime counts vary more from month to month than a Poisson model assumes (Marchant et al.
2004; Welsh & Farrington inflate the variance for it), so the interval must carry the
dispersion that the months show:

- quasi-Poisson: the Poisson fit's standard errors scaled by the Pearson dispersion
  phi = X² / (n − 4) (McCullagh & Nelder 1989). Saturated in the four groups, its RIRR is
  exactly the RIRR of the totals;
- negative binomial (NB2, variance mu + alpha·mu², by maximum likelihood), chosen instead
  when it fits the months better than the Poisson: the likelihood-ratio test of alpha = 0
  rejects at 5% against the boundary's mixture of chi-square 0 and 1 (critical value 2.71;
  Cameron & Trivedi 2013, §3.4).

statsmodels does the fitting. A fit that cannot be made (too few months, a group with no
crime, an optimiser that does not converge) gives no figure but the reason, never a NaN.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

Z_95 = 1.96
LR_CRITICAL = 2.706  # 5% for H0: alpha = 0 on the boundary (half chi-square with 1 df)
MIN_MONTHS = 2  # in each period: the dispersion needs residual degrees of freedom


@dataclass(frozen=True)
class CountModel:
    method: str | None  # "quasi-Poisson" or "negative binomial (NB2)"
    rirr: float | None
    low: float | None
    high: float | None
    dispersion: float | None  # Pearson X² / df of the Poisson fit (1: as Poisson assumes)
    alpha: float | None  # NB2's, when it was chosen
    fit: str  # the fit in words: deviance, degrees of freedom, the test that chose the model
    undefined: str = ""


def did_model(target_before: Sequence[int], target_after: Sequence[int],
              control_before: Sequence[int], control_after: Sequence[int]) -> CountModel:
    """The target's change against the control's, from their monthly counts."""
    groups = (target_before, target_after, control_before, control_after)
    if min(len(g) for g in groups) < MIN_MONTHS:
        return _undefined(f"Not fitted: it needs at least {MIN_MONTHS} months in each period "
                          "to estimate how much the months vary.")
    empty = [name for name, group in zip(
        ("the target area before", "the target area after", "the control area before",
         "the control area after"), groups, strict=True) if sum(group) == 0]
    if empty:
        return _undefined("Not fitted: it needs crime in both areas in both periods, and "
                          f"there was none in {_and(empty)}.")
    y, design = _design(groups)
    return _chosen_fit(y, design, effect=3)


def _chosen_fit(y: np.ndarray, design: np.ndarray, effect: int, note: str = "") -> CountModel:
    """Quasi-Poisson, or the negative binomial where the likelihood-ratio test prefers it, for
    the coefficient in column ``effect``. The matrices are small: on one thread, since BLAS's
    threads contending with the server's for a few cores made a fit fifty times slower."""
    with threadpool_limits(limits=1):
        return _fit_on_one_thread(y, design, effect, note)


def _fit_on_one_thread(y: np.ndarray, design: np.ndarray, effect: int, note: str) -> CountModel:
    poisson = _poisson(y, design, effect)
    if poisson is None:
        return _undefined("Not fitted: the Poisson model could not be estimated.")
    deviance, dof, phi, b3, se3, llf = poisson
    nb = _negative_binomial(y, design, effect) if phi > 1 else None
    lr = max(2 * (nb[3] - llf), 0.0) if nb is not None else 0.0  # never below the Poisson
    base = (f"{note}Poisson deviance {deviance:.1f} on {dof} degrees of freedom, dispersion "
            f"{phi:.2f}")
    if nb is not None and lr > LR_CRITICAL:
        nb_b3, nb_se3, alpha, _nb_llf = nb
        return _figures("negative binomial (NB2)", nb_b3, nb_se3, phi, alpha,
                        f"{base}; the negative binomial fits better (likelihood ratio "
                        f"{lr:.1f} > {LR_CRITICAL}, alpha {alpha:.3f})")
    test = (f"; the negative binomial does not fit better (likelihood ratio {lr:.1f})"
            if nb is not None else "")
    return _figures("quasi-Poisson", b3, se3 * math.sqrt(max(phi, 1.0)), phi, None,
                    base + test + ("; standard errors scaled by the dispersion" if phi > 1
                                   else "; no overdispersion, so Poisson standard errors"))


@dataclass(frozen=True)
class Unit:
    """One hotspot's monthly counts over the whole series, and whether it was patrolled."""

    monthly: Sequence[int]
    patrolled: bool


def group_model(units: Sequence[Unit], after_from: int) -> CountModel:
    """The patrolled hotspots against the comparison ones over their monthly series, with an
    effect for each hotspot and for each month: log E[y_it] = a_i + g_t + b·patrolled_i·after_t,
    so that exp(b) is the rate ratio of the patrolled hotspots' change to the comparison
    hotspots' (months from index ``after_from`` on are after).

    A hotspot with no crime in any month, or a month with none anywhere, tells a model with
    those effects nothing (its effect would be minus infinity): they are left out, and said so.
    """
    months = len(units[0].monthly) if units else 0
    if any(len(u.monthly) != months for u in units):
        raise ValueError("every hotspot needs the same months")
    if min(after_from, months - after_from) < MIN_MONTHS:
        return _undefined(f"Not fitted: it needs at least {MIN_MONTHS} months before and after.")
    kept = [u for u in units if sum(u.monthly) > 0]
    used = [t for t in range(months) if any(u.monthly[t] for u in kept)]
    dropped = len(units) - len(kept)
    for side, name in ((True, "patrolled"), (False, "comparison")):
        group = [u for u in kept if u.patrolled is side]
        if len(group) < 2:
            return _undefined(f"Not fitted: it needs at least two {name} hotspots with crime.")
        for when, period in (((t for t in used if t < after_from), "before"),
                             ((t for t in used if t >= after_from), "after")):
            if not sum(u.monthly[t] for u in group for t in when):
                return _undefined(f"Not fitted: the {name} hotspots had no crime {period}.")
    y, design = _panel_design(kept, used, after_from)
    note = (f"{len(kept)} hotspots over {len(used)} months"
            + (f" ({dropped} with no crime in any month left out)" if dropped else "")
            + "; ")
    return _chosen_fit(y, design, effect=0, note=note)


def _panel_design(units: Sequence[Unit], months: Sequence[int],
                  after_from: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns: the effect, the intercept, a dummy for each hotspot but the first and for each
    month but the first."""
    rows, counts = [], []
    for i, unit in enumerate(units):
        for j, t in enumerate(months):
            row = np.zeros(2 + len(units) - 1 + len(months) - 1)
            row[0] = float(unit.patrolled and t >= after_from)
            row[1] = 1.0
            if i:
                row[1 + i] = 1.0
            if j:
                row[len(units) + j] = 1.0
            rows.append(row)
            counts.append(float(unit.monthly[t]))
    return np.array(counts), np.array(rows)


def _design(groups: tuple[Sequence[int], ...]) -> tuple[np.ndarray, np.ndarray]:
    rows, counts = [], []
    for (target, after), group in zip(((1, 0), (1, 1), (0, 0), (0, 1)), groups, strict=True):
        for count in group:
            rows.append((1.0, target, after, target * after))
            counts.append(float(count))
    return np.array(counts), np.array(rows)


def _poisson(y: np.ndarray, design: np.ndarray,
             effect: int) -> tuple[float, int, float, float, float, float] | None:
    import statsmodels.api as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = sm.GLM(y, design, family=sm.families.Poisson()).fit()
        except (ValueError, np.linalg.LinAlgError):
            return None
    dof = int(fit.df_resid)
    values = (float(fit.deviance), float(fit.pearson_chi2), float(fit.params[effect]),
              float(fit.bse[effect]), float(fit.llf))
    if dof < 1 or not all(map(math.isfinite, values)):
        return None
    deviance, pearson, b3, se3, llf = values
    return deviance, dof, pearson / dof, b3, se3, llf


def _negative_binomial(y: np.ndarray, design: np.ndarray,
                       effect: int) -> tuple[float, float, float, float] | None:
    """NB2 by maximum likelihood: (b3, its standard error, alpha, log-likelihood), or None when
    the fit does not converge to a usable answer."""
    from statsmodels.discrete.discrete_model import NegativeBinomial

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = NegativeBinomial(y, design, loglike_method="nb2").fit(
                disp=0, maxiter=200)
        except (ValueError, np.linalg.LinAlgError):
            return None
    params, bse = np.asarray(fit.params), np.asarray(fit.bse)
    values = (float(params[effect]), float(bse[effect]), float(params[-1]), float(fit.llf))
    if not fit.mle_retvals.get("converged", False) or not all(map(math.isfinite, values)) \
            or values[1] <= 0 or values[2] <= 0:
        return None
    return values


def _figures(method: str, b3: float, se: float, phi: float, alpha: float | None,
             fit: str) -> CountModel:
    if not all(map(math.isfinite, (b3, se))) or abs(b3) > 700:
        return _undefined("Not fitted: the model's estimate is not finite.")
    return CountModel(method, math.exp(b3), math.exp(b3 - Z_95 * se),
                      math.exp(b3 + Z_95 * se), phi, alpha, fit)


def _undefined(reason: str) -> CountModel:
    return CountModel(None, None, None, None, None, None, "", reason)


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def moved_by(ratio: float) -> str:
    """A ratio as words: 0.8 "fell by 20.0%", 1.25 "rose by 25.0%"."""
    change = (ratio - 1) * 100
    return f"{'fell' if change < 0 else 'rose'} by {abs(change):.1f}%"


def read_model(model: CountModel) -> str:
    if model.rirr is None or model.low is None or model.high is None:
        return model.undefined
    reading = (f"Fitted to the monthly counts as a {model.method} model, crime in the target "
               f"area {moved_by(model.rirr)} relative to the control area (rate "
               f"ratio {model.rirr:,.2f}, 95% interval {model.low:,.2f} to {model.high:,.2f}, "
               "allowing for how much the months vary).")
    if model.low > 1 or model.high < 1:
        return reading + " The interval leaves out 1."
    return reading + " The interval includes 1: consistent with no effect."


def read_group_model(model: CountModel) -> str:
    """A randomised operation's patrolled hotspots against its comparison hotspots."""
    if model.rirr is None or model.low is None or model.high is None:
        return model.undefined
    reading = (f"Crime at the patrolled hotspots {moved_by(model.rirr)} relative to "
               f"the comparison hotspots (rate ratio {model.rirr:,.2f}, 95% interval "
               f"{model.low:,.2f} to {model.high:,.2f}; {model.method} with an effect for each "
               "hotspot and each month).")
    if model.high < 1:
        return reading + " The interval lies below 1: the patrols cut crime."
    if model.low > 1:
        return reading + " The interval lies above 1: crime rose where patrolled."
    return reading + " The interval includes 1: no effect is shown."
