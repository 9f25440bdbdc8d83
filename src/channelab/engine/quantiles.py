"""The SQL of a quantile metric's values: which units count, and what they hold.

A ``quantile`` metric reads its column's values (:class:`~channelab.cells.CountCells`'
frequency table of distinct values per cell, in the same engine as every other statistic): all
units', or with ``among: positive`` only those above 0 (the deals among prospects). Its ``n``
per cell is the units counted, its Σ y and Σ y² theirs.
"""

from __future__ import annotations

from collections.abc import Mapping

from channelab.engine.source import metric_value
from channelab.spec import Metric

__all__ = ["counted_value", "quantile_unit_statistics"]


def counted_value(metric: Metric, columns: Mapping[str, str]) -> str:
    """SQL of a unit's value of a quantile metric as a DOUBLE, NULL where the unit is not counted.

    Parameters
    ----------
    metric
        A metric of type ``quantile``.
    columns
        The source's column types (:attr:`~channelab.engine.source.Source.columns`).
    """
    y = metric_value(metric, columns)
    return f"(CASE WHEN {y} > 0 THEN {y} END)" if metric.among == "positive" else y


def quantile_unit_statistics(metric: Metric, columns: Mapping[str, str]) -> dict[str, str]:
    """SQL of one unit row's contribution to a quantile metric's n, Σ y and Σ y², by statistic name.

    Parameters
    ----------
    metric
        A metric of type ``quantile``.
    columns
        The source's column types.
    """
    y = counted_value(metric, columns)
    return {
        "n": f"(CASE WHEN {y} IS NULL THEN 0.0 ELSE 1.0 END)",
        "total": f"COALESCE({y}, 0.0)",
        "sum_sq": f"COALESCE({y} * {y}, 0.0)",
    }
