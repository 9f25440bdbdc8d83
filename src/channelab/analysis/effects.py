"""Effects: lifts per arm and metric, derived from the posterior. Knows nothing of plotting.

Lift of arm a on a metric = (population mean under a) / (population mean under control) - 1,
both averaged over the experiment's covariate mix (see
:func:`channelab.analysis.gcomp.population_means`); the absolute lift is the difference. The
*noise band* of a lift is the interval its posterior would have if the true lift were zero
(the posterior of log(1 + lift) recentred at 0): movements inside it are what sampling
noise alone produces at this sample size.
"""

from __future__ import annotations

import arviz_stats as azs
import numpy as np
import xarray as xr

from channelab.analysis.decisions import arm_verdict, metric_verdict, more_data_factor
from channelab.analysis.gcomp import population_means
from channelab.analysis.results import ArmResult, Effect, Effects, Interval, SegmentEffect
from channelab.analysis.wording import arm_summary
from channelab.cells import Cells
from channelab.spec import Metric, Spec


def compute_effects(posterior: xr.Dataset, cells: Cells, spec: Spec) -> Effects:
    """Derive every lift, interval, probability and verdict from the posterior."""
    means = population_means(posterior, cells, spec)
    metrics = spec.metrics_in_funnel_order
    effects: list[Effect] = []
    draws_out: dict[tuple[str, str], np.ndarray] = {}
    observed = {m.name: cells.arm_totals(m.name).to_dict("index") for m in metrics}
    for arm in spec.treatments:
        for m in metrics:
            mu = means[m.name]
            control, treated = mu.sel(arm=spec.control), mu.sel(arm=arm)
            lift = treated / control - 1
            abs_lift = treated - control
            obs = observed[m.name]
            rope = m.rope_interval
            flat = lift.to_numpy().ravel()
            lift_iv = relative_interval(treated.to_numpy(), control.to_numpy(), spec.hdi_prob)
            noise = _noise_band(flat, spec.hdi_prob)
            empty = tuple(a for a in (spec.control, arm) if _no_events(m, obs[a]["mean"]))
            judged = metric_verdict(flat, (lift_iv.lower, lift_iv.upper), rope, spec.decision)
            effects.append(
                Effect(
                    arm=arm,
                    metric=m.name,
                    label=m.display,
                    role=m.role,
                    type=m.type,
                    n_arm=int(obs[arm]["n"]),
                    n_control=int(obs[spec.control]["n"]),
                    control_mean=float(obs[spec.control]["mean"]),
                    arm_mean=float(obs[arm]["mean"]),
                    lift=lift_iv,
                    abs_lift=_interval(abs_lift, spec.hdi_prob),
                    prob_positive=float(np.mean(flat > 0)),
                    prob_in_rope=float(np.mean((flat >= rope[0]) & (flat <= rope[1]))),
                    prob_above_rope=float(np.mean(flat > rope[1])),
                    prob_below_rope=float(np.mean(flat < rope[0])),
                    rope=rope,
                    noise=noise,
                    mcse_lift=float(azs.mcse(lift.rename("lift")).to_numpy()),
                    mcse_abs_lift=float(azs.mcse(abs_lift.rename("abs_lift")).to_numpy()),
                    verdict="inconclusive" if empty else judged,
                    more_data_factor=more_data_factor(lift_iv.mean, (lift_iv.lower, lift_iv.upper), rope),
                    no_events=empty,
                )
            )
            draws_out[(arm, m.name)] = flat
    arms = []
    for arm in spec.treatments:
        own = [e for e in effects if e.arm == arm]
        verdict = arm_verdict(own)
        arms.append(
            ArmResult(
                arm=arm,
                channel=spec.arms[arm].channel,
                verdict=verdict,
                summary=arm_summary(arm, verdict, own, spec.hdi_prob),
            )
        )
    return Effects(
        hdi_prob=spec.hdi_prob,
        effects=tuple(effects),
        arms=tuple(arms),
        lift_draws=draws_out,
        segments=segment_effects(posterior, cells, spec),
    )


def _no_events(metric: Metric, observed_mean: float) -> bool:
    """Whether an arm's data say nothing about the metric's level: it never (or, binary, always) happened."""
    if metric.type == "continuous":
        return False
    return observed_mean == 0 or (metric.type == "binary" and observed_mean == 1)


def segment_effects(posterior: xr.Dataset, cells: Cells, spec: Spec) -> tuple[SegmentEffect, ...]:
    """Lifts within each level of ``model.lift_by`` (heterogeneous lift); empty when not asked."""
    by = spec.model.lift_by
    if by is None:
        return ()
    means = population_means(posterior, cells, spec, by=by)
    strata = cells.strata()
    shares = np.bincount(strata.level_idx[by], weights=strata.weights, minlength=len(cells.levels[by]))
    out = []
    for arm in spec.treatments:
        for m in spec.metrics_in_funnel_order:
            mu = means[m.name]
            lift = mu.sel(arm=arm) / mu.sel(arm=spec.control) - 1
            for j, level in enumerate(cells.levels[by]):
                draws = lift.sel({by: level})
                at = {by: level}
                iv = relative_interval(  # the same interval as the overall lift's
                    mu.sel(arm=arm).sel(at).to_numpy(),
                    mu.sel(arm=spec.control).sel(at).to_numpy(),
                    spec.hdi_prob,
                )
                flat = draws.to_numpy().ravel()
                out.append(
                    SegmentEffect(
                        arm=arm,
                        metric=m.name,
                        label=m.display,
                        role=m.role,
                        segment=by,
                        level=level,
                        share=float(shares[j]),
                        lift=iv,
                        prob_positive=float(np.mean(flat > 0)),
                        verdict=metric_verdict(flat, (iv.lower, iv.upper), m.rope_interval, spec.decision),
                    )
                )
    return tuple(out)


def _hdi(values: np.ndarray, prob: float) -> tuple[float, float]:
    lo, hi = azs.hdi(np.asarray(values, dtype=float), prob=prob)
    return float(lo), float(hi)


def _noise_band(lift: np.ndarray, prob: float) -> tuple[float, float]:
    """The interval the lift's posterior would have if the true lift were zero: recentred at 0.

    On log(1 + lift) where every draw allows it; else (a mean per unit that can reach zero)
    on the lift itself.
    """
    if np.all(lift > -1):
        log_ratio = np.log1p(lift)
        lo, hi = np.expm1(_hdi(log_ratio - log_ratio.mean(), prob))
        return float(lo), float(hi)
    return _hdi(lift - lift.mean(), prob)


def relative_interval(treated: np.ndarray, control: np.ndarray, prob: float) -> Interval:
    """Relative lift of ``treated`` over ``control`` (draws of their means): estimate and HDI.

    The estimate is the ratio of the posterior means less one, so it is the absolute lift's
    estimate divided by the control level (the posterior mean of a ratio is pulled up by a
    noisy denominator). The HDI is taken on log(1 + lift) and mapped back: a ratio's posterior
    is skewed (a control mean near zero stretches it far to the right), and on the raw scale its
    HDI can straddle zero while the difference's excludes it; on the log scale it agrees with
    the difference about the sign in all but knife-edge cases. Draws at or below −100 % (a
    non-positive mean) fall back to the raw HDI.
    """
    treated, control = np.asarray(treated, dtype=float).ravel(), np.asarray(control, dtype=float).ravel()
    lift = treated / control - 1
    if np.all(lift > -1):
        lo, hi = np.expm1(_hdi(np.log1p(lift), prob))
    else:
        lo, hi = _hdi(lift, prob)
    return Interval(mean=float(treated.mean() / control.mean() - 1), lower=float(lo), upper=float(hi))


def _interval(draws: xr.DataArray, prob: float) -> Interval:
    lo, hi = _hdi(draws.to_numpy().ravel(), prob)
    return Interval(mean=float(draws.mean()), lower=lo, upper=hi)
