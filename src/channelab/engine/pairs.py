"""Cross-products of pairs of metrics per cell: SQL sums in the aggregation query, read back.

The same units engage and book meetings, so two metrics' effects are correlated by the data
(:mod:`channelab.analysis.covariance`). :func:`pair_statistics` adds, per pair of metrics,
the units counted for both and Σ y_a, Σ y_b, Σ y_a·y_b, Σ y_a², Σ y_b² over them to the one
query :func:`~channelab.engine.aggregate.build_cells` runs (so both engines run the same text);
:func:`pair_cells` reads them into :class:`~channelab.cells.PairCells`.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

import numpy as np
import pandas as pd

from channelab.cells import PairCells
from channelab.engine.source import metric_value
from channelab.engine.timing import mature, timed_value
from channelab.limits import MAX_PAIRED_METRICS
from channelab.spec import DESCRIPTIVE_TYPES, Metric, Spec

__all__ = ["pair_cells", "pair_statistics", "paired_metrics"]

#: The statistics of one pair, in :class:`PairCells`' order.
_STATS = ("n", "sum_a", "sum_b", "sum_ab", "sum_aa", "sum_bb")


def paired_metrics(spec: Spec) -> list[Metric]:
    """The metrics whose pairs get cross-products: none unless the data are unit rows.

    Of the first :data:`~channelab.limits.MAX_PAIRED_METRICS` metrics in funnel order, those
    measured on every unit: a share among an earlier stage (``denominator``) is not.

    Parameters
    ----------
    spec
        The experiment.
    """
    if spec.input_kind != "unit rows":
        return []
    return [
        m
        for m in spec.metrics_in_funnel_order[:MAX_PAIRED_METRICS]
        if m.stage is None and m.type not in DESCRIPTIVE_TYPES
    ]


def _pairs(spec: Spec) -> list[tuple[Metric, Metric]]:
    return list(combinations(paired_metrics(spec), 2))


def pair_statistics(spec: Spec, columns: Mapping[str, str]) -> dict[str, str]:
    """Per statistic alias (``pair{i}__{stat}``), the SQL of one unit row's contribution.

    A unit counts for a pair where both values are numbers and, with outcome windows, where
    both windows had closed by the analysis date; each value is as known on that date.

    Parameters
    ----------
    spec
        The experiment (with its analysis date, if any).
    columns
        Each data column's name and engine type.
    """
    out: dict[str, str] = {}
    for i, (a, b) in enumerate(_pairs(spec)):
        ya, yb = (timed_value(m, metric_value(m, columns), spec, spec.as_of) for m in (a, b))
        ripe = [c for c in (mature(a, spec, spec.as_of), mature(b, spec, spec.as_of)) if c]
        both = " AND ".join([*ripe, f"{ya} IS NOT NULL", f"{yb} IS NOT NULL"])
        values = ("1.0", ya, yb, f"{ya} * {yb}", f"{ya} * {ya}", f"{yb} * {yb}")
        for stat, value in zip(_STATS, values, strict=True):
            out[f"pair{i}__{stat}"] = f"(CASE WHEN {both} THEN {value} ELSE 0.0 END)"
    return out


def pair_cells(table: pd.DataFrame, spec: Spec) -> tuple[PairCells, ...]:
    """The cross-products of every pair from the aggregated ``table`` (one row per cell).

    Parameters
    ----------
    table
        The result of the aggregation query, with the :func:`pair_statistics` sums.
    spec
        The experiment the query was built from.
    """
    out = []
    for i, (a, b) in enumerate(_pairs(spec)):
        if f"pair{i}__n" not in table:
            return ()
        sums = {stat: table[f"pair{i}__{stat}"].to_numpy(dtype=np.float64) for stat in _STATS}
        out.append(PairCells(metric_a=a.name, metric_b=b.name, **sums))
    return tuple(out)
