"""Intervals of posterior draws: HDIs, equal-tailed intervals of lifts, the noise band.

Lifts use **equal-tailed** intervals. A quantile maps through any increasing function, so the
interval of a relative lift, a/c − 1, and that of the difference, a − c, are the same event
seen on two scales whenever the control's mean c is positive: P(lift > r) = P(a − c > r c)
draw by draw. The verdict (decided on the difference, :mod:`channelab.analysis.decisions`),
P(lift > 0), the relative interval and the absolute one therefore always agree about zero and
about the ROPE, which highest-density intervals (not invariant under a change of scale) do not.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from arviz_stats.visualization import hdi

from channelab.analysis.results import Interval

#: A relative lift is defined when every draw of the control's mean is above zero and its
#: posterior mean is at least this many posterior sds above zero: nearer, the ratio is unstable
#: (its spread grows without bound as the control's mean nears zero) and is not shown.
DEFINED_SDS = 3.0

#: arviz-stats' highest-density interval (untyped upstream), as called here: its two ends.
_arviz_hdi: Callable[..., np.ndarray] = hdi


def _hdi(values: np.ndarray, prob: float) -> tuple[float, float]:
    """Highest-density interval of ``values`` holding ``prob`` of them."""
    lo, hi = _arviz_hdi(np.asarray(values, dtype=float), prob=prob)
    return float(lo), float(hi)


def _eti(values: np.ndarray, prob: float) -> tuple[float, float]:
    """Equal-tailed interval of ``values``: the (1 − prob)/2 and (1 + prob)/2 quantiles."""
    tail = (1 - prob) / 2
    lo, hi = np.quantile(np.asarray(values, dtype=float).ravel(), [tail, 1 - tail])
    return float(lo), float(hi)


def relative_defined(control: np.ndarray, treated: np.ndarray, prob: float, *, non_negative: bool) -> bool:
    """Whether a lift relative to ``control`` (draws of its mean) is defined and stable.

    For a metric that cannot be negative a lift cannot fall below −100 %; where the treated
    arm's normal model (``cell_means``, few units) puts more than the interval's tail below
    zero, the relative interval would, so it is not shown: the difference still is.

    Parameters
    ----------
    control, treated : numpy.ndarray
        Draws of the control's and the treated arm's means.
    prob : float
        The interval mass.
    non_negative : bool
        Whether the metric's values cannot be negative (binary, count, revenue).

    Returns
    -------
    bool
        True when every control draw is above zero, its mean at least :data:`DEFINED_SDS` sds
        above it, and (``non_negative``) the relative interval's lower end at or above −100 %.
    """
    c = np.asarray(control, dtype=float).ravel()
    stable = bool(np.all(c > 0) and c.mean() >= DEFINED_SDS * c.std())
    return stable and not (non_negative and below_any_level(treated, prob))


def below_any_level(treated: np.ndarray, prob: float) -> bool:
    """Whether more than the interval's lower tail of ``treated`` lies below zero (a lift < −100 %)."""
    return float(np.mean(np.asarray(treated, dtype=float) < 0)) > (1 - prob) / 2


def noise_band(draws: np.ndarray, prob: float, *, ratio: bool) -> tuple[float, float]:
    """The interval the posterior would have were the true effect zero: recentred at no effect.

    ``draws`` are a difference (``ratio=False``: the equal-tailed interval shifted by the
    median) or a ratio arm/control (``ratio=True``: the interval divided by the median, less
    one, the relative lift's band). Recentring at the median, not the mean, keeps the band
    where the bulk of the posterior is on any shape (a heavy right tail drags a mean far
    away), and the median lies inside every central interval, so the band always contains 0.

    Parameters
    ----------
    draws : numpy.ndarray
        Draws of a difference, or of a ratio arm/control.
    prob : float
        The interval mass.
    ratio : bool
        Whether ``draws`` are a ratio (the band is then of the relative lift).

    Returns
    -------
    tuple of float
        The band's ends; (0, 0) for a ratio whose median is not above zero.
    """
    lo, hi = _eti(draws, prob)
    centre = float(np.median(draws))
    if not ratio:
        return lo - centre, hi - centre
    if centre <= 0:  # no ratio scale to recentre on: the band is undefined, shown as none
        return 0.0, 0.0
    return lo / centre - 1, hi / centre - 1


def relative_interval(treated: np.ndarray, control: np.ndarray, prob: float) -> Interval:
    """Relative lift of ``treated`` over ``control`` (draws of their means): estimate and interval.

    The estimate is the ratio of the posterior means less one, so it is the absolute lift's
    estimate divided by the control level (the posterior mean of a ratio is pulled up by a
    noisy denominator). The interval is equal-tailed (see the module docstring).

    Parameters
    ----------
    treated, control : numpy.ndarray
        Joint draws of the two means (any shape; flattened).
    prob : float
        The interval mass.

    Returns
    -------
    Interval
        The relative lift (a fraction) and its equal-tailed interval.
    """
    treated, control = np.asarray(treated, dtype=float).ravel(), np.asarray(control, dtype=float).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, hi = _eti(treated / control - 1, prob)
    return Interval(mean=float(treated.mean() / control.mean() - 1), lower=lo, upper=hi)


def central_interval(draws: np.ndarray, prob: float) -> Interval:
    """Posterior mean and equal-tailed interval of ``draws`` (any shape; flattened)."""
    flat = np.asarray(draws, dtype=float).ravel()
    lo, hi = _eti(flat, prob)
    return Interval(mean=float(flat.mean()), lower=lo, upper=hi)


def interval(draws: np.ndarray, prob: float) -> Interval:
    """Posterior mean and HDI of ``draws`` (any shape; flattened)."""
    flat = np.asarray(draws, dtype=float).ravel()
    lo, hi = _hdi(flat, prob)
    return Interval(mean=float(flat.mean()), lower=lo, upper=hi)
