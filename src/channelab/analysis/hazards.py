"""What the time-to-event model says beside the lift: incidence curves, hazard ratios, proportionality.

The lift of a survival metric (:mod:`.survival`) is the lift in P(outcome within the window), as
for any binary metric. Its model also gives, per arm:

- the **cumulative incidence** P(outcome by day t) for t = 0 … W, by g-computation over the
  experiment's own units as every mean is (:mod:`.gcomp`), with an equal-tailed interval per day;
- the **hazard ratio** against control, e^arm: with ``hazards: varying`` the geometric mean of
  the ratios over the window's intervals, with ``proportional`` the one ratio;
- a **proportionality check**: the Poisson deviance of the proportional-hazards fit (arm +
  interval, log days at risk as offset; statsmodels) on the table of events and days at risk
  per arm and interval. That deviance is the likelihood-ratio statistic against the saturated
  table, i.e. against arm × interval effects, so its χ² p-value tests whether hazard ratios
  change over the window. When p < :data:`PROPORTIONALITY_ALPHA` the report says the ratio
  changes over time and is not to be read as one number (the lift within the window still is).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import chi2

from channelab.analysis.gcomp import eta_grid, target_weights
from channelab.analysis.hazard_results import PROPORTIONALITY_ALPHA, Incidence, Proportionality, TimeToEvent
from channelab.analysis.intervals import central_interval
from channelab.analysis.results import Effect
from channelab.analysis.survival import cumulative_hazard_weights
from channelab.analysis.wording import pct
from channelab.cells import Cells, SurvivalCells
from channelab.spec import Spec

__all__ = [
    "PROPORTIONALITY_ALPHA",
    "incidence_days",
    "proportionality",
    "survival_sentence",
    "time_to_event",
]

#: Most days an incidence curve is evaluated at (every day of windows up to this long).
MAX_CURVE_POINTS = 57


def time_to_event(posterior: xr.Dataset, cells: Cells, spec: Spec) -> tuple[TimeToEvent, ...]:
    """The incidence curves, hazard ratios and proportionality check of every survival metric.

    Parameters
    ----------
    posterior
        Posterior draws of the model of ``cells``.
    cells
        The cells the model was fitted on.
    spec
        The experiment (its survival metrics, arms, interval mass).

    Returns
    -------
    tuple of TimeToEvent
        One per survival metric, in the spec's order (empty when there is none).
    """
    out = []
    for m in spec.metrics:
        s = cells.metrics[m.name]
        if not (m.survival and isinstance(s, SurvivalCells)):
            continue
        assert m.window_days is not None
        draws = np.exp(posterior[f"{m.name}:arm"].to_numpy())  # (chain, draw, treatment)
        ratios = tuple(
            (a, central_interval(draws[..., i], spec.hdi_prob)) for i, a in enumerate(cells.arms[1:])
        )
        out.append(
            TimeToEvent(
                metric=m.name,
                window_days=m.window_days,
                bounds=s.bounds,
                hazards=m.hazards,
                incidence=_incidence(posterior, cells, spec, m.name, incidence_days(m.window_days)),
                hazard_ratios=ratios,
                proportionality=tuple((a, proportionality(cells, m.name, a)) for a in cells.arms[1:]),
                inside_window=tuple(zip(cells.arms, (int(v) for v in cells.maturing(m.name)), strict=True)),
            )
        )
    return tuple(out)


def incidence_days(window_days: int) -> tuple[int, ...]:
    """The days an incidence curve is evaluated at: every day, or evenly spaced for long windows.

    Parameters
    ----------
    window_days
        The window W; the days run from 0 to W.
    """
    points = min(window_days + 1, MAX_CURVE_POINTS)
    return tuple(int(d) for d in np.unique(np.round(np.linspace(0, window_days, points))))


def _incidence(
    posterior: xr.Dataset, cells: Cells, spec: Spec, name: str, days: Sequence[int]
) -> tuple[Incidence, ...]:
    """Per arm, P(outcome by each day) over the experiment's own units, by g-computation."""
    s = cells.metrics[name]
    assert isinstance(s, SurvivalCells)
    strata, weights = target_weights(cells, spec)
    followed = np.stack([s.followed(d) for d in days], axis=-1)  # (interval, day): every day at once
    per_chain = []
    for chain in range(posterior.sizes["chain"]):  # one chain at a time bounds memory
        post = posterior.isel(chain=[chain])
        level = np.exp(eta_grid(post, name, cells, strata))  # (1, draw, arm, stratum)
        hazard = cumulative_hazard_weights(name, post, followed)  # (1, draw, arm, day, 1)
        curve = [-np.expm1(-level * hazard[..., j, :]) @ weights for j in range(len(days))]
        per_chain.append(np.stack(curve, axis=-1)[..., 0, :])  # (1, draw, arm, day)
    draws = np.concatenate(per_chain, axis=0).reshape(-1, len(cells.arms), len(days))
    tail = (1 - spec.hdi_prob) / 2
    lo, hi = np.quantile(draws, [tail, 1 - tail], axis=0)
    mean = draws.mean(axis=0)
    return tuple(
        Incidence(arm, tuple(days), *(tuple(float(v) for v in x[i]) for x in (mean, lo, hi)))
        for i, arm in enumerate(cells.arms)
    )


def proportionality(cells: Cells, metric: str, arm: str | None = None) -> Proportionality | None:
    """The likelihood-ratio test of constant hazard ratios over the window's intervals.

    The events and days at risk are summed per arm and interval (over strata: the arms are
    randomised, so the strata mix alike); intervals nobody reached are left out. The deviance
    of the Poisson fit log E[events] = log days + interval + arm is the statistic.

    Parameters
    ----------
    cells
        The cells of a survival metric.
    metric
        The metric's name.
    arm
        A treatment: test its ratio to the control only. ``None`` tests every arm together.

    Returns
    -------
    Proportionality or None
        ``None`` for a metric that is not a survival metric, or a table with no degrees of freedom
        (one interval with data, or one arm).
    """
    s = cells.metrics[metric]
    if not isinstance(s, SurvivalCells):
        return None
    table = _arm_interval_table(cells, s)
    if arm is not None:
        table = table[table["arm"].isin([0, list(cells.arms).index(arm)])]
    arms, intervals = table["arm"].nunique(), table["interval"].nunique()
    df = (arms - 1) * (intervals - 1)
    if df < 1 or table["events"].sum() == 0:
        return None
    import statsmodels.api as sm  # only a time-to-event metric pays its import (0.3 s)

    design = pd.get_dummies(table[["arm", "interval"]].astype(str), drop_first=True, dtype=float)
    fit = sm.GLM(
        table["events"], sm.add_constant(design), family=sm.families.Poisson(), offset=np.log(table["days"])
    ).fit()
    statistic = float(max(fit.deviance, 0.0))
    p = float(chi2.sf(statistic, df))
    return Proportionality(statistic=statistic, df=int(df), p_value=p, flagged=p < PROPORTIONALITY_ALPHA)


def _arm_interval_table(cells: Cells, s: SurvivalCells) -> pd.DataFrame:
    """Events and days at risk per (arm, interval), intervals with days at risk only."""
    events = np.stack([cells.per_arm(col) for col in s.events.T], axis=1)  # (arm, interval)
    days = np.stack([cells.per_arm(col) for col in s.exposure.T], axis=1)
    arm, interval = np.meshgrid(np.arange(len(cells.arms)), np.arange(events.shape[1]), indexing="ij")
    table = pd.DataFrame(
        {"arm": arm.ravel(), "interval": interval.ravel(), "events": events.ravel(), "days": days.ravel()}
    )
    reached = table.groupby("interval")["days"].transform(lambda d: (d > 0).all())
    return table[reached.astype(bool)].reset_index(drop=True)


def survival_sentence(t: TimeToEvent, e: Effect, control: str, unit: str, hdi_prob: float) -> str:
    """Page 1's sentence on one arm's survival metric, in plain words.

    Its licence: the shares by day W are the posterior means of P(outcome within W) per arm (the
    incidence curves at W, equal to the means the lift is computed from); no direction is claimed
    here (the verdict's sentence, beside it, states the lift and claims a direction only at the
    claim level). The hazard ratio is named only where the proportionality check does not reject
    constant ratios (p ≥ :data:`PROPORTIONALITY_ALPHA`); where it rejects, the sentence says the
    ratio changed over the window and names none.

    Parameters
    ----------
    t
        The metric's time-to-event results.
    e
        The arm's effect on the metric.
    control
        The control arm's label.
    unit
        The unit's kind (``prospect``), for the counts.
    hdi_prob
        The interval mass (of the hazard ratio's interval).
    """
    share = {c.arm: c.mean[-1] for c in t.incidence}
    inside = dict(t.inside_window)
    waiting = inside.get(e.arm, 0) + inside.get(control, 0)
    text = (
        f"By day {t.window_days}, the share of {e.arm} {unit}s with {e.label} was {pct(share[e.arm])}, "
        f"against {pct(share[control])} under {control}"
    )
    if waiting:
        text += f"; {waiting:,} {unit}s still inside their window counted as far as they have come"
    ratio = dict(t.hazard_ratios).get(e.arm)
    check = dict(t.proportionality).get(e.arm)
    if check is not None and check.flagged:
        text += (
            f". Its hazard ratio changed over the window (p {_p(check.p_value)}): {e.arm} brings "
            f"{e.label} sooner or later than {control}, not by one steady factor, so read the "
            f"{t.window_days}-day lift, not a ratio"
        )
    elif ratio is not None:
        text += (
            f". Hazard ratio {ratio.mean:.2f} ({hdi_prob * 100:.0f} % interval {ratio.lower:.2f} to "
            f"{ratio.upper:.2f})"
        )
        if check is not None:
            text += f"; a check found no sign of it changing over the window (p {_p(check.p_value)})"
    return text + "."


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"
