"""The results of an analysis as immutable values: intervals, effects, arm verdicts.

Relative lifts are fractions (0.25 = +25 %). Verdict vocabularies: per metric
(``effects[].verdict``) ``real lift``, ``harm``, ``no effect``, ``inconclusive`` (for a guardrail
read in its better direction: ``harm`` is credibly worse); per arm across the funnel
(``arms[].verdict``) adds ``engagement only`` (engagement credibly up, every outcome credibly
not up), ``engagement up, outcome undecided`` and ``real lift, but harms`` (a real lift that
made a guardrail credibly worse). The posterior condition behind each is in
:mod:`channelab.analysis.claims`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from channelab.analysis.economics_results import ArmEconomics as ArmEconomics
from channelab.analysis.economics_results import Economics as Economics
from channelab.analysis.economics_results import ExtraOutcome as ExtraOutcome
from channelab.analysis.hazard_results import TimeToEvent
from channelab.analysis.interval import Interval as Interval
from channelab.spec import MetricType, Role

MetricVerdict = Literal["real lift", "harm", "no effect", "inconclusive"]
ArmVerdict = Literal[
    "real lift",
    "real lift, but harms",
    "engagement only",
    "engagement up, outcome undecided",
    "harm",
    "no effect",
    "inconclusive",
]


@dataclass(frozen=True)
class Effect:
    """The effect of one arm on one metric, against the control.

    The probabilities are of the difference of the means per unit (arm − control), the
    estimand; the ROPE's edges on it are the relative ROPE scaled by the control's level, draw
    by draw (:mod:`channelab.analysis.decisions`).

    Attributes
    ----------
    arm, metric : str
        The treatment arm and the metric's name.
    label : str
        The metric's name in sentences and tables.
    role : Role
        The metric's role (engagement, outcome, revenue, guardrail).
    type : MetricType
        The metric's type (binary, count, revenue, continuous).
    n_arm, n_control : int
        Observed units of the arm and of the control.
    control_mean, arm_mean : float
        Observed means of the control and of the arm.
    lift : Interval
        Relative lift, a fraction, with its equal-tailed interval: a display quantity,
        meaningful only where ``relative_defined``.
    abs_lift : Interval
        The estimand: the difference of the mean per unit, with its equal-tailed interval.
    prob_positive : float
        P(arm mean > control mean).
    prob_in_rope, prob_above_rope, prob_below_rope : float
        P(the difference is inside, above and below the ROPE).
    rope : tuple of float
        The metric's ROPE, relative to the control's level.
    noise, abs_noise : tuple of float
        Noise bands of the relative lift and of the difference, each containing 0
        (:func:`~channelab.analysis.intervals.noise_band`).
    mcse_lift, mcse_abs_lift : float
        Monte Carlo standard errors of the relative and of the absolute lift's means.
    verdict : MetricVerdict
        The verdict on the metric (a guardrail's read in its better direction).
    more_data_factor : float
        Roughly how many times the current sample would make the verdict decisive.
    no_events : tuple of str
        Arms (of this one and the control) where the metric never or always happened: the data
        bound the level there from one side only, so the verdict is ``inconclusive`` unless a
        binary claim holds at that bound (:func:`~channelab.analysis.decisions.without_events_verdict`).
    relative_defined : bool
        Whether a relative lift is defined: the control's mean is credibly above zero and the
        interval does not reach an impossible −100 % (:func:`~channelab.analysis.intervals.relative_defined`).
    conditional : bool
        A share among the units of an earlier stage (a metric with a ``denominator``): it
        explains but never decides an arm, being no causal effect on the same units.
    derived_from : str or None
        For a per-unit outcome derived from a conditional share: the share's metric name.
    diff_sd : float
        Posterior sd of the difference (arm − control) of the mean per unit.
    loglift_mean, loglift_sd : float or None
        Posterior mean and sd of log(1 + relative lift), the log of the ratio of the means (from
        the ratio's interval where a draw of the arm's mean touches zero); None where the lift is
        not defined or that interval reaches zero.
    """

    arm: str
    metric: str
    label: str
    role: Role
    type: MetricType
    n_arm: int
    n_control: int
    control_mean: float
    arm_mean: float
    lift: Interval
    abs_lift: Interval
    prob_positive: float
    prob_in_rope: float
    prob_above_rope: float
    prob_below_rope: float
    rope: tuple[float, float]
    noise: tuple[float, float]
    mcse_lift: float
    verdict: MetricVerdict
    more_data_factor: float
    no_events: tuple[str, ...] = ()
    mcse_abs_lift: float = float("nan")
    relative_defined: bool = True
    abs_noise: tuple[float, float] = (0.0, 0.0)
    conditional: bool = False
    derived_from: str | None = None
    diff_sd: float = float("nan")
    loglift_mean: float | None = None
    loglift_sd: float | None = None


@dataclass(frozen=True)
class MetricCovariance:
    """The covariance of one arm's effects on two metrics, as the data correlate them.

    Each metric has its own likelihood, so their posterior draws are nearly independent; the
    same units, though, engage and book meetings. The correlation comes from the units'
    cross-products (:mod:`channelab.analysis.covariance`) and is scaled by the two posterior
    sds, so each 2 × 2 matrix is a valid covariance that agrees with :class:`Effect`'s sds.

    Attributes
    ----------
    metric_a, metric_b : str
        The two metrics, in funnel order.
    diff : float or None
        Covariance of the two differences (arm − control); None where the data cannot give it
        (aggregated rows, published summaries, a share among an earlier stage, a per-unit
        outcome derived from one).
    loglift : float or None
        Covariance of the two log(1 + lift); None as ``diff``, or where either is undefined.
    """

    metric_a: str
    metric_b: str
    diff: float | None
    loglift: float | None


@dataclass(frozen=True)
class ArmResult:
    """The funnel-wide verdict on one arm, with its plain-language summary.

    Attributes
    ----------
    arm : str
        The treatment arm.
    channel : str
        The arm's channel.
    verdict : ArmVerdict
        The verdict across the funnel (:func:`~channelab.analysis.decisions.arm_verdict`).
    summary : str
        One plain-language paragraph on what the arm did.
    harms : tuple of str
        Guardrails the arm credibly made worse (labels), whatever its verdict.
    covariances : tuple of MetricCovariance
        The covariance of its effects on each pair of metrics (the first
        :data:`~channelab.limits.MAX_PAIRED_METRICS` in funnel order).
    """

    arm: str
    channel: str
    verdict: ArmVerdict
    summary: str
    harms: tuple[str, ...] = ()
    covariances: tuple[MetricCovariance, ...] = ()


@dataclass(frozen=True)
class SegmentEffect:
    """The lift of one arm on one metric within one level of the ``model.lift_by`` covariate.

    Attributes
    ----------
    arm, metric, label : str
        The treatment arm, the metric's name and its name in sentences.
    role : Role
        The metric's role.
    segment, level : str
        The covariate and its level.
    share : float
        The level's share of all units.
    lift : Interval
        The relative lift within the level, with its equal-tailed interval.
    prob_positive : float
        P(arm mean > control mean) within the level.
    verdict : MetricVerdict
        The verdict on the metric within the level.
    """

    arm: str
    metric: str
    label: str
    role: Role
    segment: str
    level: str
    share: float
    lift: Interval
    prob_positive: float
    verdict: MetricVerdict


@dataclass(frozen=True)
class FollowThrough:
    """How often one arm's engaged units took an outcome step: P(outcome | engaged).

    Attributes
    ----------
    arm : str
        The arm (the control too).
    engagement, outcome : str
        The pair of metrics: the engagement and the costly step after it.
    engagement_label, outcome_label : str
        Their names in sentences.
    engaged, took : float
        Units engaged, and those of them that took the outcome step.
    rate : Interval
        P(outcome | engaged), with its posterior (Beta) HDI.
    unengaged : Interval or None
        P(outcome | not engaged) where unit rows allow it.
    lift : Interval or None
        Relative to the control's follow-through, equal-tailed interval (None for the control,
        or when either arm has no engaged units).
    prob_lower : float or None
        P(follow-through below the control's).
    rope : tuple of float
        The outcome's ROPE (relative): a change of follow-through inside it is too small to claim.
    """

    arm: str
    engagement: str
    outcome: str
    engagement_label: str
    outcome_label: str
    engaged: float
    took: float
    rate: Interval
    unengaged: Interval | None
    lift: Interval | None
    prob_lower: float | None
    rope: tuple[float, float] = (0.0, 0.0)

    @property
    def credible_change(self) -> int:
        """+1 if the follow-through credibly rose beyond the ROPE, −1 if it fell beyond it, else 0."""
        if self.lift is None:
            return 0
        return 1 if self.lift.lower > self.rope[1] else -1 if self.lift.upper < self.rope[0] else 0


@dataclass(frozen=True)
class Effects:
    """Every effect of an experiment, the arm verdicts, and the lift draws behind them.

    Attributes
    ----------
    hdi_prob : float
        The interval mass of every interval.
    effects : tuple of Effect
        One per treatment and metric, in funnel order.
    arms : tuple of ArmResult
        One per treatment.
    lift_draws : dict of (str, str) to numpy.ndarray
        Draws of each relative lift, by (arm, metric).
    segments : tuple of SegmentEffect
        Lifts within each level of ``model.lift_by`` (empty when not asked).
    follow_through : tuple of FollowThrough
        Follow-through per arm and (engagement, outcome) pair.
    economics : Economics or None
        The money, when the spec has costs or values.
    claim_level : float
        The posterior probability a one-sided claim needs
        (:func:`~channelab.analysis.decisions.claim_level`).
    time_to_event : tuple of TimeToEvent
        Incidence curves, hazard ratios and the proportionality check of each survival metric.
    """

    hdi_prob: float
    effects: tuple[Effect, ...]
    arms: tuple[ArmResult, ...]
    lift_draws: dict[tuple[str, str], np.ndarray]
    segments: tuple[SegmentEffect, ...] = ()
    follow_through: tuple[FollowThrough, ...] = ()
    economics: Economics | None = None
    claim_level: float = 0.97
    time_to_event: tuple[TimeToEvent, ...] = ()

    def for_arms(self, arms: Collection[str]) -> Effects:
        """These effects restricted to ``arms`` (e.g. to draw a few arms per figure).

        Parameters
        ----------
        arms : collection of str
            The treatment arms to keep.

        Returns
        -------
        Effects
            A copy holding only those arms' effects, verdicts, draws, segments and follow-through.
        """
        return replace(
            self,
            effects=tuple(e for e in self.effects if e.arm in arms),
            arms=tuple(a for a in self.arms if a.arm in arms),
            lift_draws={k: v for k, v in self.lift_draws.items() if k[0] in arms},
            segments=tuple(g for g in self.segments if g.arm in arms),
            follow_through=tuple(f for f in self.follow_through if f.arm in arms),
            time_to_event=tuple(t.for_arms(arms) for t in self.time_to_event),
        )

    def get(self, arm: str, metric: str) -> Effect:
        """The effect of ``arm`` on ``metric``.

        Parameters
        ----------
        arm : str
            A treatment arm.
        metric : str
            A metric's name (a per-unit outcome derived from a share: ``<name>_per_unit``).

        Returns
        -------
        Effect
            The effect.

        Raises
        ------
        KeyError
            When there is no such effect.
        """
        for e in self.effects:
            if e.arm == arm and e.metric == metric:
                return e
        raise KeyError((arm, metric))

    def table(self) -> pd.DataFrame:
        """One row per arm × metric, in funnel order, with the interval mass in the headers."""
        p = f"{self.hdi_prob * 100:.0f} %"  # equal-tailed intervals
        return pd.DataFrame(
            [
                {
                    "arm": e.arm,
                    "metric": e.label,
                    "role": e.role,
                    "control": e.control_mean,
                    "arm mean": e.arm_mean,
                    "lift": e.lift.mean,
                    f"{p} interval low": e.lift.lower,
                    f"{p} interval high": e.lift.upper,
                    "P(lift>0)": e.prob_positive,
                    "P(in ROPE)": e.prob_in_rope,
                    "verdict": e.verdict,
                }
                for e in self.effects
            ]
        )


@dataclass(frozen=True)
class AdjustedLift:
    """One arm and metric's lift with and without the pre-period adjustment (same units)."""

    arm: str
    metric: str
    label: str
    adjusted: Interval  # relative lift
    unadjusted: Interval
    abs_adjusted: Interval
    abs_unadjusted: Interval

    @property
    def width_ratio(self) -> float:
        """Width of the adjusted interval over the unadjusted one (below 1: narrower).

        Of the difference in means per unit: the relative lift's interval also carries the
        control mean's skew, which makes its width a noisy measure of precision.
        """
        plain = self.abs_unadjusted.upper - self.abs_unadjusted.lower
        return (self.abs_adjusted.upper - self.abs_adjusted.lower) / plain if plain > 0 else float("nan")


@dataclass(frozen=True)
class Adjustment:
    """What adjusting for pre-period columns (``adjust``) did.

    Attributes
    ----------
    columns : tuple of str
        The pre-period columns.
    methods : dict of str to str
        Per metric, ``exact`` (slopes from cell sums, normal models) or ``strata`` (quantile
        strata of each column).
    strata : dict of str to tuple of str
        Per column, the labels of its quantile strata.
    r_squared : dict of str to float
        The share of each metric's within-arm variance the pre-period model explains.
    lifts : tuple of AdjustedLift
        Each arm and metric's lift with and without the adjustment.
    unadjusted_converged : bool
        Whether the unadjusted fit passed the convergence gate.
    """

    columns: tuple[str, ...]
    methods: dict[str, str]
    strata: dict[str, tuple[str, ...]]
    r_squared: dict[str, float]
    lifts: tuple[AdjustedLift, ...]
    unadjusted_converged: bool
