"""Intervals of posterior draws: HDIs, the log-scale interval of a relative lift, the noise band."""

from __future__ import annotations

import arviz_stats as azs
import numpy as np

from channelab.analysis.results import Interval


def hdi(values: np.ndarray, prob: float) -> tuple[float, float]:
    """Highest-density interval of ``values`` holding ``prob`` of them."""
    lo, hi = azs.hdi(np.asarray(values, dtype=float), prob=prob)
    return float(lo), float(hi)


def noise_band(lift: np.ndarray, prob: float) -> tuple[float, float]:
    """The interval the lift's posterior would have if the true lift were zero: recentred at 0.

    On log(1 + lift) where every draw allows it; else (a mean per unit that can reach zero)
    on the lift itself.
    """
    if np.all(lift > -1):
        log_ratio = np.log1p(lift)
        lo, hi = np.expm1(hdi(log_ratio - log_ratio.mean(), prob))
        return float(lo), float(hi)
    return hdi(lift - lift.mean(), prob)


def relative_interval(treated: np.ndarray, control: np.ndarray, prob: float) -> Interval:
    """Relative lift of ``treated`` over ``control`` (draws of their means): estimate and HDI.

    The estimate is the ratio of the posterior means less one, so it is the absolute lift's
    estimate divided by the control level (the posterior mean of a ratio is pulled up by a
    noisy denominator). The HDI is taken on log(1 + lift) and mapped back: a ratio's posterior
    is skewed (a control mean near zero stretches it far to the right), and on the raw scale its
    HDI can straddle zero while the difference's excludes it; on the log scale it agrees with
    the difference about the sign in all but knife-edge cases. Draws at or below −100 % (a
    non-positive mean) fall back to the raw HDI.
    """
    treated, control = np.asarray(treated, dtype=float).ravel(), np.asarray(control, dtype=float).ravel()
    lift = treated / control - 1
    if np.all(lift > -1):
        lo, hi = np.expm1(hdi(np.log1p(lift), prob))
    else:
        lo, hi = hdi(lift, prob)
    return Interval(mean=float(treated.mean() / control.mean() - 1), lower=float(lo), upper=float(hi))


def interval(draws: np.ndarray, prob: float) -> Interval:
    """Posterior mean and HDI of ``draws`` (any shape; flattened)."""
    flat = np.asarray(draws, dtype=float).ravel()
    lo, hi = hdi(flat, prob)
    return Interval(mean=float(flat.mean()), lower=lo, upper=hi)
