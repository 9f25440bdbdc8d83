"""A many-lab replication judged on the pooled evidence (``replication.labs``).

Each lab's estimate of the original's contrast (arm a − arm b, on each metric the original
reports) is the one a single-lab ``channelab replicate`` of that lab reports as *the
replication*: the difference in means from its cells (n, Σy, Σy² per arm), with the normal
approximation's standard error √(sd_a²/n_a + sd_b²/n_b) (:func:`~.judge.difference`). No model
is fitted per lab: the cells are sufficient for a difference of means, and the pooled model needs
one estimate and standard error per lab.

The pipeline pools the labs with the programme model (labs as records, on the difference
scale: θ_i ~ Normal(μ, τ), y_i ~ Normal(θ_i, s_i)) and hands its draws here (:class:`PooledDraws`):
μ, τ, each lab's shrunken true effect θ_i, and a new lab's true effect. This module summarises
them and judges the replication on the pooled evidence by feeding μ's posterior, as a normal
with its posterior mean and sd, to :func:`~.judge.judge_estimate` (the same BF_r0, sceptical
prior and ROPE check as a single replication).

Licences of the words (tested in ``tests/replication/test_many_labs.py``):

- **replicated across labs** only when the pooled BF_r0 ≥ ``bf_threshold``; **not replicated
  across labs** only when it is ≤ 1/``bf_threshold`` or the pooled difference is inside the ROPE
  with probability ≥ ``equivalence`` (sceptical prior); otherwise **inconclusive across labs**.
- **labs disagree** only when the whole interval of τ lies above the ROPE's half-width at the
  pooled arm-b mean (the labs' true effects credibly differ by more than a difference that
  matters); **labs agree** only when the whole interval lies below it; otherwise the spread
  between labs is **uncertain**.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats
from scipy.stats import norm

from channelab.cells import Cells
from channelab.errors import DataError
from channelab.replication.judge import Estimate, difference, judge_estimate
from channelab.replication.labs_results import (
    LabEffect,
    LabEstimate,
    LabsMetric,
    LabsResult,
    PooledDraws,
    Spread,
)
from channelab.replication.labs_words import labs_sentence, licence_sentence
from channelab.replication.original import original_moments, original_study
from channelab.spec import Metric, Spec

__all__ = [
    "LabEffect",
    "LabEstimate",
    "LabsMetric",
    "LabsResult",
    "PooledDraws",
    "Spread",
    "judge_labs",
    "lab_estimates",
    "spread_verdict",
]


def lab_estimates(lab: str, cells: Cells, spec: Spec) -> tuple[LabEstimate, ...]:
    """The lab's estimate of the original's contrast on each metric the original reports.

    Parameters
    ----------
    lab
        The lab's name, for the estimates and messages.
    cells
        The lab's data reduced to cells.
    spec
        The spec with the original study.

    Returns
    -------
    tuple of LabEstimate
        One per metric of :attr:`~channelab.spec.Spec.replicated_metrics`.

    Raises
    ------
    DataError
        If a metric has no spread in either arm of the lab (every value equal), so its standard
        error is zero and the lab cannot be weighed.
    """
    a, b = original_study(spec).contrast
    out = []
    for m in spec.replicated_metrics:
        totals = cells.arm_totals(m.name)
        est, se = difference(totals, a, b)
        if not se > 0:
            raise DataError(
                f"replication.labs ({lab!r}): {m.name} takes one value in every unit of {a!r} and "
                f"{b!r}, so the lab's difference has no standard error and cannot be weighed; check "
                "the lab's data, or leave the lab out and say so"
            )
        row = totals.to_dict("index")
        n = (int(row[a]["n"]), int(row[b]["n"]))
        out.append(LabEstimate(lab, m.name, n, (float(row[a]["mean"]), float(row[b]["mean"])), est, se))
    return tuple(out)


def _central(draws: np.ndarray, prob: float) -> Estimate:
    lo, hi = np.quantile(draws, [(1 - prob) / 2, (1 + prob) / 2])
    return Estimate(float(np.mean(draws)), float(lo), float(hi), prob)


def spread_verdict(tau: Estimate, half_width: float) -> Spread:
    """What the interval of τ says about the labs, against the ROPE's half-width.

    Parameters
    ----------
    tau
        The spread between labs, with its interval.
    half_width
        Half the ROPE's width as a difference (the smallest difference that matters).

    Returns
    -------
    Spread
        ``labs disagree`` when the whole interval is above ``half_width`` (a typical lab's true
        effect is farther than that from the mean); ``labs agree`` when even its upper end makes two
        labs' true effects differ by less than ``half_width`` with the interval's probability
        (√2 · z · τ_upper < half_width, the difference of two labs being Normal(0, √2 τ)); else
        ``spread uncertain`` (always, when ``half_width`` is not positive).
    """
    if not half_width > 0:
        return "spread uncertain"
    if tau.lower > half_width:
        return "labs disagree"
    if math.sqrt(2) * float(norm.ppf((1 + tau.prob) / 2)) * tau.upper < half_width:
        return "labs agree"
    return "spread uncertain"


def _beyond(theta: np.ndarray, lows: np.ndarray, highs: np.ndarray, sign: float, prob: float) -> Estimate:
    """Per draw, the share of labs whose true effect is beyond the ROPE on ``sign``'s side."""
    beyond = theta > highs[None, :] if sign > 0 else theta < lows[None, :]
    return _central(beyond.mean(axis=1), prob)


def _pooled_metric(metric: Metric, spec: Spec, labs: Sequence[LabEstimate], draws: PooledDraws) -> LabsMetric:
    """Summarise one metric's draws and judge the pooled evidence."""
    prob = spec.hdi_prob
    z = stats.norm.ppf(0.5 + prob / 2)
    n = np.array([lab.n for lab in labs], dtype=float)
    means = np.array([lab.means for lab in labs], dtype=float)
    pooled = np.sum(n * means, axis=0) / n.sum(axis=0)  # per arm, the units-weighted mean
    pooled_means = (float(pooled[0]), float(pooled[1]))
    rope = metric.rope_interval
    ends = np.sort(np.outer(means[:, 1], rope), axis=1)  # per lab, the ROPE as a difference
    sign = 1.0 if _original_sign(metric, spec) >= 0 else -1.0
    theta = np.asarray(draws.theta, dtype=float)
    effects = tuple(
        LabEffect(
            lab.lab,
            lab.n,
            lab.means,
            Estimate(lab.estimate, lab.estimate - z * lab.se, lab.estimate + z * lab.se, prob),
            lab.se,
            _central(theta[:, i], prob),
        )
        for i, lab in enumerate(labs)
    )
    mu = _central(draws.mu, prob)
    mu_sd = float(np.std(draws.mu))
    judged = judge_estimate(
        metric, spec, mu, mu_sd, n=(int(n[:, 0].sum()), int(n[:, 1].sum())), means=pooled_means
    )
    tau = _central(draws.tau, prob)
    low, high = sorted((rope[0] * pooled_means[1], rope[1] * pooled_means[1]))
    return LabsMetric(
        metric=metric.name,
        label=metric.display,
        type=metric.type,
        labs=effects,
        mu=mu,
        mu_sd=mu_sd,
        tau=tau,
        prediction=_central(draws.predicted, prob),
        rope=(low, high),
        beyond_rope=_beyond(theta, ends[:, 0], ends[:, 1], sign, prob),
        opposite_rope=_beyond(theta, ends[:, 0], ends[:, 1], -sign, prob),
        spread=spread_verdict(tau, (high - low) / 2),
        judged=judged,
    )


def _original_sign(metric: Metric, spec: Spec) -> float:
    """The sign of the original's difference a − b on ``metric``."""
    a, b = original_study(spec).contrast
    return original_moments(metric, spec, a)[1] - original_moments(metric, spec, b)[1]


def judge_labs(
    estimates: Mapping[str, Sequence[LabEstimate]],
    draws: Mapping[str, PooledDraws],
    spec: Spec,
    *,
    converged: bool,
    problems: Sequence[str] = (),
    warnings: Sequence[str] = (),
    data: Sequence[dict[str, object]] = (),
) -> LabsResult:
    """Summarise the pooled draws of every metric and judge the replication on the pooled evidence.

    Parameters
    ----------
    estimates
        Per metric name, each lab's estimate (:func:`lab_estimates`), in the labs' order.
    draws
        Per metric name, the pooled model's draws, the labs in the same order.
    spec
        The spec with the original study and the replication's thresholds.
    converged, problems
        Whether the pooled model passed the convergence gate, and what failed.
    warnings
        The labs' data-check warnings, each led by the lab's name.
    data
        Each lab's data fingerprint, in the labs' order.

    Returns
    -------
    LabsResult
        Per metric: each lab's effect, μ, τ, the prediction, the shares beyond the ROPE, the
        judgement; the headline sentence and its licence.
    """
    metrics = tuple(
        _pooled_metric(m, spec, estimates[m.name], draws[m.name]) for m in spec.replicated_metrics
    )
    primary = spec.primary_metric
    assert primary is not None  # the spec has replicated metrics: estimates came from them
    o, cfg = original_study(spec), spec.replication
    head = next(m for m in metrics if m.metric == primary.name)
    return LabsResult(
        citation=o.citation,
        contrast=o.contrast,
        primary=primary.name,
        metrics=metrics,
        bf_threshold=cfg.bf_threshold,
        equivalence=cfg.equivalence,
        sentence=labs_sentence(head, o.contrast, spec),
        licence=licence_sentence(cfg.bf_threshold, cfg.equivalence, spec.hdi_prob, o.contrast[1]),
        converged=converged,
        problems=tuple(problems),
        warnings=tuple(warnings),
        data=tuple(data),
    )
