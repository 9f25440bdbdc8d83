"""The stopping rule of a monitored test: the HDI+ROPE rule at planned looks, stricter early.

At look k of K planned looks the interval of a relative lift is exp(m ± z_k s) − 1, where m
and s are the posterior mean and sd of log(1 + lift) and

    z_k = z / √(k / K)        (O'Brien–Fleming-shaped spending; ``spending: none``: z_k = z)

with z the normal quantile of the spec's interval (1.88 for 94 %). A lift is a ``real lift``
at a look when that interval lies above the ROPE, ``harm`` below it, ``no effect`` inside
it. An arm is decided at its first look where an outcome or revenue metric is a real lift or
harm, or all of them are no effect; the decision then stands (reading on until something
clears the ROPE is the habit that inflates false verdicts). The test may stop when every
treatment is decided, or at the last planned look.

The interval is the normal one on the log scale, not an HDI of draws: early looks ask for
4 to 6 sds, further out than a few thousand draws can place an HDI's end. At the last look
it is the spec's usual interval up to the log-normal approximation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from channelab.analysis.decisions import interval_verdict
from channelab.analysis.results import ArmVerdict, MetricVerdict
from channelab.spec import DECISIVE_ROLES, Role, Spec

#: A look is read only when every arm has at least this many units counted for every outcome.
MIN_COUNTED = 30


def look_z(look: int, looks: int, prob: float, spending: str) -> float:
    """The interval's half-width in posterior sds at ``look`` (1-based) of ``looks`` planned.

    Parameters
    ----------
    look : int
        The look, from 1.
    looks : int
        Looks planned (a look past the last is read as the last).
    prob : float
        The spec's interval mass.
    spending : str
        ``monitor.spending``: ``obrien_fleming`` (stricter early) or ``none``.

    Returns
    -------
    float
        z_k, in posterior sds of log(1 + lift).
    """
    z = float(norm.ppf((1 + prob) / 2))
    if spending == "none":
        return z
    return z / math.sqrt(min(look / looks, 1.0))


@dataclass(frozen=True)
class Reading:
    """One treatment's lift on one metric at one look, under the stopping rule.

    Attributes
    ----------
    arm, metric : str
        The treatment arm and the metric's name.
    role : Role
        The metric's role.
    mean : float
        The posterior mean of the relative lift.
    lower, upper : float
        The rule's interval of the relative lift at this look.
    verdict : MetricVerdict
        The interval against the ROPE (:func:`~channelab.analysis.decisions.interval_verdict`).
    """

    arm: str
    metric: str
    role: Role
    mean: float
    lower: float
    upper: float
    verdict: MetricVerdict


def read_lift(
    draws: np.ndarray, rope: tuple[float, float], z: float, *, arm: str, metric: str, role: Role
) -> Reading:
    """The rule's interval and verdict for draws of a relative lift (all above −100 %).

    Parameters
    ----------
    draws : numpy.ndarray
        Draws of the relative lift (any shape; flattened).
    rope : tuple of float
        The metric's ROPE.
    z : float
        The interval's half-width in sds of log(1 + lift) (:func:`look_z`).
    arm, metric : str
        The treatment arm and the metric's name.
    role : Role
        The metric's role.

    Returns
    -------
    Reading
        The lift's mean, the rule's interval and its verdict.
    """
    flat = np.asarray(draws, dtype=float).ravel()
    log_ratio = np.log1p(np.maximum(flat, -1 + 1e-12))
    m, s = float(log_ratio.mean()), float(log_ratio.std(ddof=1))
    lower, upper = math.expm1(m - z * s), math.expm1(m + z * s)
    verdict = interval_verdict(lower, upper, rope)
    return Reading(arm, metric, role, float(flat.mean()), lower, upper, verdict)


def arm_decision(readings: Sequence[Reading]) -> ArmVerdict | None:
    """The decision on one arm from its readings at one look; ``None`` while undecided.

    Parameters
    ----------
    readings : sequence of Reading
        The arm's readings at the look, one per metric.

    Returns
    -------
    ArmVerdict or None
        ``real lift`` or ``harm`` when a deciding metric is one and none the other, ``no effect``
        when every deciding metric is, else None.
    """
    decisive = [r.verdict for r in readings if r.role in DECISIVE_ROLES]
    if not decisive:
        return None
    up, down = "real lift" in decisive, "harm" in decisive
    if up != down:
        return "real lift" if up else "harm"
    if all(v == "no effect" for v in decisive):
        return "no effect"
    return None


def entry_looks(spec: Spec) -> int | None:
    """Looks while units enter: ``plan.n`` over ``plan.units_per_week``, in ``monitor.every`` steps.

    Parameters
    ----------
    spec : Spec
        The experiment: its plan and monitoring settings.

    Returns
    -------
    int or None
        The looks, or None when the plan does not give ``n`` and ``units_per_week``.
    """
    plan, every = spec.plan, spec.monitor.every_days
    if plan.n is None or plan.units_per_week is None:
        return None
    return math.ceil(plan.n / (plan.units_per_week * every / 7))


def window_looks(spec: Spec) -> int:
    """Looks after the last entry until the longest outcome window has closed.

    Parameters
    ----------
    spec : Spec
        The experiment: its deciding metrics' windows and monitoring settings.

    Returns
    -------
    int
        The looks (0 when no deciding metric has a window).
    """
    longest = max((m.window_days or 0 for m in spec.metrics if m.decisive), default=0)
    return math.ceil(longest / spec.monitor.every_days)


def planned_looks(spec: Spec) -> int | None:
    """Looks planned: ``monitor.looks``, else the looks of entry plus those the longest window needs.

    Parameters
    ----------
    spec : Spec
        The experiment: its plan, metrics and monitoring settings.

    Returns
    -------
    int or None
        The looks, or None when neither ``monitor.looks`` nor the plan gives them.
    """
    if spec.monitor.looks is not None:
        return spec.monitor.looks
    entering = entry_looks(spec)
    return None if entering is None else entering + window_looks(spec)
