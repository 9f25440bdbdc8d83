"""The posterior of a quantile per arm by the Bayesian bootstrap of its values (Rubin 1981).

A quantile (the median deal size, the 90th percentile of days to a meeting) is not a sum, so
it has no cell statistics and no likelihood in the joint model. Its posterior comes from the
units' values themselves: the Bayesian bootstrap puts Dirichlet(1, ..., 1) weights on the
units of an arm, the posterior of the distribution under a non-informative Dirichlet-process
prior, and each draw's quantile is the weighted inverse CDF at q. Units with the same value
share one Gamma(count, 1) weight (the sum of their Exp(1) weights), so a frequency table of
distinct values per arm is an exact summary (:class:`ValueTable`).

The estimand is the arm's population quantile Q_a(q) = inf{x : F_a(x) ≥ q}; the raw answer is
the same inverse CDF of the observed values (``numpy.quantile(method="inverted_cdf")``), so the
posterior is centred on what a spreadsheet computes. No covariates, strata or clusters: the
arms are compared as randomised, unit by unit.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from channelab.cells import Cells, CountCells
from channelab.errors import DataError
from channelab.spec import Metric

__all__ = ["ValueTable", "arm_tables", "quantile_draws", "quantile_means", "raw_quantile"]

#: Draws × distinct values handled at once: bounds memory (about 160 MB of float64).
_CHUNK = 20_000_000


@dataclass(frozen=True)
class ValueTable:
    """One arm's distinct values and how many units hold each, in rising order.

    Attributes
    ----------
    values
        The distinct values, rising.
    counts
        Units holding each value (positive; weighted counts are allowed).
    """

    values: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray) -> ValueTable:
        """The table of a sample of values.

        Parameters
        ----------
        x
            One value per unit.
        """
        values, counts = np.unique(np.asarray(x, dtype=np.float64), return_counts=True)
        return cls(values, counts.astype(np.float64))

    @property
    def n(self) -> float:
        """Units in the table."""
        return float(self.counts.sum())


def raw_quantile(table: ValueTable, q: float) -> float:
    """The observed q-quantile: the smallest value whose cumulative share reaches ``q`` (inverse CDF).

    Parameters
    ----------
    table
        An arm's values.
    q
        The quantile's level, in (0, 1).
    """
    share = np.cumsum(table.counts) / table.n
    index = min(int(np.searchsorted(share, q - 1e-12)), len(share) - 1)
    return float(table.values[index])


def quantile_draws(table: ValueTable, q: float, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Posterior draws of an arm's q-quantile by the Bayesian bootstrap.

    Parameters
    ----------
    table
        The arm's values.
    q
        The quantile's level, in (0, 1).
    draws
        How many draws.
    rng
        The random stream (seeded by the caller).

    Returns
    -------
    numpy.ndarray
        ``draws`` values of the weighted inverse CDF at ``q``.
    """
    k = len(table.values)
    out = np.empty(draws)
    step = max(1, _CHUNK // max(k, 1))
    for start in range(0, draws, step):
        stop = min(draws, start + step)
        weights = rng.gamma(table.counts, 1.0, size=(stop - start, k))
        cumulative = np.cumsum(weights, axis=1)
        target = q * cumulative[:, -1:]
        index = (cumulative < target - 1e-12 * cumulative[:, -1:]).sum(axis=1)
        out[start:stop] = table.values[np.minimum(index, k - 1)]
    return out


def arm_tables(cells: Cells, metric: Metric, by: str | None = None) -> list[list[ValueTable]]:
    """Each arm's values (within each level of ``by``): tables[arm][level], one level without ``by``.

    Parameters
    ----------
    cells
        The cells, whose quantile metric carries its values per cell (``frequencies``).
    metric
        A metric of type ``quantile``.
    by
        A covariate within each of whose levels to take the values, or ``None``.
    """
    stats = cells.metrics[metric.name]
    assert isinstance(stats, CountCells)
    freq = stats.frequencies
    level = cells.level_idx[by][freq.cell] if by is not None else np.zeros(len(freq.cell), dtype=np.int64)
    arm = cells.arm_idx[freq.cell]
    levels = len(cells.levels[by]) if by is not None else 1
    tables = []
    for a in range(len(cells.arms)):
        row = []
        for lv in range(levels):
            mine = (arm == a) & (level == lv)
            values, inverse = np.unique(freq.value[mine], return_inverse=True)
            row.append(
                ValueTable(values, np.bincount(inverse, weights=freq.units[mine], minlength=len(values)))
            )
        tables.append(row)
    return tables


def quantile_means(
    metric: Metric, cells: Cells, shape: tuple[int, int], seed: int, by: str | None = None
) -> np.ndarray:
    """Posterior draws of a quantile metric per arm: dims (chain, draw, arm, level), one level without ``by``.

    Parameters
    ----------
    metric
        A metric of type ``quantile`` (its ``q``).
    cells
        The cells with its values.
    shape
        (chains, draws) of the joint model's posterior, so that the draws line up with its.
    seed
        The spec's seed; each metric draws from its own stream (the seed and its name).
    by
        A covariate within each of whose levels to take the quantile, or ``None``.

    Raises
    ------
    DataError
        When an arm has no value to take the quantile of (``among: positive`` and no value above 0).
    """
    assert metric.q is not None
    rng = np.random.default_rng([seed, zlib.crc32(metric.name.encode())])
    tables = arm_tables(cells, metric, by)
    if by is None:
        empty = [cells.arms[a] for a, row in enumerate(tables) if row[0].n == 0]
        if empty:
            counted = "above 0 " if metric.among == "positive" else ""
            raise DataError(
                f"metric {metric.name!r}: arm {empty[0]!r} has no value {counted}in column "
                f"{metric.source_column!r} to take its quantile of; drop the metric, or use among: all"
            )
    out = np.full((*shape, len(tables), len(tables[0])), np.nan)
    for a, row in enumerate(tables):
        for lv, table in enumerate(row):
            if table.n > 0:
                out[:, :, a, lv] = quantile_draws(table, metric.q, shape[0] * shape[1], rng).reshape(shape)
    return out
