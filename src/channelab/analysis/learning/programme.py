"""What a programme of tests has learned: per channel and metric, and the engagement → outcome link.

:func:`learn` fits the programme model (:mod:`.hierarchy`) and the link model (:mod:`.link`) and
summarises their draws: μ (what the channel usually does), τ (how much tests differ), the
prediction for the next test, each past test's shrunken effect, and the impact of the launched
winners with the winner's curse removed. Log-lift results are reported as relative lifts
(e^x − 1, a fraction); intervals are equal-tailed, so they map through that transform.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from channelab.analysis.diagnostics import Diagnostics
from channelab.analysis.intervals import central_interval
from channelab.analysis.learning.hierarchy import Hierarchy, fit_hierarchy, shrunken_draws
from channelab.analysis.learning.link import LinkData, LinkDraws, fit_link
from channelab.analysis.learning.studies import Group, Scale, Study, group_studies
from channelab.analysis.results import Interval
from channelab.spec import ProgrammePriors, Sampler

__all__ = ["ChannelMetric", "Impact", "Learned", "Link", "TestEffect", "learn"]

#: Tests a link needs before its slope is estimated at all.
MIN_LINK_TESTS = 3
#: Tests whose shrunken effects are drawn at once (bounds memory: draws × this many floats).
_CHUNK = 512
#: Within-test covariances, by (study key, metric, metric) with the two metrics sorted:
#: (of the differences, of the log lifts or None).
Covariances = Mapping[tuple[str, str, str], tuple[float, float | None]]


@dataclass(frozen=True, slots=True)
class TestEffect:
    """One past test's effect, as reported and after pooling.

    Attributes
    ----------
    label
        The test (and arm).
    reported
        Its own estimate: the mean of its lift, e^(y + s²/2) − 1, on the log-lift scale, else
        the difference.
    shrunken
        Its effect given every test of the channel: mean and interval.
    launched
        Whether its arm was launched.
    """

    label: str
    reported: float
    shrunken: Interval
    launched: bool


@dataclass(frozen=True, slots=True)
class Impact:
    """The summed effect of the launched arms of one channel and metric.

    Attributes
    ----------
    launched
        How many tests' arms were launched.
    naive
        The sum of their reported effects (what a programme that believes every winner claims).
    shrunken
        The sum of their shrunken effects: the winner's curse removed.
    """

    launched: int
    naive: float
    shrunken: Interval


@dataclass(frozen=True, slots=True)
class ChannelMetric:
    """What the programme learned about one channel's effect on one metric.

    Attributes
    ----------
    channel, metric, role
        The group.
    scale
        ``loglift`` (results are relative lifts) or ``diff`` (absolute differences).
    tests
        How many tests measured it (two arms of one test are one test).
    mu
        The channel's mean effect across tests: on the log-lift scale the mean relative lift,
        e^(μ + τ²/2) − 1 (the mean of e^θ − 1 over the population of tests), else μ itself.
    tau
        The spread of true effects between tests (on the fitting scale: log lift or difference).
    prediction
        Where the next test's true effect is predicted to lie.
    prediction_scale
        Mean and sd of that prediction on the fitting scale (what a learned prior uses): exactly
        the mean of μ and √(var μ + E τ²), the moments of the predictive mixture.
    prob_positive
        Posterior probability that that mean effect is above zero.
    effects
        Each past test's reported and shrunken effect.
    impact
        The launched winners' summed effect, where any arm was launched.
    mu_scale
        Posterior mean and sd of μ on the fitting scale (log lift or difference).
    """

    channel: str
    metric: str
    role: str
    scale: Scale
    tests: int
    mu: Interval
    tau: Interval
    prediction: Interval
    prediction_scale: tuple[float, float]
    prob_positive: float
    effects: tuple[TestEffect, ...]
    impact: Impact | None
    mu_scale: tuple[float, float] = (math.nan, math.nan)

    @property
    def one_test(self) -> bool:
        """Whether a single test measured it, so the spread between tests comes from the prior alone."""
        return self.tests == 1


@dataclass(frozen=True, slots=True)
class Link:
    """The trial-level link of one channel's engagement and outcome effects.

    Attributes
    ----------
    channel, engagement, outcome
        The channel and the two metrics.
    scale
        The scale of both effects.
    tests
        Tests that measured both.
    cov_known
        How many of them gave the within-test covariance of their two estimates.
    slope
        The slope of true outcome effects on true engagement effects: its posterior median (a
        ratio of spreads may have no finite mean) and equal-tailed interval.
    r2
        The share of the spread of true outcome effects that the engagement effects explain.
    prob_slope_positive
        Posterior probability that the slope is above zero.
    diagnostics
        Convergence of the link's fit.
    """

    channel: str
    engagement: str
    outcome: str
    scale: Scale
    tests: int
    cov_known: int
    slope: Interval
    r2: Interval
    prob_slope_positive: float
    diagnostics: Diagnostics


@dataclass(frozen=True, slots=True)
class Learned:
    """Everything :func:`learn` found.

    Attributes
    ----------
    groups
        Per channel and metric, sorted.
    links
        Per channel and (engagement, outcome) pair measured together in enough tests.
    diagnostics
        Convergence of the programme model.
    hdi_prob
        The interval mass.
    """

    groups: tuple[ChannelMetric, ...]
    links: tuple[Link, ...]
    diagnostics: Diagnostics
    hdi_prob: float


def _reported(values: np.ndarray, scale: Scale) -> np.ndarray:
    """True effects on the report's scale: a relative lift e^x − 1, or the difference itself."""
    return np.expm1(values) if scale == "loglift" else values


def _as_reported(estimate: np.ndarray, se: np.ndarray, scale: Scale) -> np.ndarray:
    """Tests' own estimates on the report's scale, as means: e^(y + s²/2) − 1 for a log lift.

    A test's posterior of log(1 + lift) is about Normal(y, s), so the mean of its lift is
    e^(y + s²/2) − 1 (what its own report states as the ratio of means, less one): the same
    functional as the mean of the shrunken draws of e^θ − 1 it is set beside.
    """
    return np.expm1(estimate + se**2 / 2) if scale == "loglift" else estimate


def _tests(group: Group) -> int:
    """Distinct tests of a group (two arms of one test against one control are one test)."""
    return len({s.key.rsplit("|", 1)[0] if s.key else s.label for s in group.studies})


def _summarise(group: Group, j: int, fit: Hierarchy, rng: np.random.Generator, prob: float) -> ChannelMetric:
    mu, tau = fit.mu[:, j], fit.tau[:, j]
    predicted = mu + tau * rng.standard_normal(mu.shape)
    # the mean effect across tests: on the log scale E[e^θ] − 1 = e^(μ + τ²/2) − 1, not e^μ − 1
    average = mu + tau**2 / 2 if group.scale == "loglift" else mu
    effects: list[TestEffect] = []
    launched_sum = np.zeros_like(mu)
    for start in range(0, len(group.studies), _CHUNK):
        part = slice(start, start + _CHUNK)
        theta = _reported(shrunken_draws(group.estimate[part], group.se[part], mu, tau, rng), group.scale)
        lo, hi = np.quantile(theta, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
        for i, study in enumerate(group.studies[part]):
            iv = Interval(float(theta[:, i].mean()), float(lo[i]), float(hi[i]))
            reported = float(_as_reported(group.estimate[start + i], group.se[start + i], group.scale))
            effects.append(TestEffect(study.label, reported, iv, study.launched))
        launched_sum += theta[:, group.launched[part]].sum(axis=1)
    launched = int(group.launched.sum())
    impact = None
    if launched:
        chosen = group.launched
        naive = float(_as_reported(group.estimate[chosen], group.se[chosen], group.scale).sum())
        impact = Impact(launched, naive, central_interval(launched_sum, prob))
    return ChannelMetric(
        channel=group.channel,
        metric=group.metric,
        role=group.studies[0].role,
        scale=group.scale,
        tests=_tests(group),
        mu=central_interval(_reported(average, group.scale), prob),
        tau=central_interval(tau, prob),
        prediction=central_interval(_reported(predicted, group.scale), prob),
        prediction_scale=(float(mu.mean()), float(np.sqrt(mu.var() + np.mean(tau**2)))),
        mu_scale=(float(mu.mean()), float(mu.std())),
        prob_positive=float(np.mean(average > 0)),
        effects=tuple(effects),
        impact=impact,
    )


def link_data(groups: Sequence[Group], covariances: Covariances) -> list[LinkData]:
    """The paired estimates of every channel's (engagement, outcome or revenue) metric pairs.

    Parameters
    ----------
    groups : sequence of Group
        The studies by channel and metric.
    covariances : mapping
        Within-test covariances by (study key, metric, metric), the metrics sorted.

    Returns
    -------
    list of LinkData
        One per channel and pair measured together in at least :data:`MIN_LINK_TESTS` tests.
    """
    engaged = [g for g in groups if g.studies[0].role == "engagement"]
    decisive = [g for g in groups if g.studies[0].role in ("outcome", "revenue")]
    pairs = (_paired(e, o, covariances) for e in engaged for o in decisive if o.channel == e.channel)
    return [p for p in pairs if p is not None]


def _paired(e: Group, o: Group, covariances: Covariances) -> LinkData | None:
    scale: Scale = "loglift" if e.scale == o.scale == "loglift" else "diff"
    by_key = {s.key: s for s in o.studies if s.key}
    rows, labels, known = [], [], 0
    for s in e.studies:
        if (t := by_key.get(s.key)) is None:
            continue
        cov = covariances.get((s.key, *sorted((e.metric, o.metric))))  # type: ignore[arg-type]
        value = None if cov is None else (cov[1] if scale == "loglift" else cov[0])
        known += value is not None
        rows.append((*s.on(scale), *t.on(scale), value or 0.0))
        labels.append(s.label)
    if len(rows) < MIN_LINK_TESTS:
        return None
    a = np.array(rows, dtype=float)
    return LinkData(
        e.channel, e.metric, o.metric, scale, tuple(labels), a[:, [0, 2]], a[:, [1, 3]], a[:, 4], known
    )


def _link(draws: LinkDraws, prob: float) -> Link:
    d = draws.data
    return Link(
        channel=d.channel,
        engagement=d.engagement,
        outcome=d.outcome,
        scale=d.scale,
        tests=len(d.labels),
        cov_known=d.cov_known,
        slope=_median_interval(draws.slope, prob),
        r2=central_interval(draws.r2, prob),
        prob_slope_positive=float(np.mean(draws.slope > 0)),
        diagnostics=draws.diagnostics,
    )


def _median_interval(draws: np.ndarray, prob: float) -> Interval:
    """Median and equal-tailed interval: a ratio of spreads (the slope) may have no finite mean."""
    lo, mid, hi = np.quantile(draws, [(1 - prob) / 2, 0.5, (1 + prob) / 2])
    return Interval(float(mid), float(lo), float(hi))


def learn(
    studies: Sequence[Study],
    *,
    seed: int,
    hdi_prob: float = 0.94,
    sampler: Sampler | None = None,
    priors: ProgrammePriors | None = None,
    covariances: Covariances | None = None,
) -> Learned:
    """Pool a programme's tests: per channel and metric, and the engagement → outcome links.

    Parameters
    ----------
    studies : sequence of Study
        One per test, arm and metric (at least one).
    seed : int
        Seeds the sampler and the draws of shrunken effects and predictions.
    hdi_prob : float, default 0.94
        The interval mass.
    sampler : Sampler, optional
        Sampler settings (default: :class:`~channelab.spec.Sampler`'s).
    priors : ProgrammePriors, optional
        Priors of μ and τ (default: :class:`~channelab.spec.ProgrammePriors`'s).
    covariances : mapping, optional
        Within-test covariances by (study key, metric, metric), the metrics sorted; a pair
        without one is taken as uncorrelated, and the link says how many it had.

    Returns
    -------
    Learned
        The groups, the links and the diagnostics.
    """
    sampler, priors = sampler or Sampler(), priors or ProgrammePriors()
    groups = group_studies(studies)
    fit = fit_hierarchy(groups, priors=priors, sampler=sampler, seed=seed, hdi_prob=hdi_prob)
    rng = np.random.default_rng(seed)
    summaries = tuple(_summarise(g, j, fit, rng, hdi_prob) for j, g in enumerate(groups))
    links = tuple(
        _link(fit_link(d, priors=priors, sampler=sampler, seed=seed + 100 + i, hdi_prob=hdi_prob), hdi_prob)
        for i, d in enumerate(link_data(groups, covariances or {}))
    )
    return Learned(summaries, links, fit.diagnostics, hdi_prob)
