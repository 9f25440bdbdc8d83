"""Effects: lifts per arm and metric, derived from the posterior. Knows nothing of plotting.

The estimand of arm a on a metric is the difference of the population means per unit under a
and under the control, both averaged over the experiment's covariate mix (see
:func:`channelab.analysis.gcomp.population_means`); every probability and verdict is computed
from it (:mod:`channelab.analysis.decisions`). The relative lift, a / control − 1, is shown
where it is defined (:func:`~channelab.analysis.intervals.relative_defined`). The *noise band*
is the interval the posterior would have were the true effect zero (its equal-tailed interval
recentred at the median, :func:`~channelab.analysis.intervals.noise_band`): movements inside it
are what sampling noise alone produces at this sample size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, Literal

import numpy as np
import xarray as xr
from arviz_stats.sampling_diagnostics import mcse
from scipy.stats import norm

from channelab.analysis.covariance import arm_covariances
from channelab.analysis.decisions import (
    arm_verdict,
    claim_level,
    guardrail_harms,
    guardrail_verdict,
    metric_verdict,
    more_data_factor,
    rope_probabilities,
    without_events_verdict,
)
from channelab.analysis.descriptive_wording import descriptive_sentence
from channelab.analysis.economics import compute_economics
from channelab.analysis.funnel import follow_through
from channelab.analysis.gcomp import population_means
from channelab.analysis.hazard_results import TimeToEvent
from channelab.analysis.hazards import survival_sentence, time_to_event
from channelab.analysis.intervals import central_interval, noise_band, relative_defined, relative_interval
from channelab.analysis.quantiles import arm_tables, raw_quantile
from channelab.analysis.results import ArmResult, Effect, Effects, FollowThrough, MetricVerdict, SegmentEffect
from channelab.analysis.wording import arm_summary
from channelab.cells import Cells, RatioCells
from channelab.spec import DESCRIPTIVE_TYPES, Metric, Spec

#: arviz-stats' Monte Carlo standard error of the mean (untyped upstream), as called here.
_mcse: Callable[[xr.DataArray], xr.DataArray] = mcse


def compute_effects(posterior: xr.Dataset, cells: Cells, spec: Spec, *, seed: int) -> Effects:
    """Derive every lift, interval, probability and verdict from the posterior.

    A metric measured among an earlier stage (a ``denominator``) is reported twice: as that
    share, which explains, and as its mean per unit (``<name>_per_unit``), which decides the arm.

    Parameters
    ----------
    posterior : xarray.Dataset
        The posterior group of a fit of ``cells`` (dims ``chain`` and ``draw``).
    cells : Cells
        The cells the posterior was fitted to: observed counts and means, covariate mix.
    spec : Spec
        The experiment: arms, metrics and their ROPEs, decision rule, interval mass, costs.
    seed : int
        The seed of the follow-through posteriors' draws. The caller resolves it (a run passes
        the seed it sampled with, by default the spec's ``seed``).

    Returns
    -------
    Effects
        Every effect per treatment and metric (funnel order), the arm verdicts with the
        covariances of each arm's effects across metrics (:mod:`~channelab.analysis.covariance`),
        the lift draws, the segment lifts, follow-through and, when the spec has costs, the economics.
    """
    means, per_unit = _population_means(posterior, cells, spec)
    level = claim_level(spec.decision, spec.hdi_prob)
    effects, draws_out = _effects(means, per_unit, cells, spec, level)
    follow = follow_through(cells, spec, seed=seed)
    money_means = {**means, **per_unit}  # a conditional share is worth nothing per unit; its outcome is
    priced = spec.model_copy(update={"metrics": [m for m in spec.metrics if m.type not in DESCRIPTIVE_TYPES]})
    timed = time_to_event(posterior, cells, spec)
    return Effects(
        hdi_prob=spec.hdi_prob,
        effects=tuple(effects),
        arms=tuple(
            _with_survival(_arm_result(arm, effects, follow, cells, spec, level), effects, timed, spec)
            for arm in spec.treatments
        ),
        lift_draws={k: v.ravel() for k, v in draws_out.items()},
        segments=_segment_effects(posterior, cells, spec),
        follow_through=follow,
        economics=compute_economics(money_means, cells, priced) if spec.costed else None,
        claim_level=level,
        time_to_event=timed,
    )


def metric_effects(posterior: xr.Dataset, cells: Cells, spec: Spec) -> Effects:
    """Every effect and its lift draws, as :func:`compute_effects` gives them, and nothing else.

    No arm results (verdicts across metrics, covariances, sentences), follow-through, segments,
    economics or time-to-event curves: a monitored look reports each metric's effect alone.

    Parameters
    ----------
    posterior : xarray.Dataset
        The posterior group of a fit of ``cells``.
    cells : Cells
        The cells the posterior was fitted to.
    spec : Spec
        The experiment.

    Returns
    -------
    Effects
        ``effects``, ``lift_draws`` and ``claim_level`` filled; ``arms`` empty.
    """
    means, per_unit = _population_means(posterior, cells, spec)
    level = claim_level(spec.decision, spec.hdi_prob)
    effects, draws = _effects(means, per_unit, cells, spec, level)
    return Effects(
        hdi_prob=spec.hdi_prob,
        effects=tuple(effects),
        arms=(),
        lift_draws={k: v.ravel() for k, v in draws.items()},
        claim_level=level,
    )


def _effects(
    means: dict[str, xr.DataArray], per_unit: dict[str, xr.DataArray], cells: Cells, spec: Spec, level: float
) -> tuple[list[Effect], dict[tuple[str, str], np.ndarray]]:
    """Every effect (funnel order per arm) and its lift draws by (arm, metric)."""
    effects: list[Effect] = []
    draws: dict[tuple[str, str], np.ndarray] = {}
    for arm, metric, mu, source in _rows(spec, means, per_unit):
        effect = _effect(arm, metric, mu, cells, spec, level, source=source)
        effects.append(effect)
        draws[(arm, effect.metric)] = _lift(mu, arm, spec.control)
    return effects, draws


def verdicts(posterior: xr.Dataset, cells: Cells, spec: Spec) -> dict[tuple[str, str], MetricVerdict]:
    """Each effect's verdict alone, by (arm, metric): what :func:`compute_effects` decides.

    Without the intervals, bands, sentences and economics: a simulated test in
    ``channelab design`` reads only its verdicts.

    Parameters
    ----------
    posterior : xarray.Dataset
        The posterior group of a fit of ``cells``.
    cells : Cells
        The cells the posterior was fitted to.
    spec : Spec
        The experiment: arms, metrics and their ROPEs, decision rule and interval mass.

    Returns
    -------
    dict of (str, str) to str
        The verdict of every treatment on every metric (per-unit rows included, as
        :func:`compute_effects` names them).
    """
    means, per_unit = _population_means(posterior, cells, spec)
    level = claim_level(spec.decision, spec.hdi_prob)
    out = {}
    for arm, metric, mu, source in _rows(spec, means, per_unit):
        t, c = (mu.sel(arm=a).to_numpy().ravel() for a in (arm, spec.control))
        observed = _observed_of(cells, metric, source)
        out[(arm, metric.name)] = _judged(arm, metric, (t, c), observed, spec, level)[0]
    return out


def lift_draws(posterior: xr.Dataset, cells: Cells, spec: Spec) -> dict[tuple[str, str], np.ndarray]:
    """Draws of every relative lift by (arm, metric), as :attr:`Effects.lift_draws` holds them.

    Parameters
    ----------
    posterior : xarray.Dataset
        The posterior group of a fit of ``cells``.
    cells : Cells
        The cells the posterior was fitted to.
    spec : Spec
        The experiment.

    Returns
    -------
    dict of (str, str) to numpy.ndarray
        Each treatment's lift over the control on each metric, one value per draw (chains joined).
    """
    means, per_unit = _population_means(posterior, cells, spec)
    rows = _rows(spec, means, per_unit)
    return {(arm, m.name): _lift(mu, arm, spec.control).ravel() for arm, m, mu, _ in rows}


def _lift(mu: xr.DataArray, arm: str, control: str) -> np.ndarray:
    """The relative lift of ``arm`` over ``control`` per draw (dims chain, draw)."""
    return (mu.sel(arm=arm) / mu.sel(arm=control) - 1).to_numpy()


def _population_means(
    posterior: xr.Dataset, cells: Cells, spec: Spec
) -> tuple[dict[str, xr.DataArray], dict[str, xr.DataArray]]:
    """Every metric's population means, and a conditional share's means per unit."""
    means = population_means(posterior, cells, spec)
    conditional = [m for m in spec.metrics_in_funnel_order if m.stage is not None]
    per_unit = population_means(posterior, cells, spec, per_unit=conditional) if conditional else {}
    return means, per_unit


def _rows(
    spec: Spec, means: dict[str, xr.DataArray], per_unit: dict[str, xr.DataArray]
) -> Iterator[tuple[str, Metric, xr.DataArray, str | None]]:
    """(arm, metric, population means, source) of every effect reported, in funnel order per arm.

    A metric measured among an earlier stage comes twice: as that share, and as its mean per
    unit (``source`` names the share it is made of).
    """
    for arm in spec.treatments:
        for m in spec.metrics_in_funnel_order:
            yield arm, m, means[m.name], None
            if m.stage is not None:
                yield arm, _per_unit_metric(m, spec), per_unit[m.name], m.name


def _with_survival(
    result: ArmResult, effects: list[Effect], timed: tuple[TimeToEvent, ...], spec: Spec
) -> ArmResult:
    """The arm's summary, a sentence per survival metric (:func:`~.hazards.survival_sentence`), and ratios."""
    extra = [
        survival_sentence(t, e, spec.control, spec.unit.kind, spec.hdi_prob)
        for t in timed
        for e in effects
        if e.arm == result.arm and e.metric == t.metric
    ]
    extra += (
        [s.strip()]
        if (
            s := descriptive_sentence(
                [e for e in effects if e.arm == result.arm], spec.hdi_prob, spec.currency
            )
        )
        else []
    )
    return replace(result, summary=" ".join([result.summary, *extra])) if extra else result


def _effect(
    arm: str, m: Metric, mu: xr.DataArray, cells: Cells, spec: Spec, level: float, *, source: str | None
) -> Effect:
    """One arm's effect on one metric from draws of the population means ``mu`` (dims chain, draw, arm)."""
    control, treated = mu.sel(arm=spec.control), mu.sel(arm=arm)
    c, t = control.to_numpy().ravel(), treated.to_numpy().ravel()
    diff = t - c
    rope = m.rope_interval
    obs = _observed_of(cells, m, source)
    judged, (above, below), empty = _judged(arm, m, (t, c), obs, spec, level)
    lift_iv = relative_interval(t, c, spec.hdi_prob)
    abs_iv = central_interval(diff, spec.hdi_prob)
    defined = relative_defined(
        c, t, spec.hdi_prob, non_negative=m.type not in ("continuous", "ratio", "quantile")
    )
    scale = abs(float(c.mean()))
    loglift = _log_ratio(t, c, spec.hdi_prob) if defined else None
    return Effect(
        arm=arm,
        metric=m.name,
        label=_effect_label(m, spec),
        role=m.role,
        type=m.type,
        n_arm=int(obs[arm]["n"]),
        n_control=int(obs[spec.control]["n"]),
        control_mean=float(obs[spec.control]["mean"]),
        arm_mean=float(obs[arm]["mean"]),
        lift=lift_iv,
        abs_lift=abs_iv,
        prob_positive=float(np.mean(diff > 0)),
        prob_in_rope=1 - above - below,
        prob_above_rope=above,
        prob_below_rope=below,
        rope=rope,
        noise=noise_band(t / c, spec.hdi_prob, ratio=True) if defined else (0.0, 0.0),
        abs_noise=noise_band(diff, spec.hdi_prob, ratio=False),
        mcse_lift=float(_mcse((treated / control - 1).rename("lift")).to_numpy()),
        mcse_abs_lift=float(_mcse((treated - control).rename("abs_lift")).to_numpy()),
        verdict=judged,
        more_data_factor=more_data_factor(
            abs_iv.mean, (abs_iv.lower, abs_iv.upper), (rope[0] * scale, rope[1] * scale)
        ),
        no_events=empty,
        relative_defined=defined,
        conditional=m.stage is not None or m.type in DESCRIPTIVE_TYPES,  # they explain; none decides
        derived_from=source,
        diff_sd=float(np.std(diff, ddof=1)),
        loglift_mean=None if loglift is None else loglift[0],
        loglift_sd=None if loglift is None else loglift[1],
    )


def _judged(
    arm: str,
    m: Metric,
    draws: tuple[np.ndarray, np.ndarray],
    obs: dict[str, dict[str, Any]],
    spec: Spec,
    level: float,
) -> tuple[MetricVerdict, tuple[float, float], tuple[str, ...]]:
    """The metric's verdict for ``arm`` from the draws (treated, control) of its population mean.

    Returns the verdict, the probabilities above and below the ROPE, and the arms of the two
    with no events (a binary rate is then bounded by its data from one side only).
    """
    t, c = draws
    above, below = rope_probabilities(t - c, c, m.rope_interval)
    states = {a: _no_events(m, obs[a]["mean"]) for a in (arm, spec.control)}
    empty = tuple(a for a in (spec.control, arm) if states[a])
    judged = metric_verdict(above, below, level, spec.decision)
    if empty:  # a binary rate is bounded by its data from one side; any other type says nothing
        units = (int(obs[arm]["n"]), int(obs[spec.control]["n"]))
        judged = (
            without_events_verdict(
                judged, (t, c), (states[arm], states[spec.control]), units, m.rope_interval, level
            )
            if m.type == "binary"
            else "inconclusive"
        )
    if m.role == "guardrail":
        judged = guardrail_verdict(judged, m.worse_direction)
    return judged, (above, below), empty


def _log_ratio(t: np.ndarray, c: np.ndarray, prob: float) -> tuple[float, float] | None:
    """Posterior mean and sd of log(t / c): from the draws, or from the ratio's interval.

    The draws serve when all are positive. A lift defined by its control whose arm's draws touch
    zero (revenue near nothing) is read off the equal-tailed interval of t / c at ``prob``, as a
    normal on the log scale (midpoint, and width over 2z): what an import of the report does
    with the interval it prints. With that interval reaching zero there is none.
    """
    if np.all(c > 0) and np.all(t > 0):
        draws = np.log(t) - np.log(c)
        return float(draws.mean()), float(np.std(draws, ddof=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, hi = np.quantile(t / c, [(1 - prob) / 2, (1 + prob) / 2])
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0:
        return None
    z = float(norm.ppf((1 + prob) / 2))
    return float((np.log(lo) + np.log(hi)) / 2), float((np.log(hi) - np.log(lo)) / (2 * z))


def _per_unit_metric(m: Metric, spec: Spec) -> Metric:
    """A conditional share's outcome per unit: the same metric with no denominator, named for it."""
    return m.model_copy(
        update={
            "name": f"{m.name}_per_unit",
            "label": f"{m.display} per {spec.unit.kind}",
            "column": m.source_column,
            "denominator": None,
        }
    )


def _observed_of(cells: Cells, m: Metric, source: str | None) -> dict[str, dict[str, Any]]:
    """Observed units and level per arm of an effect's metric (a quantile's level: its own quantile)."""
    obs = _observed(cells, source or m.name, per_unit=source is not None, ratio=m.type == "ratio")
    if m.type == "quantile":  # the observed level is the arm's own q-quantile
        for a, row in zip(cells.arms, arm_tables(cells, m), strict=True):
            obs[str(a)]["mean"] = raw_quantile(row[0], m.q or 0.5) if row[0].n else float("nan")
    return obs


def _observed(cells: Cells, name: str, *, per_unit: bool, ratio: bool = False) -> dict[str, dict[str, Any]]:
    """Observed units and mean per arm: of the metric's own units, or (``per_unit``) of all its units.

    A ``ratio``'s mean is Σ numerator / Σ denominator (``den_total``, also given).
    """
    totals = cells.arm_totals(name)
    if per_unit:
        totals = totals.assign(n=cells.per_arm(cells.units(name)))
        totals["mean"] = totals["total"] / totals["n"]
    if ratio and isinstance(s := cells.metrics[name], RatioCells):
        totals["den_total"] = cells.per_arm(s.den_total)
        totals["mean"] = totals["total"] / totals["den_total"]
    return {str(arm): {str(k): v for k, v in row.items()} for arm, row in totals.to_dict("index").items()}


def _arm_result(
    arm: str, effects: list[Effect], follow: tuple[FollowThrough, ...], cells: Cells, spec: Spec, level: float
) -> ArmResult:
    """The funnel-wide verdict and summary of one treatment arm, and its effects' covariances."""
    own = [e for e in effects if e.arm == arm and e.type not in DESCRIPTIVE_TYPES]  # they describe only
    verdict = arm_verdict(own, level)
    return ArmResult(
        arm=arm,
        channel=spec.arms[arm].channel,
        verdict=verdict,
        harms=guardrail_harms(own),
        covariances=arm_covariances(arm, own, cells, spec),
        summary=arm_summary(
            arm,
            verdict,
            own,
            spec.hdi_prob,
            level=level,
            follow=[(f, c) for f in follow if f.arm == arm for c in follow if _same_pair(c, f, spec)],
        ),
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


def _effect_label(metric: Metric, spec: Spec) -> str:
    """The metric's name in sentences and tables; a conditional rate says what it is among."""
    if metric.stage is None:
        return metric.display
    den = next(m for m in spec.metrics if m.name == metric.stage)
    return f"{metric.display} among {den.display}"


def _no_events(metric: Metric, observed_mean: float) -> Literal["never", "always"] | None:
    """Whether the metric never (or, binary, always) happened in an arm, or None.

    The arm's level is then bounded by its data from one side only
    (:func:`~channelab.analysis.decisions.without_events_verdict`).
    """
    if metric.type in ("continuous", "ratio", "quantile"):  # a level, not a count of events
        return None
    if observed_mean == 0:
        return "never"
    return "always" if metric.type == "binary" and observed_mean == 1 else None


def _segment_effects(posterior: xr.Dataset, cells: Cells, spec: Spec) -> tuple[SegmentEffect, ...]:
    """Lifts within each level of ``model.lift_by`` (heterogeneous lift); empty when not asked."""
    by = spec.model.lift_by
    if by is None:
        return ()
    means = population_means(posterior, cells, spec, by=by)
    needs = claim_level(spec.decision, spec.hdi_prob)
    strata = cells.strata()
    shares = np.bincount(strata.level_idx[by], weights=strata.weights, minlength=len(cells.levels[by]))
    out = []
    for arm in spec.treatments:
        for m in spec.metrics_in_funnel_order:
            mu = means[m.name]
            for j, level in enumerate(cells.levels[by]):
                at = {by: level}
                treated = mu.sel(arm=arm).sel(at).to_numpy()
                control = mu.sel(arm=spec.control).sel(at).to_numpy()
                above, below = rope_probabilities(treated - control, control, m.rope_interval)
                verdict = metric_verdict(above, below, needs, spec.decision)
                if m.role == "guardrail":
                    verdict = guardrail_verdict(verdict, m.worse_direction)
                out.append(
                    SegmentEffect(
                        arm=arm,
                        metric=m.name,
                        label=_effect_label(m, spec),
                        role=m.role,
                        segment=by,
                        level=level,
                        share=float(shares[j]),
                        lift=relative_interval(treated, control, spec.hdi_prob),  # as the overall lift's
                        prob_positive=float(np.mean(treated > control)),
                        verdict=verdict,
                    )
                )
    return tuple(out)
