"""Judge a replication against its original study (``channelab run`` / ``channelab replicate``).

The statistics (replication Bayes factor, sample sizes, small telescopes, assurance) live in
:mod:`channelab.replication.stats`; this module feeds them a spec's ``original`` block and a
replication's cells, and returns plain results for the report and the JSON.

The contrast is the original's headline claim, arm a vs arm b (e.g. private vs public token),
as a difference on each metric's own scale: percentage points for a binary metric, units of
the metric (dollars) otherwise.

- **Binary metrics**, exactly (beta-binomial): the replication Bayes factor BF_r0 of
  Verhagen & Wagenmakers (2014) in closed form; the posterior of the difference under an
  original-informed prior (each arm's original posterior from a uniform prior) and under a
  sceptical prior (both arms one beta prior at the pooled original rate, so the difference is
  centred on zero, with its spread set so the original difference lies at its 95th percentile:
  Spiegelhalter, Freedman & Parmar 1994).
- **Other metrics**, by the normal approximation: the original difference and its standard
  error from the published means and sds (assumed sds say so), the replication's from its
  cells; the same two priors as normals.

The equivalence check asks how probable it is, under the sceptical prior, that a's mean is
within the metric's ROPE of b's (relative). The verdict per metric follows
:func:`~channelab.replication.stats.replication_verdict`; the headline is the primary metric's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from channelab.cells import Cells
from channelab.errors import SpecError
from channelab.replication.original import original_moments, original_study, reported_numbers
from channelab.replication.stats import (
    Counts,
    Verdict,
    binomial_replication_bf,
    normal_replication_bf,
    replication_verdict,
    reviewer_sentence,
)
from channelab.spec import Metric, Spec

#: Draws used for the beta posteriors' intervals and ROPE probabilities.
_POSTERIOR_DRAWS = 40_000

#: z of the sceptical prior: the original difference sits at its 95th percentile.
_SCEPTICAL_Z = stats.norm.ppf(0.95)


@dataclass(frozen=True)
class Estimate:
    """A difference (arm a − arm b) with an interval.

    Attributes
    ----------
    mean
        The difference's point estimate (posterior mean, or the observed difference).
    lower, upper
        The interval's ends.
    prob
        The interval's mass (0.95 for the original's; the spec's ``hdi_prob`` otherwise).
    """

    mean: float
    lower: float
    upper: float
    prob: float


@dataclass(frozen=True)
class MetricReplication:
    """The replication of the original's contrast on one metric.

    Differences are arm a − arm b of the original's contrast, on the metric's own scale.

    Attributes
    ----------
    metric, label
        The metric's name and its display name.
    type
        The metric's type (``binary``, ``count``, ...).
    original
        The original's difference, with its 95 % normal-approximation interval.
    replication
        The replication's observed difference, with its normal-approximation interval.
    informed
        The replication's difference under the original-informed prior.
    sceptical
        The replication's difference under the sceptical prior (centred on no difference).
    log_bf_r0
        Log of the replication Bayes factor BF_r0 (:attr:`bf_r0`).
    prob_in_rope
        Under the sceptical prior, the probability that a's mean is within the ROPE of b's.
    rope
        The metric's ROPE, relative (e.g. ``(-0.05, 0.05)``).
    verdict
        ``replicated``, ``not replicated`` or ``inconclusive``.
    method
        How the posteriors were computed: exactly (binary metrics) or by the normal approximation.
    n_original, n_replication
        Units per arm (a, b) in the original and in the replication.
    means_replication
        The replication's means per arm (a, b).
    """

    metric: str
    label: str
    type: str
    original: Estimate
    replication: Estimate
    informed: Estimate
    sceptical: Estimate
    log_bf_r0: float
    prob_in_rope: float
    rope: tuple[float, float]
    verdict: Verdict
    method: Literal["beta-binomial, exact", "normal approximation"]
    n_original: tuple[float, float]
    n_replication: tuple[int, int]
    means_replication: tuple[float, float]

    @property
    def bf_r0(self) -> float:
        """BF_r0: how many times better the original effect predicts the replication than no effect."""
        return math.exp(self.log_bf_r0)


@dataclass(frozen=True)
class ArmContrast:
    """One arm contrast on one metric, original vs replication (a row of the forest plot).

    Attributes
    ----------
    metric, label
        The metric's name and its display name.
    arm, versus
        The arms compared: the difference is ``arm`` − ``versus``.
    original
        The original's difference, with its 95 % interval.
    replication
        The replication's observed difference, with its interval.
    """

    metric: str
    label: str
    arm: str
    versus: str
    original: Estimate
    replication: Estimate


@dataclass(frozen=True)
class ReplicationResult:
    """Everything the report and JSON say about a replication.

    Attributes
    ----------
    citation, study
        The original study's citation and its study's name.
    contrast
        The original's headline contrast: arm a vs arm b.
    primary
        The metric whose verdict is the headline (:attr:`verdict`).
    metrics
        The replication of the contrast on each metric with published numbers.
    contrasts
        Every arm contrast shown in the forest plot: the headline one, then each of its arms
        against the control when the original published the control's numbers.
    reported
        Every number of the original: (arm, quantity, value, why it is assumed or ``None``).
    bf_threshold
        The BF_r0 from which the evidence counts as decisive.
    sentence
        The sentence a reviewer would write about the primary metric's replication.
    """

    citation: str
    study: str
    contrast: tuple[str, str]
    primary: str
    metrics: tuple[MetricReplication, ...]
    contrasts: tuple[ArmContrast, ...]
    reported: tuple[tuple[str, str, float, str | None], ...]  # (arm, quantity, value, assumed why)
    bf_threshold: float
    sentence: str

    @property
    def verdict(self) -> Verdict:
        """The headline verdict: the primary metric's."""
        return self.get(self.primary).verdict

    def get(self, metric: str) -> MetricReplication:
        """The replication of one metric."""
        return next(m for m in self.metrics if m.metric == metric)

    @property
    def mixes_assumed(self) -> bool:
        """Whether some of the original's numbers are assumed rather than published."""
        return any(why is not None for *_, why in self.reported)


def judge(cells: Cells, spec: Spec) -> ReplicationResult:
    """Judge the replication data in ``cells`` against ``spec.original``.

    Parameters
    ----------
    cells
        The replication's data reduced to cells.
    spec
        The spec with the original study (``original:``); its ``seed`` seeds the posterior draws.

    Returns
    -------
    ReplicationResult
        The verdict per metric, the arm contrasts and the reviewer's sentence.

    Raises
    ------
    SpecError
        If the spec has no ``original`` block or no metric reported for both contrasted arms.
    """
    o = original_study(spec)
    primary = spec.primary_metric
    if primary is None:
        raise SpecError(
            f"original.arms: no metric has published numbers for both {o.contrast[0]!r} and "
            f"{o.contrast[1]!r}, so there is nothing to compare; add them under each arm's metrics."
        )
    rng = np.random.default_rng(spec.seed)
    a, b = o.contrast
    results = []
    contrasts = []
    for m in spec.replicated_metrics:
        totals = cells.arm_totals(m.name)
        results.append(_judge_metric(m, spec, totals, rng))
        for arm, versus in _pairs(spec, m, a, b):
            contrasts.append(
                ArmContrast(
                    metric=m.name,
                    label=m.display,
                    arm=arm,
                    versus=versus,
                    original=_original_difference(m, spec, arm, versus),
                    replication=_observed_difference(totals, arm, versus, spec.hdi_prob),
                )
            )
    by_name = {r.metric: r for r in results}
    head = by_name[primary.name]
    sentence = reviewer_sentence(
        metric=primary.display,
        arm=a,
        versus=b,
        n_per_arm=head.n_replication,
        means=head.means_replication,
        log_bf_r0=head.log_bf_r0,
        verdict=head.verdict,
        percent=primary.type == "binary",
        threshold=spec.replication.bf_threshold,
    )
    return ReplicationResult(
        citation=o.citation,
        study=o.study,
        contrast=(a, b),
        primary=primary.name,
        metrics=tuple(results),
        contrasts=tuple(contrasts),
        reported=reported_numbers(spec),
        bf_threshold=spec.replication.bf_threshold,
        sentence=sentence,
    )


def _pairs(spec: Spec, metric: Metric, a: str, b: str) -> list[tuple[str, str]]:
    """The headline contrast first, then each of its arms against the control when published."""
    control = original_study(spec).arms.get(spec.control)
    if control is None or metric.name not in control.metrics or spec.control in (a, b):
        return [(a, b)]
    return [(a, b), (a, spec.control), (b, spec.control)]


def _original_difference(metric: Metric, spec: Spec, arm: str, versus: str) -> Estimate:
    """The original difference with its 95 % normal-approximation interval."""
    n_a, m_a, sd_a = original_moments(metric, spec, arm)
    n_b, m_b, sd_b = original_moments(metric, spec, versus)
    se = math.sqrt(sd_a**2 / n_a + sd_b**2 / n_b)
    z = stats.norm.ppf(0.975)
    return Estimate(m_a - m_b, m_a - m_b - z * se, m_a - m_b + z * se, 0.95)


def _observed_difference(totals: pd.DataFrame, arm: str, versus: str, prob: float) -> Estimate:
    """The replication's difference in means with its normal-approximation interval of mass ``prob``."""
    est, se = difference(totals, arm, versus)
    z = stats.norm.ppf(0.5 + prob / 2)
    return Estimate(est, est - z * se, est + z * se, prob)


def difference(totals: pd.DataFrame, arm: str, versus: str) -> tuple[float, float]:
    """The difference in means ``arm`` − ``versus`` and its normal-approximation standard error.

    Parameters
    ----------
    totals
        Per arm, ``n``, ``mean`` and ``sd`` of one metric (:meth:`~channelab.cells.Cells.arm_totals`).
    arm, versus
        The arms compared.

    Returns
    -------
    tuple of float
        The difference and √(sd_a²/n_a + sd_b²/n_b).
    """
    (m_a, sd_a, n_a), (m_b, sd_b, n_b) = (_moments(totals, x) for x in (arm, versus))
    return m_a - m_b, math.sqrt(sd_a**2 / n_a + sd_b**2 / n_b)


def _moments(totals: pd.DataFrame, arm: str) -> tuple[float, float, int]:
    """Mean, sd and n of one arm from :meth:`~channelab.cells.Cells.arm_totals`."""
    row = totals.to_dict("index")[arm]
    return float(row["mean"]), float(row["sd"]), int(row["n"])


class _Evidence(NamedTuple):
    """What a replication says about the original's difference on one metric."""

    log_bf_r0: float
    informed: Estimate
    sceptical: Estimate
    prob_in_rope: float
    method: Literal["beta-binomial, exact", "normal approximation"]


def _judge_metric(
    metric: Metric, spec: Spec, totals: pd.DataFrame, rng: np.random.Generator
) -> MetricReplication:
    """The replication of the original's contrast on ``metric``: its evidence and verdict."""
    a, b = original_study(spec).contrast
    (mean_a, _, n_a), (mean_b, _, n_b) = _moments(totals, a), _moments(totals, b)
    original = _original_difference(metric, spec, a, b)
    evidence = (
        _binary_evidence(metric, spec, original, ((mean_a, n_a), (mean_b, n_b)), rng)
        if metric.type == "binary"
        else _normal_evidence(metric, spec, original, *difference(totals, a, b), mean_b)
    )
    observed = _observed_difference(totals, a, b, spec.hdi_prob)
    return _judged(metric, spec, original, observed, evidence, (n_a, n_b), (mean_a, mean_b))


def judge_estimate(
    metric: Metric,
    spec: Spec,
    replication: Estimate,
    se: float,
    *,
    n: tuple[int, int],
    means: tuple[float, float],
) -> MetricReplication:
    """The replication of the original's contrast on ``metric``, known by its estimate and standard error.

    The normal approximation of :func:`judge` (BF_r0, both priors' posteriors, the ROPE
    relative to arm b's mean), for a replication summarised by one difference: a many-lab
    replication's pooled mean effect, its posterior mean and sd (:mod:`.labs`).

    Parameters
    ----------
    metric
        The metric the original reports for both arms of its contrast.
    spec
        The spec with the original study.
    replication
        The replication's difference (arm a − arm b) with the interval to show.
    se
        Its standard error (the posterior sd of a pooled effect).
    n, means
        Units and means per arm (a, b) behind it, for the table and the ROPE.

    Returns
    -------
    MetricReplication
        The evidence and verdict, method ``normal approximation``.
    """
    a, b = original_study(spec).contrast
    original = _original_difference(metric, spec, a, b)
    evidence = _normal_evidence(metric, spec, original, replication.mean, se, means[1])
    return _judged(metric, spec, original, replication, evidence, n, means)


def _judged(
    metric: Metric,
    spec: Spec,
    original: Estimate,
    replication: Estimate,
    evidence: _Evidence,
    n: tuple[int, int],
    means: tuple[float, float],
) -> MetricReplication:
    """The evidence on one metric, with its verdict under the spec's thresholds."""
    o, cfg = original_study(spec), spec.replication
    a, b = o.contrast
    return MetricReplication(
        metric=metric.name,
        label=metric.display,
        type=metric.type,
        original=original,
        replication=replication,
        informed=evidence.informed,
        sceptical=evidence.sceptical,
        log_bf_r0=evidence.log_bf_r0,
        prob_in_rope=evidence.prob_in_rope,
        rope=metric.rope_interval,
        verdict=replication_verdict(
            evidence.log_bf_r0, evidence.prob_in_rope, threshold=cfg.bf_threshold, equivalence=cfg.equivalence
        ),
        method=evidence.method,
        n_original=(o.arms[a].n.value, o.arms[b].n.value),
        n_replication=n,
        means_replication=means,
    )


def _binary_evidence(
    metric: Metric,
    spec: Spec,
    original: Estimate,
    observed: tuple[tuple[float, int], tuple[float, int]],
    rng: np.random.Generator,
) -> _Evidence:
    """A binary metric, exactly: BF_r0 in closed form, both beta posteriors drawn, the ROPE on their ratio.

    ``observed``: the replication's (mean, n) of arm a and arm b.
    """
    a, b = original_study(spec).contrast
    prob, rope = spec.hdi_prob, metric.rope_interval
    (n_oa, p_a, _), (n_ob, p_b, _) = (original_moments(metric, spec, x) for x in (a, b))
    orig = (Counts(p_a * n_oa, n_oa), Counts(p_b * n_ob, n_ob))
    (mean_a, n_a), (mean_b, n_b) = observed
    rep = (Counts(round(mean_a * n_a), n_a), Counts(round(mean_b * n_b), n_b))  # counts: exact
    log_bf = binomial_replication_bf(orig, rep)
    informed_draws = [
        rng.beta(1 + g.successes + r.successes, 1 + g.failures + r.failures, _POSTERIOR_DRAWS)
        for g, r in zip(orig, rep, strict=True)
    ]
    pooled = (orig[0].successes + orig[1].successes) / (orig[0].n + orig[1].n)
    scale = max(abs(original.mean), 1e-6) / _SCEPTICAL_Z  # prior sd of the difference
    concentration = max(2 * pooled * (1 - pooled) / scale**2 - 1, 2.0)
    sceptical_draws = [
        rng.beta(
            concentration * pooled + r.successes, concentration * (1 - pooled) + r.failures, _POSTERIOR_DRAWS
        )
        for r in rep
    ]
    ratio = sceptical_draws[0] / sceptical_draws[1] - 1
    return _Evidence(
        log_bf,
        _from_draws(informed_draws[0] - informed_draws[1], prob),
        _from_draws(sceptical_draws[0] - sceptical_draws[1], prob),
        float(np.mean((ratio >= rope[0]) & (ratio <= rope[1]))),
        "beta-binomial, exact",
    )


def _normal_evidence(
    metric: Metric, spec: Spec, original: Estimate, est: float, se: float, mean_b: float
) -> _Evidence:
    """By the normal approximation, from the replication's difference ``est`` and its ``se``.

    The ROPE is relative to arm b's mean ``mean_b``.
    """
    prob, rope = spec.hdi_prob, metric.rope_interval
    se_o = (original.upper - original.mean) / stats.norm.ppf(0.975)
    sceptical = _normal_posterior(0.0, abs(original.mean) / _SCEPTICAL_Z, est, se, prob)
    sd = (sceptical.upper - sceptical.mean) / stats.norm.ppf(0.5 + prob / 2)
    low, high = rope[0] * mean_b, rope[1] * mean_b
    return _Evidence(
        normal_replication_bf(original.mean, se_o, est, se),
        _normal_posterior(original.mean, se_o, est, se, prob),
        sceptical,
        float(stats.norm.cdf(high, sceptical.mean, sd) - stats.norm.cdf(low, sceptical.mean, sd)),
        "normal approximation",
    )


def _from_draws(draws: np.ndarray, prob: float) -> Estimate:
    import arviz_stats as azs

    lo, hi = azs.hdi(draws, prob=prob)
    return Estimate(float(draws.mean()), float(lo), float(hi), prob)


def _normal_posterior(prior_mean: float, prior_sd: float, est: float, se: float, prob: float) -> Estimate:
    """Normal prior × normal likelihood: the posterior's mean and central interval."""
    precision = 1 / prior_sd**2 + 1 / se**2
    mean = (prior_mean / prior_sd**2 + est / se**2) / precision
    half = stats.norm.ppf(0.5 + prob / 2) / math.sqrt(precision)
    return Estimate(mean, mean - half, mean + half, prob)
