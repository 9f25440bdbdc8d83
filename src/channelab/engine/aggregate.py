"""The SQL that reduces unit rows to :class:`~channelab.cells.Cells`, run inside the engine.

Written once in DuckDB's dialect; Spark runs the same text rendered by sqlglot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from channelab.cells import (
    CELLS,
    Cells,
    Frequencies,
    FunnelCounts,
    MetricCells,
    NormalCells,
    PrePeriod,
    RateCells,
)
from channelab.engine.pairs import pair_cells, pair_statistics
from channelab.engine.quantiles import counted_value, quantile_unit_statistics
from channelab.engine.ratio import ratio_unit_statistics
from channelab.engine.source import (
    ROWS,
    Source,
    aggregate_columns,
    frame_source,
    metric_value,
    number,
    quote,
)
from channelab.engine.strata import strata_cuts, stratum, stratum_label
from channelab.engine.timing import entered_by, followed_sums, indicator, mature, survival_sums, timed_value
from channelab.spec import DESCRIPTIVE_TYPES, Metric, Spec

#: How weights count: as repeated rows, or as a cohort's sampling weights (see :func:`build_cells`).
WeightKind = Literal["frequency", "sampling"]

#: Prefix of the cell-key aliases in the aggregation queries; chosen not to clash with data columns.
_KEY = "__channelab_key"


def build_cells(
    source: Source, spec: Spec, *, weight: str | None = None, weights: WeightKind = "frequency"
) -> Cells:
    """Aggregate the rows of ``source`` into :class:`Cells` with one query per table, in its engine.

    With ``weight`` (a column of non-negative weights), every statistic is a weighted sum and
    rows of weight 0 are left out. ``weights="frequency"``: integer weights give exactly the
    cells of the rows repeated that many times. ``weights="sampling"`` (a matched or weighted
    cohort, weights rescaled to Kish's effective size): normal metrics' spreads are remade so
    that each cell's mean gets the sandwich variance (:func:`_sandwich_sum_sq`); the
    cross-products of metric pairs (:mod:`.pairs`) stay weighted sums, for a correlation. Aggregated
    rows (``data.layout: aggregated``) are summed statistic by statistic, so they give exactly
    the cells of the unit rows behind them. With an analysis date (``spec.as_of``) the cells
    are those of the test as it stood then (:mod:`channelab.engine.timing`): units entered by
    that date and, for a metric with an outcome window, only the mature ones (its own ``n``).

    Parameters
    ----------
    source
        The opened rows (DuckDB or Spark).
    spec
        The spec, with the likelihoods the data support (each metric's statistics are those of
        its row of :mod:`channelab.likelihoods`).
    weight
        A column of non-negative weights, or ``None``.
    weights
        How the weights count: ``frequency`` or ``sampling``.
    """
    cluster = spec.unit.randomised_by
    cuts = strata_cuts(source, spec)
    keys = [quote(k) for k in (spec.arm_column, *spec.covariates)]
    keys += [stratum(c, v) for c, v in cuts.items()] + ([quote(cluster)] if cluster else [])
    key_names = [f"{_KEY}{i}" for i in range(len(keys))]
    key_sql = ", ".join(f"CAST({k} AS VARCHAR) AS {a}" for k, a in zip(keys, key_names, strict=True))
    w = f"CAST({quote(weight)} AS DOUBLE)" if weight else "1.0"
    conditions = [c for c in (f"{w} > 0" if weight else None, entered_by(spec, spec.as_of)) if c]
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    spread = [m for m in spec.metrics if m.likelihood.exact_adjustment and m.stage is None]
    sandwich = bool(weight and weights == "sampling" and spec.input_kind != "aggregated rows" and spread)
    aggs = _aggregations(_row_statistics(spec, source.columns), w, spread if sandwich else [])
    by = ", ".join(str(i + 1) for i in range(len(keys)))  # ordinals: portable to Spark
    table = source.df(f"SELECT {key_sql}, {', '.join(aggs)} FROM {ROWS} {where} GROUP BY {by} ORDER BY {by}")

    keys_of = _decode_keys(table, key_names, spec, cuts)

    def stat(m: Metric, name: str) -> np.ndarray | None:
        alias = f"{m.name}__{name}"
        return table[alias].to_numpy(dtype=np.float64) if alias in table else None

    def frequencies(m: Metric) -> Frequencies:
        return _frequency_table(source, spec, m, table, key_sql, key_names, w, where)

    weighted_spread, k = _UNITS in table, len(spec.adjust)
    metrics = {
        m.name: _metric_cells(
            m,
            partial(stat, m),
            frequencies,
            sum_sq=_sandwich_sum_sq(table, m.name, k) if weighted_spread and m in spread else None,
            sum_xy=_stack(table, [f"{m.name}__xy{i}" for i in range(k)]),
        )
        for m in spec.metrics
    }

    return Cells(
        arms=keys_of.arms,
        arm_idx=keys_of.arm_idx,
        levels=keys_of.levels,
        level_idx=keys_of.level_idx,
        n=table["n"].to_numpy(dtype=np.float64),
        metrics=metrics,
        clusters=keys_of.clusters,
        cluster_idx=keys_of.cluster_idx,
        funnel=_funnel_counts(source, spec, w, where),
        pre_period=_pre_period(table, spec, cuts, keys_of.strata),
        pairs=pair_cells(table, spec),
    )


class _Keys(NamedTuple):
    """The cells' keys decoded: arm, covariate and stratum levels, clusters."""

    arms: tuple[str, ...]
    arm_idx: np.ndarray
    levels: dict[str, tuple[str, ...]]
    level_idx: dict[str, np.ndarray]
    strata: dict[str, tuple[str, ...]]
    clusters: tuple[str, ...]
    cluster_idx: np.ndarray | None


def _decode_keys(
    table: pd.DataFrame, key_names: list[str], spec: Spec, cuts: dict[str, tuple[float, ...]]
) -> _Keys:
    """Each cell's arm, covariate levels, pre-period strata (named by rank) and cluster."""
    arms = tuple(spec.arm_order)
    arm_idx = table[key_names[0]].map({a: i for i, a in enumerate(arms)}).to_numpy(dtype=np.int64)
    levels: dict[str, tuple[str, ...]] = {}
    level_idx: dict[str, np.ndarray] = {}
    for cov, alias in zip(spec.covariates, key_names[1:], strict=False):
        levels[cov], level_idx[cov] = _codes(table[alias])
    strata: dict[str, tuple[str, ...]] = {}
    for (col, at), alias in zip(cuts.items(), key_names[1 + len(spec.covariates) :], strict=False):
        codes = table[alias].astype(np.int64).to_numpy()
        observed = np.unique(codes)
        # levels named by rank, so that data with as many strata share the compiled model
        levels[col] = tuple(str(j + 1) for j in range(observed.size))
        level_idx[col] = np.searchsorted(observed, codes)
        strata[col] = tuple(stratum_label(at, int(j)) for j in observed)
    clusters, cluster_idx = _codes(table[key_names[-1]]) if spec.unit.randomised_by else ((), None)
    return _Keys(arms, arm_idx, levels, level_idx, strata, clusters, cluster_idx)


def _metric_cells(
    metric: Metric,
    stat: Callable[[str], np.ndarray | None],
    frequencies: Callable[[Metric], Frequencies],
    *,
    sum_sq: np.ndarray | None,
    sum_xy: np.ndarray | None,
) -> MetricCells:
    """One metric's typed cell statistics: those its likelihood's row of the table names.

    ``stat(name)`` reads a summed statistic (``None`` when not computed); ``sum_sq``, when
    given, replaces Σ y² (a weighted cohort's sandwich spread).
    """
    row = metric.likelihood
    total = stat("total")
    assert total is not None
    summed = stat("sum_sq") if sum_sq is None else sum_sq
    values: dict[str, Any] = {
        "metric": metric,
        "total": total,
        "sum_sq": np.full_like(total, np.nan) if summed is None else summed,
        "n": stat("n"),
    }
    values |= {s: stat(s) for s in row.statistics if s not in (*values, "frequencies", "events", "exposure")}
    if "frequencies" in row.statistics:
        values["frequencies"] = frequencies(metric)
    kind = CELLS[row.family]
    if metric.survival:  # per interval since entry
        values |= survival_sums(metric, stat)
    if issubclass(kind, RateCells):
        values["trials"] = stat("trials")
    if issubclass(kind, NormalCells):
        values["sum_xy"] = sum_xy
    return kind(**values)


def _aggregations(per_row: Mapping[str, str], w: str, spread: list[Metric]) -> list[str]:
    """The SQL sums of every statistic; with ``spread`` (sampling weights), the squared-weight sums too."""
    aggs = [f"fsum({w} * {expr}) AS {alias}" for alias, expr in per_row.items()]
    if spread:
        squared = _squared_weight_statistics(per_row, spread)
        aggs += [f"fsum({w} * {w} * {expr}) AS {a}" for a, expr in squared.items()]
        aggs.append(f"fsum(CAST({w} > 0 AS DOUBLE)) AS {_UNITS}")
    return aggs


#: Alias of the count of weighted units per cell (weighted cells of normal metrics only).
_UNITS = "n__units"


def _squared_weight_statistics(per_row: Mapping[str, str], metrics: list[Metric]) -> dict[str, str]:
    """The sums with squared weights a weighted normal metric's spread needs: ``{alias}__w2``."""
    wanted = ["n"] + [a for a in per_row if a.startswith("adjust__")]
    for m in metrics:
        wanted += [a for a in per_row if a == f"{m.name}__total" or a == f"{m.name}__sum_sq"]
        wanted += [a for a in per_row if a.startswith(f"{m.name}__xy")]
    return {f"{a}__w2": per_row[a] for a in dict.fromkeys(wanted)}


def _sandwich_sum_sq(table: pd.DataFrame, name: str, k: int) -> np.ndarray:
    """A weighted normal metric's Σ w y², remade so its spread gives the sandwich variance.

    With weights w rescaled to Kish's effective size (Σw = Σw² per arm), the model reads a
    cell's mean with variance s² / Σw, where s² comes from the within-cell residuals. Kish's
    scaling assumes every unit's outcome varies alike; when heavily weighted units vary less
    (or more), that variance is too wide (or narrow). The sandwich (linearisation) variance
    of a weighted mean, Σ w² e² / (Σ w)², holds whatever the spread: so the within-cell
    residual sum of squares Σ w e² is replaced by Σ w² e², the residuals e taken from the
    cell's own weighted regression on the ``adjust`` columns (none: deviations from the mean).
    Means, slopes and the explained part are unchanged; unit weights change nothing. A cell
    with too few units for its slopes keeps Σ w e².
    """
    n = table["n"].to_numpy(dtype=np.float64)
    cols_w = [f"{name}__total"] + [f"adjust__{i}" for i in range(k)]
    first_w = np.column_stack([table[c].to_numpy(dtype=np.float64) for c in cols_w])
    first_w2 = np.column_stack([table[f"{c}__w2"].to_numpy(dtype=np.float64) for c in cols_w])
    second, second_w2 = _moments(table, name, k, ""), _moments(table, name, k, "__w2")
    mean = first_w / n[:, None]
    n_w2 = table["n__w2"].to_numpy(dtype=np.float64)
    outer_mean = mean[:, :, None] * mean[:, None, :]
    centred_w = second - n[:, None, None] * outer_mean
    centred_w2 = (
        second_w2
        - mean[:, :, None] * first_w2[:, None, :]
        - first_w2[:, :, None] * mean[:, None, :]
        + n_w2[:, None, None] * outer_mean
    )
    sum_sq = second[:, 0, 0].copy()
    units = table[_UNITS].to_numpy(dtype=np.float64)
    for c in np.flatnonzero(units > k + 1):
        beta = np.linalg.pinv(centred_w[c, 1:, 1:]) @ centred_w[c, 1:, 0] if k else np.zeros(0)
        resid = np.concatenate([[1.0], -beta])  # e = (y - ȳ) - β·(x - x̄)
        rss_w, rss_w2 = resid @ centred_w[c] @ resid, resid @ centred_w2[c] @ resid
        sum_sq[c] += max(rss_w2, 0.0) - max(rss_w, 0.0)
    return sum_sq


def _moments(table: pd.DataFrame, name: str, k: int, suffix: str) -> np.ndarray:
    """Per cell, the weighted sums of products of (y, x₁ … x_k): dims (cell, k + 1, k + 1)."""
    out = np.empty((len(table), k + 1, k + 1))
    out[:, 0, 0] = table[f"{name}__sum_sq{suffix}"].to_numpy(dtype=np.float64)
    for i in range(k):
        out[:, 0, i + 1] = out[:, i + 1, 0] = table[f"{name}__xy{i}{suffix}"].to_numpy(dtype=np.float64)
        for j in range(i, k):
            out[:, i + 1, j + 1] = out[:, j + 1, i + 1] = table[f"adjust__{i}_{j}{suffix}"].to_numpy(
                dtype=np.float64
            )
    return out


def _stack(table: pd.DataFrame, aliases: list[str]) -> np.ndarray | None:
    """Columns of ``table`` as one (cell, k) array; ``None`` when absent."""
    if not aliases or aliases[0] not in table:
        return None
    return table[aliases].to_numpy(dtype=np.float64)


def _pre_period(
    table: pd.DataFrame, spec: Spec, cuts: dict[str, tuple[float, ...]], strata: dict[str, tuple[str, ...]]
) -> PrePeriod | None:
    k = len(spec.adjust)
    if not k:
        return None
    sum_x = _stack(table, [f"adjust__{i}" for i in range(k)])
    assert sum_x is not None
    sum_xx = np.empty((len(table), k, k))
    for i in range(k):
        for j in range(i, k):
            sum_xx[:, i, j] = sum_xx[:, j, i] = table[f"adjust__{i}_{j}"].to_numpy(dtype=np.float64)
    return PrePeriod(columns=tuple(spec.adjust), sum_x=sum_x, sum_xx=sum_xx, cuts=cuts, strata=strata)


def _row_statistics(spec: Spec, columns: Mapping[str, str]) -> dict[str, str]:
    """Per statistic alias, the SQL of one row's contribution: a unit's, or an aggregated row's."""
    if spec.input_kind == "aggregated rows":
        return _aggregated_row_statistics(spec, columns)
    out = {"n": "1.0"}
    x = [number(c) for c in spec.adjust]
    for i, xi in enumerate(x):
        out[f"adjust__{i}"] = xi
        out.update({f"adjust__{i}_{j}": f"{xi} * {x[j]}" for j in range(i, len(x))})
    for m in spec.metrics:
        out.update({f"{m.name}__{k}": v for k, v in _unit_statistics(m, spec, columns, x).items()})
    return out | pair_statistics(spec, columns)


def _aggregated_row_statistics(spec: Spec, columns: Mapping[str, str]) -> dict[str, str]:
    """Aggregated rows: each statistic is its own column, summed as it is."""
    assert spec.data is not None
    out = {"n": number(spec.data.units)}
    by_name = {m.name: m for m in spec.metrics}
    for m in spec.metrics:
        present, _ = aggregate_columns(m, columns)
        stats = {stat: number(col) for stat, col in present.items()}
        if m.type == "binary":  # y² = y for 0/1 values
            stats["sum_sq"] = stats["total"]
        if m.stage is not None:
            stats["trials"] = number(by_name[m.stage].source_column)
        out.update({f"{m.name}__{stat}": expr for stat, expr in stats.items()})
    return out


def _unit_statistics(m: Metric, spec: Spec, columns: Mapping[str, str], x: list[str]) -> dict[str, str]:
    """One metric's statistics from a unit row: those its likelihood needs, over mature units only."""
    if m.type == "ratio":  # two columns, no timing
        return ratio_unit_statistics(m)
    if m.type == "quantile":  # the units counted, no timing
        return quantile_unit_statistics(m, columns)
    y = _known_value(m, spec, columns)
    stats = {"total": y, "sum_sq": f"{y} * {y}"}
    if m.likelihood.exact_adjustment:
        stats.update({f"xy{i}": f"{xi} * {y}" for i, xi in enumerate(x)})
    if "n_pos" in m.likelihood.statistics:
        stats["n_pos"] = f"(CASE WHEN {y} > 0 THEN 1.0 ELSE 0.0 END)"
        stats["sum_log"] = f"(CASE WHEN {y} > 0 THEN ln({y}) ELSE 0.0 END)"
        stats["sum_log_sq"] = f"(CASE WHEN {y} > 0 THEN ln({y}) * ln({y}) ELSE 0.0 END)"
    if m.stage is not None:
        reached = _known_value(next(d for d in spec.metrics if d.name == m.stage), spec, columns)
        stats["trials"] = f"(CASE WHEN {reached} > 0 THEN 1.0 ELSE 0.0 END)"
    ripe = mature(m, spec, spec.as_of)
    if ripe is not None:  # only units whose window has closed count, and they are its n
        stats = {k: f"{indicator(ripe)} * {v}" for k, v in stats.items()} | {"n": indicator(ripe)}
    if m.survival:  # every entered unit, for the days it has been followed
        stats |= followed_sums(m, spec, metric_value(m, columns))
    return stats


def _known_value(metric: Metric, spec: Spec, columns: Mapping[str, str]) -> str:
    """SQL of a unit's value of ``metric`` as known at the analysis date (see :mod:`.timing`)."""
    return timed_value(metric, metric_value(metric, columns), spec, spec.as_of)


def _funnel_pairs(spec: Spec) -> list[tuple[Metric, Metric]]:
    """(engagement, outcome) pairs whose follow-through the data can show.

    From unit rows every engagement metric with every binary or count outcome; from aggregated
    rows only an outcome measured among an engagement metric (``denominator``).
    """
    engagement = [m for m in spec.metrics if m.role == "engagement" and m.type not in DESCRIPTIVE_TYPES]
    outcomes = [m for m in spec.metrics if m.role == "outcome" and m.type in ("binary", "count")]
    if spec.input_kind == "aggregated rows":
        return [(e, o) for o in outcomes for e in engagement if o.stage == e.name]
    return [(e, o) for e in engagement for o in outcomes]


def _funnel_counts(source: Source, spec: Spec, w: str, where: str) -> tuple[FunnelCounts, ...]:
    """Per arm, the engaged units and those of them who took each outcome step (one query)."""
    pairs = _funnel_pairs(spec)
    if not pairs:
        return ()
    aggs = []
    for i, (e, o) in enumerate(pairs):
        if spec.input_kind == "aggregated rows":
            aggs += [f"fsum({number(e.source_column)}) AS e{i}", f"fsum({number(o.source_column)}) AS eo{i}"]
            continue
        engaged = f"{_known_value(e, spec, source.columns)} > 0"
        took = f"{_known_value(o, spec, source.columns)} > 0"
        ripe = " AND ".join(c for c in (mature(e, spec, spec.as_of), mature(o, spec, spec.as_of)) if c)
        if ripe:  # the mature units of both steps
            engaged, took = f"{ripe} AND {engaged}", f"{ripe} AND {took}"
        for alias, cond in (
            (f"e{i}", engaged),
            (f"eo{i}", f"{engaged} AND {took}"),
            (f"u{i}", f"{ripe or 'TRUE'} AND NOT ({engaged})"),
            (f"uo{i}", f"{ripe or 'TRUE'} AND NOT ({engaged}) AND {took}"),
        ):
            aggs.append(f"fsum(CASE WHEN {cond} THEN {w} ELSE 0.0 END) AS {alias}")
    arm = f"CAST({quote(spec.arm_column)} AS VARCHAR)"
    table = source.df(f"SELECT {arm} AS {_KEY}arm, {', '.join(aggs)} FROM {ROWS} {where} GROUP BY 1")
    table = table.set_index(f"{_KEY}arm").reindex(spec.arm_order)

    def col(alias: str) -> np.ndarray | None:
        return table[alias].to_numpy(dtype=np.float64) if alias in table else None

    out = []
    for i, (e, o) in enumerate(pairs):
        reached, both = col(f"e{i}"), col(f"eo{i}")
        assert reached is not None
        assert both is not None
        out.append(FunnelCounts(e.name, o.name, reached, both, col(f"u{i}"), col(f"uo{i}")))
    return tuple(out)


def summary_cells(spec: Spec) -> Cells:
    """The cells of a published per-arm table (``data.summaries``): one cell per arm.

    A proportion p of n gives n·p successes; a mean and sd give Σ y = n·mean and
    Σ y² = (n − 1)·sd² + n·mean², the statistics the model of cell means needs.
    """
    assert spec.data is not None
    assert spec.data.summaries is not None
    table = spec.data.summaries
    arms = tuple(spec.arm_order)
    n = np.array([table[a].n.value for a in arms], dtype=np.float64)
    metrics = {}
    for m in spec.metrics:
        given = [table[a].metrics[m.name] for a in arms]
        if m.type == "binary":
            total = n * np.array([g.proportion.value for g in given if g.proportion is not None])
            sum_sq = total
        else:
            mean = np.array([g.mean.value for g in given if g.mean is not None])
            sd = np.array([g.sd.value for g in given if g.sd is not None])
            total, sum_sq = n * mean, (n - 1) * sd**2 + n * mean**2
        metrics[m.name] = _metric_cells(
            m, {"total": total, "sum_sq": sum_sq}.get, _no_frequencies, sum_sq=None, sum_xy=None
        )
    return Cells(arms=arms, arm_idx=np.arange(len(arms)), levels={}, level_idx={}, n=n, metrics=metrics)


def _no_frequencies(metric: Metric) -> Frequencies:
    raise AssertionError(f"metric {metric.name!r}: published summaries hold no frequency table")


def _codes(column: pd.Series) -> tuple[tuple[str, ...], np.ndarray]:
    """Sorted distinct labels of a key column, and each row's index into them."""
    labels = tuple(sorted(column.unique()))
    return labels, column.map({v: j for j, v in enumerate(labels)}).to_numpy(dtype=np.int64)


def _frequency_table(
    source: Source,
    spec: Spec,
    metric: Metric,
    cells: pd.DataFrame,
    key_sql: str,
    key_names: list[str],
    weight: str,
    where: str,
) -> Frequencies:
    """Units (weighted) per (cell, value) of a count metric: the exact data of a negative binomial.

    With an outcome window, the mature units only; for a quantile metric, its counted values.
    """
    quantile = metric.type == "quantile"
    y = (
        counted_value(metric, source.columns)
        if quantile
        else f"CAST({_known_value(metric, spec, source.columns)} AS BIGINT)"
    )
    ripe = f"{y} IS NOT NULL" if quantile else mature(metric, spec, spec.as_of)
    if ripe is not None:
        where = f"{where} AND {ripe}" if where else f"WHERE {ripe}"
    by = ", ".join(str(i + 1) for i in range(len(key_names) + 1))
    freq = source.df(
        f"SELECT {key_sql}, {y} AS {_KEY}value, fsum({weight}) AS units FROM {ROWS} {where} "
        f"GROUP BY {by} ORDER BY {by}"
    )
    cell_of = {tuple(r): i for i, r in enumerate(cells[key_names].itertuples(index=False, name=None))}
    rows = freq[key_names].itertuples(index=False, name=None)
    return Frequencies(
        cell=np.fromiter((cell_of[tuple(r)] for r in rows), dtype=np.int64),
        value=freq[f"{_KEY}value"].to_numpy(dtype=np.float64 if quantile else np.int64),
        units=freq["units"].to_numpy(dtype=np.float64),
    )


def frame_cells(rows: pd.DataFrame, spec: Spec, *, name: str = "<data frame>") -> Cells:
    """The :class:`Cells` of an in-memory frame of unit rows (simulations, assurance, calibration)."""
    with frame_source(rows, name=name) as source:
        return build_cells(source, spec)
