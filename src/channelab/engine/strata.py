"""Quantile strata of the pre-period columns: their cut points, a row's stratum in SQL, its label.

For the metrics without an exact linear adjustment from cell sums, each ``adjust`` column is
split into ``model.adjust_bins`` quantile strata, which enter the cells as levels
(:attr:`channelab.cells.PrePeriod.cuts`).
"""

from __future__ import annotations

from channelab.engine.source import Source, number
from channelab.spec import Spec

__all__ = ["strata_cuts", "stratum", "stratum_label"]


def strata_cuts(source: Source, spec: Spec) -> dict[str, tuple[float, ...]]:
    """Cut points of ``model.adjust_bins`` quantile strata of each ``adjust`` column, when needed.

    Exact quantiles of the rows (deterministic), without repeats: a column with many ties (a
    count of last quarter's meetings) gets fewer, unequal strata.

    Parameters
    ----------
    source
        The opened rows.
    spec
        The spec: its ``adjust`` columns and ``model.adjust_bins``.
    """
    if not spec.binned_adjustment:
        return {}
    bins = spec.model.adjust_bins
    cuts = source.quantiles(spec.adjust, [k / bins for k in range(1, bins)])
    return {c: tuple(sorted(set(values))) for c, values in zip(spec.adjust, cuts, strict=True)}


def stratum(column: str, cuts: tuple[float, ...]) -> str:
    """SQL of a row's stratum: how many cut points its value exceeds, zero-padded for sorting.

    Parameters
    ----------
    column
        The pre-period column.
    cuts
        Its cut points, rising.
    """
    above = " + ".join(f"CAST({number(column)} > {c!r} AS INTEGER)" for c in cuts) or "0"
    return f"lpad(CAST({above} AS VARCHAR), 3, '0')"


def stratum_label(cuts: tuple[float, ...], j: int) -> str:
    """Plain label of stratum ``j``: ``≤ 2``, ``2–5``, ``> 40`` (as :class:`~channelab.cells.PrePeriod`).

    Parameters
    ----------
    cuts
        The column's cut points, rising.
    j
        The stratum: how many cut points its values exceed.
    """
    if not cuts:
        return "all"
    if j == 0:
        return f"≤ {cuts[0]:g}"
    if j == len(cuts):
        return f"> {cuts[-1]:g}"
    return f"{cuts[j - 1]:g}–{cuts[j]:g}"
