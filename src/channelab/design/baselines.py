"""Baselines for planning: from the spec's ``plan.baselines``, else from a pilot's control arm.

The pilot is read through the engine (DuckDB), once per metric with aggregate queries: the
control arm's mean, overdispersion, sd, share who spend and their amounts; in cluster designs
the mean cluster size, its cv and the ICC; with ``adjust`` columns, the R² they explain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from channelab.engine.duck import open_file
from channelab.engine.source import ROWS, Source, metric_value, number, quote
from channelab.errors import DataError
from channelab.spec import Baseline, Metric, Spec


@dataclass(frozen=True)
class Baselines:
    """Baselines per metric with where each came from, and cluster parameters per metric."""

    values: dict[str, Baseline]
    sources: dict[str, str]
    clusters: dict[str, tuple[float, float, float]]
    r_squared: dict[str, tuple[float, str]] = field(default_factory=dict)


def resolve_baselines(spec: Spec) -> Baselines:
    """Baselines of the outcome and revenue metrics: ``plan.baselines`` first, then the pilot.

    The pilot's control arm (all its rows when it has no arm column) gives, per metric: the
    mean (binary, count, continuous), the overdispersion by moments (count), the sd
    (continuous), the share who spend, their mean spend and log-sd (revenue); and, in cluster
    designs, the mean cluster size, its cv and the ANOVA estimate of the ICC.
    """
    needed = [m for m in spec.metrics if m.decisive]
    values = {m.name: spec.plan.baselines[m.name] for m in needed if m.name in spec.plan.baselines}
    sources = dict.fromkeys(values, "plan.baselines")
    clusters: dict[str, tuple[float, float, float]] = {}
    r_squared: dict[str, tuple[float, str]] = {}
    pilot = spec.plan.pilot
    if pilot is None or pilot.path is None:  # a pilot always has a path (Plan checks it)
        return Baselines(values, sources, clusters)
    path = spec.resolve_path(pilot.path)
    where_from = f"plan.pilot in {spec.source_path or 'the spec'}"
    with open_file(
        path, pilot, where=where_from, memory_limit=pilot.memory_limit, timeout=pilot.timeout_seconds
    ) as source:
        where = ""
        if spec.arm_column in source.columns:
            where = f"WHERE {quote(spec.arm_column)} = ?"
            (count,) = source.duck.execute(
                f"SELECT count(*) FROM {ROWS} {where}", [spec.control]
            ).fetchone() or (0,)
            if not count:
                raise DataError(
                    f"{path}: no rows of the control arm {spec.control!r} in column {spec.arm_column!r} "
                    "(plan.pilot); the baselines are read from the control arm."
                )
        params = [spec.control] if where else []
        for m in needed:
            col = quote(m.source_column)
            if m.source_column not in source.columns:
                raise DataError(f"{path}: no column {m.source_column!r} for metric {m.name!r} (plan.pilot).")
            missing = _scalar(source, f"SELECT count(*) - count({col}) FROM {ROWS} {where}", params)
            if missing:
                raise DataError(
                    f"{path}: column {m.source_column!r} has {missing} missing value(s) in the pilot rows "
                    "used for baselines (plan.pilot); fill or remove them."
                )
            if m.name not in values:
                values[m.name] = _pilot_baseline(source, m, where, params, path)
                sources[m.name] = f"pilot ({path.name})"
            cluster = spec.unit.randomised_by
            if cluster is not None and cluster in source.columns:
                clusters[m.name] = _pilot_clusters(source, quote(cluster), col, where, params)
            if spec.adjust and m.name not in spec.plan.r_squared and set(spec.adjust) <= set(source.columns):
                r2 = _pilot_r_squared(source, m, spec.adjust, where, params)
                r_squared[m.name] = (r2, f"pilot ({path.name})")
    return Baselines(values, sources, clusters, r_squared)


def _pilot_r_squared(
    source: Source, metric: Metric, columns: list[str], where: str, params: list[str]
) -> float:
    """R² of the least-squares fit of the metric on the pre-period columns, in the pilot's control rows."""
    y, xs = metric_value(metric, source.columns), [number(c) for c in columns]
    k = len(xs)
    pairs = [(i, j) for i in range(k) for j in range(i, k)]
    row = _row(
        source,
        "SELECT "
        + ", ".join(
            [f"covar_pop({xs[i]}, {xs[j]})" for i, j in pairs]
            + [f"covar_pop({x}, {y})" for x in xs]
            + [f"var_pop({y})"]
        )
        + f" FROM {ROWS} {where}",
        params,
    )
    values = np.array([np.nan if v is None else float(v) for v in row])
    if not np.all(np.isfinite(values)) or values[-1] <= 0:
        return 0.0
    sxx = np.zeros((k, k))
    for (i, j), v in zip(pairs, values, strict=False):
        sxx[i, j] = sxx[j, i] = v
    sxy = values[len(pairs) : len(pairs) + k]
    explained = float(sxy @ np.linalg.lstsq(sxx, sxy, rcond=None)[0])
    return min(max(explained / values[-1], 0.0), 0.999)


def _row(source: Source, sql: str, params: list[str]) -> tuple[Any, ...]:
    """The single row an aggregate query returns."""
    row = source.duck.execute(sql, params).fetchone()
    if row is None:
        raise DataError(f"{source.path}: the query of the pilot rows returned nothing")
    return tuple(row)


def _scalar(source: Source, sql: str, params: list[str]) -> int:
    return int(_row(source, sql, params)[0] or 0)


def _pilot_baseline(source: Source, metric: Metric, where: str, params: list[str], path: Path) -> Baseline:
    col = metric_value(metric, source.columns)
    if metric.type == "revenue":
        share, amount, sd_log = _row(
            source,
            f"SELECT avg(({col} > 0)::DOUBLE), avg({col}) FILTER ({col} > 0), "
            f"stddev_samp(ln({col})) FILTER ({col} > 0) FROM {ROWS} {where}",
            params,
        )
        if not share or share >= 1 or amount is None or sd_log is None:
            raise DataError(
                f"{path}: metric {metric.name!r}: the pilot's control rows need some units with and some "
                "without revenue (two or more with) to estimate a baseline; give plan.baselines instead."
            )
        return Baseline(share=share, amount=amount, amount_sd_log=max(sd_log, 1e-6))
    mean, var = _row(source, f"SELECT avg({col}), var_samp({col}) FROM {ROWS} {where}", params)
    if not mean or mean <= 0 or var is None:
        raise DataError(
            f"{path}: metric {metric.name!r}: the pilot's control rows have mean {mean}; a baseline needs "
            "a positive mean from two or more rows. Give plan.baselines instead."
        )
    match metric.type:
        case "count":
            return Baseline(mean=mean, overdispersion=max((var - mean) / mean**2, 0.0))
        case "continuous":
            return Baseline(mean=mean, sd=math.sqrt(var) if var > 0 else None)
        case _:
            return Baseline(mean=mean)


def _pilot_clusters(
    source: Source, cluster: str, col: str, where: str, params: list[str]
) -> tuple[float, float, float]:
    """Mean cluster size, its cv, and the one-way ANOVA estimate of the ICC (floored at 0)."""
    sizes, means, variances = (
        np.asarray(v, dtype=float)
        for v in zip(
            *source.duck.execute(
                f"SELECT count(*), avg(CAST({col} AS DOUBLE)), coalesce(var_samp(CAST({col} AS DOUBLE)), 0) "
                f"FROM {ROWS} {where} GROUP BY {cluster}",
                params,
            ).fetchall(),
            strict=True,
        )
    )
    k, total = sizes.size, sizes.sum()
    if k < 2 or total <= k:
        return float(sizes.mean()), 0.0, 0.0
    grand = (sizes @ means) / total
    msb = sizes @ (means - grand) ** 2 / (k - 1)
    msw = ((sizes - 1) @ variances) / (total - k)
    n0 = (total - (sizes @ sizes) / total) / (k - 1)
    icc = (msb - msw) / (msb + (n0 - 1) * msw) if msb + (n0 - 1) * msw > 0 else 0.0
    return float(sizes.mean()), float(sizes.std() / sizes.mean()), float(max(icc, 0.0))
