"""Exact sufficient statistics per cell (arm × stratum × cluster): the value types the model sees.

A *stratum* is one combination of covariate levels. The model only ever sees these cells,
so its cost depends on the number of cells, not rows. Per metric type the statistics are:

========== ==========================================================
binary     n, successes (and the trials, for a metric with a denominator)
count      n, Σ y, Σ y² and a frequency table (cell, value, units)
revenue    n, Σ y, Σ y², n_pos, Σ log y, Σ (log y)² over y > 0
continuous n, Σ y, Σ y²
========== ==========================================================

The engine builds them (:func:`channelab.engine.aggregate.build_cells`); this module holds
only the types, so the model layer never loads a data engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from channelab.spec import Metric


@dataclass(frozen=True)
class MetricCells:
    """Sufficient statistics of one metric, one entry per cell.

    ``n_pos``, ``sum_log`` and ``sum_log_sq`` are filled for revenue metrics when the data give
    them; ``freq_cell``, ``freq_value`` and ``freq_units`` (the frequency table) for count metrics
    from unit rows; ``trials`` (units who reached the earlier stage) for a binary metric with a
    ``denominator``. ``sum_sq`` is NaN where aggregated rows do not give it.
    """

    metric: Metric
    total: np.ndarray
    sum_sq: np.ndarray
    n_pos: np.ndarray | None = None
    sum_log: np.ndarray | None = None
    sum_log_sq: np.ndarray | None = None
    freq_cell: np.ndarray | None = None
    freq_value: np.ndarray | None = None
    freq_units: np.ndarray | None = None
    trials: np.ndarray | None = None


@dataclass(frozen=True)
class FunnelCounts:
    """Per arm (in :attr:`Cells.arms` order), how many engaged units took an outcome step.

    ``engaged``: units with the engagement metric above zero; ``engaged_outcome``: of those,
    units with the outcome above zero. The ``unengaged`` pair is the same among the others,
    ``None`` where the data cannot tell (aggregated rows).
    """

    engagement: str
    outcome: str
    engaged: np.ndarray
    engaged_outcome: np.ndarray
    unengaged: np.ndarray | None = None
    unengaged_outcome: np.ndarray | None = None


@dataclass(frozen=True)
class Strata:
    """The distinct (covariate levels, cluster) combinations of the units, and their shares.

    Averaging a per-stratum mean with ``weights`` averages it over the experiment's own units
    (g-computation): their covariate mix and, in a cluster design, their clusters.
    """

    level_idx: dict[str, np.ndarray]
    cluster_idx: np.ndarray | None
    weights: np.ndarray

    @property
    def size(self) -> int:
        """Number of strata."""
        return int(self.weights.size)


@dataclass(frozen=True)
class Cells:
    """Cells of an experiment: who is in each cell and the statistics of every metric.

    Attributes
    ----------
    arms
        Arm labels, control first.
    arm_idx
        Arm of each cell (index into ``arms``).
    levels
        Observed levels of each covariate, sorted.
    level_idx
        Level of each covariate in each cell (index into ``levels[cov]``).
    n
        Units per cell.
    metrics
        Statistics per metric name.
    clusters, cluster_idx
        Cluster labels and the cluster of each cell, when clusters were randomised.
    funnel
        Follow-through counts from each engagement metric to each outcome, per arm.
    """

    arms: tuple[str, ...]
    arm_idx: np.ndarray
    levels: dict[str, tuple[str, ...]]
    level_idx: dict[str, np.ndarray]
    n: np.ndarray
    metrics: dict[str, MetricCells]
    clusters: tuple[str, ...] = ()
    cluster_idx: np.ndarray | None = None
    funnel: tuple[FunnelCounts, ...] = ()

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return int(self.n.size)

    @property
    def n_units(self) -> int:
        """Number of units over all cells."""
        return int(self.n.sum())

    def arm_totals(self, metric: str) -> pd.DataFrame:
        """Observed units, sum, mean and sd of ``metric`` per arm (exact, from the cells).

        For a metric with a denominator, ``n`` counts the units who reached that earlier stage.
        """
        m = self.metrics[metric]
        df = pd.DataFrame(
            {
                "arm": np.asarray(self.arms)[self.arm_idx],
                "n": self.n if m.trials is None else m.trials,
                "total": m.total,
                "sum_sq": m.sum_sq,
            }
        )
        g = df.groupby("arm", sort=False)[["n", "total", "sum_sq"]].sum().reindex(list(self.arms))
        g["mean"] = g["total"] / g["n"]
        g["sd"] = np.sqrt(
            np.maximum(g["sum_sq"] / g["n"] - g["mean"] ** 2, 0.0) * g["n"] / np.maximum(g["n"] - 1, 1)
        )
        return g

    def strata(self) -> Strata:
        """Distinct covariate (and cluster) combinations and their share of all units."""
        columns = [self.level_idx[c] for c in self.levels]
        if self.cluster_idx is not None:
            columns.append(self.cluster_idx)
        if not columns:
            return Strata(level_idx={}, cluster_idx=None, weights=np.ones(1))
        uniq, inverse = np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)
        weights = np.bincount(inverse.ravel(), weights=self.n, minlength=len(uniq))
        return Strata(
            level_idx={c: uniq[:, i] for i, c in enumerate(self.levels)},
            cluster_idx=uniq[:, -1] if self.cluster_idx is not None else None,
            weights=weights / weights.sum(),
        )
