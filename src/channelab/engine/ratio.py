"""The SQL of a ratio metric's cell sums: numerator x, denominator y, and their cross-product.

A ``ratio`` metric (Σ numerator / Σ denominator per arm) needs per cell n, Σ x, Σ x², Σ y, Σ y²
and Σ x y (:class:`~channelab.cells.RatioCells`), taken in the same single scan as every other
statistic (:mod:`.aggregate`). Aggregated rows carry them in five columns
(:func:`~channelab.engine.source.statistic_columns`); summed over rows they give exactly the
cells of the units.
"""

from __future__ import annotations

from channelab.engine.source import number
from channelab.spec import Metric

__all__ = ["ratio_unit_statistics"]


def ratio_unit_statistics(metric: Metric) -> dict[str, str]:
    """SQL of one unit row's contribution to each of a ratio's sums, by statistic name.

    Parameters
    ----------
    metric
        A metric of type ``ratio``.
    """
    x, y = (number(c) for c in metric.data_columns)
    return {
        "total": x,
        "sum_sq": f"{x} * {x}",
        "den_total": y,
        "den_sum_sq": f"{y} * {y}",
        "cross": f"{x} * {y}",
    }
