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

from dataclasses import dataclass

import numpy as np

__all__ = ["ValueTable", "quantile_draws", "raw_quantile"]

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
