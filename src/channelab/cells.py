"""Exact sufficient statistics per cell (arm × stratum × cluster): the value types the model sees.

A *stratum* is one combination of covariate levels. The model only ever sees these cells,
so its cost depends on the number of cells, not rows. Each likelihood family
(:mod:`channelab.likelihoods`) has its own frozen class of statistics (:data:`CELLS`):

================= ================================================================
every family      n, Σ y, Σ y² (:class:`MetricCells`; the Poisson needs no more)
binomial          and the trials, for a metric with a denominator (:class:`RateCells`)
negative binomial and a frequency table (cell, value, units) (:class:`CountCells`); a quantile too
lognormal hurdle  and n_pos, Σ log y, Σ (log y)² over y > 0 (:class:`HurdleCells`)
normal            and Σ x y of the pre-period columns x (:class:`NormalCells`)
time to event     and per interval since entry, events and days at risk (:class:`SurvivalCells`)
ratio             and the denominator's Σ y, Σ y² and Σ x y with the numerator (:class:`RatioCells`)
================= ================================================================

Pairs of metrics measured on the same units also carry their cross-products per cell
(:class:`PairCells`): the data behind the sampling correlation of their effects.

With pre-period columns to adjust for (``adjust``), every cell also carries Σ x and Σ x xᵀ,
and every metric with a normal model Σ x y: the exact statistics of a linear adjustment. For
the other metrics the engine splits the cells by quantile strata of each column, which enter
the model as levels (:attr:`PrePeriod.cuts`).

The engine builds them (:func:`channelab.engine.aggregate.build_cells`); this module holds
only the types, so the model layer never loads a data engine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar, Self, override

import numpy as np
import pandas as pd

from channelab.spec import Metric


@dataclass(frozen=True, kw_only=True)
class MetricCells:
    """Sufficient statistics of one metric, one entry per cell: what every family reads.

    The base class serves the Poisson; each other family has its own subclass with the
    statistics it needs (:data:`CELLS`, keyed by :attr:`channelab.likelihoods.Likelihood.family`).

    Attributes
    ----------
    metric
        The metric.
    total
        Σ y per cell (successes, for a binary metric).
    sum_sq
        Σ y² per cell; NaN where aggregated rows do not give it.
    n
        Units counted for this metric when fewer than the cell's: those whose outcome window
        had closed by the analysis date (``None``: every unit of the cell).
    """

    metric: Metric
    total: np.ndarray
    sum_sq: np.ndarray
    n: np.ndarray | None = None

    #: The per-cell sums of this class that add up when cells are merged.
    sums: ClassVar[tuple[str, ...]] = ("total", "sum_sq", "n")

    @property
    def reached(self) -> np.ndarray | None:
        """Units per cell who reached an earlier stage (a rate's denominator), else ``None``."""
        return None

    def merged(self, inverse: np.ndarray, size: int) -> Self:
        """The statistics of merged cells: ``inverse[c]`` is the merged cell of cell ``c``.

        Parameters
        ----------
        inverse
            For each cell, the index of the merged cell it joins.
        size
            The number of merged cells.
        """

        def add(x: np.ndarray | None) -> np.ndarray | None:
            return None if x is None else np.bincount(inverse, weights=x, minlength=size)

        changes: dict[str, Any] = {name: add(getattr(self, name)) for name in self.sums}
        return replace(self, **changes)


@dataclass(frozen=True, kw_only=True)
class RateCells(MetricCells):
    """A binary metric's successes (:attr:`total`) and, with a ``denominator``, its trials.

    ``trials`` are the units who reached the earlier stage; without a denominator, the units.
    """

    trials: np.ndarray | None = None

    sums: ClassVar[tuple[str, ...]] = (*MetricCells.sums, "trials")

    @property
    @override
    def reached(self) -> np.ndarray | None:
        return self.trials


@dataclass(frozen=True, kw_only=True)
class SurvivalCells(RateCells):
    """A binary outcome's time to event: per cell and interval since entry, first events and days at risk.

    Every entered unit counts for the days it has been followed (up to the window's end, its
    outcome, or the analysis date): a unit followed through day d (its outcome on day d, or no
    outcome by then) is at risk on days 0 … d, and interval k = [b_k, b_k+1) of :attr:`bounds`
    holds max(0, min(b_k+1, d + 1) − b_k) of those days. Σ over units of events·log λ − days·λ per
    interval is the row-level piecewise-exponential log-likelihood, so these sums are exact.
    :attr:`total` and :attr:`n` stay those of the units whose window has closed (the raw answer).

    Attributes
    ----------
    events, exposure
        Dims (cell, interval): first events, and days at risk.
    bounds
        The intervals' bounds in days since entry (:attr:`channelab.spec.Metric.interval_bounds`).
    """

    events: np.ndarray
    exposure: np.ndarray
    bounds: tuple[int, ...]

    @override
    def merged(self, inverse: np.ndarray, size: int) -> Self:
        def add(x: np.ndarray) -> np.ndarray:
            return np.stack([np.bincount(inverse, weights=col, minlength=size) for col in x.T], axis=1)

        return replace(super().merged(inverse, size), events=add(self.events), exposure=add(self.exposure))

    @property
    def widths(self) -> np.ndarray:
        """Days in each interval (the last ends with the window's last day)."""
        return np.diff(np.asarray(self.bounds, dtype=np.float64))

    def followed(self, day: int) -> np.ndarray:
        """Per interval, its days on or before ``day`` since entry.

        The exposure of a unit followed through ``day`` without an outcome.
        """
        b = np.asarray(self.bounds, dtype=np.float64)
        return np.clip(day + 1 - b[:-1], 0.0, np.diff(b))


@dataclass(frozen=True)
class Frequencies:
    """How many units (weighted) took each value in each cell: a count's (or a quantile's) exact data.

    Attributes
    ----------
    cell, value, units
        One entry per (cell, value) pair: the cell, the value, the units.
    """

    cell: np.ndarray
    value: np.ndarray
    units: np.ndarray


@dataclass(frozen=True, kw_only=True)
class CountCells(MetricCells):
    """A count's sums and frequency table (the negative binomial's exact likelihood; a quantile's values)."""

    frequencies: Frequencies

    @override
    def merged(self, inverse: np.ndarray, size: int) -> Self:
        moved = replace(self.frequencies, cell=inverse[self.frequencies.cell])
        return replace(super().merged(inverse, size), frequencies=moved)


@dataclass(frozen=True, kw_only=True)
class HurdleCells(MetricCells):
    """Revenue's count of positive amounts and Σ log y, Σ (log y)² over them (the lognormal hurdle)."""

    n_pos: np.ndarray
    sum_log: np.ndarray
    sum_log_sq: np.ndarray

    sums: ClassVar[tuple[str, ...]] = (*MetricCells.sums, "n_pos", "sum_log", "sum_log_sq")


@dataclass(frozen=True, kw_only=True)
class NormalCells(MetricCells):
    """The normal model's sums and, with pre-period columns x, Σ x y per cell (dims cell, column)."""

    sum_xy: np.ndarray | None = None

    @override
    def merged(self, inverse: np.ndarray, size: int) -> Self:
        return replace(super().merged(inverse, size), sum_xy=None)


@dataclass(frozen=True, kw_only=True)
class RatioCells(MetricCells):
    """A ratio's sums per cell: numerator x's Σ x, Σ x²; denominator y's Σ y, Σ y²; and Σ x y (``cross``)."""

    den_total: np.ndarray
    den_sum_sq: np.ndarray
    cross: np.ndarray

    sums: ClassVar[tuple[str, ...]] = (*MetricCells.sums, "den_total", "den_sum_sq", "cross")


#: The cell statistics of each model family (:attr:`channelab.likelihoods.Likelihood.family`).
CELLS: dict[str, type[MetricCells]] = {
    "binomial": RateCells,
    "piecewise_exponential": SurvivalCells,
    "poisson": MetricCells,
    "negative_binomial": CountCells,
    "lognormal_hurdle": HurdleCells,
    "normal": NormalCells,
    "ratio_normal": RatioCells,
    "bayesian_bootstrap": CountCells,
}


@dataclass(frozen=True)
class PairCells:
    """Cross-products of two metrics per cell, over the units counted for both.

    The same units engage and book meetings, so the estimates of two metrics' means are
    correlated by the data; these sums give that correlation exactly
    (:mod:`channelab.analysis.covariance`). Only from unit rows: aggregated rows and published
    summaries hold no cross-products, and a share among an earlier stage (``denominator``) is
    measured on other units. Weighted rows give weighted sums, as every other statistic.

    Attributes
    ----------
    metric_a, metric_b
        The two metrics' names.
    n
        Units per cell counted for both metrics (for metrics with outcome windows, the units
        mature for both).
    sum_a, sum_b
        Σ y_a and Σ y_b over those units.
    sum_ab
        Σ y_a·y_b over those units.
    sum_aa, sum_bb
        Σ y_a² and Σ y_b² over those units, so that both spreads are of the same units.
    """

    metric_a: str
    metric_b: str
    n: np.ndarray
    sum_a: np.ndarray
    sum_b: np.ndarray
    sum_ab: np.ndarray
    sum_aa: np.ndarray
    sum_bb: np.ndarray

    #: The per-cell sums, which add up when cells are merged.
    sums: ClassVar[tuple[str, ...]] = ("n", "sum_a", "sum_b", "sum_ab", "sum_aa", "sum_bb")

    def merged(self, inverse: np.ndarray, size: int) -> PairCells:
        """The sums of merged cells: ``inverse[c]`` is the merged cell of cell ``c``.

        Parameters
        ----------
        inverse
            For each cell, the index of the merged cell it joins.
        size
            The number of merged cells.
        """
        changes: dict[str, Any] = {
            s: np.bincount(inverse, weights=getattr(self, s), minlength=size) for s in self.sums
        }
        return replace(self, **changes)


@dataclass(frozen=True)
class PrePeriod:
    """The pre-period columns adjusted for, per cell: their sums and cross-products.

    ``sum_x`` has dims (cell, column) and ``sum_xx`` (cell, column, column). ``cuts`` holds,
    per column split into quantile strata, the cut points (a value above ``cuts[j - 1]`` and
    at most ``cuts[j]`` is in stratum j). The strata with units are levels of
    :attr:`Cells.levels`, named ``1``, ``2``, ... in order; ``strata`` gives their ranges in words.
    """

    columns: tuple[str, ...]
    sum_x: np.ndarray
    sum_xx: np.ndarray
    cuts: dict[str, tuple[float, ...]]
    strata: dict[str, tuple[str, ...]]

    def moments(self, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sd of each column over all units (``n`` units per cell); an sd of 0 reads 1."""
        total = n.sum()
        mean = self.sum_x.sum(axis=0) / total
        var = np.diagonal(self.sum_xx.sum(axis=0)) / total - mean**2
        sd = np.sqrt(np.maximum(var, 0.0))
        return mean, np.where(sd > 0, sd, 1.0)

    def standardised(self, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per cell Σ u and Σ u uᵀ of the columns standardised over all units, u = (x − mean) / sd."""
        mean, sd = self.moments(n)
        u_sum = (self.sum_x - n[:, None] * mean) / sd
        outer = self.sum_x[:, :, None] * mean[None, None, :]
        uu_sum = (
            self.sum_xx - outer - outer.transpose(0, 2, 1) + n[:, None, None] * np.outer(mean, mean)
        ) / np.outer(sd, sd)
        return u_sum, uu_sum


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
    pre_period
        Sums of the pre-period columns adjusted for (``adjust``), when there are any.
    pairs
        Cross-products of pairs of metrics measured on the same units (unit rows only; empty
        where the data cannot give them).
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
    pre_period: PrePeriod | None = None
    pairs: tuple[PairCells, ...] = ()

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return int(self.n.size)

    @property
    def n_units(self) -> int:
        """Number of units over all cells."""
        return int(self.n.sum())

    @property
    def covariates(self) -> dict[str, tuple[str, ...]]:
        """Levels of the spec's covariates: :attr:`levels` without the pre-period strata."""
        cuts = self.pre_period.cuts if self.pre_period is not None else {}
        return {c: lv for c, lv in self.levels.items() if c not in cuts}

    def without_adjustment(self) -> Cells:
        """The cells of the same units without the pre-period columns: strata merged, sums dropped.

        Exactly what aggregating the rows without ``adjust`` gives, so that a fit on them shows
        what the adjustment gained.
        """
        if self.pre_period is None:
            return self
        keep = list(self.covariates)
        columns = [self.arm_idx, *(self.level_idx[c] for c in keep)]
        if self.cluster_idx is not None:
            columns.append(self.cluster_idx)
        uniq, inverse = np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)
        inverse = inverse.ravel()

        size = len(uniq)
        metrics = {name: m.merged(inverse, size) for name, m in self.metrics.items()}
        return replace(
            self,
            arm_idx=uniq[:, 0],
            levels={c: self.levels[c] for c in keep},
            level_idx={c: uniq[:, 1 + i] for i, c in enumerate(keep)},
            n=np.bincount(inverse, weights=self.n, minlength=size),
            metrics=metrics,
            cluster_idx=uniq[:, -1] if self.cluster_idx is not None else None,
            pre_period=None,
            pairs=tuple(p.merged(inverse, size) for p in self.pairs),
        )

    def pair(self, metric_a: str, metric_b: str) -> PairCells | None:
        """The cross-products of two metrics (in either order), or ``None`` where there are none.

        Parameters
        ----------
        metric_a, metric_b
            The two metrics' names.
        """
        wanted = {metric_a, metric_b}
        return next(
            (p for p in self.pairs if {p.metric_a, p.metric_b} == wanted and metric_a != metric_b), None
        )

    def units(self, metric: str) -> np.ndarray:
        """Units per cell that count for ``metric``: the cell's, or its mature units."""
        own = self.metrics[metric].n
        return self.n if own is None else own

    def per_arm(self, values: np.ndarray) -> np.ndarray:
        """A per-cell array summed per arm, in :attr:`arms` order."""
        return np.bincount(self.arm_idx, weights=values, minlength=len(self.arms))

    def maturing(self, metric: str) -> np.ndarray:
        """Per arm (in :attr:`arms` order), the units whose outcome window for ``metric`` is still open."""
        return self.per_arm(self.n - self.units(metric))

    def arm_totals(self, metric: str) -> pd.DataFrame:
        """Observed units, sum, mean and sd of ``metric`` per arm (exact, from the cells).

        For a metric with a denominator, ``n`` counts the units who reached that earlier stage;
        for one with an outcome window, the units whose window had closed.
        """
        m = self.metrics[metric]
        n = self.units(metric) if m.reached is None else m.reached
        columns = {"n": n, "total": m.total, "sum_sq": m.sum_sq}
        g = pd.DataFrame(  # bincount per arm, not a group-by: this is called per effect, per fit
            {k: self.per_arm(v).astype(np.asarray(v).dtype) for k, v in columns.items()},
            index=pd.Index(self.arms, name="arm"),
        )
        g["mean"] = g["total"] / g["n"]
        g["sd"] = np.sqrt(
            np.maximum(g["sum_sq"] / g["n"] - g["mean"] ** 2, 0.0) * g["n"] / np.maximum(g["n"] - 1, 1)
        )
        return g

    def strata(self, *, within: list[int] | None = None) -> Strata:
        """Distinct covariate (and cluster) combinations and their share of all units.

        With ``within`` (arm indices), the shares are those of those arms' units: the
        treated mix, for an effect on the treated.
        """
        columns = [self.level_idx[c] for c in self.levels]
        if self.cluster_idx is not None:
            columns.append(self.cluster_idx)
        if not columns:
            return Strata(level_idx={}, cluster_idx=None, weights=np.ones(1))
        uniq, inverse = np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)
        n = self.n if within is None else np.where(np.isin(self.arm_idx, within), self.n, 0.0)
        weights = np.bincount(inverse.ravel(), weights=n, minlength=len(uniq))
        return Strata(
            level_idx={c: uniq[:, i] for i, c in enumerate(self.levels)},
            cluster_idx=uniq[:, -1] if self.cluster_idx is not None else None,
            weights=weights / weights.sum(),
        )
