"""What the pre-period adjustment (``adjust``) did, and every lift with and without it.

Per metric: the method (exact slopes or quantile strata) and the variance explained. The
comparison fit uses the same units, sampler and seed without the pre-period columns
(:meth:`~channelab.cells.Cells.without_adjustment`), so a width ratio below 1 is precision the
adjustment bought, not a change of estimand: both lifts are population averages over the
experiment's own units.
"""

from __future__ import annotations

import numpy as np

from channelab.analysis.results import AdjustedLift, Adjustment, Effects
from channelab.cells import Cells, NormalCells
from channelab.spec import Metric, Spec


def explained_variance(cells: Cells, metric: Metric) -> float:
    """Share of the within-arm variance of ``metric`` that its pre-period model explains (R²).

    Exact from the cells. Normal models: the within-arm least-squares fit on the columns (the
    R² of ANCOVA with a slope per arm). Others: between the quantile strata, within arms.
    0 without pre-period columns.

    Parameters
    ----------
    cells
        The cells, with their pre-period sums (:attr:`~channelab.cells.Cells.pre_period`).
    metric
        The metric; exact slopes when its normal cells carry Σ x y.
    """
    pre, s = cells.pre_period, cells.metrics[metric.name]
    if pre is None:
        return 0.0
    arms = len(cells.arms)
    n, y = cells.per_arm(cells.n), cells.per_arm(s.total)
    syy = float((cells.per_arm(s.sum_sq) - y**2 / n).sum())
    if syy <= 0:
        return 0.0
    if isinstance(s, NormalCells) and s.sum_xy is not None:
        explained = 0.0
        for a in range(arms):
            at = cells.arm_idx == a
            x = pre.sum_x[at].sum(0)
            sxx = pre.sum_xx[at].sum(0) - np.outer(x, x) / n[a]
            sxy = s.sum_xy[at].sum(0) - x * y[a] / n[a]
            explained += float(sxy @ np.linalg.lstsq(sxx, sxy, rcond=None)[0])
        return max(min(explained / syy, 1.0), 0.0)
    keys = np.stack([cells.arm_idx, *(cells.level_idx[c] for c in pre.cuts)], axis=1)
    _, stratum = np.unique(keys, axis=0, return_inverse=True)
    stratum = stratum.ravel()
    units = np.bincount(stratum, weights=cells.n)
    totals = np.bincount(stratum, weights=s.total)
    between = float((totals**2 / units).sum() - (y**2 / n).sum())
    return max(min(between / syy, 1.0), 0.0)


def compare(
    adjusted: Effects, unadjusted: Effects, cells: Cells, spec: Spec, *, unadjusted_converged: bool
) -> Adjustment:
    """The adjustment's summary: methods, R² per metric, and each lift with and without it.

    Parameters
    ----------
    adjusted
        The effects of the fit with the pre-period columns.
    unadjusted
        The effects of the comparison fit without them (same units, sampler and seed).
    cells
        The cells of the adjusted fit (they must have pre-period columns).
    spec
        The experiment.
    unadjusted_converged
        Whether the comparison fit passed the convergence gate.
    """
    assert cells.pre_period is not None
    plain = {(e.arm, e.metric): e for e in unadjusted.effects}
    return Adjustment(
        columns=cells.pre_period.columns,
        methods={
            m.name: "exact" if m.likelihood.exact_adjustment else "strata"
            for m in spec.metrics_in_funnel_order
        },
        strata=dict(cells.pre_period.strata),
        r_squared={m.name: explained_variance(cells, m) for m in spec.metrics_in_funnel_order},
        lifts=tuple(
            AdjustedLift(
                arm=e.arm,
                metric=e.metric,
                label=e.label,
                adjusted=e.lift,
                unadjusted=plain[(e.arm, e.metric)].lift,
                abs_adjusted=e.abs_lift,
                abs_unadjusted=plain[(e.arm, e.metric)].abs_lift,
            )
            for e in adjusted.effects
        ),
        unadjusted_converged=unadjusted_converged,
    )
