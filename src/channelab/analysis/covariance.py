"""The within-arm covariance of one arm's effects on two metrics, from the units' cross-products.

Each metric has its own likelihood, so the posterior draws of two metrics' effects are nearly
independent, yet their estimates are not: the same units engage and book meetings. The
sampling correlation comes from the data (:class:`~channelab.cells.PairCells`):

1. per arm, the pooled within-stratum covariance C of the two metrics over the units counted
   for both, and their variances V_a, V_b over the same units (strata: the cells with their
   clusters merged, so a cluster design's between-cluster spread counts);
2. the sampling covariance of the two differences (arm − control) of the means,
   Σ over the two arms of n_ab·C / (n_a·n_b), with n_a, n_b each metric's units and n_ab
   those of both (C / n when every unit counts for both), and of the two log ratios (delta
   method) the same terms divided by m_a·m_b, the arm's observed means;
3. each turned into a correlation with the matching delta-method sds (V_a / n_a, and
   V_a / (n_a·m_a²)), clipped to [−1, 1].

The reported covariance is that correlation times the two *posterior* sds
(:func:`scaled`), so each 2 × 2 matrix is a valid covariance that agrees with the posterior.
The pre-period slopes of normal models are left out of C: the correlation of the raw values.
Where the data hold no cross-products the answer is None, never 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import NamedTuple

import numpy as np

from channelab.analysis.results import Effect, MetricCovariance
from channelab.cells import Cells, PairCells
from channelab.limits import MAX_PAIRED_METRICS
from channelab.spec import Spec

__all__ = [
    "ArmMoments",
    "arm_covariances",
    "arm_moments",
    "sampling_correlations",
    "sampling_covariances",
    "scaled",
]


class ArmMoments(NamedTuple):
    """Per arm (in :attr:`Cells.arms` order), the pooled within-stratum moments of two metrics.

    Attributes
    ----------
    n_both
        Units counted for both metrics.
    cov, var_a, var_b
        Pooled within-stratum covariance and variances over those units (NaN without
        enough units).
    """

    n_both: np.ndarray
    cov: np.ndarray
    var_a: np.ndarray
    var_b: np.ndarray


def arm_moments(cells: Cells, pair: PairCells) -> ArmMoments:
    """The pooled within-stratum covariance and variances of a pair of metrics, per arm.

    Parameters
    ----------
    cells
        The cells the pair's sums are of (their arms and strata).
    pair
        The two metrics' cross-products per cell.
    """
    columns = [cells.arm_idx, *(cells.level_idx[c] for c in cells.levels)]
    _, group = np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)
    group = group.ravel()
    size = int(group.max()) + 1 if group.size else 0
    g = {s: np.bincount(group, weights=getattr(pair, s), minlength=size) for s in pair.sums}
    n = g["n"]
    safe = np.where(n > 0, n, 1.0)
    centred = {
        "cov": g["sum_ab"] - g["sum_a"] * g["sum_b"] / safe,
        "var_a": g["sum_aa"] - g["sum_a"] ** 2 / safe,
        "var_b": g["sum_bb"] - g["sum_b"] ** 2 / safe,
    }
    arm_of = np.zeros(size, dtype=np.int64)
    arm_of[group] = cells.arm_idx
    k = len(cells.arms)

    def per_arm(x: np.ndarray) -> np.ndarray:
        return np.bincount(arm_of, weights=x, minlength=k)

    n_arm = per_arm(n)
    df = n_arm - per_arm((n > 0).astype(np.float64))  # units less the strata with units
    pooled = {
        name: np.where(df > 0, per_arm(x) / np.where(df > 0, df, 1.0), np.nan) for name, x in centred.items()
    }
    return ArmMoments(
        n_both=n_arm,
        cov=pooled["cov"],
        var_a=np.maximum(pooled["var_a"], 0.0),
        var_b=np.maximum(pooled["var_b"], 0.0),
    )


def sampling_covariances(
    cells: Cells, metric_a: str, metric_b: str, arms: tuple[str, str]
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The sampling covariance matrices of two metrics' differences, and of their log ratios.

    Parameters
    ----------
    cells
        The cells, with the pair's cross-products (:attr:`Cells.pairs`).
    metric_a, metric_b
        The two metrics.
    arms
        The treatment arm and the control.

    Returns
    -------
    tuple of (numpy.ndarray or None, numpy.ndarray or None)
        The 2 × 2 covariance of the two differences (arm − control) of the observed means,
        and of the two log(arm mean / control mean) by the delta method; None where the data
        hold no cross-products or, for the log ratios, where a mean is not above zero.
    """
    pair = cells.pair(metric_a, metric_b)
    if pair is None:
        return None, None
    mom = arm_moments(cells, pair)
    var_a, var_b = (mom.var_a, mom.var_b) if pair.metric_a == metric_a else (mom.var_b, mom.var_a)
    idx = [cells.arms.index(a) for a in arms]
    n_a, n_b = (cells.per_arm(cells.units(m))[idx] for m in (metric_a, metric_b))
    if np.any(n_a <= 0) or np.any(n_b <= 0):
        return None, None
    cov = mom.n_both[idx] * mom.cov[idx] / (n_a * n_b)
    v_a, v_b = var_a[idx] / n_a, var_b[idx] / n_b
    m_a, m_b = (cells.per_arm(cells.metrics[m].total)[idx] / n for m, n in ((metric_a, n_a), (metric_b, n_b)))
    diff = _matrix(cov, v_a, v_b)
    if np.any(m_a <= 0) or np.any(m_b <= 0):
        return diff, None
    return diff, _matrix(cov / (m_a * m_b), v_a / m_a**2, v_b / m_b**2)


def _matrix(cov: np.ndarray, var_a: np.ndarray, var_b: np.ndarray) -> np.ndarray:
    """The 2 × 2 covariance of two sums over the arms, each term given per arm."""
    return np.array([[var_a.sum(), cov.sum()], [cov.sum(), var_b.sum()]])


def sampling_correlations(
    cells: Cells, metric_a: str, metric_b: str, arms: tuple[str, str]
) -> tuple[float | None, float | None]:
    """The sampling correlation of two metrics' differences, and of their log ratios, between two arms.

    Parameters
    ----------
    cells
        The cells, with the pair's cross-products (:attr:`Cells.pairs`).
    metric_a, metric_b
        The two metrics.
    arms
        The treatment arm and the control.

    Returns
    -------
    tuple of (float or None, float or None)
        The correlations of :func:`sampling_covariances`' matrices, clipped to [−1, 1]; None
        where there is no matrix or a variance is zero or not a number.
    """
    diff, log_ratio = sampling_covariances(cells, metric_a, metric_b, arms)
    return _correlation(diff), _correlation(log_ratio)


def _correlation(matrix: np.ndarray | None) -> float | None:
    """The correlation of a 2 × 2 covariance, clipped to [−1, 1]; None where it is not a number."""
    if matrix is None:
        return None
    denom = float(np.sqrt(matrix[0, 0] * matrix[1, 1]))
    r = float(matrix[0, 1]) / denom if denom > 0 else float("nan")
    return float(np.clip(r, -1.0, 1.0)) if np.isfinite(r) else None


def scaled(correlation: float | None, sd_a: float | None, sd_b: float | None) -> float | None:
    """A correlation times two posterior sds: their covariance, or None where any is missing.

    Parameters
    ----------
    correlation
        The sampling correlation (:func:`sampling_correlations`).
    sd_a, sd_b
        The two posterior sds.
    """
    if correlation is None or sd_a is None or sd_b is None or not np.isfinite(sd_a * sd_b):
        return None
    return correlation * sd_a * sd_b


def arm_covariances(
    arm: str, effects: Sequence[Effect], cells: Cells, spec: Spec
) -> tuple[MetricCovariance, ...]:
    """The covariance of ``arm``'s effects on every pair of its metrics, in funnel order.

    Every pair of the arm's effects whose metric (or, for a per-unit outcome, its share's)
    is among the first :data:`~channelab.limits.MAX_PAIRED_METRICS` in funnel order; values
    None where the data cannot give them.

    Parameters
    ----------
    arm
        The treatment arm.
    effects
        Its effects (others' are skipped), each with its posterior sds.
    cells
        The cells the effects were estimated from.
    spec
        The experiment: its control and metrics.
    """
    first = {m.name for m in spec.metrics_in_funnel_order[:MAX_PAIRED_METRICS]}
    own = [e for e in effects if e.arm == arm and (e.derived_from or e.metric) in first]
    out = []
    for a, b in combinations(own, 2):
        diff, loglift = sampling_correlations(cells, a.metric, b.metric, (arm, spec.control))
        out.append(
            MetricCovariance(
                metric_a=a.metric,
                metric_b=b.metric,
                diff=scaled(diff, a.diff_sd, b.diff_sd),
                loglift=scaled(loglift, a.loglift_sd, b.loglift_sd),
            )
        )
    return tuple(out)
