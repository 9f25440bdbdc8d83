"""The SQL that reduces unit rows to :class:`~channelab.cells.Cells`, run inside the engine.

Written once in DuckDB's dialect; Spark runs the same text rendered by sqlglot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from channelab.cells import Cells, MetricCells
from channelab.engine.source import ROWS, Source, frame_source, metric_value, quote
from channelab.spec import Metric, Spec

#: Prefix of the cell-key aliases in the aggregation queries; chosen not to clash with data columns.
_KEY = "__channelab_key"


def build_cells(source: Source, spec: Spec, *, weight: str | None = None) -> Cells:
    """Aggregate the rows of ``source`` into :class:`Cells` with one query per table, in its engine.

    With ``weight`` (a column of non-negative weights, e.g. from matching), every statistic is
    a weighted sum and rows of weight 0 are left out: integer weights give exactly the cells
    of the rows repeated that many times.
    """
    cluster = spec.unit.randomised_by
    keys = [spec.arm_column, *spec.covariates, *([cluster] if cluster else [])]
    key_names = [f"{_KEY}{i}" for i in range(len(keys))]
    key_sql = ", ".join(f"CAST({quote(k)} AS VARCHAR) AS {a}" for k, a in zip(keys, key_names, strict=True))
    w = f"CAST({quote(weight)} AS DOUBLE)" if weight else "1.0"
    where = f"WHERE {w} > 0" if weight else ""
    aggs = [f"fsum({w}) AS n"]
    for m in spec.metrics:
        y = metric_value(m)
        aggs += [f"fsum({w} * {y}) AS {m.name}__total", f"fsum({w} * {y} * {y}) AS {m.name}__sum_sq"]
        if m.type == "revenue":
            aggs += [
                f"coalesce(fsum({w}) FILTER (WHERE {y} > 0), 0) AS {m.name}__n_pos",
                f"coalesce(fsum({w} * ln({y})) FILTER (WHERE {y} > 0), 0) AS {m.name}__sum_log",
                f"coalesce(fsum({w} * ln({y}) * ln({y})) FILTER (WHERE {y} > 0), 0) AS {m.name}__sum_log_sq",
            ]
    by = ", ".join(str(i + 1) for i in range(len(keys)))  # ordinals: portable to Spark
    table = source.df(f"SELECT {key_sql}, {', '.join(aggs)} FROM {ROWS} {where} GROUP BY {by} ORDER BY {by}")

    arms = tuple(spec.arm_order)
    arm_idx = table[key_names[0]].map({a: i for i, a in enumerate(arms)}).to_numpy(dtype=np.int64)
    levels: dict[str, tuple[str, ...]] = {}
    level_idx: dict[str, np.ndarray] = {}
    for cov, alias in zip(spec.covariates, key_names[1:], strict=False):
        levels[cov], level_idx[cov] = _codes(table[alias])
    clusters, cluster_idx = _codes(table[key_names[-1]]) if cluster else ((), None)

    def stat(m: Metric, name: str) -> np.ndarray:
        return table[f"{m.name}__{name}"].to_numpy(dtype=np.float64)

    metrics: dict[str, MetricCells] = {}
    for m in spec.metrics:
        extra: dict[str, np.ndarray] = {}
        if m.type == "revenue":
            extra = {name: stat(m, name) for name in ("n_pos", "sum_log", "sum_log_sq")}
        elif m.type == "count":
            extra = _frequency_table(source, m, table, key_sql, key_names, w, where)
        metrics[m.name] = MetricCells(metric=m, total=stat(m, "total"), sum_sq=stat(m, "sum_sq"), **extra)

    return Cells(
        arms=arms,
        arm_idx=arm_idx,
        levels=levels,
        level_idx=level_idx,
        n=table["n"].to_numpy(dtype=np.float64),
        metrics=metrics,
        clusters=clusters,
        cluster_idx=cluster_idx,
    )


def _codes(column: pd.Series) -> tuple[tuple[str, ...], np.ndarray]:
    """Sorted distinct labels of a key column, and each row's index into them."""
    labels = tuple(sorted(column.unique()))
    return labels, column.map({v: j for j, v in enumerate(labels)}).to_numpy(dtype=np.int64)


def _frequency_table(
    source: Source,
    metric: Metric,
    cells: pd.DataFrame,
    key_sql: str,
    key_names: list[str],
    weight: str,
    where: str,
) -> dict[str, np.ndarray]:
    """Units (weighted) per (cell, value) of a count metric: the exact data of a negative binomial."""
    y = f"CAST({metric_value(metric)} AS BIGINT)"
    by = ", ".join(str(i + 1) for i in range(len(key_names) + 1))
    freq = source.df(
        f"SELECT {key_sql}, {y} AS {_KEY}value, fsum({weight}) AS units FROM {ROWS} {where} "
        f"GROUP BY {by} ORDER BY {by}"
    )
    cell_of = {tuple(r): i for i, r in enumerate(cells[key_names].itertuples(index=False, name=None))}
    rows = freq[key_names].itertuples(index=False, name=None)
    return {
        "freq_cell": np.fromiter((cell_of[tuple(r)] for r in rows), dtype=np.int64),
        "freq_value": freq[f"{_KEY}value"].to_numpy(dtype=np.int64),
        "freq_units": freq["units"].to_numpy(dtype=np.float64),
    }


def frame_cells(rows: pd.DataFrame, spec: Spec, *, name: str = "<data frame>") -> Cells:
    """The :class:`Cells` of an in-memory frame of unit rows (simulations, assurance, calibration)."""
    with frame_source(rows, name=name) as source:
        return build_cells(source, spec)
