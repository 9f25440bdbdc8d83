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

A time-to-event outcome (``time_model: survival``) counts every entered unit at every look,
followed until its outcome, the window's end or the look's date; the look is read once every
arm has :data:`MIN_COUNTED` units entered and :data:`MIN_FOLLOWED` followed for the whole window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from channelab.analysis.decisions import interval_verdict
from channelab.analysis.results import ArmVerdict, MetricVerdict
from channelab.errors import SpecError
from channelab.limits import MAX_LOOKS
from channelab.spec import DECISIVE_ROLES, Role, Spec

#: A look is read only when every arm has at least this many units counted for every outcome.
#: With an outcome window, the units whose window has closed; with a time-to-event model
#: (``time_model: survival``), every entered unit, counted as far as it has come.
MIN_COUNTED = 30
#: A time-to-event outcome is read only when every arm also has at least this many units followed
#: for the whole window: before then P(outcome within the window) would rest on no unit followed to
#: its end (the engine's ``arm_units`` check asks the same of a run, ``MIN_ARM_UNITS``).
MIN_FOLLOWED = 2


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


def bounded_looks(spec: Spec) -> int | None:
    """The planned looks (:func:`planned_looks`), refused past the bound.

    Parameters
    ----------
    spec : Spec
        The experiment: its plan, metrics and monitoring settings.

    Returns
    -------
    int or None
        The looks, or None when the spec does not say how many.

    Raises
    ------
    SpecError
        If the plan makes more than :data:`~channelab.limits.MAX_LOOKS` looks: every simulated
        test is fitted at every look.
    """
    looks = planned_looks(spec)
    if looks is None or looks <= MAX_LOOKS:
        return looks
    plan, every = spec.plan, spec.monitor.every_days
    label = {1: "day", 7: "week"}.get(every, f"{every} days")
    wider = next((e for e in range(every + 1, 367) if _looks_every(spec, e) <= MAX_LOOKS), None)
    less_often = f"look less often (monitor.every: {wider} or more) or " if wider else ""
    raise SpecError(
        f"{spec.source_path or 'the spec'}: monitor: {plan.n:,} units (plan.n) entering at "
        f"{plan.units_per_week:,} a week (plan.units_per_week), looked at every {label} "
        f"until the last outcome window closes, plans {looks:,} looks, but at most {MAX_LOOKS} are "
        f"allowed: every simulated test is fitted at every look. To calibrate the stopping rule, "
        f"{less_often}enter the units faster (plan.units_per_week)."
    )


def _looks_every(spec: Spec, every: int) -> int:
    """The looks :func:`planned_looks` counts with a look every ``every`` days."""
    monitor = spec.monitor.model_copy(update={"every": every})
    return planned_looks(spec.model_copy(update={"monitor": monitor})) or 0
