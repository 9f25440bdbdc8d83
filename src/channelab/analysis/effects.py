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

from channelab.analysis.decisions import (
    arm_verdict,
    guardrail_harms,
    guardrail_verdict,
    metric_verdict,
    more_data_factor,
)
from channelab.analysis.economics import compute_economics
from channelab.analysis.funnel import follow_through
from channelab.analysis.gcomp import population_means
from channelab.analysis.intervals import interval, noise_band, relative_interval
from channelab.analysis.results import ArmResult, Effect, Effects, FollowThrough, SegmentEffect
from channelab.analysis.wording import arm_summary
from channelab.cells import Cells
from channelab.spec import Metric, Spec


def compute_effects(posterior: xr.Dataset, cells: Cells, spec: Spec, *, seed: int | None = None) -> Effects:
    """Derive every lift, interval, probability and verdict from the posterior.

    ``seed`` (default the spec's) draws the follow-through posteriors.
    """
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
            noise = noise_band(flat, spec.hdi_prob)
            empty = tuple(a for a in (spec.control, arm) if _no_events(m, obs[a]["mean"]))
            judged = metric_verdict(flat, (lift_iv.lower, lift_iv.upper), rope, spec.decision)
            if m.role == "guardrail":
                judged = guardrail_verdict(judged, m.worse_direction)
            effects.append(
                Effect(
                    arm=arm,
                    metric=m.name,
                    label=effect_label(m, spec),
                    role=m.role,
                    type=m.type,
                    n_arm=int(obs[arm]["n"]),
                    n_control=int(obs[spec.control]["n"]),
                    control_mean=float(obs[spec.control]["mean"]),
                    arm_mean=float(obs[arm]["mean"]),
                    lift=lift_iv,
                    abs_lift=interval(abs_lift.to_numpy(), spec.hdi_prob),
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
    follow = follow_through(cells, spec, seed=spec.seed if seed is None else seed)
    arms = []
    for arm in spec.treatments:
        own = [e for e in effects if e.arm == arm]
        verdict = arm_verdict(own)
        arms.append(
            ArmResult(
                arm=arm,
                channel=spec.arms[arm].channel,
                verdict=verdict,
                harms=guardrail_harms(own),
                summary=arm_summary(
                    arm,
                    verdict,
                    own,
                    spec.hdi_prob,
                    follow=[(f, c) for f in follow if f.arm == arm for c in follow if _same_pair(c, f, spec)],
                ),
            )
        )
    return Effects(
        hdi_prob=spec.hdi_prob,
        effects=tuple(effects),
        arms=tuple(arms),
        lift_draws=draws_out,
        segments=segment_effects(posterior, cells, spec),
        follow_through=follow,
        economics=compute_economics(means, cells, spec) if spec.costed else None,
    )


def reported_draws(posterior: xr.Dataset, cells: Cells, spec: Spec) -> dict[str, xr.DataArray]:
    """The quantities a report states, as draws with ``chain`` and ``draw`` dims.

    Per metric: every arm's population mean, and every treatment's lift over the control;
    within each level of ``model.lift_by`` too when asked. The convergence gate checks them
    (:func:`channelab.analysis.diagnostics.diagnose`).
    """
    out: dict[str, xr.DataArray] = {}
    for by in (None, spec.model.lift_by) if spec.model.lift_by else (None,):
        for metric, mu in population_means(posterior, cells, spec, by=by).items():
            key = metric if by is None else f"{metric} by {by}"
            out[f"{key}: mean"] = mu
            out[f"{key}: lift"] = mu.sel(arm=list(spec.treatments)) / mu.sel(arm=spec.control) - 1
    return out


def _same_pair(control: FollowThrough, f: FollowThrough, spec: Spec) -> bool:
    """Whether ``control`` is the control's follow-through for ``f``'s pair of metrics."""
    return control.arm == spec.control and (control.engagement, control.outcome) == (f.engagement, f.outcome)


def effect_label(metric: Metric, spec: Spec) -> str:
    """The metric's name in sentences and tables; a conditional rate says what it is among."""
    if metric.denominator is None:
        return metric.display
    den = next(m for m in spec.metrics if m.name == metric.denominator)
    return f"{metric.display} among {den.display}"


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
                        label=effect_label(m, spec),
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
