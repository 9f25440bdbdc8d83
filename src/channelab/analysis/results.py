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
class Interval:
    """Posterior mean and an interval (equal-tailed for lifts, highest-density elsewhere)."""

    mean: float
    lower: float
    upper: float


@dataclass(frozen=True)
class Effect:
    """The effect of one arm on one metric, against the control."""

    arm: str
    metric: str
    label: str
    role: Role
    type: MetricType
    n_arm: int
    n_control: int
    control_mean: float  # observed
    arm_mean: float  # observed
    #: Relative lift, a fraction, with its equal-tailed interval: a display quantity, meaningful
    #: only where :attr:`relative_defined`.
    lift: Interval
    #: The estimand: the difference of the mean per unit (arm − control), equal-tailed interval.
    abs_lift: Interval
    #: The probabilities below are of the difference: P(arm mean > control mean), and of the
    #: difference inside, above and below the ROPE scaled by the control's level, draw by draw.
    prob_positive: float
    prob_in_rope: float
    prob_above_rope: float
    prob_below_rope: float
    rope: tuple[float, float]
    #: Noise band of the relative lift, containing 0 (:func:`~channelab.analysis.intervals.noise_band`).
    noise: tuple[float, float]
    mcse_lift: float
    verdict: MetricVerdict
    more_data_factor: float
    #: Arms (of this one and the control) where the metric never or always happened: there the
    #: rate or mean rests on the prior, so the verdict is held at ``inconclusive``.
    no_events: tuple[str, ...] = ()
    mcse_abs_lift: float = float("nan")  # Monte Carlo standard error of the absolute lift's mean
    #: Whether a relative lift is defined: the control's mean is credibly above zero
    #: (see :data:`~channelab.analysis.intervals.DEFINED_SDS`).
    relative_defined: bool = True
    #: Noise band of the difference (it always contains 0).
    abs_noise: tuple[float, float] = (0.0, 0.0)
    #: A share among the units of an earlier stage (a metric with a ``denominator``): it explains
    #: but never decides an arm, being no causal effect on the same units.
    conditional: bool = False
    #: For a per-unit outcome derived from a conditional share: the share's metric name.
    derived_from: str | None = None


@dataclass(frozen=True)
class ArmResult:
    """The funnel-wide verdict on one arm, with its plain-language summary."""

    arm: str
    channel: str
    verdict: ArmVerdict
    summary: str
    #: Guardrails the arm credibly made worse (labels), whatever its verdict.
    harms: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExtraOutcome:
    """What one outcome's increment from an arm is, and costs: per 1,000 units and per 1,000 spent.

    ``cost_each`` (the median and equal-tailed interval of cost / increment) only when the
    increment's interval lies above zero; ``prob_no_increment`` is P(increment ≤ 0).
    """

    metric: str
    label: str
    per_thousand: Interval
    per_thousand_spent: Interval | None
    cost_each: Interval | None
    prob_no_increment: float


@dataclass(frozen=True)
class ArmEconomics:
    """One treatment's money against the control, per unit (see :mod:`channelab.analysis.economics`)."""

    arm: str
    cost_per_unit: float
    value_per_unit: Interval
    net_per_unit: Interval
    return_on_spend: Interval | None
    outcomes: tuple[ExtraOutcome, ...]
    prob_best: float
    expected_loss: float


@dataclass(frozen=True)
class Economics:
    """Every treatment's economics, and P(best net value) and expected loss of every arm, control too."""

    currency: str
    arms: tuple[ArmEconomics, ...]
    prob_best: dict[str, float]
    expected_loss: dict[str, float]
    valued: tuple[str, ...]
    #: The arm (or the control) that is credibly best: P(best) ≥ ``best_level``; else ``None``,
    #: and no ranking is presented as a recommendation.
    best: str | None = None
    best_level: float = 0.95

    def get(self, arm: str) -> ArmEconomics:
        """The economics of treatment ``arm``."""
        return next(a for a in self.arms if a.arm == arm)


@dataclass(frozen=True)
class SegmentEffect:
    """The lift of one arm on one metric within one level of the ``model.lift_by`` covariate."""

    arm: str
    metric: str
    label: str
    role: Role
    segment: str  # the covariate
    level: str
    share: float  # the level's share of all units
    lift: Interval
    prob_positive: float
    verdict: MetricVerdict


@dataclass(frozen=True)
class FollowThrough:
    """How often one arm's engaged units took an outcome step: P(outcome | engaged).

    ``lift`` is relative to the control's follow-through (``None`` for the control, or when
    either arm has no engaged units); ``unengaged`` is P(outcome | not engaged) where unit rows
    allow it. Intervals are posterior (Beta) HDIs.
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
    prob_lower: float | None  # P(follow-through below the control's)
    #: The outcome's ROPE (relative): a change of follow-through inside it is too small to claim.
    rope: tuple[float, float] = (0.0, 0.0)

    @property
    def credible_change(self) -> int:
        """+1 if the follow-through credibly rose beyond the ROPE, −1 if it fell beyond it, else 0."""
        if self.lift is None:
            return 0
        return 1 if self.lift.lower > self.rope[1] else -1 if self.lift.upper < self.rope[0] else 0


@dataclass(frozen=True)
class Effects:
    """Every effect of an experiment, the arm verdicts, and the lift draws behind them."""

    hdi_prob: float
    effects: tuple[Effect, ...]
    arms: tuple[ArmResult, ...]
    lift_draws: dict[tuple[str, str], np.ndarray]
    segments: tuple[SegmentEffect, ...] = ()
    follow_through: tuple[FollowThrough, ...] = ()
    economics: Economics | None = None
    #: The posterior probability a one-sided claim needs (:func:`~channelab.analysis.decisions.claim_level`).
    claim_level: float = 0.97

    def for_arms(self, arms: Collection[str]) -> Effects:
        """These effects restricted to ``arms`` (e.g. to draw a few arms per figure)."""
        return replace(
            self,
            effects=tuple(e for e in self.effects if e.arm in arms),
            arms=tuple(a for a in self.arms if a.arm in arms),
            lift_draws={k: v for k, v in self.lift_draws.items() if k[0] in arms},
            segments=tuple(g for g in self.segments if g.arm in arms),
            follow_through=tuple(f for f in self.follow_through if f.arm in arms),
        )

    def get(self, arm: str, metric: str) -> Effect:
        """The effect of ``arm`` on ``metric``."""
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

    ``methods``: per metric, ``exact`` (slopes from cell sums, normal models) or ``strata``
    (quantile strata of each column, whose labels are in ``strata``). ``r_squared``: the
    share of each metric's within-arm variance the pre-period model explains.
    """

    columns: tuple[str, ...]
    methods: dict[str, str]
    strata: dict[str, tuple[str, ...]]
    r_squared: dict[str, float]
    lifts: tuple[AdjustedLift, ...]
    unadjusted_converged: bool
